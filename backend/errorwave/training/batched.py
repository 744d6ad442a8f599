"""The rules on mini-batches, without frames: one function from (parameters, batch) to the
batch's update, the mean of the examples' updates (what `Engine` would apply for each).

Backprop, FPA-PC, standard PC and Z-IL are vectorised: torch.vmap maps the compiled
graph's local functions over a batch dimension, and one vector-Jacobian product per
inference step serves the whole batch. Every other rule runs per example inside the
batch (its own rule object per example, exactly as the engine drives it), because its
state is per example by nature: learned inverses, feedback matrices kept in the rule
memory, perturbations drawn per example, two-phase equilibria, local gates."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from errorwave.graph import CompiledGraph, Params, Values
from errorwave.rules import registry
from errorwave.rules.base import Context, Example, Rule, RuleSettings
from errorwave.training.tensors import BatchedGraph, Extra


@dataclass
class BatchUpdate:
    updates: Params  # mean over the batch of each example's cumulative parameter change
    dropped: int = 0  # examples whose update was not finite (they contribute zero)


# ----- batched pieces of the compiled graph ----------------------------------------------
def batched(g: CompiledGraph) -> BatchedGraph:
    """The graph's batched twin, built once per graph."""
    twin = getattr(g, "_errorwave_batched", None)
    if twin is None:
        twin = BatchedGraph(g)
        g._errorwave_batched = twin  # type: ignore[attr-defined]
    return twin


def forward_batch(g: CompiledGraph, x: torch.Tensor, params: Params) -> Values:
    """Every vertex's feed-forward value, [B, size] each."""
    return batched(g).forward(x, params)


