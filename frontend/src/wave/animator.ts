// The animation layer. Runs outside React: typed arrays and ONE requestAnimationFrame
// loop that writes node colours, the units' numbers and magnitude bars straight to the
// DOM, and draws on one canvas overlay the error pulses moving backward along edges.
// React only registers elements and feeds frames.
import type { Frame, Snapshot } from "../protocol/messages";
import { geometry, pointAt, trace, type Route } from "../graph/routes";
import { divergingColor, scaleDenominators, type ScaleMode } from "./colors";
import { formatUnit } from "./units";

export interface Box { x: number; y: number; w: number; h: number }
export interface Viewport { x: number; y: number; zoom: number }
export interface GeometrySource {
  node(id: string): Box | undefined;
  viewport(): Viewport;
}
export interface Shape {
  ids: string[];
  edges: [string, string][]; // [source, target], data flows source → target
  layer: Record<string, number>;
  units: Record<string, number>;
}
export interface ShowInput {
  frame: Frame | undefined;
  snapshot: Snapshot | null;
  by: "error" | "value" | "prediction";
  mode: ScaleMode;
  durationMs: number;
}
export interface ScaleInfo { mode: ScaleMode; by: "error" | "value" | "prediction"; max: number }

const MAX_STRIP_UNITS = 64;
const DIRTY = -32768; // painted[] marker: repaint this node

function maxAbs(v: ArrayLike<number | null> | undefined): number {
  if (!v) return 0;
  let m = 0;
  for (let k = 0; k < v.length; k++) {
    const x = v[k];
    if (x === null || !Number.isFinite(x)) return NaN;
    const a = Math.abs(x);
    if (a > m) m = a;
  }
  return m;
}

export class WaveAnimator {
  private ids: string[] = [];
  private shapeKey = "";
  private index = new Map<string, number>();
  private unitOff = new Int32Array(1);
  private group = new Int32Array(0);
  private edgeSrc = new Int32Array(0);
  private edgeDst = new Int32Array(0);
  private fillFrom = new Float32Array(0);
  private fillTo = new Float32Array(0);
  private fillCur = new Float32Array(0);
  private uFrom = new Float32Array(0);
  private uTo = new Float32Array(0);
  private uCur = new Float32Array(0);
  private edgeTo = new Float32Array(0);
  private errMax = new Float64Array(0);
  private frontier = new Uint8Array(0);
  private changing = new Uint8Array(0); // 1 while a node's colours are in transition
  private painted = new Int16Array(0); // last LUT index written per node (-1 = none)
  private els: (HTMLElement | null)[] = [];
  private cells: HTMLElement[][] = []; // per node: its unit cells ([data-unit])
  private texts: string[][] = []; // per node: the numbers last written (printed in the cells)
  private elById = new Map<string, HTMLElement>();
  private routes: Record<string, Route> = {};
  private edgeRoute: Route[] = [];
  private px = new Float32Array(0);
  private py = new Float32Array(0);
  private pw = new Float32Array(0);
  private ph = new Float32Array(0);

  private start = 0;
  private duration = 400;
  private animating = false;
  private live = false;
  private raf = 0;
  private lastShownT = -1;
  private canvas: HTMLCanvasElement | null = null;
  private ctx: CanvasRenderingContext2D | null = null;
  private dpr = 1;
  private geometry: GeometrySource | null = null;
  private scaleListeners = new Set<(s: ScaleInfo) => void>();
  scale: ScaleInfo = { mode: "global", by: "error", max: 0 };
  reduced = false;
  /** Loop ticks since load (read by benchmarks/browser.py). */
  ticks = 0;

  constructor() {
    if (typeof window !== "undefined" && window.matchMedia) {
      const mq = window.matchMedia("(prefers-reduced-motion: reduce)");
      this.reduced = mq.matches;
      mq.addEventListener?.("change", (e) => {
        this.reduced = e.matches;
        this.invalidate();
      });
    }
  }

