// Divergence per node over t and energy over t (plotly).
import { useCallback, useState } from "react";
import type { Data, Layout } from "plotly.js";
import type { Frame, Metrics, Snapshot } from "../protocol/messages";
import { stopped } from "../state/honest";
import { clockSteps, getState, setState, useStore, type DivergenceView } from "../state/store";
import { metricText } from "./format";
import { nodeDivergence, sideLabel } from "../compare/compare";
import { Plot, type Figure } from "./Plot";

type Metric = keyof Metrics;

const MAX_LINES = 12; // more nodes than this: a heatmap instead of one line each

function distance(snapshot: Snapshot | null, id: string): number {
  return snapshot?.graph.nodes[id]?.distance.shortest ?? 1e9;
}

/** Integer steps on the x axis, never repeated (plotly would print 0 0 0 1 1 1). */
function stepAxis(maxT: number, scale: number): Partial<Layout["xaxis"]> {
  const raw = Math.max(1, maxT) / 6;
  const dtick = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000].find((d) => d >= raw) ?? 10000;
  return { title: { text: "step t" }, tickmode: "linear", tick0: 0, dtick, tickformat: "d", rangemode: "tozero",
    tickfont: { size: 13 * scale } } as Partial<Layout["xaxis"]>;
}

const baseLayout = (title: string, t: number, yTitle: string, maxT: number, scale: number): Partial<Layout> => ({
  title: { text: title, font: { size: 16 * scale } },
  margin: { l: 60 * scale, r: 12, t: 36 * scale, b: 60 * scale },
  height: 300 * scale,
  xaxis: stepAxis(maxT, scale),
  yaxis: { title: { text: yTitle } },
  // the legend sits to the right of the plot, clear of the axis title
  legend: { orientation: "v", x: 1.02, xanchor: "left", y: 1, font: { size: 13 * scale } },
  shapes: [{ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1, line: { color: "#999", dash: "dot" } }],
  font: { size: 13 * scale },
});

function held(frames: (Frame | undefined)[]): Frame[] {
  return frames.filter((f): f is Frame => f !== undefined);
}

/** When to re-plot: 150 ms after the last change, at least every 2 s while they stream. */
const TIMING = { quietMs: 150, maxWaitMs: 2000 };

export const VIEW_TITLE: Record<DivergenceView, string> = {
  errors: "errors vs −dL/dv",
  updates: "updates vs backprop",
};

/** The nodes a view draws: in the configuration on screen (never a deleted one), and for
 * the updates view only nodes with parameters. */
export function viewNodes(view: DivergenceView): string[] {
  const { snapshot, config } = getState();
  const live = new Set(config?.graph.nodes.map((n) => n.id) ?? []);
  return (snapshot?.graph.order ?? []).filter((id) => {
    const n = snapshot?.graph.nodes[id];
    if (!n || n.op === "input" || !live.has(id)) return false;
    return view === "errors" || n.has_params;
  });
}

function series(f: Frame, view: DivergenceView, id: string): Metrics | undefined {
  return view === "errors" ? f.divergence.nodes[id] : f.divergence.params[id];
}

// one colour per node, the same on both sides in compare mode (side b dashed)
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"];

/** Compare mode: two legend entries that say which line style is which rule (each node
 * has one entry; its side b line shares it). */
function sideKeys(): Data[] {
  const { snapshot, snapshotB } = getState();
  if (!snapshotB) return [];
  const key = (name: string, dash: "solid" | "dash"): Data => ({
    type: "scatter", mode: "lines", name, x: [null], y: [null], line: { color: "#555", dash, width: 3 },
  });
  return [key(`a: ${sideLabel(snapshot, snapshotB)}`, "solid"), key(`b: ${sideLabel(snapshotB, snapshot)}`, "dash")];
}

