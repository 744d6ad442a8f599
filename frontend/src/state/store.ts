// The one store. Config edits, the server's snapshot and frame history, and view state.
// Per-frame animation does NOT live here (see src/wave/); only the viewed step t.
import { create } from "zustand";
import type { Config, Issue } from "../protocol/config";
import type { PresetInfo, RuleInfo } from "../protocol/api";
import type { Frame, Snapshot } from "../protocol/messages";
import type { SocketStatus } from "../protocol/socket";
import type { Route } from "../graph/routes";

export type ColorScale = "local" | "layer" | "global";
export type ColorBy = "error" | "value" | "prediction";
export type DivergenceView = "errors" | "updates";
export type PanelId = "presets" | "rule" | "editor" | "inspector" | "charts" | "timing";
export const PANELS: PanelId[] = ["presets", "rule", "editor", "inspector", "charts", "timing"];
// Controls the presenter may hide (kept in the link; src/tour/tour.css hides them).
export const CONTROLS = ["reset", "step-back", "play", "step", "run-example", "next-example", "speed",
  "scrubber", "legend", "export", "share"] as const;
export type ControlId = (typeof CONTROLS)[number];

export interface Diverged {
  node: string | null;
  t: number;
  detail: string;
  /** "diverged": a NaN/Inf appeared; "unstable": finite numbers running away. */
  kind: "diverged" | "unstable";
}

export interface Notice {
  kind: "error" | "info";
  text: string;
}

export interface XY {
  x: number;
  y: number;
}

/** One row of the learning curve: per example (or per batch), the same shape either way
 * (docs/contract.md, "Learning rows"). */
export interface LearnRow {
  example: number;
  index?: number;
  loss: number | null;
  angle: Record<string, number | null>;
  cosine?: number | null;
  boundary?: Boundary | null;
}

/** The model's output over a grid of the 2-D input plane, computed by the engine. */
export interface Boundary {
  x: number[];
  y: number[];
  z: (number | null)[][];
  level: number; // the score's value on the boundary
  points: { x: number; y: number; label: number }[];
}

export interface State {
  // catalogue from the server
  rules: RuleInfo[];
  presets: PresetInfo[];
  // the configuration being edited, with undo/redo
  config: Config | null;
  past: Config[];
  future: Config[];
  issues: Issue[];
  // what the server said
  status: SocketStatus;
  snapshot: Snapshot | null;
  snapshots: number; // snapshots received (a test hook)
  frames: (Frame | undefined)[]; // index = t, for the current revision and example
  // compare mode: side b's snapshot and frames (same clock t; null/empty when alone)
  snapshotB: Snapshot | null;
  framesB: (Frame | undefined)[];
  diverged: Diverged | null;
  notice: Notice | null;
  linkError: string | null;
  // view
  t: number;
  selected: string | null;
  playing: boolean;
  speed: number; // steps per second
  colorScale: ColorScale;
  colorBy: ColorBy;
  presenter: boolean;
  hidden: PanelId[];
  hiddenControls: ControlId[];
  tourStop: number | null; // the guided tour's stop on screen (src/tour/), null: not touring
  positions: Record<string, XY>;
  positionsAuto: boolean; // positions are the auto-layout's (re-laid out on resize)
  flip: Record<string, boolean>; // card's band runs right to left (snake layout)
  routes: Record<string, Route>; // edge id -> how it is routed
  divergenceView: DivergenceView;
  learnRows: LearnRow[];
  origin: { id: string; config: Config } | null; // the preset the configuration came from
  shareUrl: string | null;
}

export const initialState: State = {
  rules: [],
  presets: [],
  config: null,
  past: [],
  future: [],
  issues: [],
  status: "connecting",
  snapshot: null,
  snapshots: 0,
  frames: [],
  snapshotB: null,
  framesB: [],
  diverged: null,
  notice: null,
  linkError: null,
  t: 0,
  selected: null,
  playing: false,
  speed: 4,
  colorScale: "global",
  colorBy: "error",
  presenter: false,
  hidden: [],
  hiddenControls: [],
  tourStop: null,
  positions: {},
  positionsAuto: true,
  flip: {},
  routes: {},
  divergenceView: "errors",
  learnRows: [],
  origin: null,
  shareUrl: null,
};

export const useStore = create<State>()(() => ({ ...initialState }));

export const getState = useStore.getState;
export const setState = useStore.setState;

/** The steps of the example on the clock: in compare mode the longer side's. */
export function clockSteps(snap: Snapshot | null | undefined): number {
  return snap?.steps ?? snap?.rule.steps ?? 0;
}

/** The last step the client holds a frame for (-1 when none). */
export function headT(s: State = getState()): number {
  return s.frames.length - 1;
}

export function currentFrame(s: State = getState()): Frame | undefined {
  return s.frames[s.t];
}

export function ruleInfo(s: State, name: string | undefined): RuleInfo | undefined {
  return s.rules.find((r) => r.name === name);
}

/** Canonical JSON (sorted keys, no nulls), to compare configurations by content. */
function canon(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(canon);
  if (x && typeof x === "object") {
    return Object.fromEntries(Object.keys(x).sort().filter((k) => (x as Record<string, unknown>)[k] !== null && (x as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, canon((x as Record<string, unknown>)[k])]));
  }
  return x;
}

/** True when the graph, data or rule on screen differ from the preset they came from. */
export function modified(s: State): boolean {
  if (!s.origin || !s.config) return false;
  const pick = (c: Config) => canon({ graph: c.graph, params: c.params ?? {}, data: c.data, rule: c.rule, seeds: c.seeds ?? null });
  return JSON.stringify(pick(s.config)) !== JSON.stringify(pick(s.origin.config));
}
