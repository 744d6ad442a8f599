"""Shared helpers of the rule zoo (fa, dfa, tp, dtp, gaitprop, ilprox, perturbation, eqprop):
which graphs a rule can run on, a linear vertex split into its pre-activation and its
output activation, seeded fixed random matrices, elementwise derivatives by autograd,
and the mapping of a pre-activation signal to its vertex's scale.

Every derivative here is taken by torch autograd."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from pydantic import Field

from errorwave.config import Config
from errorwave.graph import CompiledGraph, Params, Values, activation_fn
from errorwave.rules.base import Observation, Rule, RuleSettings
from errorwave.structure import Structure

# Salts so that each rule's fixed random matrices are independent of the forward weights
# (which are drawn from seeds.init itself) and of each other.
SALT = {"fa": 0x5EEDFA, "dfa": 0x5EEDDFA, "tp": 0x5EED7B, "gaitprop": 0x5EED6A17}

# A slope below this is treated as zero when a pre-activation signal is divided by it.
FLAT_SLOPE = 1e-6


# ----- which graphs --------------------------------------------------------------------------
def linear_only_problem(config: Config, s: Structure, rule: str) -> str | None:
    """Every vertex with a prediction must be a `linear` node."""
    for nid in s.order:
        node = config.node(nid)
        if node.op not in ("input", "linear"):
            return (f"node '{nid}' has op '{node.op}'; {rule} needs every non-input node to be "
                    f"'linear' (its signals live on linear layers)")
    return None


def chain_problem(config: Config, s: Structure, rule: str) -> str | None:
    """A layered chain: one input, then linear nodes each fed by the previous one only,
    ending at the output. None if the graph is one, else the first thing that is wrong."""
    if len(s.inputs) != 1:
        return f"{rule} needs a chain with exactly one input node; the graph has {len(s.inputs)}"
    problem = linear_only_problem(config, s, rule)
    if problem:
        return problem
    for nid in s.order:
        if len(s.parents[nid]) > 1:
            return (f"node '{nid}' has {len(s.parents[nid])} inputs "
                    f"({', '.join(s.parents[nid])}); {rule} needs a layered chain "
                    f"(one input per node)")
        if len(s.children[nid]) > 1:
            return (f"node '{nid}' feeds {len(s.children[nid])} nodes "
                    f"({', '.join(s.children[nid])}); {rule} needs a layered chain "
                    f"(one child per node)")
    if s.children[s.output]:
        return (f"the output '{s.output}' feeds '{s.children[s.output][0]}'; {rule} needs the "
                f"output at the end of the chain")
    return None


def form_b_problem(config: Config, s: Structure, rule: str) -> str | None:
    """Values are post-activations: mu = f(W x + b), input_activation identity."""
    for nid in s.order:
        node = config.node(nid)
        if node.op == "linear" and node.input_activation != "identity":
            return (f"node '{nid}' has input_activation '{node.input_activation}'; {rule} needs "
                    f"form B layers (mu = f(W x + b), input_activation identity)")
    return None


# ----- a linear vertex in two halves ------------------------------------------------------
MatMul = Callable[[tuple, torch.Tensor, torch.Tensor], torch.Tensor]


def _plain_matmul(key: tuple, w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return w @ h


def preactivation(g: CompiledGraph, nid: str, values: Values, params: Params,
                  matmul: MatMul = _plain_matmul) -> torch.Tensor:
    """a = sum_src W_src f_in(v_src) + b of a linear vertex (mu = f_out(a))."""
    node = g.nodes[nid]
    f_in = activation_fn(node.input_activation, node.negative_slope)
    a = None
    for src in node.inputs:
        key = (nid, "weight", src)
        term = matmul(key, params[key], f_in(values[src]))
        a = term if a is None else a + term
    if node.bias:
        a = a + params[(nid, "bias", "")]
    return a


def out_activation(g: CompiledGraph, nid: str) -> Callable[[torch.Tensor], torch.Tensor]:
    node = g.nodes[nid]
    return activation_fn(node.activation, node.negative_slope)


def in_activation(g: CompiledGraph, nid: str) -> Callable[[torch.Tensor], torch.Tensor]:
    node = g.nodes[nid]
    return activation_fn(node.input_activation, node.negative_slope)


def presynaptic(g: CompiledGraph, nid: str, values: Values) -> list[torch.Tensor]:
    """The activity each incoming weight of a linear vertex multiplies: f_in(v_src)."""
    f_in = in_activation(g, nid)
    return [f_in(values[src]) for src in g.nodes[nid].inputs]


def presynaptic_energy(g: CompiledGraph, nid: str, values: Values) -> float:
    """||h||^2 over every incoming edge, plus 1 for the bias input when there is one."""
    energy = sum(float((h ** 2).sum()) for h in presynaptic(g, nid, values))
    return energy + (1.0 if g.nodes[nid].bias else 0.0)


def slope(fn: Callable[[torch.Tensor], torch.Tensor], a: torch.Tensor) -> torch.Tensor:
    """f'(a) of an elementwise function, by autograd."""
    leaf = a.detach().clone().requires_grad_(True)
    (d,) = torch.autograd.grad(fn(leaf).sum(), leaf, allow_unused=True)
    return torch.zeros_like(leaf) if d is None else d.detach()


