// Colour maps and scale grouping for the wave. A diverging map: blue (negative),
// near-white (zero), red (positive); NaN/Inf is purple.

export const NAN_COLOR = "#7b2cbf";
const NEG = [33, 102, 172];
const MID = [247, 247, 247];
const POS = [190, 40, 40];

function mix(a: number[], b: number[], f: number): string {
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** 257 colours for values -1..1 in steps of 1/128. */
const LUT: string[] = Array.from({ length: 257 }, (_, i) => {
  const v = (i - 128) / 128;
  return v < 0 ? mix(MID, NEG, -v) : mix(MID, POS, v);
});

/** Colour for a value already scaled to [-1, 1] (clamped); NaN → purple. */
export function divergingColor(v: number): string {
  if (Number.isNaN(v)) return NAN_COLOR;
  const c = Math.max(-1, Math.min(1, v));
  return LUT[Math.round(c * 128) + 128];
}

/** Legend gradient stops for CSS. */
export const LEGEND_GRADIENT = `linear-gradient(to right, ${LUT[0]}, ${LUT[128]}, ${LUT[256]})`;

export type ScaleMode = "local" | "layer" | "global";

/** For each node, the magnitude that maps to full colour under a scale mode.
 * maxAbs[i] is the node's own largest |unit|; group[i] its layer. */
export function scaleDenominators(maxAbs: Float64Array, group: Int32Array, mode: ScaleMode): Float64Array {
  const n = maxAbs.length;
  const out = new Float64Array(n);
  if (mode === "local") {
    for (let i = 0; i < n; i++) out[i] = maxAbs[i];
    return out;
  }
  if (mode === "global") {
    let m = 0;
    for (let i = 0; i < n; i++) if (Number.isFinite(maxAbs[i])) m = Math.max(m, maxAbs[i]);
    out.fill(m);
    return out;
  }
  const byGroup = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const v = Number.isFinite(maxAbs[i]) ? maxAbs[i] : 0;
    byGroup.set(group[i], Math.max(byGroup.get(group[i]) ?? 0, v));
  }
  for (let i = 0; i < n; i++) out[i] = byGroup.get(group[i]) ?? 0;
  return out;
}
