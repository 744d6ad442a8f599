"""Equilibrium propagation (Scellier & Bengio 2017; docs/rules.md).

On a layered chain x -> u_1 -> ... -> u_L in form B (vertex value r_l = rho_l(u_l), rho_l the
layer's activation), the Hopfield-like energy with symmetric connections
    E(u) = sum_l ||u_l||^2 / 2 - sum_l rho_l(u_l) . (W_l r_{l-1} + b_l),    r_0 = x clamped,
and the cost C = L(r_L, y) (the graph's loss) define F = E + beta C. Each step is one Euler
step u <- u - epsilon dF/du (autograd):
- phase "free" (beta = 0, t = 1..T_free) from the feed-forward pre-activations (our choice
  of start), ending at the free equilibrium u^0;
- phase "nudged" (t = T_free + 1 .. T_free + T_nudged) from u^0 with +beta;
- with `symmetric`, phase "nudged-" from u^0 again with -beta.
Update: delta_theta = -(alpha / beta) (dE/dtheta(u^beta) - dE/dtheta(u^0)), i.e.
(alpha / beta)(rho(u_l) r_{l-1}^T at beta - the same at 0) for the weights; symmetric:
-(alpha / 2 beta)(dE/dtheta(u^+beta) - dE/dtheta(u^-beta)). It is shown from the first nudged
step on, with the current nudged state.

The error shown is (u^beta - u^0) / beta (symmetric: (u^+ - u^-) / 2 beta), which tends to
-dC/da (the pre-activation's adjoint when the top-down coupling is weak); divergence reads
it on the vertex's scale, divided by rho'(u^0). In the free phase the output shows
-dC/dr_L, the error the nudge will inject.

With the Hopfield energy EqProp trains the energy model, whose free equilibrium is not the
feed-forward pass, so its update tends (O(beta); O(beta^2) symmetric) to the gradient of C at
the free equilibrium, not exactly to backprop's on the feed-forward graph. The readout
`equilibrium_gradient` compares the update with that true gradient, obtained by implicit
differentiation (autograd Hessian of E at u^0).

Our addition, `energy = "predictive"`: the same two-phase algorithm and the same general
update -(alpha/beta)(dE/dtheta at beta - at 0) on E(x) = sum_i ||x_i - mu_i(x)||^2 / 2 over
the vertex values x (any DAG). Its free equilibrium is the feed-forward pass, so the update
tends to backprop's itself; the error shown is then the prediction error
(x_i - mu_i(x)) / beta, which tends to -dL/dv_i."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from errorwave.divergence import compare, flat
from errorwave.graph import Params, Values
from errorwave.rules.base import Observation, Rule, RuleSettings, stage
from errorwave.rules.common.autodiff import leaves, vjp
from errorwave.rules.common.graphs import chain_problem, form_b_problem
from errorwave.rules.common.layers import out_activation, preactivation, slope, to_vertex_scale


class EqPropSettings(RuleSettings):
    energy: Literal["hopfield", "predictive"] = Field(
        default="hopfield",
        description="Scellier & Bengio's Hopfield energy (layered chains, form B), or the "
                    "predictive-coding energy sum ||x_i - mu_i(x)||^2 / 2 (any DAG), whose free "
                    "equilibrium is the feed-forward pass")
    beta: float = Field(default=0.1, gt=0, le=10, description="Nudging strength beta")
    symmetric: bool = Field(default=False,
                            description="Also nudge with -beta and use the difference (O(beta^2))")
    free_steps: int = Field(default=60, ge=0, le=50000, description="Relaxation steps, free phase")
    nudged_steps: int = Field(default=40, ge=1, le=50000,
                              description="Relaxation steps of each nudged phase")
    epsilon: float | None = Field(
        default=None, gt=0, le=2,
        description="Euler step of the relaxation (default: from the energy's curvature at the start, "
                    "1 / its largest Hessian eigenvalue, at most 0.5)")


class EqProp(Rule):
    name = "eqprop"
    title = "Equilibrium propagation"
    equation = ("ΔW_ij = (η / β) · (ρ(u_i^β) ρ(u_j^β) − ρ(u_i⁰) ρ(u_j⁰))   (free phase, then nudged)")
    equation_form = "update"
    description = ("Relax an energy with the input clamped (free phase), then again with the output "
                   "weakly nudged toward the target; each weight changes by the difference of "
                   "its local co-activity between the two equilibria, divided by beta.")
    Settings = EqPropSettings
    error_meaning = ("(u_beta - u_0) / beta, the nudge's displacement; with the predictive energy, "
                     "the prediction error divided by beta")

    @classmethod
    def unsupported(cls, config, structure):
        if config.rule.model_dump().get("energy", "hopfield") == "predictive":
            return None
        problem = (chain_problem(config, structure, "eqprop")
                   or form_b_problem(config, structure, "eqprop"))
        return problem and problem + " (or use energy 'predictive', which runs on any DAG)"

    @classmethod
    def supports_text(cls) -> str:
        return ("energy 'hopfield': layered chains of linear nodes in form B (mu = f(W x + b)); "
                "energy 'predictive': any DAG")

    @classmethod
    def total_steps(cls, settings, structure) -> int:
        return settings.free_steps + settings.nudged_steps * (2 if settings.symmetric else 1)

    def __init__(self, ctx):
        super().__init__(ctx)
        g, s = self.graph, self.settings
        self.hopfield = s.energy == "hopfield"
        self.layers = list(g.hidden_and_output)
        ff = ctx.feedforward
        if self.hopfield:
            self.rho = {n: out_activation(g, n) for n in self.layers}
            self.u: Values = {n: preactivation(g, n, ff, ctx.params).detach() for n in self.layers}
        else:
            self.rho = {n: (lambda v: v) for n in self.layers}
            self.u = {n: ff[n].detach().clone() for n in self.layers}
        self.epsilon = s.epsilon if s.epsilon is not None else self.stable_step()
        self.u0: Values | None = self.u if s.free_steps == 0 else None
        self.u_plus: Values | None = None
        self.dE0: Params | None = None
        self.reference: Params | None = None
        self.ff_loss = float(g.loss(ff[g.output], ctx.example.target))

    # ----- the energy -------------------------------------------------------------------------
    def rates(self, u: Values) -> Values:
        r = dict(self.ctx.example.inputs)
        for n in self.layers:
            r[n] = self.rho[n](u[n])
        return r

    def energy(self, u: Values, params: Params) -> torch.Tensor:
        g = self.graph
        r = self.rates(u)
        e = torch.zeros((), dtype=g.dtype)
        if not self.hopfield:
            mus = g.predict_all(r, params)
            for n in self.layers:
                e = e + 0.5 * ((u[n] - mus[n]) ** 2).sum()
            return e
        for n in self.layers:
            e = e + 0.5 * (u[n] ** 2).sum() - (r[n] * preactivation(g, n, r, params)).sum()
        return e

    def prediction_errors(self, u: Values) -> Values:
        mus = self.graph.predict_all(self.rates(u), self.ctx.params)
        return {n: u[n] - mus[n] for n in self.layers}

    def cost(self, u: Values) -> torch.Tensor:
        out = self.graph.output
        return self.graph.loss(self.rho[out](u[out]), self.ctx.example.target)

    def beta_now(self) -> float:
        return self.beta_at(self.t)

    def beta_at(self, t: int) -> float:
        s = self.settings
        if t <= s.free_steps:
            return 0.0
        return s.beta if t <= s.free_steps + s.nudged_steps else -s.beta

    def relax(self, beta: float) -> None:
        u = {n: v.detach().clone().requires_grad_(True) for n, v in self.u.items()}
        f = self.energy(u, self.ctx.params)
        if beta != 0.0:
            f = f + beta * self.cost(u)
        grads = vjp([f], [u[n] for n in self.layers], [torch.ones_like(f)])
        self.u = {n: self.u[n] - self.epsilon * gr for n, gr in zip(self.layers, grads, strict=True)}

    def stable_step(self, iterations: int = 60) -> float:
        """An Euler step the relaxation survives: gradient descent on F = E + beta C is
        stable below 2 / lambda_max (F's largest curvature); we take 1 / lambda_max at the
        start for a margin of two against curvature that grows along the way, at most 0.5.
        lambda_max by power iteration on Hessian-vector products (autograd)."""
        sizes = [self.u[n].numel() for n in self.layers]
        params = {k: v.detach() for k, v in self.ctx.params.items()}

        def f(v: torch.Tensor) -> torch.Tensor:
            u = dict(zip(self.layers, torch.split(v, sizes), strict=True))
            return self.energy(u, params) + self.settings.beta * self.cost(u)

        x0 = torch.cat([self.u[n].reshape(-1) for n in self.layers]).detach()
        if x0.numel() == 0:
            return 0.5
        v = torch.ones_like(x0) / x0.numel() ** 0.5
        lam = 0.0
        for _ in range(iterations):
            _, hv = torch.autograd.functional.hvp(f, x0, v)
            norm = float(hv.norm())
            if not norm or norm != norm:
                break
            new, v = float(v @ hv), hv / norm
            if abs(abs(new) - abs(lam)) <= 1e-6 * abs(new):
                lam = new
                break
            lam = new
        lam = max(abs(lam), float(hv.norm()) if norm else 0.0)
        return min(0.5, 1.0 / lam) if lam > 0 else 0.5

    def dE_dtheta(self, u: Values) -> Params:
        p = leaves(self.ctx.params)
        e = self.energy(u, p)
        keys = list(p)
        return dict(zip(keys, vjp([e], [p[k] for k in keys], [torch.ones_like(e)]), strict=True))

    def equilibrium_gradient(self, u0: Values) -> Params:
        """dC(u*(theta))/dtheta at the free equilibrium, by implicit differentiation."""
        sizes = [u0[n].numel() for n in self.layers]

        def unflat(v: torch.Tensor) -> Values:
            return dict(zip(self.layers, torch.split(v, sizes), strict=True))

        x0 = torch.cat([u0[n].reshape(-1) for n in self.layers]).detach()
        params = {k: v.detach() for k, v in self.ctx.params.items()}
        hess = torch.autograd.functional.hessian(lambda v: self.energy(unflat(v), params), x0)
        xl = x0.clone().requires_grad_(True)
        (g_c,) = torch.autograd.grad(self.cost(unflat(xl)), xl)
        lam = torch.linalg.solve(hess, g_c.detach())
        p = leaves(self.ctx.params)
        xl = x0.clone().requires_grad_(True)
        (g_e,) = torch.autograd.grad(self.energy(unflat(xl), p), xl, create_graph=True)
        keys = list(p)
        mixed = (g_e * lam).sum()
        grads = vjp([mixed], [p[k] for k in keys], [torch.ones_like(mixed)])
        return {k: -gr for k, gr in zip(keys, grads, strict=True)}

    # ----- stepping ---------------------------------------------------------------------------
    def observe(self) -> Observation:
        g, s, t = self.graph, self.settings, self.t
        beta = self.beta_now()
        free = t <= s.free_steps
        phase = "free" if free else ("nudged" if beta > 0 else "nudged-")
        u = self.u
        r = self.rates(u)
        energy = float(self.energy(u, self.ctx.params)) + (beta * float(self.cost(u)) if beta else 0.0)
        readouts: dict = {"beta": s.beta, "feedforward_loss": self.ff_loss, "epsilon": self.epsilon}
        if free:
            updates = self.zeros_like_params()
            errors = {n: self.zeros(n) for n in self.layers}
            out = g.output
            rl = r[out].detach().clone().requires_grad_(True)
            (gc,) = torch.autograd.grad(g.loss(rl, self.ctx.example.target), rl)
            errors[out] = -gc
            signals = errors
        else:
            assert self.u0 is not None
            if self.dE0 is None:
                self.dE0 = self.dE_dtheta(self.u0)
                self.reference = {k: -s.lr * v for k, v in self.equilibrium_gradient(self.u0).items()}
            dE = self.dE_dtheta(u)
            if beta > 0:
                base, now, scale = self.dE0, dE, s.beta
                errors = {n: (u[n] - self.u0[n]) / s.beta for n in self.layers}
            else:
                assert self.u_plus is not None
                base, now, scale = dE, self.dE_dtheta(self.u_plus), 2 * s.beta
                errors = {n: (self.u_plus[n] - u[n]) / (2 * s.beta) for n in self.layers}
            updates = {k: -(s.lr / scale) * (now[k] - base[k]) for k in now}
            if not self.hopfield:  # the prediction errors, zero at the free equilibrium
                eps = self.prediction_errors(u)
                if beta > 0:
                    errors = {n: eps[n] / s.beta for n in self.layers}
                else:
                    assert self.u_plus is not None  # kept at the end of the +beta phase
                    eps_plus = self.prediction_errors(self.u_plus)
                    errors = {n: (eps_plus[n] - eps[n]) / (2 * s.beta) for n in self.layers}
            signals = {n: to_vertex_scale(errors[n], slope(self.rho[n], self.u0[n]))
                       for n in self.layers}
            ref = self.reference or {}
            readouts["equilibrium_gradient"] = compare(flat([updates[k] for k in g.param_keys]),
                                                       flat([ref[k] for k in g.param_keys]))
            readouts["free_loss"] = float(self.cost(self.u0))
        if self.hopfield:
            predictions = {n: self.rho[n](preactivation(g, n, r, self.ctx.params))
                           for n in self.layers}
        else:
            predictions = g.predict_all(r, self.ctx.params)
        events = self.plasticity_at_end("contrast of the nudged and free equilibria")
        return Observation(phase, r, predictions, errors, updates, energy, events, signals,
                           readouts=readouts)

    def stages(self, obs: Observation) -> list[dict]:
        s, t, layers = self.settings, self.t, self.layers
        what = "u" if self.hopfield else "x"
        if t == 0:
            return [stage("start", layers, f"{what} starts at the feed-forward "
                          f"{'pre-activations' if self.hopfield else 'values'}")]
        stages = []
        if t == s.free_steps + 1:
            stages.append(stage("free equilibrium", layers, f"the free equilibrium {what}⁰ is kept"))
        if s.symmetric and t == s.free_steps + s.nudged_steps + 1:
            stages.append(stage("restart", layers, f"{what}⁺ kept; back to {what}⁰ for −β"))
        beta = self.beta_at(t)
        if beta == 0.0:
            stages.append(stage("free phase", layers,
                                f"{what} ← {what} − ε ∂E/∂{what}: relax with only the input clamped"))
            return stages + self.plasticity_stage(obs, "ΔW from the contrast of the two equilibria")
        stages += [stage("nudged phase", layers,
                         f"{what} ← {what} − ε ∂(E {'+' if beta > 0 else '−'} βC)/∂{what}, β = "
                         f"{s.beta:g}: the output is pulled {'toward' if beta > 0 else 'away from'}"
                         " the target"),
                   stage("contrast", self.graph.param_nodes,
                         "ΔW = −(η/β)(∂E/∂W now − at the free equilibrium): local co-activity")]
        return stages + self.plasticity_stage(obs, "ΔW from the contrast of the two equilibria")

    def move(self) -> None:
        s = self.settings
        if self.t == s.free_steps:
            self.u0 = {n: v.clone() for n, v in self.u.items()}
        if s.symmetric and self.t == s.free_steps + s.nudged_steps:
            assert self.u0 is not None
            self.u_plus = {n: v.clone() for n, v in self.u.items()}
            self.u = {n: v.clone() for n, v in self.u0.items()}
        self.relax(self.beta_at(self.t + 1))
