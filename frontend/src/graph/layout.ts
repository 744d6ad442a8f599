// Layered auto-layout that fills the canvas. Ranks run left to right (inputs first); a
// long chain of ranks wraps into bands that snake (left to right, then right to left),
// with as many ranks per band as gives the largest zoom for the canvas at hand, so that
// a 40-layer chain becomes a readable grid instead of one row of specks. Edges that skip
// over cards in their band run along a lane above the band.
import dagre from "@dagrejs/dagre";
import type { Config } from "../protocol/config";
import type { XY } from "../state/store";
import { edgesOf } from "./edits";
import type { Route, Side } from "./routes";

export const NODE_W = 240; // keep in step with .ew-node's width in styles.css
const GAP_X = 70;
const GAP_Y = 30;
const BAND_GAP = 48;
const LANE = 26;
const HEAD_H = 74; // title + subtitle + padding
const CELL_ROW = 34;
const DENSE_ROW = 21;
const COMPARE_H = 40; // compare mode: the b half's margins and its divergence line

export const MAX_CELLS = 64;
/** Up to this many units a card has large cells (4 a row); above, small ones (8 a row). */
export const LARGE_CELLS = 16;

export function cellColumns(units: number): number {
  return units > LARGE_CELLS ? 8 : Math.max(1, Math.min(4, units));
}

/** A card's height; in compare mode (split cards) with side b's cells and divergences. */
export function nodeHeight(units: number, compare = false): number {
  const shown = Math.min(units, MAX_CELLS);
  const rows = Math.ceil(shown / cellColumns(units));
  const cells = rows * (units > LARGE_CELLS ? DENSE_ROW : CELL_ROW);
  return HEAD_H + cells + (units > MAX_CELLS ? 18 : 0) + (compare ? cells + COMPARE_H : 0);
}

export interface Layout {
  positions: Record<string, XY>;
  flip: Record<string, boolean>; // true: the card's band runs right to left
  routes: Record<string, Route>; // by edge id "source->target"
}

export const edgeId = (s: string, t: string) => `${s}->${t}`;

function ranksOf(config: Config): Map<string, number> {
  const ids = new Set(config.graph.nodes.map((n) => n.id));
  const rank = new Map<string, number>();
  const visit = (id: string, seen: Set<string>): number => {
    const known = rank.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // a cycle (invalid anyway): cut it
    seen.add(id);
    const n = config.graph.nodes.find((x) => x.id === id);
    const ins = (n?.inputs ?? []).filter((i) => ids.has(i));
    const r = ins.length ? 1 + Math.max(...ins.map((i) => visit(i, seen))) : 0;
    rank.set(id, r);
    return r;
  };
  for (const n of config.graph.nodes) visit(n.id, new Set());
  return rank;
}

/** Order within each rank from dagre's crossing minimisation. */
function orderWithinRanks(config: Config, units: (id: string) => number): Map<string, number> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: GAP_Y, ranksep: GAP_X });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of config.graph.nodes) g.setNode(n.id, { width: NODE_W, height: nodeHeight(units(n.id), !!config.compare) });
  for (const e of edgesOf(config)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const y = new Map<string, number>();
  for (const n of config.graph.nodes) y.set(n.id, (g.node(n.id) as { y: number } | undefined)?.y ?? 0);
  return y;
}

