// Honest state: while the configuration is invalid or a setting was rejected, the live
// session is stopped, and a rejected setting's field goes back to the value in force.
import { getState, setState, useStore, type State } from "./store";

/** True while the session on screen is not the configuration being edited. */
export function stopped(s: State = getState()): boolean {
  return s.issues.length > 0;
}

/** Issues that name a rule setting (shown at that setting's field). */
export function settingIssues(s: State): Map<string, string> {
  const out = new Map<string, string>();
  for (const i of s.issues) if (i.path.startsWith("rule.")) out.set(i.path.slice(5), i.message);
  return out;
}

let started = false;

export function startHonestState(): void {
  if (started) return;
  started = true;
  let prev = getState().issues;
  useStore.subscribe((s) => {
    if (s.issues === prev) return;
    prev = s.issues;
    const rejected = s.issues.some((i) => i.path.startsWith("rule."));
    const inForce = s.snapshot?.config.rule;
    if (rejected && inForce && s.config && JSON.stringify(s.config.rule) !== JSON.stringify(inForce)) {
      // the server kept the old value: show it, not the rejected one
      setState({ config: { ...s.config, rule: { ...inForce } } });
    }
    // compare mode: a rejected setting of side b (compare.rule.*) goes back the same way
    const cur = getState().config;
    const inForceB = s.snapshot?.config.compare ?? null;
    if (s.issues.some((i) => i.path.startsWith("compare.")) && cur && s.snapshot
      && JSON.stringify(cur.compare ?? null) !== JSON.stringify(inForceB)) {
      setState({ config: { ...cur, compare: inForceB } });
    }
  });
}
