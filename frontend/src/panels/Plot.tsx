// A small plotly wrapper: the bundle is loaded lazily (bundled, no CDN) and updates are
// throttled so that playing at 60 frames/s does not re-plot 60 times a second.
import { useEffect, useRef } from "react";
import type { Data, Layout } from "plotly.js";

type PlotlyModule = typeof import("plotly.js");
let plotly: Promise<PlotlyModule> | null = null;
const loadPlotly = () =>
  (plotly ??= import("plotly.js-dist-min").then((m) => ((m as unknown as { default?: PlotlyModule }).default ?? m) as PlotlyModule));

const THROTTLE_MS = 200;

export function Plot({ data, layout, testid, summary }: { data: Data[]; layout: Partial<Layout>; testid: string; summary: string }) {
  const el = useRef<HTMLDivElement>(null);
  const latest = useRef({ data, layout });
  const timer = useRef<number | undefined>(undefined);
  const last = useRef(0);
  latest.current = { data, layout };

  useEffect(() => {
    const draw = async () => {
      timer.current = undefined;
      last.current = performance.now();
      const P = await loadPlotly();
      if (!el.current) return;
      const { data: d, layout: l } = latest.current;
      await P.react(el.current, d, { autosize: true, ...l }, { displaylogo: false, responsive: true });
      el.current.dataset.summary = el.current.dataset.pending ?? "";
    };
    if (el.current) el.current.dataset.pending = summary;
    if (timer.current !== undefined) return;
    const wait = Math.max(0, THROTTLE_MS - (performance.now() - last.current));
    timer.current = window.setTimeout(() => void draw(), wait);
  }, [data, layout, summary]);

  useEffect(() => () => {
    window.clearTimeout(timer.current);
    if (el.current && plotly) void plotly.then((P) => el.current && P.purge(el.current));
  }, []);

  return <div ref={el} className="ew-plot" data-testid={testid} />;
}