def losses(g: CompiledGraph, mu_out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The loss of each example, [B]."""
    return batched(g).losses(mu_out, target)


def output_errors(g: CompiledGraph, mu_out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-dL/dmu_out for each example (each loss depends on its own row only)."""
    mu = mu_out.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(losses(g, mu, target).sum(), mu)
    return -grad


def backprop_batch(g: CompiledGraph, params: Params, x: torch.Tensor, y: torch.Tensor
                   ) -> tuple[Values, torch.Tensor, Params]:
    """Feed-forward values, per-example losses and the batch's mean gradient dL/dtheta."""
    leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    values = forward_batch(g, x, leaves)
    ls = losses(g, values[g.output], y)
    grads = torch.autograd.grad(ls.sum(), [leaves[k] for k in g.param_keys], allow_unused=True)
    n = len(x)
    mean = {k: (torch.zeros_like(params[k]) if gr is None else gr / n)
            for k, gr in zip(g.param_keys, grads, strict=True)}
    return {k: v.detach() for k, v in values.items()}, ls.detach(), mean


def _hidden_cat(g: CompiledGraph, values: Values, n: int) -> torch.Tensor:
    if not g.hidden:
        return torch.zeros(n, 0, dtype=g.dtype)
    return torch.cat([values[h].reshape(n, -1) for h in g.hidden], dim=1)


# ----- the interface ------------------------------------------------------------------------
class BatchRule(ABC):
    vectorised: ClassVar[bool] = True

    def __init__(self, graph: CompiledGraph, rule_cls: type[Rule], settings: RuleSettings,
                 memory: dict[str, Any]):
        self.graph, self.rule_cls, self.memory = graph, rule_cls, memory
        self.settings: Any = settings  # the rule's own Settings subclass
        self.steps = rule_cls.total_steps(settings, graph.s)
        self.sizes = [graph.s.sizes[h] for h in graph.hidden]

    @abstractmethod
    def update(self, params: Params, x: torch.Tensor, y: torch.Tensor, seed: int) -> BatchUpdate:
        """The batch's mean update at `params`; example i gets the seed `seed + i` (the
        engine's init seed + examples seen)."""


class PerExample(BatchRule):
    """Any rule, one example at a time, exactly as `Engine` drives it (no frames)."""

    vectorised = False

    def update(self, params: Params, x: torch.Tensor, y: torch.Tensor, seed: int) -> BatchUpdate:
        g = self.graph
        total = {k: torch.zeros_like(v) for k, v in params.items()}
        dropped = 0
        for i in range(len(x)):
            example = Example({g.inputs[0]: x[i]}, y[i], i)
            ff, _, _, _ = g.backprop(example.inputs, example.target, params)
            ctx = Context(g, {k: v.clone() for k, v in params.items()}, example, ff, self.settings,
                          seed + i, self.memory)
            rule = self.rule_cls(ctx)
            for _ in range(rule.last):
                rule.advance()
            upd = rule.observe().updates
            if not all(bool(torch.isfinite(d).all()) for d in upd.values()):
                dropped += 1  # the engine applies nothing for an example that diverged
                continue
            for k, d in upd.items():
                total[k] = total[k] + d
        return BatchUpdate({k: v / len(x) for k, v in total.items()}, dropped)


class BatchBackprop(BatchRule):
    def update(self, params, x, y, seed):
        _, _, grads = backprop_batch(self.graph, params, x, y)
        return BatchUpdate({k: -self.settings.lr * v for k, v in grads.items()})


class BatchFPA(BatchRule):
    """Errors relax against predictions and Jacobians frozen at the feed-forward pass: one
    retained graph for the batch, one VJP per step (as the per-example rule does)."""

    def update(self, params, x, y, seed):
        g, s, n = self.graph, self.settings, len(x)
        hidden, sizes = g.hidden, self.sizes
        keys = list(params)
        p_leaf = torch.cat([params[k].reshape(-1) for k in keys]).requires_grad_(True)
        ps = {k: v.view(params[k].shape)
              for k, v in zip(keys, p_leaf.split([params[k].numel() for k in keys]), strict=True)}
        # one forward pass: the hidden values are leaves at their feed-forward values
        mus, leaves = batched(g).linearised(x, ps)
        x_leaves = [leaves[h] for h in hidden]
        x0 = _hidden_cat(g, {h: leaves[h].detach() for h in hidden}, n)

        def sweep(cot: torch.Tensor) -> torch.Tensor:
            """sum_c J_ci^T cot_c for every hidden vertex, [B, H]."""
            if not x_leaves:
                return torch.zeros(n, 0, dtype=g.dtype)
            grads = torch.autograd.grad(mu_cat, x_leaves, grad_outputs=cot, retain_graph=True,
                                        allow_unused=True)
            return torch.cat([torch.zeros_like(lf) if gr is None else gr
                              for lf, gr in zip(x_leaves, grads, strict=True)], dim=1)

        eps_out = output_errors(g, mus[g.output], y)
        live = [v for v in hidden + [g.output] if mus[v].requires_grad]
        if not live:
            return BatchUpdate({k: torch.zeros_like(v) for k, v in params.items()})
        mu_cat = torch.cat([mus[v].reshape(n, -1) for v in live], dim=1)

        def cot(eps: torch.Tensor) -> torch.Tensor:
            parts = dict(zip(hidden, eps.split(sizes, dim=1), strict=True))
            parts[g.output] = eps_out
            return torch.cat([parts[v] for v in live], dim=1)

        xv = x0
        for _ in range(self.steps):
            eps = xv - x0
            xv = xv - s.gamma * (eps - sweep(cot(eps)))
        (gp,) = torch.autograd.grad(mu_cat, [p_leaf], grad_outputs=cot(xv - x0), allow_unused=True)
        flat = torch.zeros_like(p_leaf) if gp is None else s.lr * gp.detach() / n
        return BatchUpdate({k: v.view(params[k].shape)
                            for k, v in zip(keys, flat.split([params[k].numel() for k in keys]),
                                            strict=True)})


class BatchEnergy:
    """The predictive-coding energy of a batch: hidden values x [B, H] and parameters that
    are either shared or one copy per example ([B, ...]; Z-IL changes them mid-example)."""

    def __init__(self, g: CompiledGraph, x_in: torch.Tensor, y: torch.Tensor, x0: torch.Tensor,
                 params: Params, variances: dict[str, float], per_example: bool):
        self.g, self.x_in, self.y, self.x = g, x_in, y, x0
        self.params, self.per_example = params, per_example
        self.sizes = [g.s.sizes[h] for h in g.hidden]
        self.var_hidden = (torch.cat([torch.full((g.s.sizes[h],), variances[h], dtype=g.dtype)
                                      for h in g.hidden]) if g.hidden else torch.zeros(0, dtype=g.dtype))
        self.var_out = variances[g.output]

    def evaluate(self, keys: list, extra: Extra | None = None, probes: Values | None = None
                 ) -> tuple[torch.Tensor, Params, Values]:
        """dF/dx for the hidden values [B, H], -dF/dtheta for `keys` (summed over the batch
        for shared parameters) and -dF/dz for each probe z: a [B, size] leaf that `extra`
        adds to a vertex's pre-activation (per example, the bias's gradient)."""
        g, n = self.g, len(self.x)
        inp, hidden, sizes = g.inputs[0], g.hidden, self.sizes
        x_leaf = self.x.detach().requires_grad_(True)
        leaves = {k: self.params[k].detach().requires_grad_(True) for k in keys}
        p_all = {**self.params, **leaves}

        hs = dict(zip(hidden, x_leaf.split(sizes, dim=1), strict=True))
        mus = batched(g).predict_all({inp: self.x_in, **hs}, p_all, extra)
        eps = self.x - _hidden_cat(g, {h: mus[h].detach() for h in hidden}, n)
        cot_hidden = eps / self.var_hidden
        cot = dict(zip(hidden, cot_hidden.split(sizes, dim=1), strict=True))
        cot[g.output] = output_errors(g, mus[g.output], self.y) / self.var_out
        live = [v for v in g.hidden_and_output if mus[v].requires_grad]
        probes = probes or {}
        wrt = [x_leaf] + [leaves[k] for k in keys] + list(probes.values())
        grads: tuple = (torch.autograd.grad([mus[v] for v in live], wrt,
                                            grad_outputs=[cot[v].reshape(mus[v].shape) for v in live],
                                            allow_unused=True)
                        if live else (None,) * len(wrt))
        gx = torch.zeros_like(eps) if grads[0] is None else grads[0]
        drive = {k: (torch.zeros_like(leaves[k]) if gr is None else gr)
                 for k, gr in zip(keys, grads[1:1 + len(keys)], strict=True)}
        probed = {n: (torch.zeros_like(z) if gr is None else gr)
                  for (n, z), gr in zip(probes.items(), grads[1 + len(keys):], strict=True)}
        return cot_hidden - gx, drive, probed


class BatchPC(BatchRule):
    """Standard PC: T synchronous value steps, then one update from the relaxed values."""

    def update(self, params, x, y, seed):
        g, s, n = self.graph, self.settings, len(x)
        with torch.no_grad():
            x0 = _hidden_cat(g, forward_batch(g, x, params), n)
        variances = dict.fromkeys(g.hidden, s.hidden_variance) | {g.output: s.output_variance}
        st = BatchEnergy(g, x, y, x0, params, variances, per_example=False)
        for _ in range(self.steps):
            gv, _, _ = st.evaluate([])
            st.x = st.x - s.gamma * gv
        _, drive, _ = st.evaluate(list(g.param_keys))
        scale = s.output_variance if s.scale_lr_by_output_variance else 1.0
        return BatchUpdate({k: s.lr * scale * drive[k] / n for k in g.param_keys})


class BatchZIL(BatchRule):
    """Z-IL: PC with unit variances whose vertices learn at the step equal to their distance
    to the output (or all at the end). A vertex's new weights act on the rest of its own
    example, so each example has its own weights; a vertex learns once per example, so
    example b's change is rank one, ΔW_b = u_b g_bᵀ (u: lr times the error term, g: the
    input), and is carried as that pair, added to the vertex's pre-activation as
    u_b (g_b · f_in(x_b)), instead of as a copy of W per example."""

    def update(self, params, x, y, seed):
        g, s, n = self.graph, self.settings, len(x)
        with torch.no_grad():
            x0 = _hidden_cat(g, forward_batch(g, x, params), n)
        if s.init == "perturbed":
            x0 = x0 + s.init_noise * self._noise(n, seed)
        st = BatchEnergy(g, x, y, x0, params, dict.fromkeys(g.hidden_and_output, 1.0), per_example=False)
        total = {k: torch.zeros_like(v) for k, v in params.items()}
        factors: dict[str, tuple[torch.Tensor, Values]] = {}  # vertex -> (u, {source: g})

        def extra_with(probes: Values, seen: dict[str, Values]) -> Extra:
            def extra(nid: str, hs: Values) -> torch.Tensor | None:
                term = None
                if nid in factors:
                    u, gs = factors[nid]
                    dot = sum((gs[src] * hs[src]).sum(-1, keepdim=True) for src in gs)
                    term = u * dot + (u if g.nodes[nid].bias else 0)
                if nid in probes:
                    seen[nid] = {src: h.detach() for src, h in hs.items()}
                    term = probes[nid] if term is None else term + probes[nid]
                return term
            return extra

        for t in range(self.steps + 1):
            nodes = [v for v in g.param_nodes
                     if (self.steps if s.timing == "end" else g.s.shortest[v]) == t]
            probes = {v: torch.zeros(n, g.s.sizes[v], dtype=g.dtype, requires_grad=True) for v in nodes}
            seen: dict[str, Values] = {}
            gv, _, probed = st.evaluate([], extra_with(probes, seen), probes)
            new = {v: (s.lr * probed[v], seen[v]) for v in nodes}
            for v, (u, gs) in new.items():
                for src, gsrc in gs.items():
                    total[(v, "weight", src)] += u.T @ gsrc / n
                if g.nodes[v].bias:
                    total[(v, "bias", "")] += u.mean(0)
            if t == self.steps:
                break
            if s.order == "weights_first":
                factors.update(new)
                gv, _, _ = st.evaluate([], extra_with({}, {}))
                st.x = st.x - s.gamma * gv
            else:
                st.x = st.x - s.gamma * gv
                factors.update(new)
        return BatchUpdate(total)

    def _noise(self, n: int, seed: int) -> torch.Tensor:
        """The per-example rule's offsets: example i draws from a generator seeded seed + i."""
        g, rows = self.graph, []
        for i in range(n):
            gen = torch.Generator().manual_seed(seed + i)
            rows.append(torch.cat([torch.randn((g.s.sizes[h],), generator=gen, dtype=torch.float64)
                                   for h in g.hidden]) if g.hidden else torch.zeros(0, dtype=torch.float64))
        return torch.stack(rows).to(g.dtype)


# Exactly these classes (a subclass such as Fa-Z-IL has its own schedule: per example).
VECTORISED: dict[str, type[BatchRule]] = {
    "backprop": BatchBackprop, "fpa": BatchFPA, "pc": BatchPC, "zil": BatchZIL}


def batch_rule(graph: CompiledGraph, rule_cls: type[Rule], settings: RuleSettings,
               memory: dict[str, Any] | None = None, vectorise: bool = True) -> BatchRule:
    """The fastest correct batched form of a rule (per example when it has no vector form)."""
    memory = {} if memory is None else memory
    impl = VECTORISED.get(rule_cls.name)
    if vectorise and impl is not None and registry.get(rule_cls.name) is rule_cls \
            and len(graph.inputs) == 1:
        return impl(graph, rule_cls, settings, memory)
    return PerExample(graph, rule_cls, settings, memory)


def flat(params: Params, keys: list) -> torch.Tensor:
    return torch.cat([params[k].reshape(-1) for k in keys]) if keys else torch.zeros(0)


def compare(update: Params, reference: Params, keys: list, nodes: list[str]
            ) -> tuple[float | None, float | None, dict[str, float | None]]:
    """Cosine and relative L2 over all parameters, and the angle (degrees) per vertex."""
    def cos(a: torch.Tensor, b: torch.Tensor) -> float | None:
        na, nb = float(a.norm()), float(b.norm())
        if na == 0 or nb == 0 or not math.isfinite(na * nb):
            return None
        return max(-1.0, min(1.0, float(a.dot(b)) / (na * nb)))

    u, r = flat(update, keys), flat(reference, keys)
    rn = float(r.norm())
    rel = float((u - r).norm()) / rn if rn > 0 else None
    angles: dict[str, float | None] = {}
    for v in nodes:
        ks = [k for k in keys if k[0] == v]
        c = cos(flat(update, ks), flat(reference, ks))
        angles[v] = None if c is None else math.degrees(math.acos(c))
    return cos(u, r), rel, angles
