// How a unit's number is printed on a card: a short decimal (1.00, −0.25), or one
// significant digit and a power of ten when that would hide it (3.1e-4, 1.2e5).
const MINUS = "\u2212";

export function formatUnit(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : `${MINUS}∞`;
  const a = Math.abs(x);
  let text: string;
  if (a === 0) text = "0.00";
  else if (a >= 0.005 && a < 1000) text = a.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
  else text = a.toExponential(1).replace("e+", "e");
  return x < 0 && text !== "0.00" ? MINUS + text : text;
}
