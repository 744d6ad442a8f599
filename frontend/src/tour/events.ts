// "Next event" for the presenter: run to the next step where plasticity fires or an error
// first arrives at a node (the frame's events, the same marks as the timing diagram's).
// In compare mode either side's events count. Held frames are searched first; past the
// last one the page steps one frame at a time (each a round trip, so the wave stays
// visible) until an event or the example's end.
import type { Frame } from "../protocol/messages";
import { seek } from "../state/session";
import { getState, headT, useStore, type State } from "../state/store";

const KINDS = new Set(["plasticity", "error_arrived"]);

function eventIn(frame: Frame | undefined): boolean {
  return frame?.events.some((e) => KINDS.has(e.kind)) ?? false;
}

/** Whether step k holds a plasticity or first-arrival event (on either side). */
export function hasEvent(s: State, k: number): boolean {
  return eventIn(s.frames[k]) || eventIn(s.framesB[k]);
}

let hunt: { from: number; revision: number } | null = null;
let installed = false;

function onFrames(): void {
  const h = hunt;
  const s = getState();
  if (!h) return;
  if (!s.snapshot || s.snapshot.revision !== h.revision || s.diverged) {
    hunt = null;
    return;
  }
  const head = headT(s);
  if (head <= h.from) return; // the next frame is on its way
  for (let k = h.from + 1; k <= head; k++) {
    if (hasEvent(s, k)) {
      hunt = null;
      seek(k);
      return;
    }
  }
  if (s.frames[head]?.done) {
    hunt = null;
    return;
  }
  h.from = head;
  seek(head + 1);
}

/** Stop running to an event (another key was pressed). */
export function cancelHunt(): void {
  hunt = null;
}

export function nextEvent(): void {
  const s = getState();
  if (!s.snapshot) return;
  const head = headT(s);
  for (let k = s.t + 1; k <= head; k++) {
    if (hasEvent(s, k)) return seek(k);
  }
  if (head < 0 || s.frames[head]?.done) return seek(head); // no event left: the end
  if (!installed) {
    installed = true;
    useStore.subscribe(onFrames);
  }
  hunt = { from: head, revision: s.snapshot.revision };
  seek(head + 1);
}

export function previousEvent(): void {
  cancelHunt();
  const s = getState();
  for (let k = s.t - 1; k > 0; k--) {
    if (hasEvent(s, k)) return seek(k);
  }
  seek(0);
}
