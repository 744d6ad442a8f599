// Export menu: the graph as on screen (PNG at 2x for slides, SVG), the timing diagram as SVG,
// the configuration as JSON, the trajectory (held frames) as CSV, and the charts as a
// self-contained plotly HTML report (docs/exports.md).
import { useState } from "react";
import { toBlob, toSvg } from "html-to-image";
import { getState, useStore } from "../state/store";
import type { TimingData } from "../timeline/TimingDiagram";

function save(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const download = (name: string, type: string, text: string) => save(name, new Blob([text], { type }));

const cell = (x: number | null | undefined) => (x === null || x === undefined ? "" : String(x));

export function trajectoryCsv(): string {
  const { frames, framesB, snapshotB } = getState();
  // compare mode: a trailing side column, side a's rows then side b's at each step
  const sides = snapshotB ? [frames, framesB] : [frames];
  const rows = ["example,t,node,unit,value,prediction,error" + (snapshotB ? ",side" : "")];
  frames.forEach((_, t) => sides.forEach((fs, i) => {
    const f = fs[t];
    if (!f) return;
    const tag = snapshotB ? [i ? "b" : "a"] : [];
    for (const [id, st] of Object.entries(f.nodes)) {
      st.value.forEach((v, k) => {
        rows.push([f.example, f.t, id, k, cell(v), cell(st.prediction[k]), cell(st.error[k]), ...tag].join(","));
      });
    }
  }));
  return rows.join("\n") + "\n";
}

// ----- the graph, as on screen ----------------------------------------------------------------
const CHROME = ["react-flow__controls", "react-flow__minimap", "react-flow__attribution", "react-flow__panel"];

function graphElement(): HTMLElement | null {
  return document.querySelector<HTMLElement>(".ew-graph-wrap");
}

const imageOptions = {
  backgroundColor: "#ffffff",
  // the zoom buttons and the like are controls, not part of the picture
  filter: (n: HTMLElement) => !(n.classList && CHROME.some((c) => n.classList.contains(c))),
};

async function graphPng(): Promise<Blob> {
  const el = graphElement();
  if (!el) throw new Error("no graph on screen");
  // toBlob, not toPng + fetch: the page's CSP lets it connect to its own origin only
  const blob = await toBlob(el, { ...imageOptions, pixelRatio: 2 });
  if (!blob) throw new Error("the browser could not draw the graph");
  return blob;
}

async function graphSvg(): Promise<string> {
  const el = graphElement();
  if (!el) throw new Error("no graph on screen");
  const url = await toSvg(el, imageOptions);
  return decodeURIComponent(url.slice(url.indexOf(",") + 1));
}

// ----- the timing diagram, as drawn -----------------------------------------------------------
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

/** The timing diagram as vector graphics, from what its canvas last drew (its data-timing). */
export function timingSvg(): string {
  const canvas = document.querySelector<HTMLCanvasElement>("[data-testid=timing-diagram]");
  const raw = canvas?.dataset.timing;
  if (!raw) throw new Error("open the timing diagram first");
  const data = JSON.parse(raw) as TimingData;
  const s = getState();
  const held = s.frames.filter((f) => f !== undefined).map((f) => f!.t);
  const steps = s.snapshot?.rule.steps ?? Math.max(0, ...held);
  const LABEL = 90, ROW = 24, HEAD = 28, plotW = 960;
  const cw = plotW / Math.max(1, steps + 1);
  const width = LABEL + plotW + 20, height = HEAD + data.rows.length * ROW + 8;
  const every = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((k) => k * cw >= 36) ?? 2000;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<title>Timing: |error| per node and step (log scale, 6 decades)</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<rect data-current-t="${s.t}" x="${LABEL + s.t * cw}" y="0" width="${Math.max(cw, 2)}" height="${height}" fill="rgba(255,200,0,0.3)"/>`];
  for (let k = 0; k <= steps; k += every) {
    out.push(`<text x="${LABEL + (k + 0.5) * cw}" y="${HEAD / 2 + 4}" text-anchor="middle" fill="#444">${k}</text>`);
  }
  data.rows.forEach((id, r) => {
    const y = HEAD + r * ROW;
    out.push(`<g data-node="${esc(id)}"><text x="4" y="${y + ROW / 2 + 4}" fill="#333">${esc(id)}</text>`);
    (data.shade[id] ?? []).forEach((level, j) => {
      if (level <= 0 || held[j] === undefined) return;
      out.push(`<rect data-t="${held[j]}" data-shade="${level}" x="${LABEL + held[j] * cw}" y="${y + 2}" width="${Math.max(cw - 1, 1)}" height="${ROW - 4}" fill="rgb(190,40,40)" fill-opacity="${(0.08 + 0.9 * level).toFixed(3)}"/>`);
    });
    const r0 = Math.max(3, Math.min(7, cw / 2.5));
    const first = data.first[id];
    if (first !== null && first !== undefined) {
      out.push(`<circle data-first="${first}" cx="${LABEL + (first + 0.5) * cw}" cy="${y + ROW / 2}" r="${r0}" fill="#ff7a00" stroke="#fff" stroke-width="1.5"/>`);
    }
    for (const k of data.plasticity[id] ?? []) {
      const cx = LABEL + (k + 0.5) * cw, cy = y + ROW / 2, d = r0 + 1;
      out.push(`<path data-plasticity="${k}" d="M${cx} ${cy - d}L${cx + d} ${cy}L${cx} ${cy + d}L${cx - d} ${cy}Z" fill="#2166ac" stroke="#fff"/>`);
    }
    out.push("</g>");
  });
  out.push("</svg>");
  return out.join("\n");
}

// ----- the charts, as a report ----------------------------------------------------------------
interface PlotDiv extends HTMLElement {
  data?: unknown[];
  layout?: Record<string, unknown>;
}

/** The server inlines plotly.js into one HTML file with the figures drawn on this page. */
async function chartsReport(): Promise<Blob> {
  const divs = [...document.querySelectorAll<PlotDiv>(".ew-plot")].filter((d) => Array.isArray(d.data) && d.data.length);
  if (!divs.length) throw new Error("no chart on screen");
  const s = getState();
  const figures = divs.map((d) => ({ data: d.data, layout: { ...d.layout, width: undefined, height: 460 } }));
  const note = `${s.snapshot?.rule.title ?? ""}, step ${s.t} of ${s.snapshot?.rule.steps ?? "?"}, example ${s.snapshot?.example.seen ?? 0}`;
  const res = await fetch("/api/report", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: s.config?.title || "Errorwave", note, figures }),
  });
  if (!res.ok) throw new Error(`the server could not build the report (${res.status})`);
  return res.blob();
}

// ----- the menu -------------------------------------------------------------------------------
type Item = { id: string; label: string; needs: "config" | "frames"; run: () => Promise<void> | void };

const ITEMS: Item[] = [
  { id: "png", label: "graph PNG (2x)", needs: "frames", run: async () => save("errorwave-graph.png", await graphPng()) },
  { id: "svg", label: "graph SVG", needs: "frames", run: async () => download("errorwave-graph.svg", "image/svg+xml", await graphSvg()) },
  { id: "timing-svg", label: "timing SVG", needs: "frames", run: () => download("errorwave-timing.svg", "image/svg+xml", timingSvg()) },
  { id: "json", label: "config JSON", needs: "config", run: () => download("errorwave-config.json", "application/json", JSON.stringify(getState().config, null, 2)) },
  { id: "csv", label: "trajectory CSV", needs: "frames", run: () => download("errorwave-trajectory.csv", "text/csv", trajectoryCsv()) },
  { id: "html", label: "charts HTML", needs: "frames", run: async () => save("errorwave-report.html", await chartsReport()) },
];

export function ExportButtons() {
  const hasConfig = useStore((s) => s.config !== null);
  const hasFrames = useStore((s) => s.frames.length > 0);
  const [open, setOpen] = useState(false);
  const run = async (item: Item) => {
    try {
      await item.run();
    } catch (e) {
      useStore.setState({ notice: { kind: "error", text: `export ${item.label}: ${(e as Error).message}` } });
    }
  };
  return (
    <div className="ew-menu">
      <button data-testid="export-menu" aria-expanded={open} onClick={() => setOpen(!open)}>export ▾</button>
      {open && (
        <div className="ew-menu-list" role="menu">
          {ITEMS.map((item) => (
            <button key={item.id} role="menuitem" data-testid={`export-${item.id}`}
              disabled={item.needs === "config" ? !hasConfig : !hasFrames} onClick={() => void run(item)}>
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