function divergenceFigure(metric: Metric, view: DivergenceView, scale: number): Figure {
  const { frames, framesB, snapshot, snapshotB, t } = getState();
  const fs = held(frames);
  const fsB = snapshotB ? held(framesB) : [];
  const ids = viewNodes(view);
  const xs = fs.map((f) => f.t);
  const data: Data[] = [];
  const many = ids.length > MAX_LINES;
  if (!many) {
    ids.forEach((id, i) => {
      const color = PALETTE[i % PALETTE.length];
      data.push({
        type: "scatter", mode: "lines+markers", name: id, x: xs,
        y: fs.map((f) => series(f, view, id)?.[metric] ?? null), line: { color }, legendgroup: id,
      });
      if (snapshotB) {
        data.push({
          type: "scatter", mode: "lines+markers", name: `${id} · b`, x: fsB.map((f) => f.t),
          y: fsB.map((f) => series(f, view, id)?.[metric] ?? null),
          line: { color, dash: "dash" }, marker: { symbol: "circle-open" }, legendgroup: id, showlegend: false,
        });
      }
    });
  } else {
    // many nodes: one heatmap row per node (nearest the output on top) reads better
    const rows = [...ids].sort((a, b) => distance(snapshot, b) - distance(snapshot, a));
    data.push({
      type: "heatmap", name: "nodes", x: xs, y: rows, yaxis: "y2",
      z: rows.map((id) => fs.map((f) => series(f, view, id)?.[metric] ?? null)),
      colorscale: "YlOrRd", reversescale: metric === "cosine", showscale: false,
    } as Data);
  }
  const total = (f: Frame) => (view === "errors" ? f.divergence.total_nodes : f.divergence.total);
  data.push({
    type: "scatter", mode: "lines", name: (view === "errors" ? "all nodes" : "all params") + (snapshotB ? " · a" : ""),
    x: xs, y: fs.map((f) => total(f)?.[metric] ?? null), line: { dash: "dash", color: "#222", width: 3 },
  });
  if (snapshotB) {
    data.push({
      type: "scatter", mode: "lines", name: (view === "errors" ? "all nodes" : "all params") + " · b",
      x: fsB.map((f) => f.t), y: fsB.map((f) => total(f)?.[metric] ?? null),
      line: { dash: "dot", color: "#222", width: 3 },
    });
  }
  const summary = JSON.stringify(data.map((d) => {
    const e = d as { z?: unknown[]; y?: unknown[] };
    return e.z ?? e.y;
  }));
  const maxT = clockSteps(snapshot);
  let layout = baseLayout(VIEW_TITLE[view], t, metric, maxT, scale);
  data.push(...sideKeys());
  if (many) {
    layout = {
      ...layout, showlegend: false, height: 320 * scale,
      yaxis: { title: { text: "all" }, domain: [0, 0.28] },
      yaxis2: { domain: [0.36, 1], showticklabels: false, title: { text: "nodes (output on top)" } },
    } as Partial<Layout>;
  }
  return { data, layout, summary };
}

function energyFigure(scale: number): Figure {
  const { frames, framesB, t, snapshot, snapshotB } = getState();
  const fs = held(frames);
  const y = fs.map((f) => f.energy);
  const base = baseLayout("Energy", t, "energy", clockSteps(snapshot), scale);
  const data: Data[] = [{ type: "scatter", mode: "lines+markers", name: snapshotB ? "a" : "energy",
    x: fs.map((f) => f.t), y, line: { color: "#b2182b", width: 3 } }];
  const fsB = snapshotB ? held(framesB) : [];
  if (snapshotB) {
    data.push({ type: "scatter", mode: "lines+markers", name: "b (dashed)", x: fsB.map((f) => f.t),
      y: fsB.map((f) => f.energy), line: { color: "#b2182b", width: 3, dash: "dash" }, marker: { symbol: "circle-open" } });
  }
  return {
    data,
    layout: { ...base, showlegend: !!snapshotB, height: 240 * scale },
    summary: JSON.stringify([y, fsB.map((f) => f.energy)]),
  };
}