/** Lay the graph out for a canvas of size `box` (CSS pixels). */
export function layoutGraph(config: Config, units: (id: string) => number, box: { w: number; h: number }): Layout {
  const rank = ranksOf(config);
  const order = orderWithinRanks(config, units);
  const R = Math.max(0, ...rank.values()) + 1;
  const byRank: string[][] = Array.from({ length: R }, () => []);
  for (const n of config.graph.nodes) byRank[rank.get(n.id) ?? 0].push(n.id);
  for (const col of byRank) col.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  const colH = byRank.map((ids) => ids.reduce((s, id) => s + nodeHeight(units(id), !!config.compare), 0) + GAP_Y * Math.max(0, ids.length - 1));
  const edges = edgesOf(config);
  const W = Math.max(200, box.w), H = Math.max(150, box.h);

  const plan = (k: number) => {
    const bands = Math.ceil(R / k);
    const band = (r: number) => Math.floor(r / k);
    const col = (r: number) => (band(r) % 2 === 0 ? r % k : k - 1 - (r % k));
    const lanes = new Array(bands).fill(0);
    const laneOf = new Map<string, number>();
    for (const e of edges) {
      const rs = rank.get(e.source) ?? 0, rt = rank.get(e.target) ?? 0;
      // a skip within a band, or between bands other than the snake's own turn: a lane
      // above the target's band (reached down a gutter beside the source between bands)
      const skip = band(rs) === band(rt) ? Math.abs(col(rs) - col(rt)) > 1 : rt !== rs + 1;
      if (skip) laneOf.set(edgeId(e.source, e.target), lanes[band(rt)]++);
    }
    const bandH = Array.from({ length: bands }, (_, b) => Math.max(0, ...colH.slice(b * k, b * k + k)));
    const height = bandH.reduce((s, h, b) => s + h + (lanes[b] ? (lanes[b] + 0.5) * LANE : 0), 0) + BAND_GAP * (bands - 1);
    const width = Math.min(k, R) * NODE_W + (Math.min(k, R) - 1) * GAP_X;
    return { k, bands, band, col, lanes, laneOf, bandH, height, width, zoom: Math.min(W / width, H / height) };
  };

  let best = plan(R);
  for (let k = R - 1; k >= 1; k--) {
    const p = plan(k);
    if (p.zoom > best.zoom * 1.02) best = p;
  }

  const positions: Record<string, XY> = {};
  const flip: Record<string, boolean> = {};
  const bandTop: number[] = [];
  let y = 0;
  for (let b = 0; b < best.bands; b++) {
    y += best.lanes[b] ? (best.lanes[b] + 0.5) * LANE : 0;
    bandTop.push(y);
    y += best.bandH[b] + BAND_GAP;
  }
  byRank.forEach((ids, r) => {
    const b = best.band(r);
    const x = best.col(r) * (NODE_W + GAP_X);
    let yy = bandTop[b] + (best.bandH[b] - colH[r]) / 2;
    for (const id of ids) {
      positions[id] = { x, y: yy };
      flip[id] = b % 2 === 1;
      yy += nodeHeight(units(id), !!config.compare) + GAP_Y;
    }
  });

  const routes: Record<string, Route> = {};
  const gutters = new Map<string, number>();
  for (const e of edges) {
    const id = edgeId(e.source, e.target);
    const lane = best.laneOf.get(id);
    const rs = rank.get(e.source) ?? 0;
    const rt = rank.get(e.target) ?? 0;
    if (lane !== undefined && best.band(rs) === best.band(rt)) {
      routes[id] = { from: "top", to: "top", lane: bandTop[best.band(rs)] - (lane + 1) * LANE };
    } else if (lane !== undefined) {
      const from: Side = flip[e.source] ? "left" : "right";
      gutters.set(e.source, (gutters.get(e.source) ?? 0) + 1);
      routes[id] = { from, to: "top", lane: bandTop[best.band(rt)] - (lane + 1) * LANE, gutter: 14 + 12 * gutters.get(e.source)! };
    } else {
      routes[id] = defaultRoute(flip[e.source] ?? false, flip[e.target] ?? false);
    }
  }
  return { positions, flip, routes };
}

export function defaultRoute(flipSource: boolean, flipTarget: boolean): Route {
  const from: Side = flipSource ? "left" : "right";
  const to: Side = flipTarget ? "right" : "left";
  return { from, to, lane: null };
}

/** A place for a new card: to the right of everything, level with the top row, so that
 * it never lands under another card or the zoom controls (the view refits to show it). */
export function freeSpot(known: Record<string, XY>): XY {
  const ps = Object.values(known);
  if (!ps.length) return { x: 0, y: 0 };
  return { x: Math.max(...ps.map((p) => p.x)) + NODE_W + GAP_X, y: Math.min(...ps.map((p) => p.y)) };
}
