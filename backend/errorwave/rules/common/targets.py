"""Target propagation and difference target propagation (Lee et al. 2015; docs/rules.md):
the machinery shared by `tp` and `dtp`, which differ only in how a target is carried
one layer down.

On a layered chain x -> h_1 -> ... -> h_{L-1} -> y:
- the output layer learns by its true gradient;
- the first target is at the last hidden layer, h^_{L-1} = h_{L-1} - eta_hat dL/dh_{L-1};
- each lower target comes through a learned approximate inverse g_i(h) = tanh(V_i h + c_i)
  of layer i (TP: h^_{i-1} = g_i(h^_i); DTP: h^_{i-1} = h_{i-1} + g_i(h^_i) - g_i(h_i));
- layer i learns from its local loss ||f_i(h_{i-1}) - h^_i||^2 / (2 eta_hat) (our choice of
  scale: dividing by eta_hat puts every layer's update on backprop's scale, and makes the
  last hidden layer's update equal backprop's exactly);
- the inverses learn from ||g_i(f_i(h_{i-1} + n)) - (h_{i-1} + n)||^2 / 2, n ~ N(0, c^2),
  training only V_i, c_i, and live in the rule memory so that they persist across examples.

Steps: t = 0 the output error and the output layer's update; t = k the target of the k-th
hidden layer from the top and its update; the last step trains the inverses on this
example (phase "inverse"). A frame shows a target as the vertex's value and the
feed-forward value as its prediction, so error = value - prediction = target - value.
"""

from __future__ import annotations

import torch
from pydantic import Field

from errorwave.graph import Params, Values
from errorwave.rules.base import Observation, Rule, RuleSettings, stage
from errorwave.rules.common.autodiff import leaves, vjp
from errorwave.rules.common.graphs import chain_problem
from errorwave.rules.common.randomness import fan_bound, generator, uniform


class TargetPropSettings(RuleSettings):
    eta_hat: float = Field(default=0.327736, gt=0, le=100,
                           description="Step of the first target: h^ = h - eta_hat dL/dh (top hidden)")
    inverse_lr: float = Field(default=0.01, ge=0, le=10,
                              description="Learning rate of the inverses g_i (plain SGD)")
    noise: float = Field(default=0.359830, ge=0, le=10,
                         description="Std c of the noise n added to h_{i-1} to train g_i")
    inverse_steps: int = Field(default=1, ge=0, le=100,
                               description="Noisy SGD steps on every inverse, once per example")


