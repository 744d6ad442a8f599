"""FPA-PC (Millidge, Tschantz & Buckley 2020; docs/rules.md): predictive coding on arbitrary
graphs with predictions and Jacobians frozen at their feed-forward values.

The linearisation is built once per example: one retained autograd graph of the local
predictions, with every hidden value a view of one flat leaf and every parameter a view
of another. Each step is then a single vector-Jacobian sweep through it, and the value
move is one vector operation, so a step costs about one backward pass."""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.rules.base import Observation, Rule, RuleSettings, stage


class FPASettings(RuleSettings):
    steps: int = Field(default=100, ge=0, le=100000, description="Inference steps T")
    gamma: float = Field(default=0.2, gt=0, le=2,
                         description="Inference rate (authors' code: 0.1 applied twice, so 0.2)")


class FPA(Rule):
    name = "fpa"
    title = "FPA-PC (fixed-prediction predictive coding)"
    equation = ("ε_v ← (1 − γ) ε_v + γ Σ_c J_cvᵀ ε_c (J, μ frozen at the feed-forward pass);   "
                "after T steps ΔW_v = η · δ_v · g(x)ᵀ,  δ_v = ε_v ⊙ f′(a_v)")
    description = ("Errors relax against predictions and Jacobians frozen at the feed-forward pass; "
                   "the fixed point is backprop's recursion on any DAG.")
    Settings = FPASettings

    def __init__(self, ctx):
        super().__init__(ctx)
        g, ff = self.graph, ctx.feedforward
        self.hidden = g.hidden
        sizes = [g.s.sizes[n] for n in self.hidden]
        x0 = torch.cat([ff[n].reshape(-1) for n in self.hidden]) if self.hidden else \
            torch.zeros(0, dtype=g.dtype)
        p_keys = list(ctx.params)
        self.p_shapes = [ctx.params[k].shape for k in p_keys]
        self.p_keys = p_keys
        p0 = torch.cat([ctx.params[k].reshape(-1) for k in p_keys]) if p_keys else \
            torch.zeros(0, dtype=g.dtype)
        self.x_leaf = x0.clone().requires_grad_(True)
        self.p_leaf = p0.clone().requires_grad_(True)
        xs = dict(zip(self.hidden, torch.split(self.x_leaf, sizes), strict=True))
        ps = {k: v.view(shape) for k, v, shape in
              zip(p_keys, torch.split(self.p_leaf, [s.numel() for s in self.p_shapes]),
                  self.p_shapes, strict=True)}
        mus = g.predict_all({**ctx.example.inputs, **xs}, ps)
        self.muhat = {n: m.detach() for n, m in mus.items()}
        self.muhat_flat = x0.clone()  # hidden predictions at FF equal the FF values
        self.eps_out = g.output_error(self.muhat[g.output], ctx.example.target)
        # One output: every live prediction concatenated (hidden first, then the output).
        live = [n for n in self.hidden + [g.output] if mus[n].requires_grad]
        self.live_is_all = live == self.hidden + [g.output]
        self.live = live
        self.mu_cat = torch.cat([mus[n].reshape(-1) for n in live]) if live else None
        self.sizes = sizes
        self.x = x0.clone()
        self.cached_t = -1  # the step whose J^T eps observe() already computed

    def _eps_cat(self, eps_hidden: torch.Tensor) -> torch.Tensor:
        if self.live_is_all:
            return torch.cat([eps_hidden, self.eps_out])
        parts = dict(zip(self.hidden, torch.split(eps_hidden, self.sizes), strict=True))
        parts[self.graph.output] = self.eps_out
        return torch.cat([parts[n] for n in self.live])

    def observe(self) -> Observation:
        g, lr = self.graph, self.settings.lr
        eps = self.x - self.muhat_flat
        gx: torch.Tensor | None = None
        gp: torch.Tensor | None = None
        if self.mu_cat is not None:
            gx, gp = torch.autograd.grad(self.mu_cat, [self.x_leaf, self.p_leaf],
                                         grad_outputs=self._eps_cat(eps), retain_graph=True,
                                         allow_unused=True)
        self.back = torch.zeros_like(self.x) if gx is None else gx
        self.cached_t = self.t
        upd_flat = torch.zeros_like(self.p_leaf) if gp is None else lr * gp
        updates = {k: v.view(shape) for k, v, shape in
                   zip(self.p_keys, torch.split(upd_flat, [s.numel() for s in self.p_shapes]),
                       self.p_shapes, strict=True)}
        errs = dict(zip(self.hidden, torch.split(eps, self.sizes), strict=True))
        errs[g.output] = self.eps_out
        xs = dict(zip(self.hidden, torch.split(self.x, self.sizes), strict=True))
        energy = 0.5 * float(eps.dot(eps) + self.eps_out.dot(self.eps_out))
        events = self.plasticity_at_end("update with the errors after T steps")
        values = {**self.ctx.example.inputs, **xs, g.output: self.muhat[g.output] + self.eps_out}
        return Observation(self.phase(), values, self.muhat, errs, updates, energy, events)

    def stages(self, obs: Observation) -> list[dict]:
        g = self.graph
        if self.t == 0:
            first = [stage("freeze", g.hidden_and_output,
                           "μ̂ and the Jacobians J frozen at the feed-forward pass")]
        else:
            first = [stage("values", g.hidden,
                           f"x_v ← x_v − {self.settings.gamma:g}·(ε_v − Σ_c J_cvᵀ ε_c), "
                           "with the errors of step t − 1")] if g.hidden else []
        return first + [
            stage("errors", g.hidden_and_output,
                  "ε_v = x_v − μ̂_v against the frozen predictions; ε_out = −∂L/∂μ̂_out, held"),
        ] + self.plasticity_stage(obs, "ΔW_v = η · δ_v · g(x)ᵀ with the errors after T steps")

    def move(self) -> None:
        # x_i -= gamma * (eps_i - sum_c J_ci^T eps_c), with the errors of the previous step.
        eps = self.x - self.muhat_flat
        if self.cached_t != self.t:
            self.back = self._values_vjp(eps)
        self.x = self.x - self.settings.gamma * (eps - self.back)

    def _values_vjp(self, eps: torch.Tensor) -> torch.Tensor:
        """sum_c J_ci^T eps_c for every hidden vertex: one sweep, no parameter part."""
        if self.mu_cat is None:
            return torch.zeros_like(eps)
        (gx,) = torch.autograd.grad(self.mu_cat, [self.x_leaf], grad_outputs=self._eps_cat(eps),
                                    retain_graph=True, allow_unused=True)
        return torch.zeros_like(eps) if gx is None else gx
