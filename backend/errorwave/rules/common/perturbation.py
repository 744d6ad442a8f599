"""Perturbation learning's shared machinery (weight_perturbation, node_perturbation)."""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.graph import Params, Values
from errorwave.rules.base import Observation, Rule, RuleSettings, stage
from errorwave.rules.common.graphs import linear_only_problem
from errorwave.rules.common.layers import out_activation, preactivation, slope, to_vertex_scale


class PerturbationSettings(RuleSettings):
    trials: int = Field(default=200, ge=1, le=100000,
                        description="Perturbation trials N in an example (one per step)")
    sigma: float = Field(default=1e-3, gt=0, le=10, description="Std s of every perturbation")


class PerturbationBase(Rule):
    """One trial per step; the update shown is -lr times the running average of the
    estimates. The error shown at a vertex is the running average of the estimate of
    -dL/da (its pre-activation) put on the vertex's scale by dividing by f'(a)."""

    Settings = PerturbationSettings
    error_meaning = ("-dL/da estimated from the trials so far (a pre-activation signal), "
                     "divided by f'(a)")

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
        events = self.plasticity_at_end(f"the average of {self.n} trials")
        return Observation("trial", dict(ff), {nid: ff[nid] for nid in g.hidden_and_output},
                           errors, updates, self.loss0, events,
                           readouts={"trials": self.n, "loss_change": self.last_change})

    # what one trial jiggles (slow motion's caption)
    jiggled: str = "every parameter"

    def stages(self, obs: Observation) -> list[dict]:
        g = self.graph
        if self.t == 0:
            stages = [stage("clean loss", g.hidden_and_output,
                            "L at the feed-forward pass; no trial yet, so the estimate is 0")]
        else:
            stages = [stage("trial", g.hidden_and_output,
                            f"trial {self.n}: {self.jiggled} jiggled by ξ ~ N(0, σ²); the loss "
                            "changes by ΔL"),
                      stage("estimate", g.param_nodes,
                            "the running average of ΔL·ξ/σ² moves toward the gradient")]
        return stages + self.plasticity_stage(obs, f"ΔW = −η × the average of {self.n} trials")

    def move(self) -> None:
        self.trial()
        self.n += 1