class TargetPropBase(Rule):
    """A target-propagation rule; subclasses set `difference`."""

    difference: bool = False
    Settings = TargetPropSettings
    error_meaning = "target - value (the value shown is the target, the prediction the feed-forward value)"

    @classmethod
    def unsupported(cls, config, structure):
        return chain_problem(config, structure, cls.name)

    @classmethod
    def supports_text(cls) -> str:
        return "layered chains of linear nodes"

    @classmethod
    def total_steps(cls, settings, structure) -> int:
        return structure.depth + 1

    def __init__(self, ctx):
        super().__init__(ctx)
        g = self.graph
        self.layers = [n for n in g.order if n != g.inputs[0]]
        self.below = {n: g.nodes[n].inputs[0] for n in self.layers}
        self.inverses = self._inverses()
        self._forward_and_targets()

    # ----- the learned inverses ------------------------------------------------------------
    def _inverses(self) -> dict[str, list[torch.Tensor]]:
        """{layer i: [V_i, c_i]} for every hidden layer above the first (g_i: h_i -> h_{i-1})."""
        g, ctx = self.graph, self.ctx
        key = f"{self.name}:inverses"
        if key not in ctx.memory:
            gen = generator(g.config, "tp")
            inv = {}
            for nid in self.layers[1:-1]:
                n_in, n_out = g.s.sizes[nid], g.s.sizes[self.below[nid]]
                inv[nid] = [uniform(gen, (n_out, n_in), fan_bound(n_in), g.dtype),
                            torch.zeros(n_out, dtype=g.dtype)]
            ctx.memory[key] = inv
        return ctx.memory[key]

    def g_inverse(self, nid: str, h: torch.Tensor) -> torch.Tensor:
        v, c = self.inverses[nid]
        return torch.tanh(v @ h + c)

    def target_below(self, nid: str, target: torch.Tensor) -> torch.Tensor:
        """The target of the layer below `nid`, from `nid`'s target."""
        ff = self.ctx.feedforward
        if self.difference:
            return ff[self.below[nid]] + self.g_inverse(nid, target) - self.g_inverse(nid, ff[nid])
        return self.g_inverse(nid, target)

    def reconstruction(self) -> dict[str, float]:
        """||g_i(h_i) - h_{i-1}|| at this example's feed-forward values, per inverse."""
        ff = self.ctx.feedforward
        return {nid: float((self.g_inverse(nid, ff[nid]) - ff[self.below[nid]]).norm())
                for nid in self.inverses}

    def train_inverses(self) -> None:
        g, ctx, s = self.graph, self.ctx, self.settings
        gen = torch.Generator().manual_seed(ctx.seed)
        ff = ctx.feedforward
        for nid, (v, c) in self.inverses.items():
            below = self.below[nid]
            for _ in range(s.inverse_steps):
                n = torch.randn(ff[below].shape, generator=gen, dtype=torch.float64).to(g.dtype)
                h = ff[below] + s.noise * n
                fh = g.predict(nid, {below: h}, ctx.params).detach()
                vl, cl = v.clone().requires_grad_(True), c.clone().requires_grad_(True)
                loss = 0.5 * ((torch.tanh(vl @ fh + cl) - h) ** 2).sum()
                gv, gc = torch.autograd.grad(loss, [vl, cl])
                v = v - s.inverse_lr * gv
                c = c - s.inverse_lr * gc
            self.inverses[nid] = [v.detach(), c.detach()]

    # ----- targets and local updates --------------------------------------------------------
    def _forward_and_targets(self) -> None:
        g, ctx, s = self.graph, self.ctx, self.settings
        ff = ctx.feedforward
        p = leaves(ctx.params)
        out = g.output
        self.targets: Values = {}
        self.grads: Params = {}
        # Output: its true gradient; and dL/dh_{L-1} through it, for the first target.
        below = self.below[out]
        h_top = ff[below].detach().clone().requires_grad_(True)
        mu = g.predict(out, {**ff, below: h_top}, p)
        loss = g.loss(mu, ctx.example.target)
        keys = [k for k in g.param_keys if k[0] == out]
        grads = torch.autograd.grad(loss, [mu, h_top] + [p[k] for k in keys])
        self.loss = float(loss.detach())
        self.out_error = -grads[0].detach()
        for k, gr in zip(keys, grads[2:], strict=True):
            self.grads[k] = gr.detach()
        hidden = self.layers[:-1]
        if hidden:
            self.targets[below] = ff[below] - s.eta_hat * grads[1].detach()
            for nid in reversed(hidden[1:]):
                self.targets[self.below[nid]] = self.target_below(nid, self.targets[nid]).detach()
        # Hidden layers: the local loss ||f_i(h_{i-1}) - h^_i||^2 / (2 eta_hat).
        for nid in hidden:
            keys = [k for k in g.param_keys if k[0] == nid]
            mu = g.predict(nid, ff, p)
            cot = (self.targets[nid] - ff[nid]) / s.eta_hat
            for k, gr in zip(keys, vjp([mu], [p[k] for k in keys], [-cot]), strict=True):
                self.grads[k] = gr

    def reached(self) -> set[str]:
        """Layers whose target (or, for the output, error) exists at step t."""
        top = list(reversed(self.layers))
        return set(top[: min(self.t, len(top) - 1) + 1])

    def observe(self) -> Observation:
        g, s, ff = self.graph, self.settings, self.ctx.feedforward
        done = self.reached()
        out = g.output
        errors, signals = {}, {}
        values = dict(ff)
        for nid in g.hidden_and_output:
            if nid == out:
                errors[nid] = signals[nid] = self.out_error
                values[nid] = ff[nid] + self.out_error
            elif nid in done:
                errors[nid] = self.targets[nid] - ff[nid]
                signals[nid] = errors[nid] / s.eta_hat
                values[nid] = self.targets[nid]
            else:
                errors[nid] = signals[nid] = self.zeros(nid)
        updates = {k: (-s.lr * v if k[0] in done else v * 0) for k, v in self.grads.items()}
        events = []
        phase = "targets"
        if self.t == self.last:
            phase = "inverse"
            events = [self.plasticity(n, "inverse g trained with noise") for n in self.inverses]
        elif self.t == 0:
            phase = "output"
        if self.t == self.last - 1:
            events += [self.plasticity(n, "every layer learns toward its target")
                       for n in g.param_nodes]
        return Observation(phase, values, {n: ff[n] for n in g.hidden_and_output}, errors,
                           updates, self.loss, events, signals,
                           readouts={"reconstruction": self.reconstruction(),
                                     "eta_hat": s.eta_hat})

    def stages(self, obs: Observation) -> list[dict]:
        top = list(reversed(self.layers))
        t, out = self.t, self.graph.output
        if t == self.last:
            return self.plasticity_stage(obs, "each inverse g learns to undo its layer on "
                                              "noisy inputs") or [
                stage("done", self.layers, "no inverse to train (too few layers)")]
        if t == 0:
            stages = [stage("output error", [out], "the output layer learns by its true gradient")]
        elif t == 1 and len(top) > 1:
            stages = [stage("first target", [top[1], out],
                            f"ĥ_{top[1]} = h − η̂ ∂L/∂h: a small step down the gradient")]
        elif t < len(top):
            n, above = top[t], top[t - 1]
            how = (f"ĥ_{n} = h + g(ĥ_{above}) − g(h_{above}): the difference correction"
                   if self.difference else f"ĥ_{n} = g(ĥ_{above}): through the learned inverse")
            stages = [stage("target", [n, above], how)]
        else:
            stages = []
        return stages + self.plasticity_stage(obs, "every layer learns toward its target: "
                                                   "ΔW ∝ −∂‖f(h) − ĥ‖²/∂W")

    def move(self) -> None:
        if self.t + 1 == self.last:
            self.train_inverses()
