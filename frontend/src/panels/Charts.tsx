// Divergence per node over t and energy over t (plotly).
import { useMemo, useState } from "react";
import type { Data, Layout } from "plotly.js";
import type { Frame, Metrics } from "../protocol/messages";
import { useStore } from "../state/store";
import { Plot } from "./Plot";

type Metric = keyof Metrics;

const baseLayout = (title: string, t: number, yTitle: string): Partial<Layout> => ({
  title: { text: title, font: { size: 16 } },
  margin: { l: 56, r: 12, t: 36, b: 40 },
  height: 240,
  xaxis: { title: { text: "step t" }, dtick: 1, rangemode: "tozero" },
  yaxis: { title: { text: yTitle } },
  legend: { orientation: "h", y: -0.3 },
  shapes: [{ type: "line", x0: t, x1: t, yref: "paper", y0: 0, y1: 1, line: { color: "#999", dash: "dot" } }],
  font: { size: 13 },
});

function held(frames: (Frame | undefined)[]): Frame[] {
  return frames.filter((f): f is Frame => f !== undefined);
}

export function DivergenceChart() {
  const frames = useStore((s) => s.frames);
  const snapshot = useStore((s) => s.snapshot);
  const t = useStore((s) => s.t);
  const [metric, setMetric] = useState<Metric>("rel_l2");
  const { data, summary } = useMemo(() => {
    const fs = held(frames);
    const ids = (snapshot?.graph.order ?? []).filter((id) => snapshot?.graph.nodes[id]?.op !== "input");
    const xs = fs.map((f) => f.t);
    const data: Data[] = ids.map((id) => ({
      type: "scatter", mode: "lines+markers", name: id, x: xs,
      y: fs.map((f) => f.divergence.nodes[id]?.[metric] ?? null),
    }));
    data.push({
      type: "scatter", mode: "lines", name: "all params", x: xs,
      y: fs.map((f) => f.divergence.total[metric]), line: { dash: "dash", color: "#222", width: 3 },
    });
    const summary = JSON.stringify(data.map((d) => (d as { y: unknown[] }).y));
    return { data, summary };
  }, [frames, snapshot, metric]);
  const layout = useMemo(() => baseLayout("Divergence from backprop per node", t, metric), [t, metric]);
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
      <Plot data={data} layout={layout} testid="divergence-chart" summary={summary} />
    </div>
  );
}

export function EnergyChart() {
  const frames = useStore((s) => s.frames);
  const t = useStore((s) => s.t);
  const { data, summary } = useMemo(() => {
    const fs = held(frames);
    const y = fs.map((f) => f.energy);
    const data: Data[] = [{ type: "scatter", mode: "lines+markers", name: "energy", x: fs.map((f) => f.t), y, line: { color: "#b2182b", width: 3 } }];
    return { data, summary: JSON.stringify(y) };
  }, [frames]);
  const layout = useMemo(() => ({ ...baseLayout("Energy", t, "energy"), showlegend: false }), [t]);
  return <Plot data={data} layout={layout} testid="energy-chart" summary={summary} />;
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
