import { describe, expect, it } from "vitest";
import {
  applyTraining, idleTraining, MAX_ROWS, trainingLost, useTraining, type TrainingMessage, type TrainRow,
} from "./training";

const row = (example: number): TrainRow => ({
  example, index: 0, epoch: 0, batch_size: 4, loss: 1, accuracy: 0.5, angle: {}, cosine: 1,
  rel_l2: 0, distance: 0, dropped: 0, boundary: null,
});

const msg = (run: number, rows: TrainRow[], extra: Partial<TrainingMessage> = {}): TrainingMessage => ({
  type: "training", run, state: "running", examples: 0, total: 8, epoch: 0, epochs: 1, rate: null,
  rule: "fpa", rows, epoch_rows: [], ...extra,
});

describe("training rows", () => {
  it("appends the rows of one run and starts afresh with a new run", () => {
    let s = applyTraining(idleTraining, msg(1, [row(0)]));
    s = applyTraining(s, msg(1, [row(4)], { state: "done", examples: 8 }));
    expect(s.rows.map((r) => r.example)).toEqual([0, 4]);
    expect(s.state).toBe("done");
    s = applyTraining(s, msg(2, [row(0)]));
    expect(s.rows.map((r) => r.example)).toEqual([0]);
  });

  it("keeps the last boundary of the run until a new one comes", () => {
    const b = { x: [0], y: [0], z: [[1]], level: 0.5, points: [] };
    let s = applyTraining(idleTraining, msg(1, [], { boundary: b }));
    s = applyTraining(s, msg(1, []));
    expect(s.boundary).toBe(b);
    expect(applyTraining(s, msg(2, [])).boundary).toBeNull();
  });

  it("holds at most MAX_ROWS rows (the latest)", () => {
    const many = Array.from({ length: MAX_ROWS + 5 }, (_, i) => row(i));
    const s = applyTraining(idleTraining, msg(1, many));
    expect(s.rows.length).toBe(MAX_ROWS);
    expect(s.rows[0].example).toBe(5);
  });
});

describe("a reconnect", () => {
  it("ends a run shown as going (the new server session holds none), and only such a run", () => {
    useTraining.setState(applyTraining(idleTraining, msg(1, [row(0)], { rate: 10 })));
    trainingLost();
    expect(useTraining.getState().state).toBe("stopped");
    expect(useTraining.getState().rows.length).toBe(1); // the curves stay
    useTraining.setState({ state: "done" });
    trainingLost();
    expect(useTraining.getState().state).toBe("done");
  });
});
