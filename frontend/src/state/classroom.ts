// Classes: the presenter shares the session (`share`), followers watch it read-only.
// A follower's page is opened at /c/{code}; its socket connects to /ws?class={code} (the
// department's proxy routes on the code's server prefix) and the server follows the class.
// The owner's view (selected node, the step on screen, the tour stop) reaches followers as
// `view` events.
// "Explore from here" forks: the owner's configuration, example and step, in a session of
// the follower's own.
import { create } from "zustand";
import type { Config } from "../protocol/config";
import type { ClientMessage, SessionEvent } from "../protocol/messages";
import { getState, setState, useStore } from "./store";

export interface SharedClass {
  code: string;
  url: string; // absolute, for the QR code
  title: string;
  followers: number;
}

export interface ClassState {
  shared: SharedClass | null; // this page's session, shared with a class
  following: { code: string; title: string } | null; // this page follows a class
  joining: string | null; // a class code from the URL, until the server answers
  ended: string | null; // the class this page followed has ended: why
}

export const useClass = create<ClassState>()(() => ({
  shared: null,
  following: null,
  joining: classCodeFromPath(typeof window === "undefined" ? "/" : window.location.pathname),
  ended: null,
}));

/** The class code in a /c/{code} path, or null. */
export function classCodeFromPath(path: string): string | null {
  const m = /^\/c\/([^/?#]+)\/?$/.exec(path);
  return m ? decodeURIComponent(m[1]) : null;
}

/** The code a new socket should follow (its `?class=`), when the page follows one. */
export function followCode(): string | null {
  const c = useClass.getState();
  return c.following?.code ?? c.joining;
}

/** True while the page follows (or is joining) a class: no session of its own to rebuild. */
export function isFollower(): boolean {
  return followCode() !== null;
}

/** Show a code in its groups, e.g. "A · 7KQ3 · MZ9P · RT4WX". */
export function groupedCode(code: string): string {
  return code.split("-").join(" · ");
}

type Send = (msg: ClientMessage) => boolean;
let sendFn: Send = () => false;
let viewTimer: number | undefined;

/** The session's send; called once by startSession. Owners relay their view. */
export function bindClassroom(send: Send): void {
  sendFn = send;
  useStore.subscribe((s, prev) => {
    // a follower draws the class's graph: the configuration of each new snapshot
    if (isFollower() && s.snapshot && s.snapshot !== prev.snapshot) {
      const config = s.snapshot.config as unknown as Config;
      if (JSON.stringify(config) !== JSON.stringify(s.config)) {
        setState({ config, positions: {}, past: [], future: [], issues: [] });
      }
    }
  });
  useStore.subscribe((s, prev) => {
    // a lost connection ends the server session, and its class with it
    if (s.status !== prev.status && s.status !== "open" && useClass.getState().shared) {
      useClass.setState({ shared: null });
    }
    if (!useClass.getState().shared) return;
    if (s.selected === prev.selected && s.tourStop === prev.tourStop && (s.playing || s.t === prev.t)) return;
    // at most one view message every 100 ms (scrubbing sends many t's)
    if (viewTimer === undefined) {
      viewTimer = window.setTimeout(() => {
        viewTimer = undefined;
        sendView();
      }, 100);
    }
  });
}

function sendView(): void {
  const s = getState();
  sendFn({ type: "view", view: { selected: s.selected, t: s.t, tour: s.tourStop } });
}

export function shareWithClass(title: string): void {
  sendFn({ type: "share", title: title.slice(0, 80) });
}

/** Class events from the server; true when handled. */
export function classEvent(msg: SessionEvent): boolean {
  switch (msg.kind) {
    case "shared": {
      const url = new URL(String(msg.url), window.location.href).href;
      useClass.setState({ shared: { code: String(msg.code), url, title: String(msg.title ?? ""), followers: 0 } });
      sendView();
      return true;
    }
    case "followers": {
      const shared = useClass.getState().shared;
      if (shared) useClass.setState({ shared: { ...shared, followers: Number(msg.count) } });
      return true;
    }
    case "following":
      useClass.setState({ following: { code: String(msg.code), title: String(msg.title ?? "") }, joining: null, ended: null });
      setState({ notice: null });
      return true;
    case "view": {
      const view = (msg.view ?? {}) as { selected?: string | null; t?: number; tour?: number | null };
      const s = getState();
      const patch: { selected?: string | null; t?: number; tourStop?: number | null } = {};
      if (view.selected !== undefined && view.selected !== s.selected) patch.selected = view.selected;
      // the owner's tour stop: its caption (the frames are the class's already)
      if (view.tour !== undefined && view.tour !== s.tourStop) patch.tourStop = view.tour;
      if (typeof view.t === "number" && s.frames[view.t] && !s.playing) patch.t = view.t;
      if (Object.keys(patch).length) setState(patch);
      return true;
    }
    case "class_ended":
      useClass.setState({ following: null, joining: null, ended: String(msg.message ?? "The class has ended.") });
      leaveClassPath();
      return true;
    default:
      return false;
  }
}

/** A follower's page stops following (forks, or the class ended): reconnects no longer
 * follow, and the address is the app's again. */
export function leaveClass(): void {
  useClass.setState({ following: null, joining: null, ended: null });
  leaveClassPath();
}

function leaveClassPath(): void {
  if (classCodeFromPath(window.location.pathname)) window.history.replaceState(null, "", "/");
}

/** An error while joining (unknown code, rate limit): the page is not following. */
export function joinFailed(): void {
  if (useClass.getState().joining) useClass.setState({ joining: null });
}