export function DivergenceChart() {
  const frames = useStore((s) => s.frames);
  const framesB = useStore((s) => s.framesB);
  const t = useStore((s) => s.t);
  const view = useStore((s) => s.divergenceView);
  const presenter = useStore((s) => s.presenter);
  const halted = useStore((s) => stopped(s));
  const config = useStore((s) => s.config);
  const [metric, setMetric] = useState<Metric>("rel_l2");
  const scale = presenter ? 1.3 : 1;
  const build = useCallback(() => divergenceFigure(metric, view, scale), [metric, view, scale]);
  return (
    <div className={`ew-chart${halted ? " ew-stale-chart" : ""}`}>
      <div className="ew-chart-controls">
        <label>
          view{" "}
          <select data-testid="divergence-view" value={view}
            onChange={(e) => setState({ divergenceView: e.target.value as DivergenceView })}>
            <option value="errors">{VIEW_TITLE.errors}</option>
            <option value="updates">{VIEW_TITLE.updates}</option>
          </select>
        </label>
        <label>
          metric{" "}
          <select data-testid="divergence-metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            <option value="rel_l2">relative L2</option>
            <option value="cosine">cosine</option>
            <option value="max_abs">max |Δ|</option>
          </select>
        </label>
      </div>
      <p className="ew-muted ew-chart-help">
        {view === "errors"
          ? "Each node's error ε against backprop's −dL/dv at the same step (0 = equal)."
          : "Each parameter node's update so far against backprop's update (0 = equal)."}
      </p>
      <Plot build={build} version={[frames, framesB, t, metric, view, scale, config]} testid="divergence-chart" {...TIMING} />
      <DivergenceReadout view={view} metric={metric} />
    </div>
  );
}

/** The numbers at step t, as the server computed them (float64; never recomputed here). */
function DivergenceReadout({ view, metric }: { view: DivergenceView; metric: Metric }) {
  const frame = useStore((s) => s.frames[s.t]);
  const frameB = useStore((s) => (s.snapshotB ? s.framesB[s.t] : undefined));
  useStore((s) => s.config);
  if (!frame) return null;
  const ids = viewNodes(view).slice(0, 12);
  // compare mode: a row per side against backprop, and side b against side a
  const rows: [string, string, (id: string) => Metrics | undefined][] = [["a", "readout-", (id) => series(frame, view, id)]];
  if (frameB) {
    rows.push(["b", "readout-b-", (id) => series(frameB, view, id)]);
    rows.push(["b↔a", "readout-ba-", (id) => nodeDivergence(frame, frameB, id, view).ba]);
  }
  return (
    <table className="ew-table ew-readout" data-testid="divergence-readout" data-view={view}>
      <tbody>
        <tr>
          {frameB && <th />}
          {ids.map((id) => <th key={id}>{id}</th>)}
        </tr>
        {rows.map(([label, testid, get]) => (
          <tr key={label}>
            {frameB && <th>{label}</th>}
            {ids.map((id) => {
              const m = get(id);
              const { text, why } = metricText(m, metric); // "—" and why where undefined
              return <td key={id} data-testid={`${testid}${id}`} data-value={m?.[metric] ?? ""}
                data-why={why} title={why || undefined}>{text}</td>;
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EnergyChart() {
  const frames = useStore((s) => s.frames);
  const framesB = useStore((s) => s.framesB);
  const t = useStore((s) => s.t);
  const presenter = useStore((s) => s.presenter);
  const scale = presenter ? 1.3 : 1;
  const build = useCallback(() => energyFigure(scale), [scale]);
  return <Plot build={build} version={[frames, framesB, t, scale]} testid="energy-chart" {...TIMING} />;
}

export function Charts() {
  return (
    <section className="ew-panel" aria-label="charts">
      <h2>Charts</h2>
      <DivergenceChart />
      <EnergyChart />
    </section>
  );
}
