// Feeds the animator from the store without going through React rendering.
import { edgesOf } from "../graph/edits";
import { useStore, type State } from "../state/store";
import { animator, type Shape } from "./animator";

function shapeOf(s: State): Shape {
  const config = s.config;
  const snap = s.snapshot;
  const ids = config ? config.graph.nodes.map((n) => n.id) : [];
  const layer: Record<string, number> = {};
  const units: Record<string, number> = {};
  for (const n of config?.graph.nodes ?? []) {
    const sn = snap?.graph.nodes[n.id];
    layer[n.id] = sn?.distance.shortest ?? -1;
    units[n.id] = sn?.size ?? n.size ?? 0;
  }
  const edges = config ? edgesOf(config).map((e) => [e.source, e.target] as [string, string]) : [];
  return { ids, edges, layer, units };
}

let started = false;

export function startWaveFeed(): void {
  if (started) return;
  started = true;
  let prev: State | null = null;
  const update = (s: State) => {
    const p = prev;
    prev = s;
    if (p && p.config === s.config && p.snapshot === s.snapshot && p.t === s.t && p.frames === s.frames &&
        p.colorBy === s.colorBy && p.colorScale === s.colorScale && p.playing === s.playing) return;
    if (!p || p.config !== s.config || p.snapshot !== s.snapshot) animator.setShape(shapeOf(s));
    if (!p || p.playing !== s.playing) animator.setLive(s.playing);
    const frame = s.frames[s.t];
    if (!p || p.snapshot !== s.snapshot || p.t !== s.t || p.frames[s.t] !== frame ||
        p.colorBy !== s.colorBy || p.colorScale !== s.colorScale || p.config !== s.config) {
      const interval = 1000 / Math.max(0.5, s.speed);
      animator.show({
        frame, snapshot: s.snapshot, by: s.colorBy, mode: s.colorScale,
        durationMs: s.playing ? Math.min(900, interval * 0.85) : 700,
      });
    }
  };
  update(useStore.getState());
  useStore.subscribe(update);
}
