// Nodes × steps: shading where a node's error is nonzero, a dot where it first arrived,
// a diamond where plasticity fired. Drawn on a canvas so it scales to big graphs.
import { useEffect, useRef } from "react";
import { seek } from "../state/session";
import { setState, useStore } from "../state/store";

const ROW = 22;
const LABEL_W = 90;
const HEADER = 20;

export function TimingDiagram() {
  const ref = useRef<HTMLCanvasElement>(null);
  const snapshot = useStore((s) => s.snapshot);
  const frames = useStore((s) => s.frames);
  const t = useStore((s) => s.t);
  const selected = useStore((s) => s.selected);

  const rows = snapshot
    ? [...snapshot.graph.order]
        .filter((id) => snapshot.graph.nodes[id].op !== "input")
        .sort((a, b) => (snapshot.graph.nodes[a].distance.shortest ?? 1e9) - (snapshot.graph.nodes[b].distance.shortest ?? 1e9))
    : [];
  const steps = snapshot?.rule.steps ?? 0;
  const maxRows = Math.min(rows.length, 60);
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
    const cw = (width - LABEL_W - 8) / Math.max(1, steps + 1);
    ctx.font = "13px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#444";
    const every = Math.max(1, Math.ceil(24 / cw));
    for (let s = 0; s <= steps; s += every) ctx.fillText(String(s), LABEL_W + s * cw + 2, HEADER / 2);
    ctx.fillStyle = "rgba(255, 200, 0, 0.25)";
    ctx.fillRect(LABEL_W + t * cw, 0, cw, height);
    const firstSeen = new Map<string, number>();
    rows.slice(0, maxRows).forEach((id, r) => {
      const y = HEADER + r * ROW;
      ctx.fillStyle = id === selected ? "#000" : "#333";
      ctx.fillText(id.length > 11 ? `${id.slice(0, 10)}…` : id, 4, y + ROW / 2);
      for (const f of frames) {
        if (!f) continue;
        const err = f.nodes[id]?.error ?? [];
        const nonzero = err.some((e) => e === null || e !== 0);
        const x = LABEL_W + f.t * cw;
        if (nonzero) {
          ctx.fillStyle = "rgba(200, 60, 40, 0.25)";
          ctx.fillRect(x + 1, y + 2, cw - 2, ROW - 4);
          if (!firstSeen.has(id)) {
            firstSeen.set(id, f.t);
            ctx.fillStyle = "#c83c28";
            ctx.beginPath();
            ctx.arc(x + cw / 2, y + ROW / 2, Math.min(6, cw / 3), 0, Math.PI * 2);
            ctx.fill();
          }
        }
        if (f.events.some((e) => e.kind === "plasticity" && e.node === id)) {
          const cx = x + cw / 2, cy = y + ROW / 2, d = Math.min(7, cw / 2.5);
          ctx.fillStyle = "#2166ac";
          ctx.beginPath();
          ctx.moveTo(cx, cy - d); ctx.lineTo(cx + d, cy); ctx.lineTo(cx, cy + d); ctx.lineTo(cx - d, cy);
          ctx.closePath();
          ctx.fill();
        }
      }
    });
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
    if (!c || !snapshot) return;
    const rect = c.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const cw = (rect.width - LABEL_W - 8) / Math.max(1, steps + 1);
    const row = Math.floor((y - HEADER) / ROW);
    if (row >= 0 && row < maxRows) setState({ selected: rows[row] });
    if (x > LABEL_W) seek(Math.floor((x - LABEL_W) / cw));
  };

  if (!snapshot) return null;
  return (
    <section className="ew-panel ew-timing" aria-label="timing diagram">
      <h2>
        Timing <span className="ew-muted">● error first nonzero · ◆ plasticity{rows.length > maxRows ? ` · first ${maxRows} of ${rows.length} nodes` : ""}</span>
      </h2>
      <canvas ref={ref} data-testid="timing-diagram" onClick={onClick} />
    </section>
  );
}
