// Learning across examples: loss per example and each layer's angle to backprop's update
// (two axes, never mixed), and for a 2-D dataset the data with the model's decision
// boundary, as the engine computed it (the page never runs the network itself). Fed by
// the server's learning rows, one per example (or per batch: the same shape).
import { useCallback, useEffect, useRef } from "react";
import type { Data, Layout } from "plotly.js";
import { nextExample } from "../state/session";
import { getState, useStore, type Boundary, type LearnRow } from "../state/store";
import { useTraining } from "../state/training";
import { Plot, type Figure } from "./Plot";

const TIMING = { quietMs: 120, maxWaitMs: 1000 };

function exampleAxis(rows: LearnRow[], scale: number): Partial<Layout["xaxis"]> {
  const n = Math.max(1, rows.length ? rows[rows.length - 1].example : 1);
  const dtick = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((d) => d >= n / 6) ?? 2000;
  return { tickmode: "linear", tick0: 0, dtick, tickformat: "d", tickfont: { size: 12 * scale } } as Partial<Layout["xaxis"]>;
}

function learningFigure(scale: number): Figure {
  const rows = getState().learnRows;
  const xs = rows.map((r) => r.example + 1);
  const layers = [...new Set(rows.flatMap((r) => Object.keys(r.angle)))];
  const data: Data[] = [
    { type: "scatter", mode: "lines+markers", name: "loss", x: xs, y: rows.map((r) => r.loss), line: { color: "#b2182b", width: 3 } },
    ...layers.map((id): Data => ({
      type: "scatter", mode: "lines+markers", name: `∠ ${id}`, x: xs, y: rows.map((r) => r.angle[id] ?? null),
      xaxis: "x2", yaxis: "y2",
    })),
  ];
  const axis = exampleAxis(rows, scale);
  const layout: Partial<Layout> = {
    height: 340 * scale,
    margin: { l: 56 * scale, r: 12, t: 28 * scale, b: 44 * scale },
    font: { size: 13 * scale },
    grid: { rows: 2, columns: 1, pattern: "independent" },
    xaxis: { ...axis, anchor: "y" },
    yaxis: { title: { text: "loss" }, domain: [0.58, 1], rangemode: "tozero" },
    xaxis2: { ...axis, anchor: "y2", title: { text: "examples learned" } },
    yaxis2: { title: { text: "angle to BP (°)" }, domain: [0, 0.42], range: [0, 180], dtick: 45 },
    legend: { orientation: "v", x: 1.02, xanchor: "left", y: 1, font: { size: 12 * scale } },
    title: { text: "Learning across examples", font: { size: 15 * scale } },
  };
  return { data, layout, summary: JSON.stringify(xs) };
}

/** A training run (the rule and backprop from the same start, per batch): loss, accuracy
 * (per batch; held-out per epoch) and the weights' distance to the backprop run. */
function trainingFigure(scale: number): Figure {
  const { rows, epochRows, rule, run } = useTraining.getState();
  const xs = rows.map((r) => r.example + r.batch_size);
  const ex = epochRows.map((e) => e.examples);
  const ruleColor = "#b2182b";
  const bpColor = "#2166ac";
  const line = (color: string, dash?: "dot") => ({ color, width: 2 * scale, ...(dash ? { dash } : {}) });
  const mark = (color: string) => ({ color, size: 9 * scale, symbol: "diamond" });
  const data: Data[] = [
    { type: "scatter", mode: "lines", name: `${rule} loss`, x: xs, y: rows.map((r) => r.loss), line: line(ruleColor) },
    { type: "scatter", mode: "lines", name: "backprop loss", x: xs, y: rows.map((r) => r.backprop_loss ?? null), line: line(bpColor, "dot") },
    { type: "scatter", mode: "lines", name: `${rule} batch accuracy`, x: xs, y: rows.map((r) => r.accuracy), line: line(ruleColor), xaxis: "x2", yaxis: "y2", opacity: 0.6 },
    { type: "scatter", mode: "lines+markers", name: `${rule} test accuracy`, x: ex, y: epochRows.map((e) => e.test_accuracy), line: line(ruleColor), marker: mark(ruleColor), xaxis: "x2", yaxis: "y2" },
    { type: "scatter", mode: "lines+markers", name: "backprop test accuracy", x: ex, y: epochRows.map((e) => e.backprop_test_accuracy ?? null), line: line(bpColor, "dot"), marker: mark(bpColor), xaxis: "x2", yaxis: "y2" },
    { type: "scatter", mode: "lines", name: "distance to backprop", x: xs, y: rows.map((r) => r.distance), line: line("#555"), xaxis: "x3", yaxis: "y3" },
  ];
  const font = { size: 12 * scale };
  const x = (anchor: string, title?: string): Partial<Layout["xaxis"]> =>
    ({ anchor, tickfont: font, rangemode: "tozero", ...(title ? { title: { text: title } } : {}) }) as Partial<Layout["xaxis"]>;
  const layout: Partial<Layout> = {
    height: 600 * scale,
    margin: { l: 78 * scale, r: 12, t: 28 * scale, b: 170 * scale },
    font: { size: 13 * scale },
    xaxis: x("y"), xaxis2: { ...x("y2"), matches: "x" }, xaxis3: { ...x("y3", "examples trained"), matches: "x" },
    yaxis: { title: { text: "loss" }, domain: [0.7, 1], rangemode: "tozero" },
    yaxis2: { title: { text: "accuracy" }, domain: [0.36, 0.64], range: [0, 1.02] },
    yaxis3: { title: { text: "‖θ − θ_BP‖" }, domain: [0, 0.28], rangemode: "tozero", exponentformat: "e" },
    legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top", font },
    title: { text: `Training: ${rule} beside backprop`, font: { size: 15 * scale } },
  };
  return { data, layout, summary: JSON.stringify([run, rows.length, epochRows.length]) };
}