def to_vertex_scale(signal: torch.Tensor, f_slope: torch.Tensor) -> torch.Tensor:
    """A signal on a vertex's pre-activation (e.g. -dL/da) put on its value's scale (-dL/dv)
    by dividing by the activation's slope f'(a); where the slope is flat (|f'| < 1e-6,
    e.g. a dead ReLU) the vertex cannot be read and 0 is shown."""
    flat = f_slope.abs() < FLAT_SLOPE
    safe = torch.where(flat, torch.ones_like(f_slope), f_slope)
    return torch.where(flat, torch.zeros_like(signal), signal / safe)


def vjp(outputs: list[torch.Tensor], inputs: list[torch.Tensor],
        cotangents: list[torch.Tensor], retain: bool = False) -> list[torch.Tensor]:
    """Vector-Jacobian products; zeros for inputs the outputs do not depend on."""
    grads = torch.autograd.grad(outputs, inputs, grad_outputs=cotangents, retain_graph=retain,
                                allow_unused=True)
    return [torch.zeros_like(x) if gr is None else gr.detach() for x, gr in zip(inputs, grads,
                                                                             strict=True)]


def leaves(params: Params) -> Params:
    return {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}


# ----- seeded random matrices ---------------------------------------------------------------
def generator(config: Config, rule: str) -> torch.Generator:
    """Fixed random draws of a rule, from seeds.init (the same every example and run)."""
    return torch.Generator().manual_seed((config.seeds.init + SALT[rule]) % (2 ** 63))


def uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float,
            dtype: torch.dtype) -> torch.Tensor:
    u = torch.rand(shape, generator=gen, dtype=torch.float64)
    return ((2 * u - 1) * bound).to(dtype)


def fan_bound(n: int) -> float:
    return 1.0 / math.sqrt(max(n, 1))


def angle_deg(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """Angle between two tensors (flattened) in degrees; None if either is zero."""
    a, b = a.reshape(-1).to(torch.float64), b.reshape(-1).to(torch.float64)
    na, nb = float(a.norm()), float(b.norm())
    if na == 0.0 or nb == 0.0:
        return None
    c = max(-1.0, min(1.0, float(a @ b) / (na * nb)))
    return math.degrees(math.acos(c))


# ----- perturbation learning (weight_perturbation, node_perturbation) --------------------------
class PerturbationSettings(RuleSettings):
    trials: int = Field(default=200, ge=1, le=100000,
                        description="Perturbation trials N in an example (one per step)")
    sigma: float = Field(default=1e-3, gt=0, le=10, description="Std s of every perturbation")


class PerturbationBase(Rule):
    """One trial per step; the update shown is -lr times the running average of the
    estimates. The error shown at a vertex is the running average of the estimate of
    -dL/da (its pre-activation) put on the vertex's scale by dividing by f'(a)."""

    Settings = PerturbationSettings

    @classmethod
    def unsupported(cls, config, structure):
        return linear_only_problem(config, structure, cls.name)

    @classmethod
    def supports_text(cls) -> str:
        return "any DAG of linear nodes"

    @classmethod
    def total_steps(cls, settings, structure) -> int:
        return settings.trials

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        ff = ctx.feedforward
        self.gen = torch.Generator().manual_seed(ctx.seed)
        self.loss0 = float(g.loss(ff[g.output], ctx.example.target))
        self.pre = {n: preactivation(g, n, ff, ctx.params) for n in g.hidden_and_output}
        self.slopes = {n: slope(out_activation(g, n), self.pre[n]) for n in g.hidden_and_output}
        self.sum_a = {n: self.zeros(n) for n in g.hidden_and_output}
        self.sum_p = self.zeros_like_params()
        self.n = 0
        self.last_change = 0.0

    def noise(self, shape) -> torch.Tensor:
        draw = torch.randn(shape, generator=self.gen, dtype=torch.float64)
        return (self.settings.sigma * draw).to(self.graph.dtype)

    def perturbed_loss(self, params: Params, extra: Values | None = None) -> float:
        """L with the given parameters and, optionally, offsets on the pre-activations."""
        g = self.graph
        values = dict(self.ctx.example.inputs)
        for nid in g.hidden_and_output:
            a = preactivation(g, nid, values, params)
            if extra is not None:
                a = a + extra[nid]
            values[nid] = out_activation(g, nid)(a)
        return float(g.loss(values[g.output], self.ctx.example.target))

    def trial(self) -> None:
        """Add one trial's estimates to sum_a (of dL/da) and sum_p (of dL/dtheta)."""
        raise NotImplementedError

    def param_estimate(self) -> Params:
        """The running average of the parameter-gradient estimate."""
        return {k: v / max(self.n, 1) for k, v in self.sum_p.items()}

    def observe(self) -> Observation:
        g, lr, ff = self.graph, self.settings.lr, self.ctx.feedforward
        n = max(self.n, 1)
        errors = {nid: -to_vertex_scale(self.sum_a[nid] / n, self.slopes[nid])
                  for nid in g.hidden_and_output}
        updates = {k: -lr * v for k, v in self.param_estimate().items()}
        events = ([self.plasticity(nid, f"the average of {self.n} trials") for nid in g.param_nodes]
                  if self.t == self.total_steps(self.settings, g.s) else [])
        return Observation("trial", dict(ff), {nid: ff[nid] for nid in g.hidden_and_output},
                           errors, updates, self.loss0, events,
                           readouts={"trials": self.n, "loss_change": self.last_change})

    def advance(self) -> None:
        self.trial()
        self.n += 1
        self.t += 1
