// Number formatting for panels (text only).
import type { Metrics } from "../protocol/messages";

export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return "NaN";
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

export function vec(v: (number | null)[] | undefined, max = 6): string {
  if (!v) return "[]";
  const shown = v.slice(0, max).map((x) => num(x));
  return `[${shown.join(", ")}${v.length > max ? ", …" : ""}]`;
}

export function matrix(m: number[][] | undefined, maxRows = 3, maxCols = 4): string[] {
  if (!m) return [];
  const rows = m.slice(0, maxRows).map((r) => vec(r, maxCols));
  if (m.length > maxRows) rows.push("…");
  return rows;
}

/** A divergence metric as text, with the reason when there is no number. The server sends
 * null when the metric is undefined: relative L2 against a zero reference (the signal is
 * measured against zero: max |Δ| says by how much), or a signal that is not finite. Never
 * the text "NaN": nothing blew up when the reference is merely zero. */
export function metricText(m: Metrics | undefined, key: keyof Metrics, short = false): { text: string; why: string } {
  const x = m?.[key];
  if (m === undefined || x === undefined) return { text: "—", why: "not measured at this step" };
  if (x !== null && Number.isFinite(x)) return { text: short ? shortNum(x) : num(x), why: "" };
  if (m.max_abs === null || !Number.isFinite(m.max_abs)) return { text: "—", why: "undefined: a signal is not finite (NaN/Inf)" };
  return { text: "—", why: `undefined: the reference is zero here; max |Δ| = ${num(m.max_abs)}` };
}

/** Two digits, tiny ones as a bare power of ten (1e-16): a card's divergences. */
function shortNum(x: number): string {
  if (x === 0) return "0";
  if (Math.abs(x) < 1e-3) return x.toExponential(0);
  return String(Number(x.toPrecision(2)));
}
