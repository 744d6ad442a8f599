// Pure edits of a configuration's graph. Each returns a new Config (never mutates).
import type { Config, GraphNode, Op } from "../protocol/config";

const clone = <T,>(x: T): T => structuredClone(x);

export function nodeById(config: Config, id: string): GraphNode | undefined {
  return config.graph.nodes.find((n) => n.id === id);
}

export function freshId(config: Config, prefix = "n"): string {
  const used = new Set(config.graph.nodes.map((n) => n.id));
  for (let i = 1; ; i++) if (!used.has(`${prefix}${i}`)) return `${prefix}${i}`;
}

export function addNode(config: Config, node?: Partial<GraphNode>): { config: Config; id: string } {
  const next = clone(config);
  const id = node?.id ?? freshId(config);
  next.graph.nodes.push({ id, op: "linear", inputs: [], size: 2, ...node });
  return { config: next, id };
}

/** Remove a node, its edges, its parameters and any data it fed. */
export function removeNode(config: Config, id: string): Config {
  const next = clone(config);
  next.graph.nodes = next.graph.nodes.filter((n) => n.id !== id);
  for (const n of next.graph.nodes) {
    if (n.inputs?.includes(id)) n.inputs = n.inputs.filter((i) => i !== id);
  }
  if (next.params) {
    delete next.params[id];
    for (const p of Object.values(next.params)) if (p.weight) delete p.weight[id];
  }
  const data = next.data as { input?: Record<string, unknown> };
  if (data.input && id in data.input) delete data.input[id];
  return next;
}

export function connect(config: Config, source: string, target: string): Config {
  if (source === target) return config;
  const next = clone(config);
  const t = nodeById(next, target);
  if (!t) return config;
  const inputs = t.inputs ?? [];
  if (!inputs.includes(source)) t.inputs = [...inputs, source];
  return next;
}

export function disconnect(config: Config, source: string, target: string): Config {
  const next = clone(config);
  const t = nodeById(next, target);
  if (!t) return config;
  t.inputs = (t.inputs ?? []).filter((i) => i !== source);
  const w = next.params?.[target]?.weight;
  if (w) delete w[source];
  return next;
}

/** Set one field of a node. Explicit parameters of that node are dropped when its shape
 * may change (they would no longer fit); the seed draws fresh ones. */
export function setNodeField<K extends keyof GraphNode>(
  config: Config, id: string, field: K, value: GraphNode[K],
): Config {
  const next = clone(config);
  const n = nodeById(next, id);
  if (!n) return config;
  if (value === undefined || value === null || value === "") delete n[field];
  else n[field] = value;
  if ((field === "size" || field === "op") && next.params) {
    delete next.params[id];
    for (const p of Object.values(next.params)) if (p.weight) delete p.weight[id];
  }
  if (field === "op") {
    const op = value as Op;
    if (op === "input") {
      n.inputs = [];
      const data = next.data as { input?: Record<string, number[]> };
      if (data.input && !data.input[id]) data.input[id] = new Array(n.size ?? 1).fill(0);
    }
    if (op !== "linear") {
      delete n.input_activation;
      delete n.bias;
      if (op !== "input") delete n.activation;
    }
  }
  return next;
}

export function setOutput(config: Config, id: string): Config {
  const next = clone(config);
  next.graph.output = id;
  return next;
}

/** Upstream-to-downstream edges of the graph. */
export function edgesOf(config: Config): { source: string; target: string }[] {
  const ids = new Set(config.graph.nodes.map((n) => n.id));
  const out: { source: string; target: string }[] = [];
  for (const n of config.graph.nodes) {
    for (const i of n.inputs ?? []) if (ids.has(i)) out.push({ source: i, target: n.id });
  }
  return out;
}
