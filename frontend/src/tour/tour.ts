// Guided tours (docs/tours.md): the configuration's stops, walked with PageDown / PageUp (a
// clicker sends those) or the tour bar. Walking to a stop sets compare mode as the stop
// says, moves to its example and step, and selects its node. The stop's index is part of
// the link (permalink.ts, `ts`) and reaches a class's followers in the owner's `view`.
import type { Config, RuleSpec, TourStop } from "../protocol/config";
import { setCompare } from "../compare/compare";
import { goTo } from "../state/session";
import { getState, setState, useStore, type State } from "../state/store";

const NO_TOUR: TourStop[] = []; // one reference: a store selector must return a stable value

export function tourOf(s: State = getState()): TourStop[] {
  return s.config?.tour ?? NO_TOUR;
}

export function currentStop(s: State = getState()): TourStop | null {
  return s.tourStop === null ? null : tourOf(s)[s.tourStop] ?? null;
}

/** Where the walk to a stop still has to go; each store change moves it on (`advance`). */
interface Walk {
  after: number; // wait for a snapshot newer than this count (a link loading its configuration)
  example: number;
  t: number;
  compare: RuleSpec | null;
  askedCompare: boolean;
  moved: boolean;
}
let walk: Walk | null = null;

function canon(x: unknown): string {
  if (x === null || x === undefined) return "null";
  if (typeof x !== "object") return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(canon).join(",")}]`;
  const o = x as Record<string, unknown>;
  return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined && o[k] !== null)
    .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(",")}}`;
}

/** The rule the server runs beside the main one now (its snapshot's configuration). */
function comparedRule(s: State): RuleSpec | null {
  const config = s.snapshot?.config as (Config & { compare?: { rule: RuleSpec } | null }) | undefined;
  return config?.compare?.rule ?? null;
}

function advance(): void {
  const w = walk;
  const s = getState();
  if (!w || !s.snapshot || s.status !== "open" || s.snapshots <= w.after) return;
  if (canon(comparedRule(s)) !== canon(w.compare)) {
    // compare mode on, off or changed: the server rebuilds both sides, then we move
    if (!w.askedCompare) {
      w.askedCompare = true;
      setCompare(w.compare);
    }
    return;
  }
  if (!w.moved) {
    w.moved = true;
    goTo(w.example, w.t);
    return;
  }
  if ((s.snapshot.example.seen ?? 0) === w.example && s.frames[w.t]) {
    walk = null;
    if (s.t !== w.t) setState({ t: w.t });
  }
}

let installed = false;

/** Walk to stop k (clamped to the tour). `at` overrides the stop's step and selection (a
 * link taken after the presenter moved on from the stop); `afterLoad` waits for the
 * snapshot of a configuration being loaded. */
export function goToStop(k: number, at?: { t: number; selected: string | null }, afterLoad = false): void {
  const tour = tourOf();
  if (!tour.length) return;
  if (!installed) {
    installed = true;
    useStore.subscribe(advance);
  }
  const i = Math.max(0, Math.min(k, tour.length - 1));
  const stop = tour[i];
  setState({ tourStop: i, selected: at ? at.selected : stop.node ?? getState().selected });
  walk = { after: afterLoad ? getState().snapshots : -1, example: stop.example ?? 0, t: at?.t ?? stop.t, compare: stop.compare?.rule ?? null,
    askedCompare: false, moved: false };
  advance();
}

export function nextStop(): void {
  const k = getState().tourStop;
  goToStop(k === null ? 0 : k + 1);
}

export function previousStop(): void {
  const k = getState().tourStop;
  goToStop(k === null ? 0 : k - 1);
}

export function endTour(): void {
  walk = null;
  setState({ tourStop: null });
}

/** True while a walk to a stop is under way (a test hook on the tour bar). */
export function walking(): boolean {
  return walk !== null;
}
