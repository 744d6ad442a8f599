import { describe, expect, it } from "vitest";
import type { Config, Issue } from "../protocol/config";
import { ConfigEditor } from "./editing";
import { initialState, type State } from "./store";

function config(title: string): Config {
  return { version: 1, title, graph: { nodes: [], output: "y" }, data: { input: {}, target: [] }, rule: { name: "zil" } } as Config;
}

/** An editor on a fake store and server; timers and validations are settled by hand. */
function harness(answers: Record<string, Issue[]> = {}) {
  let state: State = { ...initialState };
  const loads: [string | null | undefined, number | undefined][] = [];
  const sets: [string, unknown][] = [];
  let timers: { id: number; fn: () => void }[] = [];
  let nextId = 1;
  const pending: { title: string; resolve: (v: Issue[]) => void }[] = [];
  const editor = new ConfigEditor({
    getState: () => state,
    setState: (patch) => (state = { ...state, ...patch }),
    validate: (c) => new Promise((resolve) => pending.push({ title: c.title ?? "", resolve })),
    fetchPreset: async (id) => {
      if (id === "missing") throw new Error("404 not found");
      return config(id);
    },
    load: (c, seekTo) => loads.push([c.title, seekTo]),
    setRuleSetting: (path, value) => sets.push([path, value]),
    setTimer: (fn) => (timers.push({ id: nextId, fn }), nextId++),
    clearTimer: (id) => (timers = timers.filter((t) => t.id !== id)),
  });
  const fire = () => timers.splice(0).forEach((t) => t.fn());
  /** Answer the server's validations (oldest first) and let their promises settle. */
  const answer = async () => {
    for (const p of pending.splice(0)) p.resolve(answers[p.title] ?? []);
    await new Promise((r) => setTimeout(r, 0));
  };
  return { editor, loads, sets, fire, answer, pending, get state() { return state; } };
}

describe("ConfigEditor", () => {
  it("validates a burst of edits once and loads only the last", async () => {
    const h = harness();
    h.editor.commit(config("a"));
    h.editor.commit(config("b"));
    h.editor.commit(config("c"), { seekTo: 4 });
    h.fire(); // the debounce keeps only the last timer
    expect(h.pending.map((p) => p.title)).toEqual(["c"]);
    await h.answer();
    expect(h.loads).toEqual([["c", 4]]);
    expect(h.state.past.map((c) => c.title)).toEqual(["a", "b"]);
  });

  it("drops a stale validation answer and never loads an invalid configuration", async () => {
    const issue = { path: "graph", message: "cycle", node: null, field: null, code: "cycle" } as unknown as Issue;
    const h = harness({ bad: [issue] });
    h.editor.commit(config("ok"));
    h.fire();
    h.editor.commit(config("bad"));
    h.fire();
    await h.answer(); // "ok" answers after "bad" was committed: ignored
    expect(h.loads).toEqual([]);
    expect(h.state.issues).toEqual([issue]);
  });

  it("undoes and redoes through the history", async () => {
    const h = harness();
    for (const t of ["a", "b", "c"]) h.editor.commit(config(t));
    h.editor.undo();
    expect(h.state.config?.title).toBe("b");
    h.editor.undo();
    expect(h.state.config?.title).toBe("a");
    h.editor.redo();
    expect(h.state.config?.title).toBe("b");
    expect(h.state.future.map((c) => c.title)).toEqual(["c"]);
    h.editor.commit(config("d")); // a new edit clears the redo list
    expect(h.state.future).toEqual([]);
  });

  it("sends a rule setting as `set` without reloading", () => {
    const h = harness();
    h.editor.commit(config("a"), { set: { path: "rule.gamma", value: 0.5 } });
    h.fire();
    expect(h.sets).toEqual([["rule.gamma", 0.5]]);
    expect(h.pending).toEqual([]);
  });

  it("opens a preset, or says why it cannot", async () => {
    const h = harness();
    await h.editor.openPreset("zil-mlp");
    expect(h.state.origin?.id).toBe("zil-mlp");
    h.fire();
    await h.answer();
    expect(h.loads).toEqual([["zil-mlp", undefined]]);
    await h.editor.openPreset("missing");
    expect(h.state.notice?.text).toContain("cannot open preset 'missing'");
  });
});
