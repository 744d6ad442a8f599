import { describe, expect, it } from "vitest";
import type { StoredLink } from "../protocol/api";
import type { Config, Issue } from "../protocol/config";
import { DEFAULT_VIEW, encodeLink } from "./permalink";
import { initialState, type State } from "./store";
import { UrlSync } from "./urlSync";

const config = (rule = "zil"): Config => ({
  version: 1,
  graph: { nodes: [{ id: "x", op: "input", size: 2 }, { id: "y", op: "linear", inputs: ["x"], size: 1 }], output: "y" },
  data: { input: { x: [0.5, -1] }, target: [1] },
  rule: { name: rule },
});

/** A link keeper on a fake store, server, session and address bar; timers run by hand. */
function harness(at: { pathname?: string; hash?: string } = {}, opts: { issues?: Issue[]; links?: Record<string, StoredLink> } = {}) {
  let state: State = { ...initialState, presets: [{ id: "fpa-chain-gamma1" } as State["presets"][number]] };
  const listeners: ((s: State) => void)[] = [];
  const loc = { pathname: at.pathname ?? "/", hash: at.hash ?? "", origin: "http://room" };
  const log = { commits: [] as [Config, number | undefined][], seeks: [] as number[], presets: [] as string[],
    urls: [] as [string, boolean][], created: [] as StoredLink[], copied: [] as string[] };
  let timers: { id: number; fn: () => unknown }[] = [];
  let next = 1;
  const sync = new UrlSync({
    getState: () => state,
    setState: (patch) => {
      state = { ...state, ...patch };
      listeners.forEach((l) => l(state));
    },
    subscribe: (l) => void listeners.push(l),
    validate: async () => opts.issues ?? [],
    fetchLink: async (id) => {
      const link = opts.links?.[id];
      if (!link) throw new Error("404");
      return link;
    },
    createLink: async (link) => (log.created.push(link), { id: "abc123" }),
    commitConfig: (c, o) => {
      log.commits.push([c, o.seekTo]);
      state = { ...state, config: c };
      listeners.forEach((l) => l(state));
    },
    openPreset: async (id) => void log.presets.push(id),
    seek: (t) => void log.seeks.push(t),
    goToStop: () => {},
    location: () => loc,
    writeUrl: (url, push) => {
      log.urls.push([url, push]);
      loc.hash = url.slice(1);
    },
    onNavigate: () => {},
    copy: async (text) => void log.copied.push(text),
    setTimer: (fn) => (timers.push({ id: next, fn }), next++),
    clearTimer: (id) => (timers = timers.filter((t) => t.id !== id)),
  });
  const fire = async () => {
    await Promise.all(timers.splice(0).map((t) => t.fn()));
  };
  const set = (patch: Partial<State>) => {
    state = { ...state, ...patch };
    listeners.forEach((l) => l(state));
  };
  return { sync, log, fire, set, get state() { return state; } };
}

describe("UrlSync", () => {
  it("opens a fragment link at its step and view", async () => {
    const hash = "#" + await encodeLink({ ...DEFAULT_VIEW, config: config(), t: 5, selected: "y" });
    const h = harness({ hash });
    await h.sync.openInitialLocation();
    expect(h.log.commits).toEqual([[config(), 5]]);
    expect(h.state.selected).toBe("y");
    expect(h.log.presets).toEqual([]);
  });

  it("opens the default preset without a link, and says why a link cannot open", async () => {
    const plain = harness();
    await plain.sync.openInitialLocation();
    expect(plain.log.presets).toEqual(["fpa-chain-gamma1"]);
    const broken = harness({ hash: "#v=1&c=%%%" });
    await broken.sync.openInitialLocation();
    expect(broken.state.linkError).toMatch(/^This link could not be opened/);
    expect(broken.log.commits).toEqual([]);
    const issue = { path: "graph", node: null, field: null, message: "a cycle" } as Issue;
    const invalid = harness({ hash: "#" + await encodeLink({ ...DEFAULT_VIEW, config: config() }) }, { issues: [issue] });
    await invalid.sync.openInitialLocation();
    expect(invalid.state.linkError).toContain("its configuration is invalid (a cycle)");
  });

  it("writes the address: a configuration change pushes, moving in time replaces", async () => {
    const h = harness();
    await h.sync.openInitialLocation();
    h.set({ config: config() });
    await h.fire();
    h.set({ t: 3 });
    h.set({ t: 4 }); // one write for a burst
    await h.fire();
    expect(h.log.urls.map(([, push]) => push)).toEqual([true, false]);
    const last = h.log.urls.at(-1)![0];
    expect(last).toBe("/#" + await encodeLink({ ...DEFAULT_VIEW, config: config(), t: 4 }));
  });

  it("keeps a short link as the address until the configuration is edited", async () => {
    const h = harness({ pathname: "/s/xyz" }, { links: { xyz: { config: config(), view: { t: "2" } } } });
    await h.sync.openInitialLocation();
    expect(h.log.commits).toEqual([[config(), 2]]);
    h.set({ t: 3 });
    await h.fire();
    expect(h.log.urls).toEqual([]);
    h.set({ config: config("pc") });
    await h.fire();
    expect(h.log.urls.length).toBe(1);
    const missing = harness({ pathname: "/s/nope" });
    await missing.sync.openInitialLocation();
    expect(missing.state.linkError).toContain("short link 'nope' was not found");
  });

  it("shares a long configuration as a short link", async () => {
    const h = harness();
    const big = config();
    let seed = 7; // text that does not compress: a long link
    big.description = Array.from({ length: 1900 }, () => String.fromCharCode(33 + ((seed = (seed * 48271) % 2147483647) % 90))).join("");
    h.set({ config: big, t: 1 });
    expect(await h.sync.share()).toBe("http://room/s/abc123");
    expect(h.log.created[0].config).toEqual(big);
    expect(h.log.created[0].view).toEqual({ t: "1" });
    expect(h.log.copied).toEqual(["http://room/s/abc123"]);
    h.set({ config: config() });
    expect(await h.sync.share()).toMatch(/^http:\/\/room\/#v=1&c=/);
  });
});
