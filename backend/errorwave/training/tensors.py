"""The compiled graph's local functions with a leading batch dimension.

The same operations as `CompiledGraph` (graph.py), written for values of shape [B, size]
so that a batch is one matrix product per edge instead of a vmap over examples (vmap's
per-call dispatch costs more than the arithmetic on these small networks). Parameters
are shared ([out, in]) or one copy per example ([B, out, in], for Z-IL, whose weights
change mid-example). The agreement tests hold this to the per-example graph to 1e-12; an
op this module does not know falls back to torch.vmap over the graph's own function."""

from __future__ import annotations

from collections.abc import Callable

import torch

from errorwave.graph import CompiledGraph, Params, Values, activation_fn

# extra(vertex, {source: f_in(value)}) -> a term added to a linear vertex's pre-activation
# ([B, size]) or None: how Z-IL carries each example's own weight changes (rank one).
Extra = Callable[[str, Values], torch.Tensor | None]
Fn = Callable[..., torch.Tensor]


class BatchedGraph:
    def __init__(self, g: CompiledGraph):
        self.g = g
        self._fn: dict[str, Fn] = {n: self._local(n) for n in g.hidden_and_output}

    def _local(self, nid: str) -> Fn:
        node = self.g.nodes[nid]
        srcs = list(node.inputs)
        if node.op == "linear":
            f_in = activation_fn(node.input_activation, node.negative_slope)
            f_out = activation_fn(node.activation, node.negative_slope)
            bias = node.bias

            def linear(v: Values, p: Params, extra: Extra | None = None) -> torch.Tensor:
                hs = {src: f_in(v[src]) for src in srcs}
                s = None
                for src in srcs:
                    w, h = p[(nid, "weight", src)], hs[src]
                    term = h @ w.T if w.dim() == 2 else torch.bmm(w, h.unsqueeze(-1)).squeeze(-1)
                    s = term if s is None else s + term
                assert s is not None
                if bias:
                    s = s + p[(nid, "bias", "")]
                if extra is not None:
                    more = extra(nid, hs)
                    if more is not None:
                        s = s + more
                return f_out(s)

            return linear
        if node.op == "add":
            return lambda v, p: torch.stack([v[s] for s in srcs]).sum(0)
        if node.op == "mul":
            def mul(v: Values, p: Params) -> torch.Tensor:
                out = v[srcs[0]]
                for s in srcs[1:]:
                    out = out * v[s]
                return out
            return mul
        if node.op in ("identity", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "sin", "cos",
                       "tan", "exp", "square", "sqrt"):
            fn = activation_fn(node.op, node.negative_slope)
            return lambda v, p: fn(v[srcs[0]])
        return self._mapped(nid)

    def _mapped(self, nid: str) -> Fn:
        """An op without a batched form here: the graph's own function, vmapped."""
        g = self.g

        def mapped(v: Values, p: Params) -> torch.Tensor:
            per = any(t.dim() == 3 or (k[1] == "bias" and t.dim() == 2) for k, t in p.items())
            dims = (0, 0 if per else None)
            return torch.vmap(lambda vi, pi: g.predict(nid, vi, pi), in_dims=dims)(v, p)

        return mapped

    def predict_all(self, values: Values, params: Params, extra: Extra | None = None) -> Values:
        """As CompiledGraph.predict_all: a vertex reading the output reads mu_out, detached."""
        g, mus = self.g, {}
        for nid in g.hidden_and_output:
            fn = self._fn[nid]
            mus[nid] = fn(values, params, extra) if extra is not None and self.g.nodes[nid].op == "linear" \
                else fn(values, params)
            if nid == g.output and nid not in values and g.s.children[nid]:
                values = {**values, nid: mus[nid].detach()}
        return mus

    def linearised(self, x: torch.Tensor, params: Params) -> tuple[Values, Values]:
        """One forward pass in which every hidden value is a fresh leaf: the predictions
        (differentiable in their parents' leaves and in the parameters) and the leaves,
        whose values are the feed-forward values. Equal to predict_all at those values."""
        g = self.g
        values: Values = {g.inputs[0]: x}
        mus: Values = {}
        leaves: Values = {}
        for nid in g.hidden_and_output:
            mus[nid] = self._fn[nid](values, params)
            if nid != g.output:
                leaves[nid] = values[nid] = mus[nid].detach().requires_grad_(True)
            elif g.s.children[nid]:
                values[nid] = mus[nid].detach()
        return mus, leaves

    def forward(self, x: torch.Tensor, params: Params) -> Values:
        values = {self.g.inputs[0]: x}
        for nid in self.g.hidden_and_output:
            values[nid] = self._fn[nid](values, params)
        return values

    def losses(self, mu_out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Each example's loss, [B] (as CompiledGraph.loss, row by row)."""
        if self.g.config.graph.loss == "mse":
            return 0.5 * torch.sum((mu_out - target) ** 2, dim=1)
        return -torch.sum(target * torch.log_softmax(mu_out, dim=1), dim=1)


class threads:
    """Run a block with torch's intra-op threads set to n, then restore them. Small
    networks run fastest on one thread (and a loaded machine punishes more), so the
    reproductions, sweep workers and benchmarks use one."""

    def __init__(self, n: int = 1):
        self.n, self.before = n, torch.get_num_threads()

    def __enter__(self) -> threads:
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)
