// A scrubber over t with a tick per event (error arrived, plasticity, converged, diverged).
import { seek } from "../state/session";
import { stopped } from "../state/honest";
import { clockSteps, useStore } from "../state/store";

const TICK_CLASS: Record<string, string> = {
  plasticity: "ew-tick-plasticity",
  error_arrived: "ew-tick-arrived",
  converged: "ew-tick-converged",
  diverged: "ew-tick-diverged",
};

export function Scrubber() {
  const t = useStore((s) => s.t);
  const frames = useStore((s) => s.frames);
  const steps = useStore((s) => clockSteps(s.snapshot));
  const halted = useStore((s) => stopped(s));
  const ticks: { t: number; kind: string }[] = [];
  for (const f of frames) {
    if (!f) continue;
    const kinds = new Set(f.events.map((e) => e.kind));
    for (const k of kinds) ticks.push({ t: f.t, kind: k });
  }
  const pct = (x: number) => (steps > 0 ? (100 * x) / steps : 0);
  return (
    <div className="ew-scrubber">
      <input
        type="range"
        data-testid="scrubber"
        aria-label="step t"
        min={0}
        max={steps}
        step={1}
        value={t}
        disabled={halted}
        onChange={(e) => seek(Number(e.target.value))}
      />
      <div className="ew-ticks" aria-hidden="true">
        {ticks.map((k, i) => (
          <span key={i} className={`ew-tick ${TICK_CLASS[k.kind] ?? ""}`} style={{ left: `${pct(k.t)}%` }} title={`${k.kind} at t=${k.t}`} />
        ))}
        <span className="ew-tick-held" style={{ width: `${pct(frames.length - 1)}%` }} />
      </div>
    </div>
  );
}
