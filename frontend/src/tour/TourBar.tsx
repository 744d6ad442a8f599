// The tour bar: the stop's caption in large type, "stop k of n", back / next, and each
// number the caption names with its value on screen now (a check mark when it shows what
// the caption says). Shown whenever the configuration carries a tour; big in presenter mode.
import type { Frame } from "../protocol/messages";
import { num } from "../panels/format";
import { useClass } from "../state/classroom";
import { useStore, type State } from "../state/store";
import { holds, readings, readingValue, type Reading } from "./readings";
import { endTour, goToStop, nextStop, previousStop, tourOf } from "./tour";
import "./tour.css";

/** The frame of a reading's side at step t (side b: compare mode's second engine). */
function sideFrame(s: State, side: Reading["side"]): Frame | undefined {
  return side === "a" ? s.frames[s.t] : s.framesB[s.t];
}

function ReadingChip({ r }: { r: Reading }) {
  const value = useStore((s) => readingValue(sideFrame(s, r.side), r));
  const ok = holds(r, value);
  const shown = value === null ? "—" : r.metric === "angle" ? `${value.toFixed(1)}°` : num(value);
  return (
    <span className={`ew-tour-reading ${ok ? "ew-tour-ok" : ""}`} data-testid="tour-reading"
      data-side={r.side} data-node={r.node} data-value={value ?? ""} data-holds={ok}
      title={`${r.text} (on screen now: ${value ?? "undefined"})`}>
      {r.side === "b" ? "side b · " : ""}{r.node} {r.signal} {r.metric} now <strong>{shown}</strong>
      {ok ? " ✓" : ""}
    </span>
  );
}

export function TourBar() {
  const tour = useStore((s) => tourOf(s));
  const k = useStore((s) => s.tourStop);
  const t = useStore((s) => s.t);
  const follower = useClass((c) => c.following !== null || c.joining !== null);
  if (!tour.length) return null;
  const stop = k === null ? null : tour[k] ?? null;
  if (!stop || k === null) {
    return (
      <div className="ew-tour ew-tour-idle" data-testid="tour-bar">
        <span>Guided tour: {tour.length} stops</span>
        {!follower && (
          <button data-testid="tour-start" onClick={() => goToStop(0)} title="PageDown">start tour ▸</button>
        )}
      </div>
    );
  }
  const away = t !== stop.t;
  return (
    <div className="ew-tour" data-testid="tour-bar" data-stop={k} role="region" aria-label="guided tour">
      <div className="ew-tour-head">
        <span className="ew-tour-index">
          stop <strong data-testid="tour-index">{k + 1}</strong> of {tour.length}
          {stop.compare ? <span className="ew-tour-compare"> · compare: {stop.compare.rule.name}</span> : null}
        </span>
        {!follower && (
          <span className="ew-tour-nav">
            <button data-testid="tour-back" onClick={previousStop} disabled={k === 0} title="PageUp">◀ back</button>
            <button data-testid="tour-next" onClick={nextStop} disabled={k === tour.length - 1} title="PageDown">next ▶</button>
            {away && <button data-testid="tour-return" onClick={() => goToStop(k)}>back to the stop (t = {stop.t})</button>}
            <button data-testid="tour-end" onClick={endTour} title="end the tour" aria-label="end the tour">×</button>
          </span>
        )}
      </div>
      <p className="ew-tour-caption" data-testid="tour-caption">{stop.caption}</p>
      <div className="ew-tour-readings">
        {readings(stop.caption).map((r, i) => <ReadingChip key={i} r={r} />)}
      </div>
    </div>
  );
}
