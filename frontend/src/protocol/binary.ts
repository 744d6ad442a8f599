// Binary frames (docs/server.md): "EWF1", a uint32 header length, the JSON header (the
// frame without nodes and updates), zero padding to 4 bytes, then float32 numbers in the
// column order of the last `schema` message. NaN stands for a non-finite number (null).
import type { Frame, FrameSchema, NodeState, ParamSet } from "./messages";

const MAGIC = [0x45, 0x57, 0x46, 0x31]; // "EWF1"
const decoder = new TextDecoder();

export class BinaryFrameError extends Error {}

function numbers(data: Float32Array, offset: number, count: number): (number | null)[] {
  const out = new Array<number | null>(count);
  for (let i = 0; i < count; i++) {
    const v = data[offset + i];
    out[i] = Number.isNaN(v) ? null : v;
  }
  return out;
}

/** One binary frame as the same object a JSON frame parses to (numbers as float32). */
export function decodeFrame(buf: ArrayBuffer, schema: FrameSchema): Frame {
  const bytes = new Uint8Array(buf);
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new BinaryFrameError("not a binary frame");
  const h = new DataView(buf).getUint32(4, true);
  if (8 + h > bytes.length) throw new BinaryFrameError("truncated header");
  const header = JSON.parse(decoder.decode(bytes.subarray(8, 8 + h))) as Omit<Frame, "nodes" | "updates">;
  const start = (8 + h + 3) & ~3;
  if ((bytes.length - start) % 4 !== 0 || (bytes.length - start) / 4 < schema.count) {
    throw new BinaryFrameError(`expected ${schema.count} numbers`);
  }
  const data = new Float32Array(buf, start, (bytes.length - start) / 4);
  const nodes: Record<string, NodeState> = {};
  const updates: Record<string, ParamSet> = {};
  for (const col of schema.columns) {
    const n = col.shape.reduce((a, b) => a * b, 1);
    const vals = numbers(data, col.offset, n);
    const [root, id, field, src] = col.path;
    if (root === "nodes") {
      const st = (nodes[id] ??= { value: [], prediction: [], error: [] });
      st[field as keyof NodeState] = vals;
    } else {
      const up = (updates[id] ??= { weight: {}, bias: null });
      if (field === "weight") {
        const cols = col.shape[1] ?? 0;
        const rows: (number | null)[][] = [];
        for (let r = 0; r < (col.shape[0] ?? 0); r++) rows.push(vals.slice(r * cols, (r + 1) * cols));
        up.weight[src] = rows as ParamSet["weight"][string]; // null: non-finite, as in JSON
      } else {
        up.bias = vals as ParamSet["bias"];
      }
    }
  }
  return { ...header, nodes, updates } as Frame;
}
