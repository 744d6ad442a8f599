"""Weight perturbation (docs/rules.md): perturb every parameter at once by xi ~ N(0, s^2 I),
measure the change of the loss, and estimate the gradient as (L(theta + xi) - L(theta)) xi / s^2.
One step is one trial; the update shown is -lr times the running average of the estimates.

A vertex's error is read from the same trial: the weight noise moves the pre-activation of
a linear vertex by delta_a = sum_src xi_W f_in(h_src) + xi_b (clean activities), whose
covariance is s^2 E I with E its presynaptic energy (||h||^2, + 1 for a bias), so
dL delta_a / (s^2 E) estimates dL/da; it is shown on the vertex's scale (divided by f'(a))
and negated, like every error (tends to -dL/dv)."""

from __future__ import annotations

from errorwave.rules.common.layers import presynaptic, presynaptic_energy
from errorwave.rules.common.perturbation import PerturbationBase


class WeightPerturbation(PerturbationBase):
    name = "weight_perturbation"
    title = "Weight perturbation"
    equation = ("ΔW = −η · mean over trials of (L(W + ξ) − L(W)) · ξ / σ²")
    equation_form = "update"
    description = ("Jiggle every weight at once, watch the loss change, and credit each weight with "
                   "the change times its own jiggle. One trial per step; the update is the running "
                   "average, which tends to the gradient as trials accumulate.")

    def __init__(self, ctx):
        super().__init__(ctx)
        g, ff = self.graph, ctx.feedforward
        self.h = {nid: presynaptic(g, nid, ff) for nid in g.hidden_and_output}
        self.energy_in = {nid: presynaptic_energy(g, nid, ff) for nid in g.hidden_and_output}

    def trial(self) -> None:
        g, ctx, s2 = self.graph, self.ctx, self.settings.sigma ** 2
        xi = {k: self.noise(v.shape) for k, v in ctx.params.items()}
        loss = self.perturbed_loss({k: v + xi[k] for k, v in ctx.params.items()})
        dl = loss - self.loss0
        self.last_change = dl
        for k in self.sum_p:
            self.sum_p[k] = self.sum_p[k] + dl * xi[k] / s2
        for nid in g.hidden_and_output:
            node = g.nodes[nid]
            delta = sum(xi[(nid, "weight", src)] @ h for src, h in zip(node.inputs, self.h[nid],
                                                                        strict=True))
            if node.bias:
                delta = delta + xi[(nid, "bias", "")]
            e = self.energy_in[nid]
            if e > 0:
                self.sum_a[nid] = self.sum_a[nid] + dl * delta / (s2 * e)
