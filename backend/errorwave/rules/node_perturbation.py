"""Node perturbation (docs/rules.md): perturb the pre-activation a_l of every linear vertex
by xi_l ~ N(0, s^2 I), measure the change of the loss dL, and estimate dL/da_l as
dL xi_l / s^2; each parameter's estimate is its local product, dL xi_l h_{l-1}^T / s^2
(taken as the vector-Jacobian product of the clean pre-activation, by autograd). One step
is one trial; the update shown is -lr times the running average. A vertex's error is the
average estimate of -dL/da_l put on the vertex's scale by dividing by f'(a_l)."""

from __future__ import annotations

import torch

from errorwave.graph import Params
from errorwave.rules.common.autodiff import leaves, vjp
from errorwave.rules.common.layers import preactivation
from errorwave.rules.common.perturbation import PerturbationBase


class NodePerturbation(PerturbationBase):
    name = "node_perturbation"
    title = "Node perturbation"
    equation = ("ΔW_v = −η · mean over trials of ((L(a + ξ) − L(a)) ξ_v / σ²) · g(x)ᵀ")
    equation_form = "update"
    description = ("Jiggle every unit's input at once, watch the loss change, and credit each unit "
                   "with the change times its own jiggle; weights learn from that and their input. "
                   "Fewer things jiggle than in weight perturbation, so the estimate is less noisy.")

    jiggled = "every unit's pre-activation"

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        self.p = leaves(ctx.params)
        self.a_live = {nid: preactivation(g, nid, ctx.feedforward, self.p)
                       for nid in g.hidden_and_output}

    def trial(self) -> None:
        g, s2 = self.graph, self.settings.sigma ** 2
        xi = {nid: self.noise(self.sum_a[nid].shape) for nid in g.hidden_and_output}
        dl = self.perturbed_loss(self.ctx.params, xi) - self.loss0
        self.last_change = dl
        for nid in g.hidden_and_output:
            self.sum_a[nid] = self.sum_a[nid] + dl * xi[nid] / s2

    def param_estimate(self) -> Params:
        g, n = self.graph, max(self.n, 1)
        nodes = [nid for nid in g.hidden_and_output if self.a_live[nid].requires_grad]
        keys = list(self.p)
        if not nodes:
            return {k: torch.zeros_like(v) for k, v in self.ctx.params.items()}
        grads = vjp([self.a_live[nid] for nid in nodes], [self.p[k] for k in keys],
                    [self.sum_a[nid] / n for nid in nodes], retain=True)
        return dict(zip(keys, grads, strict=True))
