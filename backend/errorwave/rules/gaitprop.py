"""GAIT-prop (Ahmad, van Gerven & Ambrogioni 2020; docs/rules.md): targets sent down through
exact inverses of square invertible layers, each a tiny step (gamma) toward the target
above, rescaled by 1/gamma per layer.

From the top, t_L = y and m = 1; for l = L..1:
    e_l = m (h_l - t_l) * f'(a_l),    delta_W_l = -lr e_l h_{l-1}^T  (delta_b_l = -lr e_l),
    z_l = (1 - gamma f'(a_l)^2) h_l + gamma f'(a_l)^2 t_l,    t_{l-1} = g_l(z_l),  m = m / gamma,
with g_l(z) = W_l^{-1} (f^{-1}(z) - b_l) the exact inverse at this example's weights. An
optional regulariser (strength `orthogonality`) adds -lr dR/dW_l with
R = 1/2 sum_{i != j} ((W W^T)_ij)^2, pulling the weights toward orthogonal rows.

To first order in gamma, m (t_l - h_l) = -W_{l+1}^{-1}-propagated error, which is backprop's
-dL/dh_l when every W is orthogonal (W^{-1} = W^T); it is the error shown for vertex l.
Steps: t = k handles layer L - k (the top layer at t = 0)."""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.graph import Params
from errorwave.rules.base import Observation, RuleSettings, stage
from errorwave.rules.common.autodiff import leaves
from errorwave.rules.common.graphs import chain_problem, form_b_problem
from errorwave.rules.common.layers import out_activation, slope
from errorwave.rules.common.revealed import RevealedRule


class GaitPropSettings(RuleSettings):
    gamma: float = Field(default=1e-3, gt=0, le=1,
                         description="How far each layer's target moves toward the one above")
    orthogonality: float = Field(default=0.0, ge=0, le=100,
                                 description="Strength of the penalty on off-diagonal W W^T")


def leaky_inverse(z: torch.Tensor, activation: str, negative_slope: float) -> torch.Tensor:
    if activation == "identity":
        return z
    return torch.where(z >= 0, z, z / negative_slope)


def off_diagonal_penalty(w: torch.Tensor) -> torch.Tensor:
    gram = w @ w.T
    off = gram - torch.diag(torch.diagonal(gram))
    return 0.5 * (off ** 2).sum()


