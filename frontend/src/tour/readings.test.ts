import { describe, expect, it } from "vitest";
import type { Config } from "../protocol/config";
import type { Frame } from "../protocol/messages";
import { DEFAULT_VIEW, decodeLink, encodeLink } from "../state/permalink";
import { holds, readings, readingValue } from "./readings";

const presets = import.meta.glob("../../../shared/presets/*.json", { eager: true, import: "default" }) as Record<string, Config>;

describe("tour readings", () => {
  it("parse the form the server's tours.py parses", () => {
    const [a, b] = readings("Read h1's update rel L2 < 1e-12; side b: h-2's error angle = 134°.");
    expect(a).toMatchObject({ side: "a", node: "h1", signal: "update", metric: "rel L2", op: "<", number: "1e-12" });
    expect(b).toMatchObject({ side: "b", node: "h-2", signal: "error", metric: "angle", op: "=", number: "134" });
    expect(readings("no number here")).toEqual([]);
  });

  it("hold when the value rounds to the written number or keeps the bound", () => {
    const [lt] = readings("h1's update rel L2 < 1e-12");
    expect(holds(lt, 1.6e-16)).toBe(true);
    expect(holds(lt, 2e-12)).toBe(false);
    expect(holds(lt, null)).toBe(false);
    const [eq] = readings("h's update rel L2 = 0.0204");
    expect(holds(eq, 0.02043)).toBe(true);
    expect(holds(eq, 0.02051)).toBe(false);
    const [exp] = readings("h's error rel L2 = 1.5e-3");
    expect(holds(exp, 1.54e-3)).toBe(true);
    expect(holds(exp, 1.56e-3)).toBe(false);
  });

  it("read the frame's divergence (angle from the cosine)", () => {
    const frame = { divergence: { nodes: { h: { cosine: 0, rel_l2: 1, max_abs: 1 } },
      params: { h: { cosine: null, rel_l2: null, max_abs: null } }, total: { cosine: 1, rel_l2: 0, max_abs: 0 } } } as unknown as Frame;
    expect(readingValue(frame, readings("h's error angle = 90°")[0])).toBeCloseTo(90, 12);
    expect(readingValue(frame, readings("h's error rel L2 = 1")[0])).toBe(1);
    expect(readingValue(frame, readings("h's update angle = 90°")[0])).toBeNull();
    expect(readingValue(undefined, readings("h's update angle = 90°")[0])).toBeNull();
  });

  it("every shipped tour stop names a number on a node of its graph", () => {
    const toured = Object.entries(presets).filter(([, c]) => c.tour?.length);
    expect(toured.length).toBe(5);
    for (const [, config] of toured) {
      const ids = new Set(config.graph.nodes.map((n) => n.id));
      for (const stop of config.tour ?? []) {
        const found = readings(stop.caption);
        expect(found.length).toBeGreaterThan(0);
        for (const r of found) expect(ids.has(r.node)).toBe(true);
        if (found.some((r) => r.side === "b")) expect(stop.compare).toBeTruthy();
      }
    }
  });
});

describe("tour and presenter state in the link", () => {
  it("round-trips the tour stop and the hidden controls", async () => {
    const state = { ...DEFAULT_VIEW, config: null, t: 2, selected: "h1", tourStop: 3, hiddenControls: ["reset" as const, "speed" as const] };
    const text = await encodeLink(state);
    expect(text).toContain("ts=3");
    expect(text).toContain("hc=reset%2Cspeed");
    expect(await decodeLink("#" + text)).toEqual(state);
  });

  it("rejects a bad stop or an unknown control", async () => {
    await expect(decodeLink("#v=1&ts=-1")).rejects.toThrow(/tour stop/);
    await expect(decodeLink("#v=1&hc=reset,nope")).rejects.toThrow(/hidden controls/);
  });
});
