// Number formatting for panels (text only).
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
