"""Shared machinery of the predictive-coding family (pc, zil, fazil): value nodes x,
errors eps_i = x_i - mu_i(x) recomputed from the current values, the energy
F = sum_hidden ||eps_i||^2 / (2 s_i) + L(mu_out, y) / s_out, and its gradients.

One autograd call per step gives both moves: with c_i = eps_i / s_i as the
cotangent of every prediction, the vector-Jacobian product yields
sum_c J_ci^T c_c for every value and (dmu_i/dtheta_i)^T c_i for every parameter.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import torch

from errorwave.graph import CompiledGraph, Params, Values
from errorwave.rules.base import stage


@dataclass
class Evaluation:
    predictions: Values
    errors: Values  # eps for hidden vertices, -dL/dmu_out for the output (0 if unclamped)
    grad_values: Values  # dF/dx for hidden vertices
    param_drive: Params  # (dmu_i/dtheta_i)^T eps_i / s_i: -dF/dtheta (the vertices asked for)
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
        self._sizes = [self.x[n].numel() for n in graph.hidden]
        hv = {variances[n] for n in graph.hidden}
        # one hidden variance (pc, zil): the energy of the hidden errors is one dot product
        self._hidden_variance = hv.pop() if len(hv) == 1 else None

    def evaluate(self, params: Collection[str] | None = None) -> Evaluation:
        """Errors, energy and the energy's gradients at the current state: one vector-Jacobian
        product. Only the parameters of the vertices in `params` (default: all) are
        differentiated; with none, it is a values-only sweep. The hidden values and the
        differentiated parameters are each one flat leaf (no detach per tensor)."""
        g = self.g
        hidden = g.hidden
        x_leaf = (torch.cat([self.x[n].reshape(-1) for n in hidden]) if hidden
                  else torch.zeros(0, dtype=g.dtype)).requires_grad_(True)
        leaves = dict(zip(hidden, x_leaf.split(self._sizes), strict=True))
        keys = [k for k in g.param_keys if params is None or k[0] in params]
        p_all = dict(self.params)
        p_leaf = None
        if keys:
            p_leaf = torch.cat([self.params[k].reshape(-1) for k in keys]).requires_grad_(True)
            for k, v in zip(keys, p_leaf.split([self.params[k].numel() for k in keys]), strict=True):
                p_all[k] = v.view_as(self.params[k])
        mus = g.predict_all({**self.inputs, **leaves}, p_all)
        errors: Values = {n: (self.x[n] - mus[n].detach()) for n in hidden}
        mu_out = mus[g.output].detach()
        s_out = self.variances[g.output]
        if self.clamped:
            errors[g.output] = g.output_error(mu_out, self.target)
            energy = float(g.loss(mu_out, self.target)) / s_out
        else:
            errors[g.output] = torch.zeros_like(mu_out)
            energy = 0.0
        eps = torch.cat([errors[n].reshape(-1) for n in hidden]) if hidden else x_leaf.detach()
        if self._hidden_variance is not None:
            energy += float(eps.dot(eps)) / (2 * self._hidden_variance)
        else:
            energy += sum(float((errors[n] ** 2).sum()) / (2 * self.variances[n]) for n in hidden)
        cot = {n: errors[n] / self.variances[n] for n in g.hidden_and_output}
        live = [n for n in g.hidden_and_output if mus[n].requires_grad]
        wrt = [x_leaf] + ([p_leaf] if p_leaf is not None else [])
        grads = torch.autograd.grad([mus[n] for n in live], wrt, grad_outputs=[cot[n] for n in live],
                                    allow_unused=True) if live else (None, None)
        gx = grads[0] if grads[0] is not None else torch.zeros_like(eps)
        cot_hidden = (eps / self._hidden_variance if self._hidden_variance is not None else
                      torch.cat([cot[n].reshape(-1) for n in hidden]) if hidden else eps)
        grad_values: Values = dict(zip(hidden, (cot_hidden - gx).split(self._sizes), strict=True))
        drive: Params = {}
        if p_leaf is not None:
            gp = grads[1] if len(grads) > 1 and grads[1] is not None else torch.zeros_like(p_leaf)
            for k, v in zip(keys, gp.split([self.params[k].numel() for k in keys]), strict=True):
                drive[k] = v.view_as(self.params[k])
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


def relaxation_stages(graph: CompiledGraph, t: int, move: str, start: str,
                      between: list[dict] | None = None, clamped: bool = True) -> list[dict]:
    """Slow motion of one step of the predictive-coding family: the values move (from the
    errors of step t - 1; at t = 0 they start), anything the rule does `between`, then the
    predictions are recomputed from the new values and the errors follow."""
    out = "the output's ε = −∂L/∂μ (target clamped)" if clamped else \
        "the output is unclamped: its ε = 0"
    stages = [stage("values", graph.hidden, move if t > 0 else start)] if graph.hidden else []
    return stages + list(between or []) + [
        stage("predictions", graph.hidden_and_output,
              "μ_v = f_v(parents' values): predictions recomputed from the current values"),
        stage("errors", graph.hidden_and_output, f"ε_v = x_v − μ_v; {out}")]
