// The numbers a tour caption tells the class to read, in the one form the server's
// errorwave/tours.py parses (docs/tours.md):
//   [side b: ]NODE's (error|update) (rel L2|cosine|angle) (=|<|>) NUMBER[°]
// The tour bar shows each one's value now, from the frame on screen (never recomputed:
// the divergence numbers are the server's).
import type { Frame } from "../protocol/messages";

export interface Reading {
  side: "a" | "b";
  node: string;
  signal: "error" | "update";
  metric: "rel L2" | "cosine" | "angle";
  op: "=" | "<" | ">";
  number: string;
  text: string; // as written in the caption
}

const READING =
  /(?:side (b): )?([A-Za-z_][A-Za-z0-9_-]*)'s (error|update) (rel L2|cosine|angle) ([=<>]) (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)°?/g;

export function readings(caption: string): Reading[] {
  return [...caption.matchAll(READING)].map((m) => ({
    side: m[1] === "b" ? "b" : "a",
    node: m[2],
    signal: m[3] as Reading["signal"],
    metric: m[4] as Reading["metric"],
    op: m[5] as Reading["op"],
    number: m[6],
    text: m[0],
  }));
}

/** The reading's value in a frame of its side; null when undefined there. */
export function readingValue(frame: Frame | undefined, r: Reading): number | null {
  const m = frame?.divergence[r.signal === "error" ? "nodes" : "params"][r.node];
  if (!m) return null;
  if (r.metric === "rel L2") return m.rel_l2;
  if (r.metric === "cosine" || m.cosine === null) return m.cosine;
  return (Math.acos(Math.max(-1, Math.min(1, m.cosine))) * 180) / Math.PI;
}

/** Half a unit of the number's last written digit. */
function tolerance(number: string): number {
  const [mantissa, exponent] = number.split("e");
  const decimals = (mantissa.split(".")[1] ?? "").length;
  return 0.5 * 10 ** (Number(exponent ?? 0) - decimals);
}

/** Whether the value shows what the caption claims ("=": rounds to the written number). */
export function holds(r: Reading, value: number | null): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  const claimed = Number(r.number);
  if (r.op === "<") return value < claimed;
  if (r.op === ">") return value > claimed;
  return Math.abs(value - claimed) <= tolerance(r.number) * (1 + 1e-9);
}
