// Configuration v1, as in docs/contract.md and shared/schema/config.schema.json (checked
// against the types generated from it at compile time, at the end of this file).
import type { Assert, Covers } from "./checks";
import type * as G from "./generated/config";

export const ELEMENTWISE_OPS = [
  "identity", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
  "sin", "cos", "tan", "exp", "square", "sqrt",
] as const;
export type Activation = (typeof ELEMENTWISE_OPS)[number];

export const OPS = ["input", "linear", "add", "mul", ...ELEMENTWISE_OPS] as const;
export type Op = (typeof OPS)[number];

export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,31}$/;

export interface GraphNode {
  id: string;
  op: Op;
  inputs?: string[];
  size?: number | null;
  activation?: Activation;
  input_activation?: Activation;
  bias?: boolean;
  negative_slope?: number;
  label?: string | null;
}

export interface Graph {
  nodes: GraphNode[];
  output: string;
  loss?: "mse" | "cross_entropy";
}

export type Vector = number[];
export type Matrix = number[][];

export interface NodeParams {
  weight?: Record<string, Matrix>;
  bias?: Vector | null;
}

export interface ExplicitData {
  input: Record<string, Vector>;
  target: Vector | number;
}

export interface DatasetData {
  dataset: "xor" | "circles" | "spirals" | "digits";
  index?: number;
  samples?: number;
}

export type Data = ExplicitData | DatasetData;

export interface RuleSpec {
  name: string;
  [setting: string]: unknown;
}

export interface Seeds {
  init: number;
  data: number;
}

/** One stop of a guided tour (src/tour/): where to go and what to read there. */
export interface TourStop {
  t: number;
  example?: number;
  node?: string | null;
  compare?: { rule: RuleSpec } | null;
  caption: string;
}

/** Settings of a training run (docs/training.md); the stepping engine ignores them. */
export interface Training {
  epochs?: number;
  batch_size?: number;
  optimiser?: "sgd" | "momentum" | "adam";
  lr?: number | null;
  momentum?: number;
  test_split?: number;
  max_examples?: number | null;
  shuffle?: boolean;
}

export interface Config {
  version: 1;
  title?: string | null;
  description?: string | null;
  graph: Graph;
  params?: Record<string, NodeParams>;
  data: Data;
  rule: RuleSpec;
  seeds?: Seeds;
  dtype?: "float64" | "float32";
  /** Compare mode: a second rule beside `rule`, one clock (src/compare/). */
  compare?: { rule: RuleSpec } | null;
  tour?: TourStop[] | null;
  training?: Training | null;
}

/** One problem found by the server's validation; names the node and field when it can. */
export interface Issue {
  path: string;
  node: string | null;
  field: string | null;
  message: string;
}

export function isExplicitData(d: Data): d is ExplicitData {
  return (d as ExplicitData).input !== undefined;
}

export type ConfigSchemaChecks = [
  Assert<Covers<Config, G.ConfigSchema>>,
  Assert<Covers<GraphNode, G.Node>>,
  Assert<Covers<Graph, G.Graph>>,
  Assert<Covers<ExplicitData, G.ExplicitData>>,
  Assert<Covers<DatasetData, G.DatasetData>>,
  Assert<Covers<RuleSpec, G.RuleSpec>>,
  Assert<Covers<TourStop, G.TourStop>>,
  Assert<Covers<Training, G.Training>>,
];
