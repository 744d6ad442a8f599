// A small plotly wrapper: the bundle is loaded lazily (bundled, no CDN), and the figure is
// built only when it is drawn: once changes have been quiet for `quietMs`, and at least
// every `maxWaitMs` while they keep coming, so that frames streaming in at 60/s neither
// rebuild nor re-plot 60 times a second (plotly measures text, forcing page layouts).
import { useEffect, useRef } from "react";
import type { Data, Layout } from "plotly.js";

type PlotlyModule = typeof import("plotly.js");
let plotly: Promise<PlotlyModule> | null = null;
const loadPlotly = () =>
  (plotly ??= import("plotly.js-dist-min").then((m) => ((m as unknown as { default?: PlotlyModule }).default ?? m) as PlotlyModule));

export interface Figure {
  data: Data[];
  layout: Partial<Layout>;
  summary: string; // what is drawn, as text: a test hook (data-summary once drawn)
}

export interface PlotProps {
  build: () => Figure;
  version: unknown; // anything that changes when the figure should be rebuilt
  testid: string;
  quietMs: number;
  maxWaitMs: number;
}

export function Plot({ build, version, testid, quietMs, maxWaitMs }: PlotProps) {
  const el = useRef<HTMLDivElement>(null);
  const latest = useRef(build);
  const timer = useRef<number | undefined>(undefined);
  const firstPending = useRef<number | null>(null);
  latest.current = build;

  useEffect(() => {
    const draw = async () => {
      timer.current = undefined;
      firstPending.current = null;
      const P = await loadPlotly();
      const div = el.current;
      if (!div) return;
      const fig = latest.current();
      div.dataset.pending = fig.summary;
      await P.react(div, fig.data, { autosize: true, ...fig.layout }, { displaylogo: false, responsive: true });
      div.dataset.summary = fig.summary;
    };
    if (el.current) el.current.dataset.pending = "?";
    const now = performance.now();
    firstPending.current ??= now;
    const deadline = Math.min(now + quietMs, firstPending.current + maxWaitMs);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void draw(), Math.max(0, deadline - now));
  }, [version, quietMs, maxWaitMs]);

  useEffect(() => {
    const div = el.current;
    return () => {
      window.clearTimeout(timer.current);
      if (div && plotly) void plotly.then((P) => P.purge(div));
    };
  }, []);

  return <div ref={el} className="ew-plot" data-testid={testid} />;
}
