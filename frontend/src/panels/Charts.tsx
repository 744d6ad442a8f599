// Divergence per node over t and energy over t (plotly).
import { useCallback, useState } from "react";
import type { Data, Layout } from "plotly.js";
import type { Frame, Metrics, Snapshot } from "../protocol/messages";
import { getState, useStore } from "../state/store";
import { Plot, type Figure } from "./Plot";

type Metric = keyof Metrics;

const MAX_LINES = 12; // more nodes than this: a heatmap instead of one line each

function distance(snapshot: Snapshot | null, id: string): number {
  return snapshot?.graph.nodes[id]?.distance.shortest ?? 1e9;
}

const baseLayout = (title: string, t: number, yTitle: string): Partial<Layout> => ({
  title: { text: title, font: { size: 16 } },
  margin: { l: 56, r: 12, t: 36, b: 96 },
  height: 300,
  xaxis: { title: { text: "step t" }, tickformat: "d", nticks: 10, rangemode: "tozero" },
  yaxis: { title: { text: yTitle } },
  legend: { orientation: "h", y: -0.42, yanchor: "top" },
  shapes: [{ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1, line: { color: "#999", dash: "dot" } }],
  font: { size: 13 },
});

function held(frames: (Frame | undefined)[]): Frame[] {
  return frames.filter((f): f is Frame => f !== undefined);
}

/** When to re-plot: 150 ms after the last change, at least every 2 s while they stream. */
const TIMING = { quietMs: 150, maxWaitMs: 2000 };

function divergenceFigure(metric: Metric): Figure {
  const { frames, snapshot, t } = getState();
  const fs = held(frames);
  const ids = (snapshot?.graph.order ?? []).filter((id) => snapshot?.graph.nodes[id]?.op !== "input");
  const xs = fs.map((f) => f.t);
  const data: Data[] = [];
  const many = ids.length > MAX_LINES;
  if (!many) {
    for (const id of ids) {
      data.push({
        type: "scatter", mode: "lines+markers", name: id, x: xs,
        y: fs.map((f) => f.divergence.nodes[id]?.[metric] ?? null),
      });
    }
  } else {
    // many nodes: one heatmap row per node (nearest the output on top) reads better
    const rows = [...ids].sort((a, b) => distance(snapshot, b) - distance(snapshot, a));
    data.push({
      type: "heatmap", name: "nodes", x: xs, y: rows, yaxis: "y2",
      z: rows.map((id) => fs.map((f) => f.divergence.nodes[id]?.[metric] ?? null)),
      colorscale: "YlOrRd", reversescale: metric === "cosine", showscale: false,
    } as Data);
  }
  data.push({
    type: "scatter", mode: "lines", name: "all params", x: xs,
    y: fs.map((f) => f.divergence.total[metric]), line: { dash: "dash", color: "#222", width: 3 },
  });
  const summary = JSON.stringify(data.map((d) => {
    const e = d as { z?: unknown[]; y?: unknown[] };
    return e.z ?? e.y;
  }));
  let layout = baseLayout("Divergence from backprop per node", t, metric);
  if (many) {
    layout = {
      ...layout, showlegend: false, margin: { ...layout.margin, b: 44 }, height: 320,
      yaxis: { title: { text: "all params" }, domain: [0, 0.28] },
      yaxis2: { domain: [0.36, 1], showticklabels: false, title: { text: "nodes (output on top)" } },
    } as Partial<Layout>;
  }
  return { data, layout, summary };
}

function energyFigure(): Figure {
  const { frames, t } = getState();
  const fs = held(frames);
  const y = fs.map((f) => f.energy);
  return {
    data: [{ type: "scatter", mode: "lines+markers", name: "energy", x: fs.map((f) => f.t), y, line: { color: "#b2182b", width: 3 } }],
    layout: { ...baseLayout("Energy", t, "energy"), showlegend: false, height: 240, margin: { l: 56, r: 12, t: 36, b: 44 } },
    summary: JSON.stringify(y),
  };
}

export function DivergenceChart() {
  const frames = useStore((s) => s.frames);
  const t = useStore((s) => s.t);
  const [metric, setMetric] = useState<Metric>("rel_l2");
  const build = useCallback(() => divergenceFigure(metric), [metric]);
  return (
    <div className="ew-chart">
      <label className="ew-chart-control">
        metric{" "}
        <select data-testid="divergence-metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
          <option value="rel_l2">relative L2</option>
          <option value="cosine">cosine</option>
          <option value="max_abs">max |Δ|</option>
        </select>
      </label>
      <Plot build={build} version={[frames, t, metric]} testid="divergence-chart" {...TIMING} />
    </div>
  );
}

export function EnergyChart() {
  const frames = useStore((s) => s.frames);
  const t = useStore((s) => s.t);
  return <Plot build={energyFigure} version={[frames, t]} testid="energy-chart" {...TIMING} />;
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
