// The live session: the websocket, what each server message does to the store, and the
// transport actions. Stepping back is served from the client's own frame history.
// Frames are lean: full update matrices only for the watched node (the inspector's
// selection), merged into the frames the page holds. After any reconnect the session is
// rebuilt on the server from what the page holds (configuration, example, step).
import type { Config, RuleSpec } from "../protocol/config";
import type { ClientMessage, Frame, ServerMessage, Snapshot, UpdatesMessage } from "../protocol/messages";
import { Socket, type SocketHandlers } from "../protocol/socket";
import { clockSteps, getState, headT, setState, useStore, type LearnRow, type State } from "./store";
import { onTraining, trainingLost } from "./training";
import { bindClassroom, classEvent, isFollower, joinFailed, leaveClass } from "./classroom";

/** What the session needs of the outside world (a fake in unit tests). */
export interface SessionDeps {
  getState: () => State;
  setState: (patch: Partial<State>) => void;
  openSocket: (handlers: SocketHandlers) => { send: (msg: ClientMessage) => boolean; connect: () => void };
  setTimer: (fn: () => void, ms: number) => number;
  clearTimer: (id: number | undefined) => void;
  setInterval: (fn: () => void, ms: number) => number;
}

const FILL_GAP_MS = 40; // at most 25 fetches a second (the server allows 50 messages)
const FILL_WAITS = 25; // ticks (1 s) before a fetch whose reply went missing is re-sent

export class LiveSession {
  private socket: ReturnType<SessionDeps["openSocket"]> | null = null;
  private pendingSeek: number | null = null; // a step to reach once the next snapshot arrives
  private followTo: number | null = null; // view follows incoming frames up to this t
  private localPlay: number | undefined; // timer when playing back through history
  private resume: { example: number; t: number } | null = null; // rebuilding after a reconnect
  private watched: string | null = null;
  // Frames are applied in batches (one store update per ~16 ms), so that a burst of frames
  // (run to the end, fast play) costs one re-render, not one per frame.
  private inbox: Frame[] = [];
  private flushTimer: number | undefined;
  // After compare mode is switched mid-example the server steps both sides back to t, but
  // its outbox keeps only the newest waiting frame: the steps it dropped are fetched back
  // (seek, from the server's history) one at a time, since replies queued together would
  // coalesce again, and paced under the server's message rate.
  private fill: { to: number; asked: number | null; waits: number; tries: number } | null = null;
  private fillTimer: number | undefined;

  constructor(private readonly deps: SessionDeps) {}

  send(msg: ClientMessage): boolean {
    return this.socket?.send(msg) ?? false;
  }

  start(): void {
    if (this.socket) return;
    this.socket = this.deps.openSocket({
      onOpen: () => this.onOpen(),
      onMessage: (msg) => this.handleMessage(msg),
      onStatus: (status) => this.deps.setState({ status }),
    });
    this.socket.connect();
  }

  /** A (re)connection: a new server session, rebuilt from what the page holds. */
  onOpen(): void {
    const s = this.deps.getState();
    this.watched = null;
    trainingLost();
    if (isFollower()) return; // the server follows the class (?class= on the socket)
    const config = s.snapshot?.config ?? s.config;
    if (!config) return;
    if (s.snapshot) {
      this.resume = { example: s.snapshot.example.seen ?? 0, t: s.t };
    } else {
      this.pendingSeek = s.t > 0 ? s.t : this.pendingSeek;
    }
    this.send({ type: "load", config });
  }

  /** Load a configuration into the server session; optionally jump to step t afterwards. */
  loadConfig(config: Config, seekTo?: number): void {
    this.pendingSeek = seekTo && seekTo > 0 ? seekTo : null;
    this.resume = null;
    this.fill = null;
    this.deps.setState({ diverged: null, notice: null });
    this.stopPlaying(false);
    this.send({ type: "load", config });
  }

