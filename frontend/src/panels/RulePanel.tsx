// Rule picker and settings, generated entirely from GET /api/rules.
import { useEffect, useState } from "react";
import type { RuleInfo, RuleParam } from "../protocol/api";
import type { Config, RuleSpec } from "../protocol/config";
import { commitConfig } from "../state/editing";
import { settingIssues } from "../state/honest";
import { getState, ruleInfo, useStore } from "../state/store";
import { TrainingControls } from "./TrainingControls";

function inRange(p: RuleParam, v: unknown): boolean {
  if (v === null) return !!p.nullable;
  if (p.type === "choice") return (p.choices ?? []).includes(v);
  if (p.type === "number" || p.type === "integer") {
    if (typeof v !== "number") return false;
    if (p.type === "integer" && !Number.isInteger(v)) return false;
    return (p.minimum == null || v >= p.minimum) && (p.maximum == null || v <= p.maximum);
  }
  if (p.type === "boolean") return typeof v === "boolean";
  return typeof v === "string";
}

/** Switch rule; settings the new rule also has (e.g. steps, lr) carry over when valid. */
export function switchRule(config: Config, info: RuleInfo): Config {
  const spec: RuleSpec = { name: info.name };
  for (const p of info.params) {
    const v = config.rule[p.name];
    if (v !== undefined && inRange(p, v)) spec[p.name] = v;
  }
  return { ...config, rule: spec };
}

function setSetting(name: string, value: unknown): void {
  const cfg = getState().config;
  if (!cfg) return;
  commitConfig({ ...cfg, rule: { ...cfg.rule, [name]: value } }, { set: { path: `rule.${name}`, value } });
}

function parse(p: RuleParam, text: string): unknown {
  if (text.trim() === "") return p.nullable ? null : p.default;
  const n = Number(text);
  if (!Number.isFinite(n)) return undefined;
  return p.type === "integer" ? Math.round(n) : n;
}

/** One setting's input; `onSet` and `prefix` for another rule's settings (compare mode). */
export function ParamInput({ p, value, onSet = setSetting, prefix = "rule" }: {
  p: RuleParam; value: unknown; onSet?: (name: string, value: unknown) => void; prefix?: string;
}) {
  const shown = value === undefined ? p.default : value;
  const [text, setText] = useState(shown == null ? "" : String(shown));
  useEffect(() => setText(shown == null ? "" : String(shown)), [shown]);
  const testid = `${prefix}-param-${p.name}`;
  if (p.type === "boolean") {
    return <input type="checkbox" data-testid={testid} checked={Boolean(shown)} onChange={(e) => onSet(p.name, e.target.checked)} />;
  }
  if (p.type === "choice" || (p.choices && p.choices.length)) {
    return (
      <select data-testid={testid} value={String(shown ?? "")}
        onChange={(e) => onSet(p.name, (p.choices ?? []).find((c) => String(c) === e.target.value) ?? e.target.value)}>
        {p.nullable && <option value="">(none)</option>}
        {(p.choices ?? []).map((c) => <option key={String(c)} value={String(c)}>{String(c)}</option>)}
      </select>
    );
  }
  const numeric = p.type === "number" || p.type === "integer";
  const commit = () => {
    const v = numeric ? parse(p, text) : text;
    if (v !== undefined && v !== shown) onSet(p.name, v);
  };
  return (
    <input
      data-testid={testid}
      type={numeric ? "number" : "text"}
      step={p.type === "integer" ? 1 : "any"}
      min={p.minimum ?? undefined}
      max={p.maximum ?? undefined}
      placeholder={p.nullable ? "auto" : undefined}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => e.key === "Enter" && commit()}
    />
  );
}

export function RulePanel() {
  const rules = useStore((s) => s.rules);
  const config = useStore((s) => s.config);
  const info = useStore((s) => ruleInfo(s, s.config?.rule.name));
  const issues = useStore((s) => s.issues);
  const rejected = settingIssues({ issues } as never);
  if (!config) return null;
  return (
    <section className="ew-panel" data-testid="rule-panel" aria-label="rule">
      <h2>Rule</h2>
      <select data-testid="rule-select" value={config.rule.name}
        onChange={(e) => {
          const next = rules.find((r) => r.name === e.target.value);
          const cfg = getState().config;
          if (next && cfg) commitConfig(switchRule(cfg, next));
        }}>
        {!info && <option value={config.rule.name}>{config.rule.name}</option>}
        {rules.map((r) => <option key={r.name} value={r.name}>{r.title}</option>)}
      </select>
      {info && (
        <>
          <p className="ew-muted">{info.description}</p>
          <p className="ew-muted">Runs on: {info.supports}</p>
          <div className="ew-params">
            {info.params.map((p) => (
              <label key={p.name} title={p.description}>
                <span>{p.name}</span>
                <ParamInput p={p} value={config.rule[p.name]} />
                {rejected.has(p.name) && (
                  <small className="ew-field-issue" role="alert" data-testid={`rule-issue-${p.name}`}>
                    {rejected.get(p.name)} (still running with {String(config.rule[p.name] ?? p.default)})
                  </small>
                )}
                <small>{p.description}</small>
              </label>
            ))}
          </div>
        </>
      )}
      <TrainingControls />
    </section>
  );
}
