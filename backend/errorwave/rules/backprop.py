"""Backprop, stepped: the backward front moves one vertex depth per step (RULES.md §1)."""

from __future__ import annotations

from errorwave.rules.base import Observation, Rule, RuleSettings


class BackpropSettings(RuleSettings):
    pass


class Backprop(Rule):
    name = "backprop"
    title = "Backprop (reference)"
    equation = ("δ_v = f′(a_v) ⊙ Σ_c (∂μ_c/∂v)ᵀ δ_c,  δ_out = −∂L/∂μ_out;   "
                "ΔW_v = η · δ_v · g(x)ᵀ, all at the end")
    description = ("Reverse-mode accumulation. Step t completes the adjoint of every vertex whose "
                   "longest distance to the output is t; all parameters change once, at the end.")
    Settings = BackpropSettings

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        ff, _, adjoint, grads = g.backprop(ctx.example.inputs, ctx.example.target, ctx.params)
        self.ff, self.adjoint, self.grads = ff, adjoint, grads
        self.last = self.total_steps(self.settings, g.s)

    def observe(self) -> Observation:
        g, t, lr = self.graph, self.t, self.settings.lr
        done = {n for n in g.hidden_and_output if (g.s.longest[n] or 0) <= t}
        errors = {n: (-self.adjoint[n] if n in done else self.zeros(n)) for n in g.hidden_and_output}
        updates = {k: (-lr * v if k[0] in done else v * 0) for k, v in self.grads.items()}
        events = []
        if t == self.last:
            events = [self.plasticity(n, "all parameters change after the backward pass")
                      for n in g.param_nodes]
        loss = float(g.loss(self.ff[g.output], self.ctx.example.target))
        phase = "backward" if t < self.last else "update"
        return Observation(phase, dict(self.ff), {n: self.ff[n] for n in g.hidden_and_output},
                           errors, updates, loss, events)

    def advance(self) -> None:
        self.t += 1
