// Edit the selected node: label, op, size, activations, bias, inputs, output.
import { useEffect, useState } from "react";
import { ELEMENTWISE_OPS, OPS, type Activation, type GraphNode, type Op } from "../protocol/config";
import { commitConfig } from "../state/editing";
import { getState, useStore } from "../state/store";
import { connect, disconnect, nodeById, setNodeField, setOutput } from "./edits";

function edit<K extends keyof GraphNode>(id: string, field: K, value: GraphNode[K]): void {
  const cfg = getState().config;
  if (cfg) commitConfig(setNodeField(cfg, id, field, value));
}

/** A text/number input that commits on Enter or blur (one undo step per edit). */
function CommitInput(props: { value: string; testid: string; type?: string; onCommit: (v: string) => void }) {
  const [text, setText] = useState(props.value);
  useEffect(() => setText(props.value), [props.value]);
  const commit = () => {
    if (text !== props.value) props.onCommit(text);
  };
  return (
    <input
      data-testid={props.testid}
      type={props.type ?? "text"}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => e.key === "Enter" && commit()}
    />
  );
}

export function NodeForm() {
  const config = useStore((s) => s.config);
  const selected = useStore((s) => s.selected);
  const node = config && selected ? nodeById(config, selected) : undefined;
  if (!config || !node) return <p className="ew-muted">Select a node to edit it.</p>;
  const id = node.id;
  const others = config.graph.nodes.filter((n) => n.id !== id && !(node.inputs ?? []).includes(n.id));
  const sizeEditable = node.op === "input" || node.op === "linear";
  return (
    <div className="ew-form" data-testid="node-form">
      <label>
        label <CommitInput testid="node-label" value={node.label ?? ""} onCommit={(v) => edit(id, "label", v || null)} />
      </label>
      <label>
        op{" "}
        <select data-testid="node-op" value={node.op} onChange={(e) => edit(id, "op", e.target.value as Op)}>
          {OPS.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      </label>
      {sizeEditable && (
        <label>
          size{" "}
          <CommitInput testid="node-size" type="number" value={String(node.size ?? "")}
            onCommit={(v) => edit(id, "size", v === "" ? null : Math.max(1, Math.round(Number(v))))} />
        </label>
      )}
      {node.op === "linear" && (
        <>
          <label title="form B: mu = f(W x + b)">
            activation{" "}
            <select data-testid="node-activation" value={node.activation ?? "identity"}
              onChange={(e) => edit(id, "activation", e.target.value as Activation)}>
              {ELEMENTWISE_OPS.map((o) => <option key={o} value={o}>{o}</option>)}
            </select>
          </label>
          <label title="form A: mu = W f(x) + b">
            input activation{" "}
            <select data-testid="node-input-activation" value={node.input_activation ?? "identity"}
              onChange={(e) => edit(id, "input_activation", e.target.value as Activation)}>
              {ELEMENTWISE_OPS.map((o) => <option key={o} value={o}>{o}</option>)}
            </select>
          </label>
          <label>
            <input type="checkbox" data-testid="node-bias" checked={node.bias ?? true}
              onChange={(e) => edit(id, "bias", e.target.checked)} /> bias
          </label>
        </>
      )}
      {node.op !== "input" && (
        <div className="ew-inputs">
          <span>inputs</span>
          <ul>
            {(node.inputs ?? []).map((src) => (
              <li key={src}>
                {src}{" "}
                <button data-testid={`input-remove-${src}`} aria-label={`remove input ${src}`}
                  onClick={() => commitConfig(disconnect(getState().config!, src, id))}>×</button>
              </li>
            ))}
          </ul>
          <select data-testid="node-add-input" value=""
            onChange={(e) => e.target.value && commitConfig(connect(getState().config!, e.target.value, id))}>
            <option value="">+ connect input…</option>
            {others.map((n) => <option key={n.id} value={n.id}>{n.id}</option>)}
          </select>
        </div>
      )}
      <div className="ew-outputs">
        <span>feeds</span>
        <select data-testid="node-add-output" value=""
          onChange={(e) => e.target.value && commitConfig(connect(getState().config!, id, e.target.value))}>
          <option value="">+ connect to…</option>
          {config.graph.nodes
            .filter((n) => n.id !== id && n.op !== "input" && !(n.inputs ?? []).includes(id))
            .map((n) => <option key={n.id} value={n.id}>{n.id}</option>)}
        </select>
      </div>
      {config.graph.output !== id && (
        <button data-testid="node-make-output" onClick={() => commitConfig(setOutput(getState().config!, id))}>
          make this the output
        </button>
      )}
    </div>
  );
}
