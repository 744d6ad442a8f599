"""Direct feedback alignment (Nokland 2016; docs/rules.md): every hidden layer receives the
output error e directly through its own fixed random matrix, B_l e, times the slope of
its nonlinearity; the output layer learns by its true gradient.

Our choices: e is the output's pre-activation error dL/da_out (Nokland's e); B_l e is the
error on the *post-activation* of hidden layer l, i.e. on f(v_l) where f is the input
activation of the next layer (form A) or on v_l itself (form B, whose layer activation then
enters through the local update). `feedback = "tied"` sets B_l = (W_L ... W_{l+1})^T, which
is backprop exactly for one hidden layer or for linear networks.

Two steps: t = 0 the output error and the output layer's update; t = 1 every hidden layer
at once (the broadcast that makes DFA's errors arrive in parallel, unlike backprop's wave).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from errorwave.graph import Params
from errorwave.rules.base import Observation, RuleSettings, stage
from errorwave.rules.common.angles import angle_deg
from errorwave.rules.common.autodiff import leaves, vjp
from errorwave.rules.common.graphs import chain_problem
from errorwave.rules.common.layers import in_activation, out_activation, preactivation
from errorwave.rules.common.randomness import fan_bound, generator, uniform
from errorwave.rules.common.revealed import RevealedRule


class DFASettings(RuleSettings):
    feedback: Literal["random", "tied"] = Field(
        default="random",
        description="Fixed random B_l (seeded from seeds.init) or B_l = (W_L ... W_{l+1})^T")
    feedback_scale: float = Field(default=1.0, gt=0, le=100,
                                  description="B_l ~ U(-s/sqrt(n_out), s/sqrt(n_out))")


class DirectFeedbackAlignment(RevealedRule):
    name = "dfa"
    title = "Direct feedback alignment"
    equation = ("δ_v = f′(a_v) ⊙ B_v e_out (B_v fixed, random);   ΔW_v = η · δ_v · g(x)ᵀ")
    description = ("The output error is broadcast to every hidden layer at once through fixed "
                   "random matrices; the output layer learns exactly as in backprop.")
    Settings = DFASettings
    error_meaning = "-dL/dv estimated by the direct feedback B e from the output error"

    @classmethod
    def unsupported(cls, config, structure):
        return chain_problem(config, structure, "dfa")

    @classmethod
    def supports_text(cls) -> str:
        return "layered chains of linear nodes"

    @classmethod
    def total_steps(cls, settings, structure) -> int:
        return 1 if structure.depth > 0 else 0

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        self.layers = [n for n in g.order if n != g.inputs[0]]
        self.B = self._feedback()
        self.compute()
        out = g.output
        self.feedback_angle = {}
        for nid in self.layers[:-1]:
            # B_l against the transpose of the linear part of the path above l
            m = self._path_product(nid)
            self.feedback_angle[nid] = angle_deg(self.B[nid], m.T)
        self.feedback_angle[out] = 0.0

    def _weight(self, nid: str) -> torch.Tensor:
        return self.ctx.params[(nid, "weight", self.graph.nodes[nid].inputs[0])]

    def _path_product(self, nid: str) -> torch.Tensor:
        """W_L ... W_{l+1} for hidden layer l (shape n_out x n_l)."""
        i = self.layers.index(nid)
        m = self._weight(self.layers[i + 1])
        for above in self.layers[i + 2:]:
            m = self._weight(above) @ m
        return m

    def _feedback(self) -> dict[str, torch.Tensor]:
        g, s, ctx = self.graph, self.settings, self.ctx
        hidden = self.layers[:-1]
        if s.feedback == "tied":
            return {nid: self._path_product(nid).T.clone() for nid in hidden}
        key = f"dfa:feedback:{s.feedback_scale}"
        if key not in ctx.memory:
            gen = generator(g.config, "dfa")
            n_out = g.s.sizes[g.output]
            ctx.memory[key] = {nid: uniform(gen, (g.s.sizes[nid], n_out),
                                            s.feedback_scale * fan_bound(n_out), g.dtype)
                               for nid in hidden}
        return ctx.memory[key]

    def compute(self) -> None:
        g, ctx = self.graph, self.ctx
        ff = ctx.feedforward
        out = g.output
        p = leaves(ctx.params)
        # Output: true gradient, and e = dL/da_out.
        a_out = preactivation(g, out, ff, p)
        mu_out = out_activation(g, out)(a_out)
        loss = g.loss(mu_out, ctx.example.target)
        out_keys = [k for k in g.param_keys if k[0] == out]
        grads = torch.autograd.grad(loss, [mu_out, a_out] + [p[k] for k in out_keys])
        self.adjoint = {out: grads[0].detach()}
        self.e = grads[1].detach()
        self.grads: Params = {k: gr.detach() for k, gr in zip(out_keys, grads[2:], strict=True)}
        # Hidden layers: B_l e on the post-activation f(v_l) that the next layer reads.
        for i, nid in enumerate(self.layers[:-1]):
            child = self.layers[i + 1]
            v = ff[nid].detach().clone().requires_grad_(True)
            (vbar,) = vjp([in_activation(g, child)(v)], [v], [self.B[nid] @ self.e])
            self.adjoint[nid] = vbar
            keys = [k for k in g.param_keys if k[0] == nid]
            mu = g.predict(nid, ff, p)
            for k, gr in zip(keys, vjp([mu], [p[k] for k in keys], [vbar]), strict=True):
                self.grads[k] = gr
        self.loss = float(loss.detach())

    def reached(self) -> set[str]:
        # The output first, then every hidden layer at once (the broadcast).
        return {self.graph.output} | (set(self.layers[:-1]) if self.t >= 1 else set())

    def stages(self, obs: Observation) -> list[dict]:
        out = self.graph.output
        if self.t == 0:
            first = [stage("output error", [out],
                           "e = ∂L/∂a_out; the output layer learns by its true gradient")]
        else:
            first = [stage("broadcast", self.layers[:-1],
                           "every hidden layer gets B_l e at once, not through the layers above")]
        return first + self.plasticity_stage(obs, "ΔW_l = η · δ_l · g(x)ᵀ: every layer at once")

    def observe(self) -> Observation:
        g, t = self.graph, self.t
        errors, updates = self.reveal({n: -self.adjoint[n] for n in g.hidden_and_output}, self.grads)
        events = self.plasticity_at_end("every layer changes once the error is broadcast")
        phase = "output" if t == 0 and self.last > 0 else "broadcast"
        ff = self.ctx.feedforward
        return Observation(phase, dict(ff), {n: ff[n] for n in g.hidden_and_output}, errors,
                           updates, self.loss, events,
                           readouts={"feedback_angle_deg": self.feedback_angle})
