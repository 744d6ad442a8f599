// The selected node at step t: its numbers, local update equation, divergence from BP.
import type { Metrics } from "../protocol/messages";
import { nodeById } from "../graph/edits";
import { NodeForm } from "../graph/NodeForm";
import { ruleInfo, useStore, type State } from "../state/store";
import { localEquations, type RuleEquation } from "./equation";
import { metricText, num } from "./format";

/** One metric cell: "—" with the reason (a tooltip) where the metric is undefined. */
function MetricCell({ m, k, testid }: { m: Metrics | undefined; k: "cosine" | "rel_l2" | "max_abs"; testid?: string }) {
  const { text, why } = metricText(m, k);
  return <td data-testid={testid} data-why={why} title={why || undefined}>{text}</td>;
}

function MetricsRow({ name, label = name, m }: { name: string; label?: string; m: Metrics | undefined }) {
  return (
    <tr>
      <th>{label}</th>
      <MetricCell m={m} k="cosine" testid={`div-${name}-cosine`} />
      <MetricCell m={m} k="rel_l2" testid={`div-${name}-rel_l2`} />
      <MetricCell m={m} k="max_abs" />
    </tr>
  );
}

export function Inspector({ showEditor }: { showEditor: boolean }) {
  const config = useStore((s) => s.config);
  const selected = useStore((s) => s.selected);
  const snapshot = useStore((s) => s.snapshot);
  const t = useStore((s) => s.t);
  const frame = useStore((s) => s.frames[s.t]);
  const frameB = useStore((s) => (s.snapshotB ? s.framesB[s.t] : undefined));
  const comparing = useStore((s) => s.snapshotB !== null);
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
          <h3>{comparing ? "Divergence (a, b from backprop; b from a)" : "Divergence from backprop"}</h3>
          <table className="ew-table" data-testid="inspector-divergence"
            title="— : undefined (the reference is zero, or a signal is not finite); hover for why">
            <thead><tr><th /><th>cosine</th><th>rel L2</th><th>max |Δ|</th></tr></thead>
            <tbody>
              <MetricsRow name="error" label={comparing ? "error a" : "error"} m={frame?.divergence.nodes[node.id]} />
              <MetricsRow name="update" label={comparing ? "update a" : "update"} m={frame?.divergence.params[node.id]} />
              {comparing && (
                <>
                  <MetricsRow name="b-error" label="error b" m={frameB?.divergence.nodes[node.id]} />
                  <MetricsRow name="b-update" label="update b" m={frameB?.divergence.params[node.id]} />
                  <MetricsRow name="ba-error" label="error b↔a" m={frameB?.vs_a?.nodes[node.id]} />
                  <MetricsRow name="ba-update" label="update b↔a" m={frameB?.vs_a?.params[node.id]} />
                </>
              )}
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

/** Side b's number under side a's in one cell (compare mode; dashed like the cards). */
function Pair({ a, b, testid }: { a: number | null | undefined; b: number | null | undefined | false; testid?: string }) {
  if (b === false) return <td data-testid={testid}>{num(a)}</td>;
  return (
    <td className="ew-pair">
      <span data-testid={testid}>{num(a)}</span>
      <span className="ew-pair-b" data-testid={testid && `${testid}-b`}>{num(b)}</span>
    </td>
  );
}

function NodeNumbers({ id }: { id: string }) {
  const frame = useStore((s) => s.frames[s.t]);
  const snapshot = useStore((s) => s.snapshot);
  const snapB = useStore((s) => s.snapshotB);
  const frameB = useStore((s) => (s.snapshotB ? s.framesB[s.t] : undefined));
  const st = frame?.nodes[id];
  const stB = frameB?.nodes[id];
  const adj = snapshot?.backprop.adjoint[id];
  const value = st?.value ?? snapshot?.feedforward[id] ?? [];
  const valueB = stB?.value ?? snapB?.feedforward[id] ?? [];
  const rows = value.slice(0, 32);
  // in compare mode each cell holds a over b; b's column values are false when alone
  const b = <T,>(x: T) => (snapB ? x : (false as const));
  const norms = snapB && snapshot?.graph.nodes[id]?.has_params; // a row of its own beside b's
  return (
    <div className="ew-scroll-x">
    <table className={`ew-table${snapB ? " ew-table-pairs" : ""}`} data-testid="inspector-numbers">
      <thead>
        <tr>
          <th>unit{snapB && <><br /><span className="ew-pair-key">a / <span className="ew-pair-b">b</span></span></>}</th>
          <th>value</th><th>prediction</th><th>error ε</th><th>−∂L/∂v (BP)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((v, k) => (
          <tr key={k}>
            <td>{k}</td>
            <Pair a={v} b={b(valueB[k])} testid={snapB ? `inspector-value-${k}` : undefined} />
            <Pair a={st?.prediction[k]} b={b(stB?.prediction[k])} />
            <Pair a={st?.error[k]} b={b(stB?.error[k])} testid={`inspector-error-${k}`} />
            <td>{adj ? num(adj[k] === null ? null : -adj[k]) : ""}</td>
          </tr>
        ))}
        {norms && (
          <tr data-testid="inspector-update-norm">
            <td>‖Δθ‖</td>
            <Pair a={frame?.update_norms?.[id]} b={b(frameB?.update_norms?.[id])} testid="inspector-norm" />
            <td colSpan={3} className="ew-muted">update norm at this step</td>
          </tr>
        )}
      </tbody>
    </table>
    </div>
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
