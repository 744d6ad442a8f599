// The compare control: a second rule (or the same rule with other settings) beside the
// main one, and the legend above the graph that says which side is which.
import { ParamInput, switchRule } from "../panels/RulePanel";
import { getState, ruleInfo, useStore } from "../state/store";
import { setCompare, setCompareSetting, sideLabel } from "./compare";
import "./compare.css";

export function ComparePanel() {
  const config = useStore((s) => s.config);
  const rules = useStore((s) => s.rules);
  const info = useStore((s) => ruleInfo(s, s.config?.compare?.rule.name));
  const issues = useStore((s) => s.issues);
  if (!config) return null;
  // a rejected setting of side b is marked at its field (the session runs on without it)
  const rejected = new Map(issues.filter((i) => i.path.startsWith("compare.rule."))
    .map((i) => [i.path.slice("compare.rule.".length), i.message]));
  const ruleB = config.compare?.rule;
  return (
    <section className="ew-panel ew-compare-panel" data-testid="compare-panel" aria-label="compare">
      <h2>Compare</h2>
      <label className="ew-compare-on">
        <input type="checkbox" data-testid="compare-toggle" checked={!!ruleB}
          onChange={(e) => setCompare(e.target.checked ? { ...getState().config!.rule } : null)} />
        beside a second rule (b), one clock
      </label>
      {ruleB && (
        <>
          <p className="ew-muted">Side a is the rule above; side b starts from the same weights and example.
            Pick another rule, or keep this one and change a setting.</p>
          <select data-testid="compare-rule-select" value={ruleB.name}
            onChange={(e) => {
              const next = rules.find((r) => r.name === e.target.value);
              const cfg = getState().config;
              if (next && cfg?.compare) setCompare(switchRule({ ...cfg, rule: cfg.compare.rule }, next).rule);
            }}>
            {!info && <option value={ruleB.name}>{ruleB.name}</option>}
            {rules.map((r) => <option key={r.name} value={r.name}>{r.title}</option>)}
          </select>
          {info && (
            <div className="ew-params">
              {info.params.map((p) => (
                <label key={p.name} title={p.description}>
                  <span>{p.name}</span>
                  <ParamInput p={p} value={ruleB[p.name]} onSet={setCompareSetting} prefix="compare" />
                  {rejected.has(p.name) && (
                    <small className="ew-field-issue" role="alert" data-testid={`compare-issue-${p.name}`}>
                      {rejected.get(p.name)} (still running with {String(ruleB[p.name] ?? p.default)})
                    </small>
                  )}
                </label>
              ))}
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** Above the graph in compare mode: which rule each half of a card shows. */
export function CompareLegend() {
  const a = useStore((s) => s.snapshot);
  const b = useStore((s) => s.snapshotB);
  const heldA = useStore((s) => !!s.frames[s.t]?.held);
  const heldB = useStore((s) => !!s.framesB[s.t]?.held);
  if (!b) return null;
  return (
    <div className="ew-compare-legend" data-testid="compare-legend"
      title="cards: side a above, side b below the dashed line; charts: side b dashed">
      <span data-testid="compare-legend-a"><span className="ew-side-tag">a</span>{sideLabel(a, b)}{heldA ? " (done)" : ""}</span>
      <span data-testid="compare-legend-b"><span className="ew-side-tag ew-side-b">b</span>{sideLabel(b, a)}{heldB ? " (done)" : ""}</span>
    </div>
  );
}
