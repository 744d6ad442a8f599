// A training run of the session's configuration on the server (docs/training.md): the
// settings live in `config.training` (so in the permalink), the run streams `training`
// messages whose rows are learning rows of the one shape (store.ts, LearnRow) with the
// batch's numbers. Its own small store: the curves survive frames and snapshots.
import { create } from "zustand";
import type { Training } from "../protocol/config";
import type { Assert, Covers } from "../protocol/checks";
import type * as G from "../protocol/generated/protocol";
import type { Boundary, LearnRow } from "./store";

export type RunState = "running" | "paused" | "stopped" | "done" | "failed";

/** One batch (errorwave.training.Trainer's row, as it is). */
export interface TrainRow extends LearnRow {
  epoch: number;
  batch_size: number;
  accuracy: number | null;
  rel_l2: number | null;
  backprop_loss?: number | null;
  distance: number | null;
  dropped: number;
}

/** After each epoch: the held-out split, for the rule and for the backprop run. */
export interface TrainEpoch {
  epoch: number;
  examples: number;
  test_loss: number | null;
  test_accuracy: number | null;
  train_loss: number | null;
  train_accuracy: number | null;
  distance: number | null;
  backprop_test_loss?: number | null;
  backprop_test_accuracy?: number | null;
}

/** How far a run is (the message's numbers, kept as they come). */
interface RunProgress {
  run: number; // 0: none yet
  examples: number;
  total: number;
  epoch: number;
  epochs: number;
  rate: number | null; // examples per second of running time
  rule: string;
}

export interface TrainingMessage extends RunProgress {
  type: "training";
  state: RunState;
  rows: TrainRow[];
  epoch_rows: TrainEpoch[];
  boundary?: Boundary | null;
}

export type TrainingChecks = [
  Assert<Covers<TrainingMessage, G.TrainingProgress>>,
  Assert<Covers<TrainRow, G.TrainRow>>,
  Assert<Covers<TrainEpoch, G.TrainEpoch>>,
];

export interface TrainingState extends RunProgress {
  state: RunState | "idle";
  rows: TrainRow[];
  epochRows: TrainEpoch[];
  boundary: Boundary | null;
}

export const idleTraining: TrainingState = {
  run: 0, state: "idle", examples: 0, total: 0, epoch: 0, epochs: 0, rate: null, rule: "",
  rows: [], epochRows: [], boundary: null,
};

export const MAX_ROWS = 20000;

export const useTraining = create<TrainingState>()(() => ({ ...idleTraining }));

/** The next state after a `training` message: a new run starts its curves afresh. */
export function applyTraining(cur: TrainingState, msg: TrainingMessage): TrainingState {
  const same = msg.run === cur.run;
  const rows = same ? cur.rows.concat(msg.rows) : msg.rows;
  return {
    run: msg.run, state: msg.state, examples: msg.examples, total: msg.total, epoch: msg.epoch,
    epochs: msg.epochs, rate: msg.rate, rule: msg.rule,
    rows: rows.length > MAX_ROWS ? rows.slice(-MAX_ROWS) : rows,
    epochRows: same ? cur.epochRows.concat(msg.epoch_rows) : msg.epoch_rows,
    boundary: msg.boundary ?? (same ? cur.boundary : null),
  };
}

/** A new server session (after a reconnect) holds no run: one shown as going has ended. */
export function trainingLost(): void {
  const s = useTraining.getState();
  if (s.state === "running" || s.state === "paused") useTraining.setState({ state: "stopped", rate: null });
}

export function onTraining(msg: TrainingMessage): void {
  useTraining.setState(applyTraining(useTraining.getState(), msg));
}

/** Start a run with the page's settings (`config.training`); the server answers with
 * `training` messages (or an error: no dataset, over the examples cap...). */
export function trainMessage(training: Training | null | undefined): G.Train {
  return training ? { type: "train", training } : { type: "train" };
}
