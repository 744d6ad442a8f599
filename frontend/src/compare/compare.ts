// Compare mode (docs/contract.md, "Compare mode"): side a runs `config.rule`, side b
// `config.compare.rule`, on one server session and one clock. The page's configuration
// (and so the permalink and short links) carries `compare`; the server rebuilds both sides
// at the same example and t when it changes.
import type { Frame, Metrics, Snapshot } from "../protocol/messages";
import type { RuleSpec } from "../protocol/config";
import { commitConfig } from "../state/editing";
import { switchCompare } from "../state/session";
import { getState, type DivergenceView, type State } from "../state/store";

/** Compare mode on (with rule b) or off: the link changes, the server rebuilds in place. */
export function setCompare(rule: RuleSpec | null): void {
  const cfg = getState().config;
  if (!cfg) return;
  const next = { ...cfg };
  if (rule) next.compare = { rule };
  else delete next.compare;
  commitConfig(next, { local: true });
  switchCompare(rule); // the page then fetches any step the catch-up dropped
}

/** One setting of rule b (`set compare.rule.<name>`): both sides restart the example. */
export function setCompareSetting(name: string, value: unknown): void {
  const cfg = getState().config;
  if (!cfg?.compare) return;
  commitConfig({ ...cfg, compare: { rule: { ...cfg.compare.rule, [name]: value } } },
    { set: { path: `compare.rule.${name}`, value } });
}

export function comparing(s: State): boolean {
  return s.snapshotB !== null;
}

/** "Z-IL" or "FPA-PC (gamma 0.1)": a rule, with the settings that tell it from the other. */
export function sideLabel(snap: Snapshot | null, other: Snapshot | null): string {
  if (!snap) return "";
  const mine = snap.rule.settings, theirs = other?.rule.settings ?? {};
  const differ = snap.rule.name === other?.rule.name
    ? Object.keys(mine).filter((k) => JSON.stringify(mine[k]) !== JSON.stringify(theirs[k]))
    : [];
  const extra = differ.slice(0, 2).map((k) => `${k} ${String(mine[k])}`).join(", ");
  const title = snap.rule.title.replace(/\s*\(.*\)\s*$/, ""); // "Z-IL", not its long name
  return extra ? `${title} (${extra})` : title;
}

/** A node's divergences at step t: side b from side a, each side from backprop. */
export interface NodeDivergence {
  ba: Metrics | undefined;
  a: Metrics | undefined;
  b: Metrics | undefined;
}

export function nodeDivergence(a: Frame | undefined, b: Frame | undefined, id: string,
  view: DivergenceView): NodeDivergence {
  const pick = (d: Frame["divergence"] | null | undefined) => (view === "errors" ? d?.nodes[id] : d?.params[id]);
  return { ba: pick(b?.vs_a), a: pick(a?.divergence), b: pick(b?.divergence) };
}
