"""Feedback alignment (Lillicrap et al. 2016; docs/rules.md): the forward pass is backprop's,
the backward pass replaces every transposed forward weight W^T by a fixed random matrix B
of the same shape. Runs on any DAG: non-linear ops (add, mul, elementwise) pass the error
back by their true Jacobians, only the weights' transposes are replaced.

Stepped like backprop: step t completes the error of every vertex whose longest distance
to the output is t; every parameter's change is scheduled when its vertex is complete."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from errorwave.graph import Params
from errorwave.rules.base import Observation, RuleSettings
from errorwave.rules.common.angles import angle_deg
from errorwave.rules.common.layers import out_activation, preactivation
from errorwave.rules.common.randomness import fan_bound, generator, uniform
from errorwave.rules.common.revealed import RevealedRule


class FASettings(RuleSettings):
    feedback: Literal["random", "tied"] = Field(
        default="random",
        description="Fixed random B (seeded from seeds.init) or B := W^T (recovers backprop)")
    feedback_scale: float = Field(
        default=1.0, gt=0, le=100,
        description="B ~ U(-s/sqrt(n), s/sqrt(n)), n the fan-in of the forward weight's vertex")


def feedback_matrices(ctx, rule: str = "fa") -> Params:
    """One fixed B per weight, shaped like W^T, drawn once and kept in the rule memory."""
    g, s = ctx.graph, ctx.settings
    key = f"{rule}:feedback:{s.feedback_scale}"
    if key not in ctx.memory:
        gen = generator(g.config, rule)
        mats: Params = {}
        for k in g.param_keys:
            nid, kind, src = k
            if kind != "weight":
                continue
            fan_in = sum(g.s.sizes[p] for p in g.nodes[nid].inputs)
            shape = (g.s.sizes[src], g.s.sizes[nid])
            mats[k] = uniform(gen, shape, s.feedback_scale * fan_bound(fan_in), g.dtype)
        ctx.memory[key] = mats
    return ctx.memory[key]


class FeedbackAlignment(RevealedRule):
    name = "fa"
    title = "Feedback alignment"
    equation = ("δ_v = f′(a_v) ⊙ Σ_c B_cᵀ δ_c (B fixed, random);   ΔW_v = η · δ_v · g(x)ᵀ")
    description = ("Backprop's forward pass; the backward pass sends errors through fixed random "
                   "matrices B instead of W^T. The output layer learns exactly as in backprop; "
                   "hidden layers learn once the forward weights come to align with B.")
    Settings = FASettings
    error_meaning = "-dL/dv as the fixed random feedback B (instead of W transposed) carries it back"
    phases = ("backward", "update")

    @classmethod
    def supports_text(cls) -> str:
        return "any DAG (only the linear nodes' weight transposes are replaced)"

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        if self.settings.feedback == "tied":
            self.B = {k: v.detach().T.clone() for k, v in ctx.params.items() if k[1] == "weight"}
        else:
            self.B = feedback_matrices(ctx)
        self.values, self.loss, self.adjoint, self.grads = self._backward()
        self.feedback_angle = {
            nid: angle_deg(torch.cat([self.B[k].reshape(-1) for k in self.B if k[0] == nid]),
                           torch.cat([ctx.params[k].T.reshape(-1) for k in self.B if k[0] == nid]))
            for nid in g.param_nodes}

    def _backward(self):
        """Forward as backprop; reverse-mode through W where B^T h stands in the graph for the
        input side of every product, so autograd sends B e (not W^T e) back."""
        g, ctx = self.graph, self.ctx
        p = {k: v.detach().clone().requires_grad_(True) for k, v in ctx.params.items()}

        def through_feedback(key, w, h):
            shadow = self.B[key].T @ h  # the same number path as w @ h, gradient B e for h
            return w @ h.detach() + (shadow - shadow.detach())

        values = {n: v.detach().clone().requires_grad_(True) for n, v in ctx.example.inputs.items()}
        for nid in g.hidden_and_output:
            if g.nodes[nid].op == "linear":
                a = preactivation(g, nid, values, p, through_feedback)
                values[nid] = out_activation(g, nid)(a)
            else:
                values[nid] = g.predict(nid, values, p)
        loss = g.loss(values[g.output], ctx.example.target)
        outs = [values[n] for n in g.hidden_and_output] + [p[k] for k in g.param_keys]
        grads = torch.autograd.grad(loss, outs, allow_unused=True)
        nv = len(g.hidden_and_output)
        adjoint = {n: (self.zeros(n) if gr is None else gr.detach())
                   for n, gr in zip(g.hidden_and_output, grads[:nv], strict=True)}
        pgrads = {k: (torch.zeros_like(ctx.params[k]) if gr is None else gr.detach())
                  for k, gr in zip(g.param_keys, grads[nv:], strict=True)}
        return {n: v.detach() for n, v in values.items()}, float(loss.detach()), adjoint, pgrads

    def reached(self) -> set[str]:
        return self.reached_by_depth()

    def stages(self, obs: Observation) -> list[dict]:
        return self.front_stages("B_cᵀ δ_c (fixed random B, not Wᵀ)") + self.plasticity_stage(
            obs, "ΔW_v = η · δ_v · g(x)ᵀ: every parameter changes after the backward pass")

    def observe(self) -> Observation:
        g = self.graph
        errors, updates = self.reveal({n: -self.adjoint[n] for n in g.hidden_and_output}, self.grads)
        events = self.plasticity_at_end("all parameters change after the backward pass")
        return Observation(self.phase(), dict(self.values), {n: self.values[n] for n in g.hidden_and_output},
                           errors, updates, self.loss, events,
                           readouts={"feedback_angle_deg": self.feedback_angle})
