import { describe, expect, it } from "vitest";
import type { SocketHandlers } from "../protocol/socket";
import type { ClientMessage, Frame, Snapshot } from "../protocol/messages";
import { LiveSession } from "./session";
import { initialState, type State } from "./store";

function snapshot(revision: number, seen: number, steps = 5): Snapshot {
  return {
    type: "snapshot", revision, config: { version: 1, graph: { nodes: [], output: "y" }, data: { input: {}, target: [] }, rule: { name: "zil" } },
    graph: { order: ["x", "y"], nodes: { y: { op: "linear", size: 1, inputs: ["x"], label: null, distance: { shortest: 0, longest: 0 }, has_params: true } }, output: "y", depth: 1 },
    rule: { name: "zil", title: "Z-IL", settings: {}, steps }, example: { index: seen, seen, input: {}, target: [] },
    params: {}, feedforward: {}, backprop: { loss: 0, adjoint: {}, updates: {} }, sign_convention: "",
  };
}

function frame(revision: number, example: number, t: number): Frame {
  return {
    type: "frame", revision, example, t, phase: "inference", energy: 0, events: [], done: false,
    divergence: { nodes: {}, params: {}, total: { cosine: 1, rel_l2: 0, max_abs: 0 } },
    nodes: {}, updates: {}, update_norms: { y: 0 }, lean: true,
  };
}

/** A session on a fake store and socket, with timers run by hand. */
function harness() {
  let state: State = { ...initialState };
  const sent: ClientMessage[] = [];
  let handlers: SocketHandlers | null = null;
  const timers: (() => void)[] = [];
  const session = new LiveSession({
    getState: () => state,
    setState: (patch) => (state = { ...state, ...patch }),
    openSocket: (h) => {
      handlers = h;
      return { send: (m) => (sent.push(m), true), connect: () => {} };
    },
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {},
    setInterval: () => 0,
  });
  session.start();
  const flush = () => timers.splice(0).forEach((f) => f());
  return { session, sent, get state() { return state; }, handlers: () => handlers!, flush };
}