class GaitProp(RevealedRule):
    name = "gaitprop"
    title = "GAIT-prop"
    equation = ("ĥ_v = f_above⁻¹((1 − γ) h_above + γ ĥ_above);   ΔW_v = η · ((ĥ_v − v) ⊙ f′(a_v)) · g(x)ᵀ")
    equation_form = "update"
    description = ("Targets travel down through exact inverses of square leaky-ReLU layers, each "
                   "a gamma-sized step toward the target above. With orthogonal weights the "
                   "updates equal backprop's to first order in gamma.")
    Settings = GaitPropSettings
    error_meaning = "m (target - value), m the multiplier 1/gamma per layer below the top"

    @classmethod
    def unsupported(cls, config, structure):
        problem = chain_problem(config, structure, "gaitprop") or form_b_problem(
            config, structure, "gaitprop")
        if problem:
            return problem
        if config.graph.loss != "mse":
            return (f"the output '{structure.output}' has loss '{config.graph.loss}'; gaitprop's top "
                    "target is the target itself, which matches the half-MSE loss only: set graph.loss "
                    "to 'mse'")
        n = structure.sizes[structure.inputs[0]]
        for nid in structure.order:
            node = config.node(nid)
            if structure.sizes[nid] != n:
                return (f"node '{nid}' has {structure.sizes[nid]} units but the input has {n}; "
                        f"gaitprop needs square (invertible) layers, all of one size")
            if node.op == "linear" and not (
                    node.activation == "identity"
                    or (node.activation == "leaky_relu" and node.negative_slope > 0)):
                return (f"node '{nid}' has activation '{node.activation}'"
                        + (" with negative_slope 0" if node.activation == "leaky_relu" else "")
                        + "; gaitprop needs invertible layers: leaky_relu with a positive slope "
                          "(0.1 in the paper) or identity")
        return None

    @classmethod
    def supports_text(cls) -> str:
        return "chains of square linear layers with leaky_relu (slope > 0) or identity, mse loss"

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        self.layers = [n for n in g.order if n != g.inputs[0]]
        self.compute()

    def _weight_key(self, nid: str):
        return (nid, "weight", self.graph.nodes[nid].inputs[0])

    def inverse(self, nid: str, z: torch.Tensor) -> torch.Tensor:
        """g_l(z) = W^{-1} (f^{-1}(z) - b): the exact inverse of layer `nid`."""
        g, p = self.graph, self.ctx.params
        node = g.nodes[nid]
        a = leaky_inverse(z, node.activation, node.negative_slope)
        if node.bias:
            a = a - p[(nid, "bias", "")]
        return torch.linalg.solve(p[self._weight_key(nid)], a)

    def compute(self) -> None:
        g, ctx, s = self.graph, self.ctx, self.settings
        ff, p = ctx.feedforward, ctx.params
        self.shown: dict[str, torch.Tensor] = {}
        self.targets: dict[str, torch.Tensor] = {}
        self.grads: Params = {}
        target, m = ctx.example.target, 1.0
        for nid in reversed(self.layers):
            below = g.nodes[nid].inputs[0]
            h = ff[nid]
            a = (p[self._weight_key(nid)] @ ff[below]
                 + (p[(nid, "bias", "")] if g.nodes[nid].bias else 0.0))
            fp = slope(out_activation(g, nid), a)
            self.targets[nid] = target
            self.shown[nid] = m * (target - h)
            e = m * (h - target) * fp
            self.grads[self._weight_key(nid)] = torch.outer(e, ff[below])
            if g.nodes[nid].bias:
                self.grads[(nid, "bias", "")] = e
            z = (1 - s.gamma * fp ** 2) * h + s.gamma * fp ** 2 * target
            target = self.inverse(nid, z)
            m = m / s.gamma
        if s.orthogonality > 0:
            pl = leaves(p)
            for nid in self.layers:
                key = self._weight_key(nid)
                (gr,) = torch.autograd.grad(s.orthogonality * off_diagonal_penalty(pl[key]), pl[key])
                self.grads[key] = self.grads[key] + gr.detach()
        self.loss = float(g.loss(ff[g.output], ctx.example.target))
        self.ortho = {nid: float(2 * off_diagonal_penalty(p[self._weight_key(nid)])) ** 0.5
                      for nid in self.layers}

    def reached(self) -> set[str]:
        """Targets from the top: one more layer each step."""
        return set(list(reversed(self.layers))[: self.t + 1])

    def stages(self, obs: Observation) -> list[dict]:
        top = list(reversed(self.layers))
        stages = []
        if self.t == 0:
            stages = [stage("top target", [top[0]], "the top layer's target is y: e = (h − y) ⊙ f′(a)")]
        elif self.t < len(top):
            n, above = top[self.t], top[self.t - 1]
            stages = [stage("target", [n, above],
                            f"target of {n} through {above}'s exact inverse, a γ-step from h "
                            "toward the target above, scaled by 1/γ")]
        return stages + self.plasticity_stage(obs, "ΔW_l = −η e_l h_{l−1}ᵀ: every layer learns "
                                                   "from its target")

    def observe(self) -> Observation:
        g = self.graph
        top = list(reversed(self.layers))
        done = self.reached()
        ff = self.ctx.feedforward
        errors, updates = self.reveal(self.shown, self.grads)
        values = dict(ff)
        for n in done:
            values[n] = ff[n] + self.shown[n]
        events = self.plasticity_at_end("every layer learns from its target")
        return Observation(self.phase(), values, {n: ff[n] for n in g.hidden_and_output}, errors, updates,
                           self.loss, events,
                           readouts={"off_diagonal_wwt": self.ortho,
                                     "multiplier": {n: self.settings.gamma ** -top.index(n)
                                                    for n in done}})
