import { describe, expect, it } from "vitest";
import type { Config, GraphNode } from "../protocol/config";
import type { Frame } from "../protocol/messages";
import { localEquations } from "./equation";
import { matrix, num, vec } from "./format";

const config: Config = {
  version: 1,
  graph: { nodes: [{ id: "x", op: "input", size: 2 }, { id: "h", op: "linear", inputs: ["x"], size: 2, activation: "tanh" }], output: "h" },
  data: { input: { x: [1, -2] }, target: [0, 0] },
  rule: { name: "zil", lr: 0.5 },
};

function frame(updates: Frame["updates"] = {}): Frame {
  return {
    type: "frame", revision: 0, example: 0, t: 1, phase: "inference", energy: 0, events: [], done: false,
    divergence: { nodes: {}, params: {}, total: { cosine: 1, rel_l2: 0, max_abs: 0 } },
    nodes: {
      x: { value: [1, -2], prediction: [1, -2], error: [0, 0] },
      h: { value: [0.6, 0.1], prediction: [0.5, 0], error: [0.1, 0.1] },
    },
    updates,
  };
}

describe("number formatting", () => {
  it("formats numbers, vectors and matrices compactly", () => {
    expect(num(null)).toBe("NaN");
    expect(num(0.000123)).toBe("1.23e-4");
    expect(num(2 / 3)).toBe("0.667");
    expect(vec([1, null, 3, 4, 5, 6, 7])).toBe("[1, NaN, 3, 4, 5, 6, …]");
    expect(matrix([[1, 2], [3, 4], [5, 6], [7, 8]], 2)).toEqual(["[1, 2]", "[3, 4]", "…"]);
  });
});

describe("localEquations", () => {
  const h = config.graph.nodes[1] as GraphNode;

  const lines = (eqs: { lines: string[] }[]) => eqs.flatMap((e) => e.lines);

  it("plugs the frame's numbers into the local update", () => {
    const all = lines(localEquations(h, frame(), null, config));
    // tanh'(a) from the prediction mu: 1 - mu^2 = [0.75, 1]; delta = eps * that = [0.075, 0.1]
    const delta = all.find((l) => l.startsWith("δ = "));
    expect(delta).toContain(vec([0.1, 0.1]));
    expect(delta).toContain(vec([0.75, 1]));
    expect(delta).toContain(vec([0.075, 0.1]));
    expect(all.some((l) => l.startsWith("ΔW[h←x]"))).toBe(true);
    // eta * delta * x^T, first row: 0.5 * 0.075 * [1, -2]
    expect(all).toContain(`   ${vec([0.0375, -0.075], 4)}`);
    expect(all.find((l) => l.startsWith("Δb = "))).toContain(vec([0.0375, 0.05]));
  });

  it("shows the rule's cumulative update only when the frame carries it (a watched node)", () => {
    const cumulative = (f: Frame) => lines(localEquations(h, f, null, config)).filter((l) => l.includes("0.04"));
    expect(cumulative(frame())).toEqual([]);
    const withUpdates = frame({ h: { weight: { x: [[0.01, 0.02], [0.03, 0.04]] }, bias: [0.1, 0.2] } });
    expect(cumulative(withUpdates).length).toBeGreaterThan(0);
  });

  it("has nothing to show without a frame", () => {
    expect(localEquations(h, undefined, null, config)).toEqual([]);
  });
});
