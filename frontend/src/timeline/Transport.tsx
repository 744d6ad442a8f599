// Play/pause, step, run example, next example, reset, speed.
import {
  nextExample, reset, runExample, setSpeed, stepBack, stepForward, togglePlay,
} from "../state/session";
import { stopped } from "../state/honest";
import { SlowMotionButton } from "./SlowMotion";
import { clockSteps, headT, setState, useStore } from "../state/store";

const SPEEDS = [0.5, 1, 2, 4, 8, 15, 30, 60];

export function Transport() {
  const playing = useStore((s) => s.playing);
  const speed = useStore((s) => s.speed);
  const t = useStore((s) => s.t);
  const steps = useStore((s) => clockSteps(s.snapshot));
  const ready = useStore((s) => s.snapshot !== null && s.status === "open" && !stopped(s));
  const halted = useStore((s) => stopped(s));
  const phase = useStore((s) => s.frames[s.t]?.phase);
  const done = useStore((s) => s.frames[headT(s)]?.done === true && s.t >= headT(s));
  const example = useStore((s) => s.snapshot?.example);
  return (
    <div className="ew-transport" role="toolbar" aria-label="transport">
      <button data-testid="reset" onClick={() => { reset(); setState({ learnRows: [] }); }} disabled={!ready} title="reset (keeps initial weights)">⟲ reset</button>
      <button data-testid="step-back" onClick={stepBack} disabled={!ready || t === 0} title="←">◀ step</button>
      <button data-testid="play" onClick={togglePlay} disabled={!ready || (done && !playing)} title="space" aria-pressed={playing}>
        {playing ? "❚❚ pause" : "▶ play"}
      </button>
      <button data-testid="step" onClick={stepForward} disabled={!ready || done} title="→">step ▶</button>
      <SlowMotionButton />
      <button data-testid="run-example" onClick={runExample} disabled={!ready || done} title="End">run to end</button>
      <button data-testid="next-example" onClick={nextExample} disabled={!ready}>next example</button>
      <label>
        speed{" "}
        <select data-testid="speed" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
          {SPEEDS.map((s) => <option key={s} value={s}>{s} step/s</option>)}
        </select>
      </label>
      {/* always laid out (hidden when there is no phase), so that the transport's height,
          and with it the canvas, does not change from one step to the next */}
      {phase && phase !== "inference" ? (
        <span className={`ew-phase ew-phase-${phase}`} data-testid="phase" title="the rule's phase at this step">
          {phase === "nudged-" ? "nudged (−β)" : phase} phase
        </span>
      ) : (
        <span className="ew-phase" style={{ visibility: "hidden" }} aria-hidden="true">free phase</span>
      )}
      {halted && <span className="ew-halted" data-testid="halted">stopped: fix the marked problem</span>}
      <span className="ew-step" data-testid="step-label">
        t = <strong data-testid="current-t">{t}</strong> / {steps}
        {example && <span className="ew-muted"> · example {example.seen ?? example.index}</span>}
      </span>
    </div>
  );
}
