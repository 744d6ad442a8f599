// The selected node at step t: its numbers, local update equation, divergence from BP.
import type { Metrics } from "../protocol/messages";
import { nodeById } from "../graph/edits";
import { NodeForm } from "../graph/NodeForm";
import { ruleInfo, useStore, type State } from "../state/store";
import { localEquations, type RuleEquation } from "./equation";
import { num } from "./format";

function MetricsRow({ name, m }: { name: string; m: Metrics | undefined }) {
  return (
    <tr>
      <th>{name}</th>
      <td data-testid={`div-${name}-cosine`}>{num(m?.cosine)}</td>
      <td data-testid={`div-${name}-rel_l2`}>{num(m?.rel_l2)}</td>
      <td>{num(m?.max_abs)}</td>
    </tr>
  );
}

export function Inspector({ showEditor }: { showEditor: boolean }) {
  const config = useStore((s) => s.config);
  const selected = useStore((s) => s.selected);
  const snapshot = useStore((s) => s.snapshot);
  const t = useStore((s) => s.t);
  const frame = useStore((s) => s.frames[s.t]);
  const node = config && selected ? nodeById(config, selected) : undefined;
  const rule = useStore((s) => ruleInfo(s, s.snapshot?.rule.name)) as RuleEquation | undefined;

  return (
    <section className="ew-panel" data-testid="inspector" aria-label="inspector">
      <h2>
        Inspector{" "}
        {node && <span data-testid="inspector-node">{node.label || node.id}</span>}
        <span className="ew-muted"> · step {t}</span>
      </h2>
      {showEditor && <NodeForm />}
      {node && config && (
        <>
          <NodeNumbers id={node.id} />
          <Plasticity id={node.id} />
          <h3>Divergence from backprop</h3>
          <table className="ew-table">
            <thead><tr><th /><th>cosine</th><th>rel L2</th><th>max |Δ|</th></tr></thead>
            <tbody>
              <MetricsRow name="error" m={frame?.divergence.nodes[node.id]} />
              <MetricsRow name="update" m={frame?.divergence.params[node.id]} />
            </tbody>
          </table>
          {localEquations(node, frame, snapshot, config, rule).map((eq) => (
            <div key={eq.title} className="ew-equation">
              <h3>{eq.title}</h3>
              <pre>{eq.lines.join("\n")}</pre>
            </div>
          ))}
        </>
      )}
      {!node && snapshot && (
        <p className="ew-muted">
          {snapshot.rule.title}: loss {num(snapshot.backprop.loss)} · {snapshot.sign_convention}
        </p>
      )}
    </section>
  );
}

function NodeNumbers({ id }: { id: string }) {
  const frame = useStore((s) => s.frames[s.t]);
  const snapshot = useStore((s) => s.snapshot);
  const st = frame?.nodes[id];
  const adj = snapshot?.backprop.adjoint[id];
  const value = st?.value ?? snapshot?.feedforward[id] ?? [];
  const rows = value.slice(0, 32);
  return (
    <table className="ew-table" data-testid="inspector-numbers">
      <thead>
        <tr><th>unit</th><th>value</th><th>prediction</th><th>error ε</th><th>−∂L/∂v (BP)</th></tr>
      </thead>
      <tbody>
        {rows.map((v, k) => (
          <tr key={k}>
            <td>{k}</td>
            <td>{num(v)}</td>
            <td>{num(st?.prediction[k])}</td>
            <td data-testid={`inspector-error-${k}`}>{num(st?.error[k])}</td>
            <td>{adj ? num(adj[k] === null ? null : -adj[k]) : ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Whether plasticity fired at this step, fired earlier, is still to come, or never will. */
export function plasticityStatus(s: State, id: string): { kind: string; text: string } {
  const n = s.snapshot?.graph.nodes[id];
  if (!n || !n.has_params) return { kind: "none", text: "none (no parameters)" };
  const fired = (t: number) => s.frames[t]?.events.some((e) => e.kind === "plasticity" && e.node === id) ?? false;
  if (fired(s.t)) return { kind: "now", text: "fired at this step" };
  for (let k = s.t - 1; k >= 0; k--) if (fired(k)) return { kind: "earlier", text: `fired at step ${k}` };
  for (let k = s.t + 1; k < s.frames.length; k++) if (fired(k)) return { kind: "scheduled", text: `scheduled: fires at step ${k}` };
  return { kind: "scheduled", text: "scheduled: not fired yet in this example" };
}

function Plasticity({ id }: { id: string }) {
  const st = JSON.parse(useStore((s) => JSON.stringify(plasticityStatus(s, id)))) as { kind: string; text: string };
  return (
    <p className={`ew-plasticity ew-plasticity-${st.kind}`} data-testid="plasticity-status" data-kind={st.kind}>
      plasticity: <strong>{st.text}</strong>
    </p>
  );
}
