"""Shared machinery of the predictive-coding family (pc, zil, fazil): value nodes x,
errors eps_i = x_i - mu_i(x) recomputed from the current values, the energy
F = sum_hidden ||eps_i||^2 / (2 s_i) + L(mu_out, y) / s_out, and its gradients.

One autograd call per step gives both moves: with c_i = eps_i / s_i as the
cotangent of every prediction, the vector-Jacobian product yields
sum_c J_ci^T c_c for every value and (dmu_i/dtheta_i)^T c_i for every parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from errorwave.graph import CompiledGraph, Params, Values


@dataclass
class Evaluation:
    predictions: Values
    errors: Values  # eps for hidden vertices, -dL/dmu_out for the output (0 if unclamped)
    grad_values: Values  # dF/dx for hidden vertices
    param_drive: Params  # (dmu_i/dtheta_i)^T eps_i / s_i: -dF/dtheta
    energy: float


class EnergyState:
    """Values of the hidden vertices and a working copy of the parameters."""

    def __init__(self, graph: CompiledGraph, params: Params, inputs: Values, target: torch.Tensor,
                 feedforward: Values, variances: dict[str, float]):
        self.g = graph
        self.params = {k: v.clone() for k, v in params.items()}
        self.inputs = inputs
        self.target = target
        self.variances = variances
        self.x: Values = {n: feedforward[n].clone() for n in graph.hidden}
        self.clamped = True

    def evaluate(self) -> Evaluation:
        g = self.g
        leaves = {n: v.detach().requires_grad_(True) for n, v in self.x.items()}
        p_leaves = {k: v.detach().requires_grad_(True) for k, v in self.params.items()}
        values = {**self.inputs, **leaves}
        mus = g.predict_all(values, p_leaves)
        errors: Values = {n: (self.x[n] - mus[n].detach()) for n in g.hidden}
        mu_out = mus[g.output].detach()
        s_out = self.variances[g.output]
        if self.clamped:
            errors[g.output] = g.output_error(mu_out, self.target)
            energy = float(g.loss(mu_out, self.target)) / s_out
        else:
            errors[g.output] = torch.zeros_like(mu_out)
            energy = 0.0
        energy += sum(float((errors[n] ** 2).sum()) / (2 * self.variances[n]) for n in g.hidden)
        cot = {n: errors[n] / self.variances[n] for n in g.hidden_and_output}
        live = [n for n in g.hidden_and_output if mus[n].requires_grad]
        x_keys = list(leaves)
        p_keys = list(p_leaves)
        grads = torch.autograd.grad(
            [mus[n] for n in live], [leaves[n] for n in x_keys] + [p_leaves[k] for k in p_keys],
            grad_outputs=[cot[n] for n in live], allow_unused=True) if live else ()
        grads = list(grads) or [None] * (len(x_keys) + len(p_keys))
        grad_values: Values = {}
        for n, gx in zip(x_keys, grads[:len(x_keys)], strict=True):
            back = torch.zeros_like(self.x[n]) if gx is None else gx
            grad_values[n] = cot[n] - back
        drive: Params = {}
        for k, gp in zip(p_keys, grads[len(x_keys):], strict=True):
            drive[k] = torch.zeros_like(self.params[k]) if gp is None else gp
        return Evaluation({n: m.detach() for n, m in mus.items()}, errors, grad_values, drive, energy)

    def move_values(self, ev: Evaluation, gamma: float) -> None:
        for n in self.x:
            self.x[n] = self.x[n] - gamma * ev.grad_values[n]

    def shown_values(self, ev: Evaluation) -> Values:
        """Every vertex's value; the output shows mu_out + eps_out (the clamped target
        under the half-MSE)."""
        out = {**self.inputs, **self.x}
        out[self.g.output] = ev.predictions[self.g.output] + ev.errors[self.g.output]
        return out


def node_updates(keys: list, drive: Params, nid: str, lr: float) -> Params:
    return {k: lr * drive[k] for k in keys if k[0] == nid}