describe("LiveSession", () => {
  it("compare mode: side b's snapshot and frames are kept beside side a's, same t", () => {
    const h = harness();
    h.session.handleMessage({ ...snapshot(2, 0, 2), side: "a", steps: 6 });
    h.session.handleMessage({ ...snapshot(2, 0, 6), side: "b", steps: 6 });
    for (const t of [0, 1]) {
      h.session.handleMessage({ ...frame(2, 0, t), side: "a" });
      h.session.handleMessage({ ...frame(2, 0, t), side: "b", energy: 10 + t });
    }
    h.session.handleMessage({ ...frame(1, 0, 2), side: "b" }); // an older revision: dropped
    h.flush();
    expect(h.state.snapshotB?.rule.steps).toBe(6);
    expect(h.state.frames.map((f) => f?.side)).toEqual(["a", "a"]);
    expect(h.state.framesB.map((f) => f?.energy)).toEqual([10, 11]);
    expect(h.state.t).toBe(1);
    h.session.seek(6); // the clock runs to the longer side's end
    expect(h.sent.at(-1)).toEqual({ type: "step", n: 5 });
    h.session.handleMessage(snapshot(3, 0)); // alone again
    expect(h.state.snapshotB).toBeNull();
    expect(h.state.framesB).toEqual([]);
  });

  it("compare switched mid-example: fetches back the steps the catch-up dropped, view stays", () => {
    const h = harness();
    h.session.handleMessage(snapshot(0, 0, 6));
    for (const t of [0, 1, 2, 3]) h.session.handleMessage(frame(0, 0, t));
    h.flush();
    expect(h.state.t).toBe(3);
    h.session.switchCompare({ name: "pc" });
    expect(h.sent.at(-1)).toEqual({ type: "compare", rule: { name: "pc" } });
    // the server rebuilds both sides and steps them to 3; its outbox dropped steps 1 and 2
    h.session.handleMessage({ ...snapshot(1, 0, 6), side: "a" });
    h.session.handleMessage({ ...snapshot(1, 0, 6), side: "b" });
    for (const t of [0, 3]) {
      h.session.handleMessage({ ...frame(1, 0, t), side: "a" });
      h.session.handleMessage({ ...frame(1, 0, t), side: "b" });
    }
    h.flush();
    expect(h.state.t).toBe(3);
    const asked: number[] = [];
    for (let i = 0; i < 10; i++) {
      const last = h.sent.at(-1)!;
      if (last.type === "seek" && asked.at(-1) !== last.t) {
        asked.push(last.t);
        h.session.handleMessage({ ...frame(1, 0, last.t), side: "a" });
        h.session.handleMessage({ ...frame(1, 0, last.t), side: "b" });
      }
      h.flush(); // the frames land, then the pacing timer asks for the next gap
      expect(h.state.t).toBe(3); // a fetched-back step never moves the view
    }
    expect(asked).toEqual([1, 2]);
    expect(h.state.frames.map((f) => f?.t)).toEqual([0, 1, 2, 3]);
    expect(h.state.framesB.map((f) => f?.t)).toEqual([0, 1, 2, 3]);
    expect(h.sent.filter((m) => m.type === "seek")).toHaveLength(2); // nothing more once whole
  });

  it("gives up fetching a step the server no longer keeps", () => {
    const h = harness();
    h.session.handleMessage(snapshot(0, 0, 6));
    h.session.handleMessage(frame(0, 0, 0));
    h.session.handleMessage(frame(0, 0, 2));
    h.flush();
    h.session.switchCompare(null);
    h.session.handleMessage(snapshot(1, 0, 6));
    h.session.handleMessage(frame(1, 0, 0));
    h.session.handleMessage(frame(1, 0, 2));
    h.flush();
    expect(h.sent.at(-1)).toEqual({ type: "seek", t: 1 });
    h.session.handleMessage({ type: "error", code: "limit", message: "step 1 is no longer kept" });
    expect(h.state.notice).toBeNull(); // not the teacher's problem: the view is whole
    const n = h.sent.length;
    for (let i = 0; i < 40; i++) h.flush();
    expect(h.sent.length).toBe(n);
  });

  it("merges a watch answer into the frames it holds", () => {
    const h = harness();
    h.session.handleMessage(snapshot(0, 0));
    h.session.handleMessage(frame(0, 0, 0));
    h.session.handleMessage(frame(0, 0, 1));
    h.flush();
    const w = { weight: { x: [[0.5]] }, bias: [0.1] };
    h.session.handleMessage({ type: "updates", revision: 0, example: 0, nodes: ["y"], steps: { "0": { y: w }, "1": { y: w } } });
    expect(h.state.frames[1]?.updates.y).toEqual(w);
    expect(h.state.frames[0]?.updates.y).toEqual(w);
  });

  it("watches the selected parameter node", () => {
    const h = harness();
    h.session.handleMessage(snapshot(0, 0));
    expect(h.sent).toEqual([]); // nothing watched, nothing to say
    h.session["deps"].setState({ selected: "y" });
    h.session.watchSelected();
    expect(h.sent.at(-1)).toEqual({ type: "watch", nodes: ["y"] });
    h.session["deps"].setState({ selected: "x" }); // an input: no parameters to watch
    h.session.watchSelected();
    expect(h.sent.at(-1)).toEqual({ type: "watch", nodes: [] });
  });

  it("rebuilds its session after a reconnect and carries on at the same example and step", () => {
    const h = harness();
    h.session.handleMessage(snapshot(4, 2));
    for (const t of [0, 1, 2, 3]) h.session.handleMessage(frame(4, 2, t));
    h.flush();
    expect(h.state.t).toBe(3);
    // the server restarted: a new session numbers revisions from 0 again
    h.sent.length = 0;
    h.handlers().onOpen();
    expect(h.sent[0]).toMatchObject({ type: "load" });
    h.session.handleMessage(snapshot(0, 0));
    h.session.handleMessage(frame(0, 0, 0));
    expect(h.sent.at(-1)).toEqual({ type: "next_example" });
    h.session.handleMessage(snapshot(0, 1));
    expect(h.sent.at(-1)).toEqual({ type: "next_example" });
    h.session.handleMessage(snapshot(0, 2));
    expect(h.state.snapshot?.revision).toBe(0);
    expect(h.sent.at(-1)).toEqual({ type: "seek", t: 3 });
    for (const t of [0, 1, 2, 3]) h.session.handleMessage(frame(0, 2, t));
    h.flush();
    expect(h.state.t).toBe(3);
    expect(h.state.frames.length).toBe(4);
  });

  it("drops frames of another revision", () => {
    const h = harness();
    h.session.handleMessage(snapshot(1, 0));
    h.session.handleMessage(frame(0, 0, 0));
    h.session.handleMessage(frame(1, 0, 0));
    h.flush();
    expect(h.state.frames.length).toBe(1);
    expect(h.state.frames[0]?.revision).toBe(1);
  });
});
