// The selected node's local update equation with the numbers at step t plugged in.
import type { Config, GraphNode } from "../protocol/config";
import type { Frame, Snapshot } from "../protocol/messages";
import { matrix, num, vec } from "./format";

type V = (number | null)[];

/** f'(a) written in terms of mu = f(a), for the activations where that is possible. */
function derivFromOutput(act: string, mu: V, slope: number): V | null {
  const m = (f: (y: number) => number) => mu.map((y) => (y === null ? null : f(y)));
  switch (act) {
    case "identity": return m(() => 1);
    case "tanh": return m((y) => 1 - y * y);
    case "sigmoid": return m((y) => y * (1 - y));
    case "relu": return m((y) => (y > 0 ? 1 : 0));
    case "exp": return m((y) => y);
    case "leaky_relu": return m((y) => (y > 0 ? 1 : slope));
    case "softplus": return m((y) => 1 - Math.exp(-y));
    default: return null;
  }
}

function apply(act: string, v: V, slope: number): V | null {
  const f: Record<string, (x: number) => number> = {
    identity: (x) => x, tanh: Math.tanh, sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    relu: (x) => Math.max(0, x), sin: Math.sin, cos: Math.cos, tan: Math.tan, exp: Math.exp,
    square: (x) => x * x, sqrt: Math.sqrt, softplus: (x) => Math.log1p(Math.exp(x)),
    leaky_relu: (x) => (x > 0 ? x : slope * x),
  };
  const g = f[act];
  return g ? v.map((x) => (x === null ? null : g(x))) : null;
}

function outer(eta: number, a: V, b: V): number[][] {
  return a.map((x) => b.map((y) => eta * (x ?? NaN) * (y ?? NaN)));
}

const mul = (a: V, b: V): V => a.map((x, i) => (x === null || b[i] === null ? null : x * (b[i] as number)));

export interface Equation {
  title: string;
  lines: string[];
}

/** What the server says about a rule's local update (GET /api/rules). */
export interface RuleEquation {
  title?: string;
  equation?: string;
  equation_form?: string; // "delta": the page plugs the numbers in; "update": the rule's own ΔW
}

export function localEquations(
  node: GraphNode, frame: Frame | undefined, snap: Snapshot | null, config: Config, rule?: RuleEquation,
): Equation[] {
  const st = frame?.nodes[node.id];
  if (!st) return [];
  const id = node.id;
  const out: Equation[] = [];
  if (node.op === "input") {
    return [{ title: "input (clamped to data)", lines: [`v_${id} = ${vec(st.value)}`] }];
  }
  if (rule?.equation) out.push({ title: `${rule.title ?? "this rule"}: local update`, lines: [rule.equation] });
  if (node.op !== "linear") return out;
  if (rule && rule.equation_form !== "delta") {
    const mine = frame?.updates?.[id];
    const src = (node.inputs ?? [])[0];
    if (mine && src) {
      out.push({ title: `this rule's ΔW[${id}←${src}] so far`, lines: matrix(mine.weight[src]).map((r) => `   ${r}`) });
    }
    return out;
  }
  const slope = node.negative_slope ?? 0.01;
  const eta = Number(config.rule.lr ?? snap?.rule.settings.lr ?? 0.1);
  const inAct = node.input_activation ?? "identity";
  const act = node.activation ?? "identity";
  let delta: V = st.error;
  const lines: string[] = [];
  if (act !== "identity") {
    const d = derivFromOutput(act, st.prediction, slope);
    if (d) {
      delta = mul(st.error, d);
      lines.push(`δ = ε ⊙ ${act}′(a) = ${vec(st.error)} ⊙ ${vec(d)} = ${vec(delta)}`);
    } else {
      lines.push(`δ = ε ⊙ ${act}′(a)   (a = W·x + b)`);
    }
  }
  for (const src of (node.inputs ?? []).slice(0, 3)) {
    const x = frame?.nodes[src]?.value ?? snap?.feedforward[src];
    if (!x) continue;
    const fx = inAct === "identity" ? x : apply(inAct, x, slope);
    const xs = inAct === "identity" ? `v_${src}` : `${inAct}(v_${src})`;
    lines.push(`ΔW[${id}←${src}] = η · ${act === "identity" ? "ε" : "δ"} · ${xs}ᵀ`);
    lines.push(`   = ${num(eta)} · ${vec(delta)} · ${vec(fx ?? [])}ᵀ`);
    if (fx) for (const row of matrix(outer(eta, delta, fx))) lines.push(`   ${row}`);
  }
  if (node.bias !== false) lines.push(`Δb = η · ${act === "identity" ? "ε" : "δ"} = ${vec(delta.map((d) => (d === null ? null : eta * d)))}`);
  out.push({ title: "with the numbers at this step (ε from the frame)", lines });
  const mine = frame?.updates?.[id];
  const bp = snap?.backprop.updates[id];
  const firstSrc = (node.inputs ?? [])[0];
  if (mine && firstSrc) {
    out.push({
      title: `this rule's cumulative ΔW[${id}←${firstSrc}] so far vs backprop's −η∇`,
      lines: [
        "rule:", ...matrix(mine.weight[firstSrc]).map((r) => `   ${r}`),
        "backprop:", ...matrix(bp?.weight[firstSrc]).map((r) => `   ${r}`),
      ],
    });
  }
  return out;
}
