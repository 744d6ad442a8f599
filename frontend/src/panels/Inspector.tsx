// The selected node at step t: its numbers, local update equation, divergence from BP.
import type { Metrics } from "../protocol/messages";
import { nodeById } from "../graph/edits";
import { NodeForm } from "../graph/NodeForm";
import { useStore } from "../state/store";
import { localEquations } from "./equation";
import { num } from "./format";

function MetricsRow({ name, m }: { name: string; m: Metrics | undefined }) {
  return (
    <tr>
      <th>{name}</th>
      <td data-testid={`div-${name}-cosine`}>{num(m?.cosine)}</td>
      <td>{num(m?.rel_l2)}</td>
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
          <h3>Divergence from backprop</h3>
          <table className="ew-table">
            <thead><tr><th /><th>cosine</th><th>rel L2</th><th>max |Δ|</th></tr></thead>
            <tbody>
              <MetricsRow name="error" m={frame?.divergence.nodes[node.id]} />
              <MetricsRow name="update" m={frame?.divergence.params[node.id]} />
            </tbody>
          </table>
          {localEquations(node, frame, snapshot, config).map((eq) => (
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
