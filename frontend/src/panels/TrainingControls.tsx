// Training settings (kept in config.training, hence in the permalink), start / pause /
// resume / stop, and the run's progress with examples per second. The curves are in the
// learning panel (Learning.tsx). The server trains in chunks under the session's CPU cap.
import { useEffect, useState } from "react";
import type { Training } from "../protocol/config";
import { commitConfig } from "../state/editing";
import { useClass } from "../state/classroom";
import { send } from "../state/session";
import { getState, useStore } from "../state/store";
import { trainMessage, useTraining } from "../state/training";

type NumberKey = "epochs" | "batch_size" | "lr";
const DEFAULTS = { epochs: 1, batch_size: 32, optimiser: "sgd" } as const;
const RANGES: Record<NumberKey, { min: number; max: number; integer: boolean }> = {
  epochs: { min: 1, max: 1000, integer: true },
  batch_size: { min: 1, max: 4096, integer: true },
  lr: { min: 1e-9, max: 10, integer: false },
};

function setTraining(patch: Partial<Training>): void {
  const cfg = getState().config;
  if (!cfg) return;
  const next: Training = { ...(cfg.training ?? {}), ...patch };
  for (const k of Object.keys(next) as (keyof Training)[]) if (next[k] === null || next[k] === undefined) delete next[k];
  commitConfig({ ...cfg, training: Object.keys(next).length ? next : undefined }, { local: true });
}

function NumberField({ name, label, value, placeholder }: { name: NumberKey; label: string; value: number | null | undefined; placeholder?: string }) {
  const [text, setText] = useState(value == null ? "" : String(value));
  useEffect(() => setText(value == null ? "" : String(value)), [value]);
  const r = RANGES[name];
  const commit = () => {
    if (text.trim() === "") {
      if (value != null) setTraining({ [name]: undefined });
      return;
    }
    const n = Number(text);
    if (!Number.isFinite(n) || n < r.min || n > r.max || (r.integer && !Number.isInteger(n))) {
      setText(value == null ? "" : String(value)); // out of range: the value in force stays
      return;
    }
    if (n !== value) setTraining({ [name]: n });
  };
  return (
    <label title={`${label}: ${r.min}–${r.max}`}>
      <span>{label}</span>
      <input data-testid={`train-${name}`} type="number" min={r.min} max={r.max} step={r.integer ? 1 : "any"}
        placeholder={placeholder} value={text} onChange={(e) => setText(e.target.value)}
        onBlur={commit} onKeyDown={(e) => e.key === "Enter" && commit()} />
    </label>
  );
}

function Progress() {
  const t = useTraining();
  if (t.run === 0) return null;
  const frac = t.total ? t.examples / t.total : 0;
  const rate = t.rate == null ? "" : ` · ${t.rate >= 100 ? Math.round(t.rate) : t.rate.toPrecision(3)} examples/s`;
  return (
    <div className="ew-train-progress" data-testid="train-progress" data-state={t.state} data-run={t.run}
      data-examples={t.examples} data-total={t.total}>
      <div className="ew-train-bar" role="progressbar" aria-valuemin={0} aria-valuemax={t.total} aria-valuenow={t.examples}>
        <div style={{ width: `${(100 * frac).toFixed(1)}%` }} />
      </div>
      <small>
        {t.state} · epoch {Math.min(t.epoch + (t.state === "done" ? 0 : 1), t.epochs)}/{t.epochs} ·{" "}
        {t.examples.toLocaleString()} / {t.total.toLocaleString()} examples{rate}
      </small>
    </div>
  );
}

export function TrainingControls() {
  const training = useStore((s) => s.config?.training ?? null);
  const dataset = useStore((s) => (s.config?.data as { dataset?: string } | undefined)?.dataset);
  const ruleLr = useStore((s) => s.snapshot?.rule.settings.lr as number | undefined);
  // a follower watches the teacher's run: its own commands would be refused (read_only)
  const following = useClass((c) => (c.following?.code ?? c.joining) !== null);
  const ready = useStore((s) => s.snapshot !== null && s.status === "open" && s.issues.length === 0) && !following;
  const state = useTraining((s) => s.state);
  const active = (state === "running" || state === "paused") && !following;
  return (
    <div className="ew-training" data-testid="training-controls">
      <h3>Training</h3>
      {!dataset ? (
        <p className="ew-muted">Training needs a built-in dataset (xor, circles, spirals, digits) as the data.</p>
      ) : (
        <>
          <div className="ew-params ew-train-params">
            <NumberField name="epochs" label="epochs" value={training?.epochs ?? DEFAULTS.epochs} />
            <NumberField name="batch_size" label="batch size" value={training?.batch_size ?? DEFAULTS.batch_size} />
            <label>
              <span>optimiser</span>
              <select data-testid="train-optimiser" value={training?.optimiser ?? DEFAULTS.optimiser}
                onChange={(e) => setTraining({ optimiser: e.target.value as Training["optimiser"] })}>
                <option value="sgd">SGD</option>
                <option value="momentum">SGD + momentum</option>
                <option value="adam">Adam</option>
              </select>
            </label>
            <NumberField name="lr" label="learning rate" value={training?.lr}
              placeholder={ruleLr === undefined ? "the rule's" : `the rule's (${ruleLr})`} />
          </div>
          <div className="ew-train-buttons">
            <button data-testid="train-start" disabled={!ready}
              onClick={() => send(trainMessage(getState().config?.training))}>
              {active ? "restart" : "train"}
            </button>
            <button data-testid="train-pause" disabled={!active}
              onClick={() => send({ type: state === "paused" ? "train_resume" : "train_pause" })}>
              {state === "paused" ? "resume" : "pause"}
            </button>
            <button data-testid="train-stop" disabled={!active} onClick={() => send({ type: "train_stop" })}>stop</button>
          </div>
          <Progress />
        </>
      )}
    </div>
  );
}
