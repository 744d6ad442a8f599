// Compare mode on a node card: the card's own cells are side a; below them, side b's
// cells (dashed) and the node's divergences: b from a, and each side from backprop.
import { divergingColor } from "../wave/colors";
import { formatUnit } from "../wave/units";
import { MAX_CELLS, cellColumns } from "../graph/layout";
import { useStore, type State } from "../state/store";
import { metricText } from "../panels/format";
import type { Metrics } from "../protocol/messages";
import { nodeDivergence } from "./compare";
import "./compare.css";

/** The largest magnitude shown on either side at step t (one colour scale for both). */
function scaleOf(s: State): number {
  let m = 0;
  for (const f of [s.frames[s.t], s.framesB[s.t]]) {
    for (const st of Object.values(f?.nodes ?? {})) {
      for (const x of st[s.colorBy] ?? []) if (x !== null && Number.isFinite(x)) m = Math.max(m, Math.abs(x));
    }
  }
  return m;
}

export function CompareHalf({ nodeId, units, isInput }: { nodeId: string; units: number; isInput: boolean }) {
  const on = useStore((s) => s.snapshotB !== null);
  const b = useStore((s) => s.framesB[s.t]);
  const a = useStore((s) => s.frames[s.t]);
  const by = useStore((s) => s.colorBy);
  const view = useStore((s) => s.divergenceView);
  const scale = useStore(scaleOf);
  const ff = useStore((s) => s.snapshotB?.feedforward[nodeId]);
  if (!on) return null;
  const st = b?.nodes[nodeId];
  const vec = isInput ? st?.value ?? ff : st?.[by] ?? ff;
  const shown = Math.min(units, MAX_CELLS);
  const d = nodeDivergence(a, b, nodeId, view);
  const hasDiv = d.ba !== undefined || d.a !== undefined;
  return (
    <div className="ew-half-b" data-testid={`half-b-${nodeId}`} data-t={b?.t ?? ""} data-held={b?.held ? "1" : ""}>
      <div className="ew-half-row">
        <span className="ew-side-tag ew-side-b" title="side b (the compared rule)">b</span>
        <div className="ew-cells ew-cells-b" style={{ gridTemplateColumns: `repeat(${cellColumns(units)}, minmax(0, 1fr))` }}>
          {Array.from({ length: shown }, (_, k) => {
            const x = vec?.[k];
            const bg = x === null || x === undefined ? undefined
              : divergingColor(scale > 0 ? x / scale : 0);
            return (
              <div key={k} className="ew-cell ew-cell-b" data-unit-b={k} data-value={x ?? ""} style={{ background: bg }}>
                <span className="ew-num">{vec ? formatUnit(x) : ""}</span>
              </div>
            );
          })}
        </div>
      </div>
      {hasDiv && (
        <div className="ew-vs" data-testid={`vs-${nodeId}`} title="relative L2: b from a, a from backprop, b from backprop (— where the reference is zero: hover for max |Δ|)">
          <Vs label="b↔a" m={d.ba} testid={`vs-ba-${nodeId}`} />
          <Vs label="a↔bp" m={d.a} />
          <Vs label="b↔bp" m={d.b} />
        </div>
      )}
    </div>
  );
}

/** One relative L2 on the card; "—" with the reason when it is undefined (zero reference). */
function Vs({ label, m, testid }: { label: string; m: Metrics | undefined; testid?: string }) {
  const { text, why } = metricText(m, "rel_l2", true);
  return (
    <span data-testid={testid} data-value={m?.rel_l2 ?? ""} data-why={why} title={why || undefined}>
      {label} <b>{text}</b>
    </span>
  );
}