  /** Explore from here: a follower's own session at the class's configuration, example
   * and step (rebuilt like after a reconnect). */
  fork(): void {
    const s = this.deps.getState();
    const snap = s.snapshot;
    leaveClass();
    if (!snap) return;
    this.stopLocalPlay();
    this.resume = { example: snap.example.seen ?? 0, t: s.t };
    this.deps.setState({ playing: false, notice: null });
    this.send({ type: "load", config: snap.config as Config });
  }

  /** Full updates for the node the inspector shows (parameter nodes only). */
  watchSelected(): void {
    if (isFollower()) return; // frames are the class's (the owner's watch)
    const s = this.deps.getState();
    const sel = s.selected;
    const node = sel && s.snapshot?.graph.nodes[sel]?.has_params ? sel : null;
    if (node === this.watched) return;
    if (this.send({ type: "watch", nodes: node ? [node] : [] })) this.watched = node;
  }

  handleMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case "snapshot":
        return this.onSnapshot(msg);
      case "frame":
        return this.onFrame(msg);
      case "updates":
        return this.onUpdates(msg);
      case "training":
        return onTraining(msg);
      case "error":
        if (msg.code === "limit" && this.fill?.asked != null) {
          this.fill = null; // past the server's history cap: the gap stays (the view is whole)
          return;
        }
        if (msg.code === "unknown_class") joinFailed();
        if (msg.code === "diverged") this.stopPlaying(false);
        if (this.resume && msg.code !== "limit") this.resume = null;
        this.deps.setState({
          notice: { kind: "error", text: msg.message },
          ...(msg.issues && msg.issues.length ? { issues: msg.issues } : {}),
        });
        return;
      case "event":
        if (classEvent(msg)) return;
        if (msg.kind === "paused" || msg.kind === "example_done") this.deps.setState({ playing: false });
        // one learning row per example (the learning panel; rows of one shape, contract.md)
        if (msg.kind === "learned" && msg.row && msg.side !== "b") {
          this.deps.setState({ learnRows: [...this.deps.getState().learnRows, msg.row as LearnRow].slice(-2000) });
        }
        return;
      default:
        return;
    }
  }

  onSnapshot(snap: Snapshot): void {
    const prev = this.deps.getState().snapshot;
    if (snap.side === "b") {
      // compare mode: side b's snapshot follows side a's (same revision, same clock)
      if (!prev || snap.revision !== prev.revision) return;
      this.deps.setState({ snapshotB: snap, framesB: [] });
      return;
    }
    if (this.resume) {
      // a new server session numbers revisions from 0: rebuild up to the example we were at
      if ((snap.example.seen ?? 0) < this.resume.example) {
        this.send({ type: "next_example" });
        return;
      }
      this.pendingSeek = this.resume.t > 0 ? this.resume.t : null;
      this.resume = null;
    } else if (prev && snap.revision < prev.revision) {
      return; // stale
    }
    this.stopLocalPlay();
    this.inbox = [];
    this.deps.setState({
      snapshot: snap,
      snapshots: this.deps.getState().snapshots + 1,
      frames: [],
      snapshotB: null,
      framesB: [],
      t: 0,
      diverged: null,
      issues: [],
      notice: null,
    });
    this.watchSelected();
    if (this.pendingSeek !== null) {
      const target = Math.min(this.pendingSeek, clockSteps(snap));
      this.pendingSeek = null;
      this.followTo = target;
      if (target > 0) this.send({ type: "seek", t: target });
    } else {
      this.followTo = 0;
    }
  }

  onFrame(frame: Frame): void {
    if (this.resume) return; // an example on the way to where we were
    this.inbox.push(frame);
    if (this.flushTimer === undefined) this.flushTimer = this.deps.setTimer(() => this.flushFrames(), 16);
  }

  /** The watched node's updates at steps already held: merged into those frames. */
  onUpdates(msg: UpdatesMessage): void {
    this.flushFrames();
    const s = this.deps.getState();
    const snap = s.snapshot;
    if (!snap || msg.revision !== snap.revision || msg.example !== (snap.example.seen ?? msg.example)) return;
    const b = msg.side === "b";
    const frames = (b ? s.framesB : s.frames).slice();
    for (const [key, updates] of Object.entries(msg.steps)) {
      const t = Number(key);
      const f = frames[t];
      if (f) frames[t] = { ...f, updates: { ...f.updates, ...updates } };
    }
    this.deps.setState(b ? { framesB: frames } : { frames });
  }

  flushFrames(): void {
    this.deps.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.inbox;
    this.inbox = [];
    const s = this.deps.getState();
    const snap = s.snapshot;
    if (!snap || !batch.length) return;
    const frames = s.frames.slice();
    const framesB = s.framesB.slice();
    let t = s.t;
    let playing = s.playing;
    let diverged = s.diverged;
    for (const frame of batch) {
      if (frame.revision !== snap.revision) continue; // drop stale frames
      if (snap.example.seen !== undefined && frame.example !== snap.example.seen) continue;
      if (frame.side === "b") {
        framesB[frame.t] = frame; // compare mode: side a's frame of this t came first
      } else {
        const atHead = t >= frames.length - 1;
        frames[frame.t] = frame;
        const refill = this.fill?.asked === frame.t; // a dropped step fetched back: view stays
        if (!refill && (atHead || playing || (this.followTo !== null && frame.t <= this.followTo))) t = frame.t;
        if (this.followTo !== null && frame.t >= this.followTo) this.followTo = null;
      }
      const div = frame.events.find((e) => e.kind === "diverged" || e.kind === "unstable");
      if (div) {
        diverged = { node: div.node, t: frame.t, detail: div.detail ?? "",
          kind: div.kind === "unstable" ? "unstable" : "diverged" };
        t = frame.t;
        if (playing) this.stopPlaying(true);
        playing = false;
      } else if (frame.done && playing && t === frame.t) {
        playing = false;
      }
    }
    this.deps.setState({ frames, framesB, t, playing, diverged });
    this.fillGaps();
  }

  /** Compare mode on (rule b) or off (null), going on from here: afterwards the page holds
   * every step 0..t of both sides (the timing diagram and charts have no gaps). */
  switchCompare(rule: RuleSpec | null): void {
    this.stopPlaying(false);
    this.fill = { to: headT(this.deps.getState()), asked: null, waits: 0, tries: 0 };
    this.send({ type: "compare", rule });
  }

  /** Ask for the first step up to the switch's t that either side lacks, once the server's
   * catch-up has arrived; re-ask when its reply went missing, give up after a few tries. */
  private fillGaps(): void {
    const f = this.fill;
    const s = this.deps.getState();
    if (!f || !s.snapshot || this.fillTimer !== undefined) return;
    if (s.playing || s.diverged || this.followTo !== null || this.resume) return; // the next flush retries
    const to = Math.min(f.to, clockSteps(s.snapshot));
    if (headT(s) < to) return; // still stepping there
    const held = (k: number) => !!s.frames[k] && (s.snapshotB === null || !!s.framesB[k]);
    let k = 0;
    while (k <= to && held(k)) k++;
    if (k > to || f.tries > 3) {
      this.fill = null;
      return;
    }
    if (f.asked === k && f.waits < FILL_WAITS) {
      f.waits++;
    } else {
      f.tries = f.asked === k ? f.tries + 1 : 0;
      f.asked = k;
      f.waits = 0;
      this.send({ type: "seek", t: k });
    }
    this.fillTimer = this.deps.setTimer(() => {
      this.fillTimer = undefined;
      this.fillGaps();
    }, FILL_GAP_MS);
  }

  // ----- transport --------------------------------------------------------------------
  seek(t: number): void {
    const s = this.deps.getState();
    const steps = clockSteps(s.snapshot);
    const target = Math.max(0, Math.min(t, steps));
    if (s.frames[target] && (!s.snapshotB || s.framesB[target])) {
      this.deps.setState({ t: target });
      return;
    }
    if (s.diverged) return;
    this.followTo = target;
    const head = headT(s);
    if (head >= 0 && target > head) this.send({ type: "step", n: target - head });
    else this.send({ type: "seek", t: target });
  }

  /** Step t of the example after `example` learned ones (a tour stop): reset when past it,
   * then next_example until there, as after a reconnect; then seek. */
  goTo(example: number, t: number): void {
    const s = this.deps.getState();
    if (!s.snapshot) return;
    const seen = s.snapshot.example.seen ?? 0;
    if (seen === example) return this.seek(t);
    this.stopPlaying(true);
    this.resume = { example, t };
    if (seen > example) this.deps.setState({ learnRows: [] });
    this.send(seen > example ? { type: "reset" } : { type: "next_example" });
  }

  runExample(): void {
    const s = this.deps.getState();
    const head = headT(s);
    if (s.frames[head]?.done) {
      this.deps.setState({ t: head });
      return;
    }
    this.followTo = s.snapshot ? clockSteps(s.snapshot) : null;
    this.send({ type: "run_example" });
  }

  nextExample(): void {
    this.stopPlaying(true);
    this.send({ type: "next_example" });
  }

  reset(): void {
    this.stopPlaying(true);
    this.deps.setState({ diverged: null, notice: null });
    this.send({ type: "reset" });
  }

  private stopLocalPlay(): void {
    this.deps.clearTimer(this.localPlay);
    this.localPlay = undefined;
  }

  stopPlaying(tellServer: boolean): void {
    this.stopLocalPlay();
    if (tellServer && this.deps.getState().playing) this.send({ type: "pause" });
    this.deps.setState({ playing: false });
  }

  play(): void {
    const s = this.deps.getState();
    if (!s.snapshot || s.diverged) return;
    const head = headT(s);
    if (s.frames[head]?.done && s.t >= head) return; // nothing left to play
    this.deps.setState({ playing: true });
    this.stopLocalPlay();
    if (s.t < head) {
      // play back through history first, then hand over to the server
      this.localPlay = this.deps.setInterval(() => {
        const cur = this.deps.getState();
        if (!cur.playing) return this.stopLocalPlay();
        const next = cur.t + 1;
        if (next <= headT(cur)) {
          if (cur.frames[next]) this.deps.setState({ t: next });
          else if (this.followTo !== next) {
            // a frame coalesced away by the server: fetch it from the server's history
            this.followTo = next;
            this.send({ type: "seek", t: next });
          }
        } else {
          this.stopLocalPlay();
          if (cur.frames[cur.t]?.done) this.deps.setState({ playing: false });
          else this.send({ type: "play", rate: cur.speed, across_examples: false });
        }
      }, 1000 / s.speed);
    } else {
      this.send({ type: "play", rate: s.speed, across_examples: false });
    }
  }
}

