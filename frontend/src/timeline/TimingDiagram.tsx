// Nodes × steps. Each cell is shaded by the node's largest |error| on a log scale (six
// decades below the largest seen), so standard PC's smearing shows next to Z-IL's sharp
// diagonal; a dot marks where a node's error first became nonzero, a diamond where its
// plasticity fired. Drawn on a canvas so it scales to big graphs and long runs; click a
// cell to jump there. Collapsible.
import { useEffect, useRef, useState } from "react";
import { seek } from "../state/session";
import { stopped } from "../state/honest";
import { clockSteps, setState, useStore } from "../state/store";

const DECADES = 6;
const MAX_ROWS = 60;

function niceStep(steps: number, width: number, minGap: number): number {
  const per = width / Math.max(1, steps + 1);
  for (const s of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]) if (s * per >= minGap) return s;
  return 10000;
}

export interface TimingData {
  rows: string[];
  shade: Record<string, number[]>; // per row, per held step: 0 (zero) .. 1 (largest)
  first: Record<string, number | null>;
  plasticity: Record<string, number[]>;
}

export function TimingDiagram() {
  const ref = useRef<HTMLCanvasElement>(null);
  const snapshot = useStore((s) => s.snapshot);
  const frames = useStore((s) => s.frames);
  const t = useStore((s) => s.t);
  const selected = useStore((s) => s.selected);
  const presenter = useStore((s) => s.presenter);
  const [open, setOpen] = useState(true);
  const scale = presenter ? 1.2 : 1;
  const ROW = Math.round(20 * scale);
  const LABEL_W = Math.round(84 * scale);
  const HEADER = Math.round(20 * scale);

  const config = useStore((s) => s.config);
  const halted = useStore((s) => stopped(s));
  const live = new Set(config?.graph.nodes.map((n) => n.id) ?? []);
  const rows = snapshot
    ? [...snapshot.graph.order]
        .filter((id) => snapshot.graph.nodes[id].op !== "input" && live.has(id)) // never a deleted node
        .sort((a, b) => (snapshot.graph.nodes[a].distance.shortest ?? 1e9) - (snapshot.graph.nodes[b].distance.shortest ?? 1e9))
    : [];
  const steps = clockSteps(snapshot);
  const maxRows = Math.min(rows.length, MAX_ROWS);
  const height = HEADER + maxRows * ROW + 4;

  const playing = useStore((s) => s.playing);
  const timer = useRef<number | undefined>(undefined);
  const lastDraw = useRef(0);
  const drawRef = useRef<() => void>(() => {});

  drawRef.current = () => {
    const c = ref.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    const width = c.parentElement?.clientWidth ?? 600;
    c.width = width * dpr;
    c.height = height * dpr;
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    const ctx = c.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const plotW = width - LABEL_W - 28;
    const cw = plotW / Math.max(1, steps + 1);
    const font = Math.round(13 * scale);
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    // ticks: a round step count apart, wide enough for their labels
    const every = niceStep(steps, plotW, (String(steps).length + 2) * font * 0.6);
    ctx.fillStyle = "#444";
    ctx.textAlign = "center";
    for (let s = 0; s <= steps; s += every) {
      const x = LABEL_W + (s + 0.5) * cw;
      ctx.fillText(String(s), x, HEADER / 2);
      ctx.fillRect(x, HEADER - 3, 1, 3);
    }
    ctx.textAlign = "left";
    ctx.fillStyle = "rgba(255, 200, 0, 0.3)";
    ctx.fillRect(LABEL_W + t * cw, 0, Math.max(cw, 2), height);

    const shown = rows.slice(0, maxRows);
    const held = frames.filter((f) => f !== undefined);
    // the largest |error| seen sets the top of the log scale
    let top = 0;
    const mags = new Map<string, Float64Array>();
    for (const id of shown) {
      const m = new Float64Array(held.length);
      held.forEach((f, j) => {
        let a = 0;
        for (const e of f!.nodes[id]?.error ?? []) {
          const v = e === null ? Infinity : Math.abs(e);
          if (v > a) a = v;
        }
        m[j] = a;
        if (Number.isFinite(a) && a > top) top = a;
      });
      mags.set(id, m);
    }
    const lo = top > 0 ? Math.log10(top) - DECADES : 0;
    const data: TimingData = { rows: shown, shade: {}, first: {}, plasticity: {} };
    shown.forEach((id, r) => {
      const y = HEADER + r * ROW;
      ctx.fillStyle = id === selected ? "#000" : "#333";
      ctx.font = `${id === selected ? "bold " : ""}${font}px system-ui, sans-serif`;
      ctx.fillText(id.length > 10 ? `${id.slice(0, 9)}…` : id, 4, y + ROW / 2);
      const m = mags.get(id)!;
      const shade: number[] = [];
      let first: number | null = null;
      const fired: number[] = [];
      held.forEach((f, j) => {
        const a = m[j];
        const x = LABEL_W + f!.t * cw;
        let level = 0;
        if (!Number.isFinite(a)) level = 1;
        else if (a > 0 && top > 0) level = Math.max(0.04, Math.min(1, (Math.log10(a) - lo) / DECADES));
        shade.push(Number(level.toFixed(4)));
        if (level > 0) {
          ctx.fillStyle = Number.isFinite(a) ? `rgba(190, 40, 40, ${(0.08 + 0.9 * level).toFixed(3)})` : "#7b2cbf";
          ctx.fillRect(x + (cw > 3 ? 0.5 : 0), y + 2, Math.max(cw - (cw > 3 ? 1 : 0), 1), ROW - 4);
          if (first === null) first = f!.t;
        }
        if (f!.events.some((e) => e.kind === "plasticity" && e.node === id)) fired.push(f!.t);
      });
      data.shade[id] = shade;
      data.first[id] = first;
      data.plasticity[id] = fired;
      const r0 = Math.max(3, Math.min(6 * scale, cw / 2.5));
      if (first !== null) {
        // dot left of centre and diamond right of it when the cell is wide enough for both
        const cx = LABEL_W + (first + (cw > 5 * r0 ? 0.32 : 0.5)) * cw, cy = y + ROW / 2;
        ctx.fillStyle = "#fff";
        ctx.beginPath();
        ctx.arc(cx, cy, r0 + 1.5, 0, Math.PI * 2);
        ctx.fill();
        ctx.fillStyle = "#ff7a00";
        ctx.beginPath();
        ctx.arc(cx, cy, r0, 0, Math.PI * 2);
        ctx.fill();
      }
      for (const k of fired) {
        const cx = LABEL_W + (k + (cw > 5 * r0 ? 0.68 : 0.5)) * cw, cy = y + ROW / 2, d = r0 + 1;
        ctx.fillStyle = "#2166ac";
        ctx.strokeStyle = "#fff";
        ctx.beginPath();
        ctx.moveTo(cx, cy - d); ctx.lineTo(cx + d, cy); ctx.lineTo(cx, cy + d); ctx.lineTo(cx - d, cy);
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    });
    c.dataset.timing = JSON.stringify(data);
    c.dataset.ticks = JSON.stringify({ every, gapPx: every * cw, labelPx: ctx.measureText(String(steps)).width });
    c.dataset.top = String(top);
  };

  // redraw at most every 150 ms (every 500 ms while playing): it walks every held frame
  useEffect(() => {
    if (timer.current !== undefined) return;
    const gap = playing ? 500 : 150;
    const wait = Math.max(0, gap - (performance.now() - lastDraw.current));
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      lastDraw.current = performance.now();
      drawRef.current();
    }, wait);
  });
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const onClick = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const c = ref.current;
    if (!c || !snapshot || halted) return;
    const rect = c.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const cw = (rect.width - LABEL_W - 28) / Math.max(1, steps + 1);
    const row = Math.floor((y - HEADER) / ROW);
    if (row >= 0 && row < maxRows) setState({ selected: rows[row] });
    if (x > LABEL_W) seek(Math.floor((x - LABEL_W) / cw));
  };

  if (!snapshot) return null;
  return (
    <section className={`ew-panel ew-timing${halted ? " ew-stale-chart" : ""}`} aria-label="timing diagram">
      <h2 onClick={() => setOpen(!open)} data-testid="timing-toggle" aria-expanded={open}>
        {open ? "▾" : "▸"} Timing{" "}
        <span className="ew-muted">
          shade: |error|, log scale ({DECADES} decades) · <span className="ew-dot">●</span> error first nonzero ·{" "}
          <span className="ew-diamond">◆</span> plasticity
          {rows.length > maxRows ? ` · first ${maxRows} of ${rows.length} nodes` : ""}
        </span>
      </h2>
      {open && <canvas ref={ref} data-testid="timing-diagram" onClick={onClick} />}
    </section>
  );
}
