import { describe, expect, it } from "vitest";
import type { Config } from "../protocol/config";
import { DEFAULT_VIEW, LinkError, decodeLink, encodeLink, readViewParams, shortLinkId, viewParams } from "./permalink";

const config: Config = {
  version: 1,
  graph: { nodes: [{ id: "x", op: "input", size: 2 }, { id: "y", op: "linear", inputs: ["x"], size: 1 }], output: "y" },
  data: { input: { x: [0.5, -1] }, target: [1] },
  rule: { name: "zil", lr: 0.1 },
};

describe("permalink codec", () => {
  it("round-trips the configuration and the view", async () => {
    const state = { ...DEFAULT_VIEW, config, t: 7, selected: "y", colorScale: "layer" as const, presenter: true, hidden: ["charts" as const] };
    const text = await encodeLink(state);
    expect(text.startsWith("v=1&c=")).toBe(true);
    expect(await decodeLink("#" + text)).toEqual(state);
  });

  it("writes only non-default view fields", () => {
    expect(viewParams(DEFAULT_VIEW)).toEqual({});
    expect(viewParams({ ...DEFAULT_VIEW, t: 4, selected: "h2" })).toEqual({ t: "4", sel: "h2" });
    expect(readViewParams({})).toEqual(DEFAULT_VIEW);
  });

  it("rejects bad links with a readable LinkError", async () => {
    expect(await decodeLink("")).toBeNull();
    await expect(decodeLink("#v=2&t=1")).rejects.toThrow(/version 2/);
    await expect(decodeLink("#t=1")).rejects.toThrow(LinkError);
    await expect(decodeLink("#v=1&t=-1")).rejects.toThrow(/step t/);
    await expect(decodeLink("#v=1&sel=<script>")).rejects.toThrow(/selected node/);
    await expect(decodeLink("#v=1&c=!!!")).rejects.toThrow(/damaged/);
    await expect(decodeLink("#v=1&hide=presets,nope")).rejects.toThrow(/hidden panels/);
  });

  it("recognises short link paths", () => {
    expect(shortLinkId("/s/abcDEF_-12345678")).toBe("abcDEF_-12345678");
    expect(shortLinkId("/s/")).toBeNull();
    expect(shortLinkId("/x/abc")).toBeNull();
  });
});