// ----- the page's one session -------------------------------------------------------
const session = new LiveSession({
  getState,
  setState,
  openSocket: (handlers) => new Socket(handlers),
  setTimer: (fn, ms) => window.setTimeout(fn, ms),
  clearTimer: (id) => {
    window.clearTimeout(id);
    window.clearInterval(id);
  },
  setInterval: (fn, ms) => window.setInterval(fn, ms),
});

export function send(msg: ClientMessage): boolean {
  return session.send(msg);
}

let watching = false;

export function startSession(): void {
  session.start();
  if (watching) return;
  watching = true;
  bindClassroom((msg) => session.send(msg));
  useStore.subscribe((s, prev) => {
    if (s.selected !== prev.selected) session.watchSelected();
  });
}

export function switchCompare(rule: RuleSpec | null): void {
  session.switchCompare(rule);
}

export function exploreFromHere(): void {
  session.fork();
}

export function loadConfig(config: Config, seekTo?: number): void {
  session.loadConfig(config, seekTo);
}

export function seek(t: number): void {
  session.seek(t);
}

export function stepForward(): void {
  session.seek(getState().t + 1);
}

export function stepBack(): void {
  session.seek(getState().t - 1);
}

export function goTo(example: number, t: number): void {
  session.goTo(example, t);
}

export function runExample(): void {
  session.runExample();
}

export function nextExample(): void {
  session.nextExample();
}

export function reset(): void {
  session.reset();
}

export function play(): void {
  session.play();
}

export function pause(): void {
  session.stopPlaying(true);
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
  session.stopPlaying(true);
  session.send({ type: "set", path, value });
}
