"""Backprop, stepped: the backward front moves one vertex depth per step (docs/rules.md)."""

from __future__ import annotations

from errorwave.rules.base import Observation, RuleSettings
from errorwave.rules.common.revealed import RevealedRule


class BackpropSettings(RuleSettings):
    pass


class Backprop(RevealedRule):
    name = "backprop"
    title = "Backprop (reference)"
    equation = ("δ_v = f′(a_v) ⊙ Σ_c (∂μ_c/∂v)ᵀ δ_c,  δ_out = −∂L/∂μ_out;   "
                "ΔW_v = η · δ_v · g(x)ᵀ, all at the end")
    description = ("Reverse-mode accumulation. Step t completes the adjoint of every vertex whose "
                   "longest distance to the output is t; all parameters change once, at the end.")
    Settings = BackpropSettings
    error_meaning = "-dL/dv, the negative adjoint, once the backward front has reached the vertex"
    phases = ("backward", "update")

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        ff, _, adjoint, grads = g.backprop(ctx.example.inputs, ctx.example.target, ctx.params)
        self.ff, self.adjoint, self.grads = ff, adjoint, grads

    def reached(self) -> set[str]:
        return self.reached_by_depth()

    def stages(self, obs: Observation) -> list[dict]:
        return self.front_stages("J_cᵀ δ_c") + self.plasticity_stage(
            obs, "ΔW = −η ∂L/∂W: every parameter changes once, after the backward pass")

    def observe(self) -> Observation:
        g = self.graph
        errors, updates = self.reveal({n: -self.adjoint[n] for n in g.hidden_and_output}, self.grads)
        events = self.plasticity_at_end("all parameters change after the backward pass")
        loss = float(g.loss(self.ff[g.output], self.ctx.example.target))
        return Observation(self.phase(), dict(self.ff), {n: self.ff[n] for n in g.hidden_and_output},
                           errors, updates, loss, events)