function latestBoundary(): { b: Boundary; label: string } | null {
  const t = useTraining.getState();
  if (t.boundary) return { b: t.boundary, label: `${t.rule} after ${t.examples} training examples` };
  const rows = getState().learnRows;
  const b = [...rows].reverse().find((r) => r.boundary)?.boundary;
  return b ? { b, label: `after ${rows[rows.length - 1]?.example + 1} examples` } : null;
}

function boundaryFigure(scale: number): Figure {
  const found = latestBoundary();
  if (!found) return { data: [], layout: {}, summary: "" };
  const { b, label } = found;
  const level = b.level;
  const zs = b.z.flat().filter((v): v is number => v !== null);
  const spread = Math.max(1e-9, ...zs.map((v) => Math.abs(v - level)));
  const data: Data[] = [
    {
      type: "heatmap", x: b.x, y: b.y, z: b.z, zmin: level - spread, zmax: level + spread,
      colorscale: [[0, "#2166ac"], [0.5, "#f7f7f7"], [1, "#be2828"]], showscale: false, opacity: 0.75, hoverinfo: "skip",
    } as Data,
    {
      type: "contour", x: b.x, y: b.y, z: b.z, showscale: false, hoverinfo: "skip",
      contours: { start: level, end: level, size: 1, coloring: "none" }, line: { color: "#111", width: 3 },
    } as Data,
    ...[0, 1].map((c): Data => ({
      type: "scatter", mode: "markers", name: `class ${c}`,
      x: b.points.filter((p) => p.label === c).map((p) => p.x),
      y: b.points.filter((p) => p.label === c).map((p) => p.y),
      marker: { color: c ? "#be2828" : "#2166ac", size: 8 * scale, line: { color: "#fff", width: 1 } },
    })),
  ];
  return {
    data,
    layout: {
      height: 300 * scale, margin: { l: 36, r: 12, t: 28 * scale, b: 30 }, font: { size: 12 * scale },
      title: { text: `Decision boundary ${label}`, font: { size: 14 * scale } },
      xaxis: { scaleanchor: "y", constrain: "domain" }, showlegend: false,
    },
    summary: JSON.stringify(label),
  };
}

/** Learn n examples in turn: each next_example waits for the previous one's row. */
function useLearnMany() {
  const pending = useRef(0);
  useEffect(() => useStore.subscribe((s, prev) => {
    if (pending.current > 0 && s.learnRows.length > prev.learnRows.length) {
      pending.current -= 1;
      if (pending.current > 0) nextExample();
    }
  }), []);
  return useCallback((n: number) => {
    pending.current = n;
    nextExample();
  }, []);
}

export function LearningPanel() {
  const rows = useStore((s) => s.learnRows);
  const presenter = useStore((s) => s.presenter);
  const dataset = useStore((s) => (s.config?.data as { dataset?: string } | undefined)?.dataset);
  const ready = useStore((s) => s.snapshot !== null && s.status === "open" && s.issues.length === 0);
  const scale = presenter ? 1.3 : 1;
  const learn = useLearnMany();
  const build = useCallback(() => learningFigure(scale), [scale]);
  const buildB = useCallback(() => boundaryFigure(scale), [scale]);
  const training = useTraining();
  const buildT = useCallback(() => trainingFigure(scale), [scale]);
  const planar = rows.some((r) => r.boundary) || training.boundary !== null;
  return (
    <section className="ew-panel" aria-label="learning" data-testid="learning-panel" data-rows={rows.length}
      data-train-rows={training.rows.length}>
      <h2>Learning</h2>
      <div className="ew-learn-controls">
        <button data-testid="learn-1" disabled={!ready} onClick={() => learn(1)}>learn 1 example</button>
        <button data-testid="learn-10" disabled={!ready} onClick={() => learn(10)}>learn 10</button>
      </div>
      {training.run > 0 && (
        <Plot build={buildT} version={[training.rows, training.epochRows, scale]} testid="training-chart" {...TIMING} />
      )}
      {rows.length === 0 ? (
        <p className="ew-muted">
          Each “next example” applies this example's updates and moves on; the loss and each layer's
          angle to backprop's update appear here{dataset ? `, with the ${dataset} data and the decision boundary` : ""}.
        </p>
      ) : (
        <Plot build={build} version={[rows, scale]} testid="learning-chart" {...TIMING} />
      )}
      {planar && <Plot build={buildB} version={[rows, training.boundary, scale]} testid="dataset-view" {...TIMING} />}
    </section>
  );
}
