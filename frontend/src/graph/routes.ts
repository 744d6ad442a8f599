// Edge geometry shared by React Flow's edges (grey structure) and the animator (error
// overlay and pulses), so that both draw the same path. A side says where an edge leaves
// or enters a card; a lane is a horizontal track above a band of cards that carries an
// edge skipping over the cards between its ends.

export type Side = "left" | "right" | "top";

export interface Box { x: number; y: number; w: number; h: number }
export interface Pt { x: number; y: number }

export interface Route {
  from: Side;
  to: Side;
  lane: number | null; // y of the lane (flow coordinates) for a skip edge
  gutter?: number; // for an edge between bands: how far beside the source it runs down
}

export type Geometry =
  | { kind: "cubic"; p: [Pt, Pt, Pt, Pt] }
  | { kind: "poly"; p: Pt[] };

/** Where an edge meets a card. Top anchors are split so that an edge in and an edge out
 * of the same card do not overlap. */
export function anchor(b: Box, side: Side, out: boolean): Pt {
  if (side === "left") return { x: b.x, y: b.y + b.h / 2 };
  if (side === "right") return { x: b.x + b.w, y: b.y + b.h / 2 };
  return { x: b.x + b.w * (out ? 0.65 : 0.35), y: b.y };
}

const DIR: Record<Side, Pt> = { left: { x: -1, y: 0 }, right: { x: 1, y: 0 }, top: { x: 0, y: -1 } };

function offset(d: number): number {
  // like React Flow's bezier: half the gap when the ends face each other, else a loop
  return d >= 0 ? Math.max(30, 0.5 * d) : Math.max(40, 6.25 * Math.sqrt(-d));
}

export function geometry(s: Box, t: Box, r: Route): Geometry {
  const a = anchor(s, r.from, true);
  const b = anchor(t, r.to, false);
  if (r.lane !== null && r.gutter !== undefined && r.from !== "top") {
    const gx = a.x + DIR[r.from].x * r.gutter;
    return { kind: "poly", p: [a, { x: gx, y: a.y }, { x: gx, y: r.lane }, { x: b.x, y: r.lane }, b] };
  }
  if (r.lane !== null) {
    const y = Math.min(r.lane, a.y - 10, b.y - 10);
    return { kind: "poly", p: [a, { x: a.x, y }, { x: b.x, y }, b] };
  }
  const da = DIR[r.from], db = DIR[r.to];
  const oa = offset(da.x * (b.x - a.x) + da.y * (b.y - a.y));
  const ob = offset(db.x * (a.x - b.x) + db.y * (a.y - b.y));
  return {
    kind: "cubic",
    p: [a, { x: a.x + da.x * oa, y: a.y + da.y * oa }, { x: b.x + db.x * ob, y: b.y + db.y * ob }, b],
  };
}

export function svgPath(g: Geometry): string {
  const f = (q: Pt) => `${q.x.toFixed(1)},${q.y.toFixed(1)}`;
  if (g.kind === "cubic") return `M${f(g.p[0])} C${f(g.p[1])} ${f(g.p[2])} ${f(g.p[3])}`;
  return `M${g.p.map(f).join(" L")}`;
}

/** The point at fraction u (0..1) of the way along the path (by parameter for a cubic,
 * by length for a polyline). */
export function pointAt(g: Geometry, u: number): Pt {
  if (g.kind === "cubic") {
    const [p0, p1, p2, p3] = g.p;
    const v = 1 - u;
    const a = v * v * v, b = 3 * v * v * u, c = 3 * v * u * u, d = u * u * u;
    return { x: a * p0.x + b * p1.x + c * p2.x + d * p3.x, y: a * p0.y + b * p1.y + c * p2.y + d * p3.y };
  }
  const seg: number[] = [];
  let total = 0;
  for (let i = 1; i < g.p.length; i++) {
    const l = Math.hypot(g.p[i].x - g.p[i - 1].x, g.p[i].y - g.p[i - 1].y);
    seg.push(l);
    total += l;
  }
  let want = u * total;
  for (let i = 0; i < seg.length; i++) {
    if (want <= seg[i] || i === seg.length - 1) {
      const f = seg[i] > 0 ? Math.min(1, want / seg[i]) : 0;
      const p = g.p[i], q = g.p[i + 1];
      return { x: p.x + (q.x - p.x) * f, y: p.y + (q.y - p.y) * f };
    }
    want -= seg[i];
  }
  return g.p[g.p.length - 1];
}

export function trace(ctx: CanvasRenderingContext2D, g: Geometry): void {
  ctx.beginPath();
  ctx.moveTo(g.p[0].x, g.p[0].y);
  if (g.kind === "cubic") ctx.bezierCurveTo(g.p[1].x, g.p[1].y, g.p[2].x, g.p[2].y, g.p[3].x, g.p[3].y);
  else for (let i = 1; i < g.p.length; i++) ctx.lineTo(g.p[i].x, g.p[i].y);
}
