// Snapshot, frame and websocket messages, as in docs/contract.md. What the page sends is
// generated from shared/schema (generated/protocol.ts); the server messages are written
// out here for readability and checked against the generated ones at compile time.
import type { Config, Issue, Matrix, Vector } from "./config";
import type { Assert, Covers } from "./checks";
import type * as G from "./generated/protocol";
import type { TrainingMessage } from "../state/training";

export const PROTO = 1;

export interface Metrics {
  cosine: number | null;
  rel_l2: number | null;
  max_abs: number | null;
}

export interface ParamSet {
  weight: Record<string, Matrix>;
  bias: Vector | null;
}

export interface SnapshotNode {
  op: string;
  size: number;
  inputs: string[];
  label: string | null;
  distance: { shortest: number | null; longest: number | null };
  has_params: boolean;
}

export interface Snapshot {
  type: "snapshot";
  revision: number;
  config: Config;
  graph: {
    order: string[];
    nodes: Record<string, SnapshotNode>;
    output: string;
    depth: number;
  };
  rule: { name: string; title: string; settings: Record<string, unknown>; steps: number };
  example: { index: number; seen?: number; input: Record<string, Vector>; target: Vector | number };
  params: Record<string, ParamSet>;
  feedforward: Record<string, Vector>;
  backprop: {
    loss: number | null;
    adjoint: Record<string, Vector>;
    updates: Record<string, ParamSet>;
  };
  sign_convention: string;
  /** Compare mode: which side this is, and the clock's steps (the longer side's). */
  side?: Side | null;
  steps?: number | null;
}

/** Compare mode (docs/contract.md): side a runs `config.rule`, side b `config.compare.rule`. */
export type Side = "a" | "b";

export type NodeState = {
  value: (number | null)[];
  prediction: (number | null)[];
  error: (number | null)[];
};

export type EventKind = "plasticity" | "error_arrived" | "converged" | "diverged";

export interface FrameEvent {
  kind: EventKind | string;
  node: string | null;
  t: number;
  detail?: string;
}

export interface Frame {
  type: "frame";
  revision: number;
  example: number;
  t: number;
  phase: string;
  nodes: Record<string, NodeState>;
  updates: Record<string, ParamSet>;
  divergence: {
    nodes: Record<string, Metrics>;
    params: Record<string, Metrics>;
    total: Metrics;
    total_nodes?: Metrics;
  };
  energy: number | null;
  events: FrameEvent[];
  readouts?: Record<string, unknown>;
  done: boolean;
  /** Lean frames (the websocket): `updates` holds only the watched nodes; every parameter
   * node's update norm is here. */
  lean?: boolean;
  update_norms?: Record<string, number | null>;
  /** Slow motion: the sub-steps that led from step t − 1 to this frame, declared by the rule. */
  stages?: Stage[];
  /** Compare mode: the side; `held` once this side's example ended before the clock's t;
   * side b's divergence from side a. */
  side?: Side | null;
  held?: boolean;
  vs_a?: Frame["divergence"] | null;
}

/** One sub-step of a step (docs/slow-motion.md). */
export interface Stage {
  stage: string;
  nodes: string[];
  caption: string;
}

/** Sent in binary mode after every snapshot and watch: the float32 columns of the binary
 * frames that follow. */
export interface FrameSchema {
  type: "schema";
  revision: number;
  example: number;
  dtype: "float32";
  byte_order: "little";
  count: number;
  columns: { path: string[]; offset: number; shape: number[] }[];
}

/** The answer to `watch`: the watched nodes' full updates at every kept step (keys: t). */
export interface UpdatesMessage {
  type: "updates";
  side?: Side | null;
  revision: number;
  example: number;
  nodes: string[];
  steps: Record<string, Record<string, ParamSet>>;
}

export interface Welcome {
  type: "welcome";
  proto: number;
  binary?: boolean;
  limits?: Record<string, number>;
  rules?: unknown;
}

export interface SessionEvent {
  type: "event";
  kind: string;
  [k: string]: unknown;
}

export type ErrorCode =
  | "bad_json" | "bad_message" | "invalid_config" | "unknown_preset"
  | "unsupported_graph" | "too_large" | "not_loaded" | "limit" | "diverged" | "internal";

export interface ServerError {
  type: "error";
  code: ErrorCode | string;
  message: string;
  issues?: Issue[];
}

export type ServerMessage = Welcome | Snapshot | Frame | FrameSchema | UpdatesMessage | SessionEvent | ServerError
  | TrainingMessage;

// `load` carries the page's Config (checked against the configuration schema in config.ts)
export type ClientMessage =
  | Exclude<G.Client, G.Load>
  | { type: "load"; config: Config }
  | { type: "load"; preset: string };

// ----- compile-time checks: every field the schema requires is in the types above ----------
export type SchemaChecks = [
  Assert<Covers<Frame, G.Frame>>,
  Assert<Covers<Snapshot, G.Snapshot>>,
  Assert<Covers<FrameSchema, G.Schema>>,
  Assert<Covers<UpdatesMessage, G.Updates1>>,
  Assert<Covers<Welcome, G.Welcome>>,
  Assert<Covers<ServerError, G.Error1>>,
  Assert<Covers<NodeState, G.NodeState>>,
];