  // ----- wiring from React -------------------------------------------------------------
  setShape(shape: Shape): void {
    const key = JSON.stringify([shape.ids, shape.edges, shape.units, shape.layer]);
    if (key === this.shapeKey) return;
    this.shapeKey = key;
    const n = shape.ids.length;
    this.ids = shape.ids.slice();
    this.index = new Map(this.ids.map((id, i) => [id, i]));
    this.unitOff = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const u = Math.max(0, Math.min(MAX_STRIP_UNITS, shape.units[this.ids[i]] ?? 0));
      this.unitOff[i + 1] = this.unitOff[i] + u;
    }
    const total = this.unitOff[n];
    this.group = Int32Array.from(this.ids, (id) => shape.layer[id] ?? -1);
    const edges = shape.edges.filter(([s, t]) => this.index.has(s) && this.index.has(t));
    this.edgeKeys = edges.map(([s, t]) => `${s}->${t}`);
    this.edgeRoute = this.edgeKeys.map((k) => this.routes[k] ?? { from: "right", to: "left", lane: null });
    this.edgeSrc = Int32Array.from(edges, ([s]) => this.index.get(s)!);
    this.edgeDst = Int32Array.from(edges, ([, t]) => this.index.get(t)!);
    this.fillFrom = new Float32Array(n);
    this.fillTo = new Float32Array(n);
    this.fillCur = new Float32Array(n);
    this.uFrom = new Float32Array(total);
    this.uTo = new Float32Array(total);
    this.uCur = new Float32Array(total);
    this.edgeTo = new Float32Array(edges.length);
    this.errMax = new Float64Array(n);
    this.frontier = new Uint8Array(n);
    this.changing = new Uint8Array(n);
    this.painted = new Int16Array(n).fill(DIRTY);
    this.px = new Float32Array(n);
    this.py = new Float32Array(n);
    this.pw = new Float32Array(n);
    this.ph = new Float32Array(n);
    this.els = this.ids.map((id) => this.elById.get(id) ?? null);
    this.cells = this.ids.map(() => []);
    this.texts = this.ids.map(() => []);
    this.lastShownT = -1;
  }

  private edgeKeys: string[] = [];

  /** How each edge is routed (graph/layout.ts), by edge id "source->target". */
  setRoutes(routes: Record<string, Route>): void {
    this.routes = routes;
    this.edgeRoute = this.edgeKeys.map((k) => routes[k] ?? { from: "right", to: "left", lane: null });
    this.invalidate();
  }

  /** The node's unit cells, looked up again when React has rendered a different number. */
  private cellsOf(i: number): HTMLElement[] {
    const el = this.els[i];
    if (!el) return [];
    const want = this.unitOff[i + 1] - this.unitOff[i];
    let c = this.cells[i];
    if (c.length !== want || (c.length && !c[0].isConnected)) {
      c = Array.from(el.querySelectorAll<HTMLElement>("[data-unit]"));
      this.cells[i] = c;
      this.writeTexts(i);
    }
    return c;
  }

  private writeTexts(i: number): void {
    const c = this.cells[i], txt = this.texts[i];
    if (!c) return;
    for (let k = 0; k < c.length; k++) {
      const num = c[k].lastElementChild as HTMLElement | null;
      if (num && num.classList.contains("ew-num")) {
        const t = txt[k] ?? "";
        if (num.textContent !== t) {
          num.textContent = t;
          // long numbers (−1.2e-3) are condensed, not shrunk: their height stays readable
          num.className = t.length >= 8 ? "ew-num ew-xlong" : t.length >= 6 ? "ew-num ew-long" : "ew-num";
        }
      }
    }
  }

  attach(id: string, el: HTMLElement): void {
    this.elById.set(id, el);
    const i = this.index.get(id);
    if (i !== undefined) {
      this.els[i] = el;
      this.cells[i] = [];
      this.painted[i] = DIRTY;
      this.paintNode(i, true);
      this.invalidate();
    }
  }

  detach(id: string, el: HTMLElement): void {
    if (this.elById.get(id) !== el) return;
    this.elById.delete(id);
    const i = this.index.get(id);
    if (i !== undefined) {
      this.els[i] = null;
      this.cells[i] = [];
    }
  }

  setCanvas(canvas: HTMLCanvasElement | null): void {
    this.canvas = canvas;
    this.ctx = canvas?.getContext("2d") ?? null;
    this.invalidate();
  }

  resize(width: number, height: number, dpr: number): void {
    if (!this.canvas) return;
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.invalidate();
  }

  setGeometry(src: GeometrySource | null): void {
    this.geometry = src;
    this.invalidate();
  }

  /** While live (playing), the loop keeps running even between frames. */
  setLive(live: boolean): void {
    this.live = live;
    this.invalidate();
  }

  onScale(fn: (s: ScaleInfo) => void): () => void {
    this.scaleListeners.add(fn);
    fn(this.scale);
    return () => this.scaleListeners.delete(fn);
  }

  // ----- feeding frames -------------------------------------------------------------------
  show({ frame, snapshot, by, mode, durationMs }: ShowInput): void {
    const n = this.ids.length;
    const vals = new Float64Array(n);
    const means = new Float64Array(n);
    const prevErr = this.errMax.slice();
    const vectors: (ArrayLike<number | null> | undefined)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const id = this.ids[i];
      const st = frame?.nodes[id];
      const err = st?.error;
      this.errMax[i] = maxAbs(err);
      const value = st?.value ?? snapshot?.feedforward[id];
      const vec = by === "error" ? err : by === "prediction" ? st?.prediction ?? value : value;
      vectors[i] = vec;
      // an input is clamped to the data: its cells print its value whatever is coloured
      const shown = snapshot?.graph.nodes[id]?.op === "input" ? value : vec;
      const units = this.unitOff[i + 1] - this.unitOff[i];
      const txt: string[] = new Array(units);
      for (let k = 0; k < units; k++) txt[k] = shown && k < shown.length ? formatUnit(shown[k]) : "";
      this.texts[i] = txt;
      this.writeTexts(i);
      vals[i] = maxAbs(vec);
      let sum = 0;
      if (vec) for (let k = 0; k < vec.length; k++) sum += vec[k] ?? NaN;
      means[i] = vec && vec.length ? sum / vec.length : 0;
    }
    const den = scaleDenominators(vals, this.group, mode);
    let globalMax = 0;
    for (let i = 0; i < n; i++) if (Number.isFinite(vals[i])) globalMax = Math.max(globalMax, vals[i]);
    this.fillFrom.set(this.fillCur);
    this.uFrom.set(this.uCur);
    for (let i = 0; i < n; i++) {
      const d = den[i];
      const vec = vectors[i];
      const nan = Number.isNaN(vals[i]);
      this.fillTo[i] = nan ? NaN : d > 0 ? (by === "error" ? vals[i] : means[i]) / d : 0;
      for (let k = this.unitOff[i], j = 0; k < this.unitOff[i + 1]; k++, j++) {
        const x = vec?.[j];
        this.uTo[k] = x === null || x === undefined ? (vec ? NaN : 0) : d > 0 ? x / d : 0;
      }
    }
    // edges carry the error of their downstream node back to the upstream one
    let errGlobal = 0;
    for (let i = 0; i < n; i++) if (Number.isFinite(this.errMax[i])) errGlobal = Math.max(errGlobal, this.errMax[i]);
    for (let j = 0; j < this.edgeDst.length; j++) {
      const e = this.errMax[this.edgeDst[j]];
      this.edgeTo[j] = Number.isNaN(e) ? 1 : errGlobal > 0 ? e / errGlobal : 0;
    }
    // frontier: errors that arrived at this step
    this.frontier.fill(0);
    if (frame) {
      const arrived = new Set(frame.events.filter((e) => e.kind === "error_arrived").map((e) => e.node));
      const consecutive = this.lastShownT === frame.t - 1;
      for (let i = 0; i < n; i++) {
        const fresh = consecutive && frame.t > 0 && prevErr[i] === 0 && this.errMax[i] > 0;
        if (arrived.has(this.ids[i]) || fresh) this.frontier[i] = 1;
      }
    }
    const moved = frame !== undefined && this.lastShownT !== frame.t;
    this.lastShownT = frame?.t ?? -1;
    this.scale = { mode, by, max: globalMax };
    for (const fn of this.scaleListeners) fn(this.scale);
    this.duration = Math.max(60, durationMs);
    this.start = performance.now();
    this.animating = moved && !this.reduced;
    if (!this.animating) {
      this.fillCur.set(this.fillTo);
      this.uCur.set(this.uTo);
    }
    for (let i = 0; i < n; i++) {
      let diff = !Object.is(this.fillFrom[i], this.fillTo[i]);
      for (let k = this.unitOff[i]; !diff && k < this.unitOff[i + 1]; k++) diff = !Object.is(this.uFrom[k], this.uTo[k]);
      this.changing[i] = diff ? 1 : 0;
      this.paintStatus(i);
      if (!this.animating || diff) this.painted[i] = DIRTY;
    }
    this.invalidate();
  }

  // ----- the loop ---------------------------------------------------------------------------
  invalidate(): void {
    if (!this.raf && typeof window !== "undefined") this.raf = requestAnimationFrame(this.tick);
  }

  private tick = (now: number): void => {
    this.raf = 0;
    this.ticks++;
    let p = 1;
    if (this.animating) {
      p = Math.min(1, (now - this.start) / this.duration);
      const e = p < 0.5 ? 2 * p * p : 1 - (-2 * p + 2) ** 2 / 2;
      for (let i = 0; i < this.fillCur.length; i++) {
        const a = this.fillFrom[i], b = this.fillTo[i];
        this.fillCur[i] = Number.isNaN(b) ? NaN : (Number.isNaN(a) ? 0 : a) + (b - (Number.isNaN(a) ? 0 : a)) * e;
      }
      for (let k = 0; k < this.uCur.length; k++) {
        const a = this.uFrom[k], b = this.uTo[k];
        this.uCur[k] = Number.isNaN(b) ? NaN : (Number.isNaN(a) ? 0 : a) + (b - (Number.isNaN(a) ? 0 : a)) * e;
      }
      if (p >= 1) this.animating = false;
    }
    for (let i = 0; i < this.ids.length; i++) {
      if (this.painted[i] === DIRTY || (this.changing[i] && this.animating)) this.paintNode(i, false);
    }
    if (!this.animating) this.changing.fill(0);
    this.drawEdges(this.animating ? p : 1);
    if (this.animating || this.live) this.invalidate();
  };

  /** What changes once per shown frame: the error read by tests, frontier, NaN marks. */
  private paintStatus(i: number): void {
    const el = this.els[i];
    if (!el) return;
    const err = this.errMax[i];
    el.dataset.error = Number.isNaN(err) ? "NaN" : String(err);
    el.classList.toggle("ew-frontier", this.frontier[i] === 1);
    el.classList.toggle("ew-nan", Number.isNaN(err));
  }

  /** The node fill and its unit cells (every tick while in transition). */
  private paintNode(i: number, force: boolean): void {
    const el = this.els[i];
    if (!el) return;
    if (force) this.paintStatus(i);
    const v = this.fillCur[i];
    const q = Number.isNaN(v) ? 999 : Math.round(Math.max(-1, Math.min(1, v)) * 128);
    if (this.painted[i] !== q) {
      el.style.setProperty("--ew-fill", divergingColor(v));
      el.style.setProperty("--ew-ink", Math.abs(v) > 0.6 ? "#fff" : "#111");
    }
    this.painted[i] = q;
    const cells = this.cellsOf(i);
    const a = this.unitOff[i];
    for (let k = 0; k < cells.length; k++) {
      const u = this.uCur[a + k];
      const c = cells[k];
      const mag = Number.isNaN(u) ? 1 : Math.min(1, Math.abs(u));
      c.style.background = divergingColor(u);
      c.style.color = Number.isNaN(u) || mag > 0.55 ? "#fff" : "#111";
      const bar = c.firstElementChild as HTMLElement | null;
      if (bar) bar.style.width = `${(100 * mag).toFixed(1)}%`;
    }
  }

  private drawEdges(p: number): void {
    const ctx = this.ctx, canvas = this.canvas, geo = this.geometry;
    if (!ctx || !canvas) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!geo || !this.ids.length) return;
    const vp = geo.viewport();
    const z = vp.zoom * this.dpr;
    ctx.setTransform(z, 0, 0, z, vp.x * this.dpr, vp.y * this.dpr);
    for (let i = 0; i < this.ids.length; i++) {
      const b = geo.node(this.ids[i]);
      if (b) {
        this.px[i] = b.x; this.py[i] = b.y; this.pw[i] = b.w; this.ph[i] = b.h;
      } else this.pw[i] = -1;
    }
    const pulses = p < 1 && !this.reduced;
    ctx.lineCap = "round";
    for (let j = 0; j < this.edgeDst.length; j++) {
      const m = this.edgeTo[j];
      if (!(m > 0)) continue;
      const s = this.edgeSrc[j], t = this.edgeDst[j];
      if (this.pw[s] < 0 || this.pw[t] < 0) continue;
      const g = geometry(
        { x: this.px[s], y: this.py[s], w: this.pw[s], h: this.ph[s] },
        { x: this.px[t], y: this.py[t], w: this.pw[t], h: this.ph[t] },
        this.edgeRoute[j] ?? { from: "right", to: "left", lane: null },
      );
      ctx.strokeStyle = `rgba(200, 60, 40, ${0.18 + 0.4 * m})`;
      ctx.lineWidth = 1.5 + 9 * m;
      trace(ctx, g);
      ctx.stroke();
      if (pulses) {
        // the pulse travels backward: from the target (u = 1) to the source (u = 0)
        const { x, y } = pointAt(g, 1 - p);
        const r = 4 + 10 * m;
        ctx.fillStyle = `rgba(230, 80, 30, ${0.35 + 0.6 * m})`;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, Math.PI * 2);
        ctx.fill();
        ctx.fillStyle = "rgba(255, 240, 200, 0.9)";
        ctx.beginPath();
        ctx.arc(x, y, r * 0.4, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
}

export const animator = new WaveAnimator();

declare global {
  interface Window {
    __errorwave?: { animator: WaveAnimator };
  }
}
if (typeof window !== "undefined") window.__errorwave = { animator };
