import { describe, expect, it } from "vitest";
import { BinaryFrameError, decodeFrame } from "./binary";
import type { FrameSchema } from "./messages";

/** A binary frame laid out as docs/server.md says (what the server's binary.encode writes). */
function encode(header: object, numbers: number[]): ArrayBuffer {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const start = (8 + head.length + 3) & ~3;
  const buf = new ArrayBuffer(start + 4 * numbers.length);
  const bytes = new Uint8Array(buf);
  bytes.set([0x45, 0x57, 0x46, 0x31]);
  new DataView(buf).setUint32(4, head.length, true);
  bytes.set(head, 8);
  const data = new Float32Array(buf, start, numbers.length);
  numbers.forEach((x, i) => (data[i] = x));
  return buf;
}

const schema: FrameSchema = {
  type: "schema", revision: 2, example: 1, dtype: "float32", byte_order: "little", count: 12,
  columns: [
    { path: ["nodes", "x", "value"], offset: 0, shape: [1] },
    { path: ["nodes", "x", "prediction"], offset: 1, shape: [1] },
    { path: ["nodes", "x", "error"], offset: 2, shape: [1] },
    { path: ["nodes", "h", "value"], offset: 3, shape: [2] },
    { path: ["nodes", "h", "prediction"], offset: 5, shape: [2] },
    { path: ["nodes", "h", "error"], offset: 7, shape: [1] },
    { path: ["updates", "h", "weight", "x"], offset: 8, shape: [2, 1] },
    { path: ["updates", "h", "bias"], offset: 10, shape: [2] },
  ],
};
const header = {
  type: "frame", revision: 2, example: 1, t: 3, phase: "inference", energy: 0.5, events: [],
  divergence: { nodes: {}, params: {}, total: { cosine: 1, rel_l2: 0, max_abs: 0 } },
  done: false, lean: true, update_norms: { h: 0.25 },
};

describe("decodeFrame", () => {
  it("rebuilds nodes and watched updates in schema order, NaN as null", () => {
    const f = decodeFrame(encode(header, [1, 0.5, 0.5, 0.25, NaN, -1, 2, 0.125, 3, 4, -0.5, 0.75]), schema);
    expect(f.t).toBe(3);
    expect(f.update_norms).toEqual({ h: 0.25 });
    expect(f.nodes.x).toEqual({ value: [1], prediction: [0.5], error: [0.5] });
    expect(f.nodes.h.value).toEqual([0.25, null]);
    expect(f.nodes.h.prediction).toEqual([-1, 2]);
    expect(f.updates.h.weight.x).toEqual([[3], [4]]);
    expect(f.updates.h.bias).toEqual([-0.5, 0.75]);
  });

  it("keeps float32 precision, not more", () => {
    const f = decodeFrame(encode(header, [0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), schema);
    expect(f.nodes.x.value[0]).toBeCloseTo(0.1, 7);
    expect(f.nodes.x.value[0]).not.toBe(0.1);
  });

  it("rejects what is not a frame of this schema", () => {
    expect(() => decodeFrame(new TextEncoder().encode("hello world!").buffer, schema)).toThrow(BinaryFrameError);
    expect(() => decodeFrame(encode(header, [1, 2, 3]), schema)).toThrow(/expected 12 numbers/);
  });
});
