// The live session: the websocket, what each server message does to the store, and the
// transport actions. Stepping back is served from the client's own frame history.
import type { Config } from "../protocol/config";
import type { ClientMessage, Frame, ServerMessage, Snapshot } from "../protocol/messages";
import { Socket } from "../protocol/socket";
import { getState, headT, setState } from "./store";

let socket: Socket | null = null;
let pendingSeek: number | null = null; // a step to reach once the next snapshot arrives
let followTo: number | null = null; // view follows incoming frames up to this t
let localPlay: number | undefined; // timer when playing back through history

export function send(msg: ClientMessage): boolean {
  return socket?.send(msg) ?? false;
}

export function startSession(): void {
  if (socket) return;
  socket = new Socket({
    onOpen: () => {
      const { config, t } = getState();
      if (config) {
        // a reconnect rebuilds the session (deterministic) and returns to the same step
        pendingSeek = t > 0 ? t : pendingSeek;
        send({ type: "load", config });
      }
    },
    onMessage: handleMessage,
    onStatus: (status) => setState({ status }),
  });
  socket.connect();
}

/** Load a configuration into the server session; optionally jump to step t afterwards. */
export function loadConfig(config: Config, seekTo?: number): void {
  pendingSeek = seekTo && seekTo > 0 ? seekTo : null;
  setState({ diverged: null, notice: null });
  stopPlaying(false);
  send({ type: "load", config });
}

function handleMessage(msg: ServerMessage): void {
  switch (msg.type) {
    case "snapshot":
      return onSnapshot(msg);
    case "frame":
      return onFrame(msg);
    case "error":
      if (msg.code === "diverged") stopPlaying(false);
      setState({
        notice: { kind: "error", text: msg.message },
        ...(msg.issues && msg.issues.length ? { issues: msg.issues } : {}),
      });
      return;
    case "event":
      if (msg.kind === "paused" || msg.kind === "example_done") setState({ playing: false });
      return;
    default:
      return;
  }
}

function onSnapshot(snap: Snapshot): void {
  const prev = getState().snapshot;
  if (prev && snap.revision < prev.revision) return; // stale
  stopLocalPlay();
  inbox = [];
  setState({ snapshot: snap, snapshots: getState().snapshots + 1, frames: [], t: 0, diverged: null, issues: [], notice: null });
  if (pendingSeek !== null) {
    const target = Math.min(pendingSeek, snap.rule.steps);
    pendingSeek = null;
    followTo = target;
    if (target > 0) send({ type: "seek", t: target });
  } else {
    followTo = 0;
  }
}

// Frames are applied in batches (one store update per ~16 ms), so that a burst of frames
// (run to the end, fast play) costs one re-render, not one per frame.
let inbox: Frame[] = [];
let flushTimer: number | undefined;

function onFrame(frame: Frame): void {
  inbox.push(frame);
  if (flushTimer === undefined) flushTimer = window.setTimeout(flushFrames, 16);
}

function flushFrames(): void {
  flushTimer = undefined;
  const batch = inbox;
  inbox = [];
  const s = getState();
  const snap = s.snapshot;
  if (!snap || !batch.length) return;
  const frames = s.frames.slice();
  let t = s.t;
  let playing = s.playing;
  let diverged = s.diverged;
  for (const frame of batch) {
    if (frame.revision < snap.revision) continue; // drop stale frames
    if (snap.example.seen !== undefined && frame.example < snap.example.seen) continue;
    const atHead = t >= frames.length - 1;
    frames[frame.t] = frame;
    if (atHead || playing || (followTo !== null && frame.t <= followTo)) t = frame.t;
    if (followTo !== null && frame.t >= followTo) followTo = null;
    const div = frame.events.find((e) => e.kind === "diverged");
    if (div) {
      diverged = { node: div.node, t: frame.t, detail: div.detail ?? "" };
      t = frame.t;
      if (playing) stopPlaying(true);
      playing = false;
    } else if (frame.done && playing && t === frame.t) {
      playing = false;
    }
  }
  setState({ frames, t, playing, diverged });
}

// ----- transport --------------------------------------------------------------------
export function seek(t: number): void {
  const s = getState();
  const steps = s.snapshot?.rule.steps ?? 0;
  const target = Math.max(0, Math.min(t, steps));
  if (s.frames[target]) {
    setState({ t: target });
    return;
  }
  if (s.diverged) return;
  followTo = target;
  const head = headT(s);
  if (head >= 0 && target > head) send({ type: "step", n: target - head });
  else send({ type: "seek", t: target });
}

export function stepForward(): void {
  seek(getState().t + 1);
}

export function stepBack(): void {
  seek(getState().t - 1);
}

export function runExample(): void {
  const s = getState();
  const head = headT(s);
  if (s.frames[head]?.done) {
    setState({ t: head });
    return;
  }
  followTo = s.snapshot?.rule.steps ?? null;
  send({ type: "run_example" });
}

export function nextExample(): void {
  stopPlaying(true);
  send({ type: "next_example" });
}

export function reset(): void {
  stopPlaying(true);
  setState({ diverged: null, notice: null });
  send({ type: "reset" });
}

function stopLocalPlay(): void {
  window.clearInterval(localPlay);
  localPlay = undefined;
}

function stopPlaying(tellServer: boolean): void {
  stopLocalPlay();
  if (tellServer && getState().playing) send({ type: "pause" });
  setState({ playing: false });
}

export function play(): void {
  const s = getState();
  if (!s.snapshot || s.diverged) return;
  const head = headT(s);
  if (s.frames[head]?.done && s.t >= head) return; // nothing left to play
  setState({ playing: true });
  stopLocalPlay();
  if (s.t < head) {
    // play back through history first, then hand over to the server
    localPlay = window.setInterval(() => {
      const cur = getState();
      if (!cur.playing) return stopLocalPlay();
      const next = cur.t + 1;
      if (next <= headT(cur)) {
        if (cur.frames[next]) setState({ t: next });
        else if (followTo !== next) {
          // a frame coalesced away by the server: fetch it from the server's history
          followTo = next;
          send({ type: "seek", t: next });
        }
      } else {
        stopLocalPlay();
        if (cur.frames[cur.t]?.done) setState({ playing: false });
        else send({ type: "play", rate: cur.speed, across_examples: false });
      }
    }, 1000 / s.speed);
  } else {
    send({ type: "play", rate: s.speed, across_examples: false });
  }
}

export function pause(): void {
  stopPlaying(true);
}

export function togglePlay(): void {
  if (getState().playing) pause();
  else play();
}

export function setSpeed(speed: number): void {
  setState({ speed });
  if (getState().playing) play();
}

/** Change one rule setting on the server (keeps learned parameters). */
export function setRuleSetting(path: string, value: unknown): void {
  stopPlaying(true);
  send({ type: "set", path, value });
}
