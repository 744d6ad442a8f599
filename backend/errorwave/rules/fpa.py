"""FPA-PC (Millidge, Tschantz & Buckley 2020; RULES.md §3): predictive coding on arbitrary
graphs with predictions and Jacobians frozen at their feed-forward values.

The linearisation is built once per example (one retained autograd graph of the local
predictions); each step is then a single vector-Jacobian sweep through it."""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.rules.base import Observation, Rule, RuleSettings


class FPASettings(RuleSettings):
    steps: int = Field(default=100, ge=0, le=100000, description="Inference steps T")
    gamma: float = Field(default=0.2, gt=0, le=2,
                         description="Inference rate (authors' code: 0.1 applied twice, so 0.2)")


class FPA(Rule):
    name = "fpa"
    title = "FPA-PC (fixed-prediction predictive coding)"
    description = ("Errors relax against predictions and Jacobians frozen at the feed-forward pass; "
                   "the fixed point is backprop's recursion on any DAG.")
    Settings = FPASettings

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        ff = ctx.feedforward
        self.leaves = {n: ff[n].detach().clone().requires_grad_(True) for n in g.hidden}
        self.p_leaves = {k: v.detach().clone().requires_grad_(True) for k, v in ctx.params.items()}
        mus = g.predict_all({**ctx.example.inputs, **self.leaves}, self.p_leaves)
        self.muhat = {n: m.detach() for n, m in mus.items()}
        self.live = [n for n in g.hidden_and_output if mus[n].requires_grad]
        self.mu_live = [mus[n] for n in self.live]
        self.wrt = list(self.leaves.values()) + list(self.p_leaves.values())
        self.x = {n: ff[n].clone() for n in g.hidden}
        self.eps_out = g.output_error(self.muhat[g.output], ctx.example.target)
        self.last = self.total_steps(self.settings, g.s)
        self.back: dict[str, torch.Tensor] = {}

    def errors(self) -> dict[str, torch.Tensor]:
        errs = {n: self.x[n] - self.muhat[n] for n in self.graph.hidden}
        errs[self.graph.output] = self.eps_out
        return errs

    def observe(self) -> Observation:
        g, lr = self.graph, self.settings.lr
        errs = self.errors()
        grads = torch.autograd.grad(self.mu_live, self.wrt, grad_outputs=[errs[n] for n in self.live],
                                    retain_graph=True, allow_unused=True) if self.live else ()
        grads = list(grads) or [None] * len(self.wrt)
        nh = len(self.leaves)
        self.back = {n: (torch.zeros_like(self.x[n]) if gx is None else gx)
                     for n, gx in zip(self.leaves, grads[:nh], strict=True)}
        updates = {k: (torch.zeros_like(v) if gp is None else lr * gp)
                   for (k, v), gp in zip(self.p_leaves.items(), grads[nh:], strict=True)}
        energy = 0.5 * sum(float((e ** 2).sum()) for e in errs.values())
        events = ([self.plasticity(n, "update with the errors after T steps") for n in g.param_nodes]
                  if self.t == self.last else [])
        values = {**self.ctx.example.inputs, **self.x, g.output: self.muhat[g.output] + self.eps_out}
        phase = "inference" if self.t < self.last else "update"
        return Observation(phase, values, self.muhat, errs, updates, energy, events)

    def advance(self) -> None:
        gamma = self.settings.gamma
        for n in self.x:
            self.x[n] = self.x[n] - gamma * ((self.x[n] - self.muhat[n]) - self.back[n])
        self.t += 1
