// Layered auto-layout (dagre, left to right: inputs on the left, the output on the right).
import dagre from "@dagrejs/dagre";
import type { Config } from "../protocol/config";
import type { XY } from "../state/store";
import { edgesOf } from "./edits";

export const NODE_W = 150;
export const NODE_H = 96;

export function layoutGraph(config: Config): Record<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 64, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of config.graph.nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of edgesOf(config)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out: Record<string, XY> = {};
  for (const n of config.graph.nodes) {
    const p = g.node(n.id) as { x: number; y: number } | undefined;
    out[n.id] = p ? { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 } : { x: 0, y: 0 };
  }
  return out;
}

/** Positions for every node: the ones already placed stay, new ones get layout positions. */
export function completePositions(config: Config, known: Record<string, XY>): Record<string, XY> | null {
  const missing = config.graph.nodes.filter((n) => !known[n.id]);
  if (!missing.length) return null;
  const laid = layoutGraph(config);
  const next = { ...known };
  const fresh = Object.keys(known).length === 0;
  for (const n of missing) next[n.id] = fresh ? laid[n.id] : nudge(laid[n.id], next);
  return next;
}

function nudge(p: XY, taken: Record<string, XY>): XY {
  let q = { ...p };
  const clash = (a: XY) => Object.values(taken).some((b) => Math.abs(a.x - b.x) < NODE_W && Math.abs(a.y - b.y) < NODE_H);
  for (let i = 0; i < 50 && clash(q); i++) q = { x: q.x, y: q.y + NODE_H + 20 };
  return q;
}
