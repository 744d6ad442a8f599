// Snapshot, frame and websocket messages, as in docs/contract.md.
import type { Config, Issue, Matrix, Vector } from "./config";

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
}

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
}

export interface Welcome {
  type: "welcome";
  proto: number;
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

export type ServerMessage = Welcome | Snapshot | Frame | SessionEvent | ServerError;

export type ClientMessage =
  | { type: "hello"; proto: number; binary: boolean }
  | { type: "load"; config: Config }
  | { type: "load"; preset: string }
  | { type: "step"; n: number }
  | { type: "run_example" }
  | { type: "play"; rate: number; across_examples?: boolean }
  | { type: "pause" }
  | { type: "seek"; t: number }
  | { type: "set"; path: string; value: unknown }
  | { type: "reset" }
  | { type: "next_example" };
