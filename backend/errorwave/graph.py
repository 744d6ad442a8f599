"""Compile a checked configuration to torch: local predictions, forward pass, backprop.

Every vertex i has a local function mu_i = f_i(v_parents(i); theta_i). Rules work
on these local functions; backprop runs torch autograd through their composition.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from errorwave.config import Config, Node
from errorwave.structure import Structure

# A parameter is named by its vertex and either ("weight", source) or ("bias", "").
ParamKey = tuple[str, str, str]
Params = dict[ParamKey, torch.Tensor]
Values = dict[str, torch.Tensor]

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def activation_fn(name: str, negative_slope: float = 0.01) -> Callable[[torch.Tensor], torch.Tensor]:
    table: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "identity": lambda v: v,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "leaky_relu": lambda v: F.leaky_relu(v, negative_slope),
        "softplus": F.softplus,
        "sin": torch.sin,
        "cos": torch.cos,
        "tan": torch.tan,
        "exp": torch.exp,
        "square": torch.square,
        "sqrt": torch.sqrt,
    }
    return table[name]


class CompiledGraph:
    """A configuration's graph as torch operations, with its checked structure."""

    def __init__(self, config: Config, structure: Structure):
        self.config = config
        self.s = structure
        self.dtype = DTYPES[config.dtype]
        self.nodes: dict[str, Node] = {n.id: n for n in config.graph.nodes}
        self.order = structure.order
        self.output = structure.output
        self.inputs = structure.inputs
        # Vertices with a prediction (everything but inputs), in topological order.
        self.hidden_and_output = [n for n in self.order if self.nodes[n].op != "input"]
        self.hidden = [n for n in self.hidden_and_output if n != self.output]
        self.param_keys: list[ParamKey] = []
        for nid in self.order:
            node = self.nodes[nid]
            if node.op == "linear":
                self.param_keys += [(nid, "weight", src) for src in node.inputs]
                if node.bias:
                    self.param_keys.append((nid, "bias", ""))
        self.param_nodes = sorted({k[0] for k in self.param_keys}, key=self.order.index)
        self._fn = {nid: self._local_fn(self.nodes[nid]) for nid in self.hidden_and_output}

    # ----- parameters -------------------------------------------------------------
    def init_params(self) -> Params:
        """Like torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every weight and
        bias, fan_in summed over a vertex's incoming edges; drawn in topological order
        from seeds.init, then overridden by explicit `params` (drawing all first keeps
        the other draws independent of which ones are given)."""
        gen = torch.Generator().manual_seed(self.config.seeds.init)
        params: Params = {}
        for key in self.param_keys:
            nid, kind, src = key
            fan_in = sum(self.s.sizes[p] for p in self.nodes[nid].inputs)
            bound = 1.0 / math.sqrt(fan_in)
            shape = (self.s.sizes[nid], self.s.sizes[src]) if kind == "weight" else (self.s.sizes[nid],)
            u = torch.rand(shape, generator=gen, dtype=torch.float64)
            params[key] = ((2 * u - 1) * bound).to(self.dtype)
        for nid, given in self.config.params.items():
            for src, w in given.weight.items():
                params[(nid, "weight", src)] = torch.tensor(w, dtype=self.dtype)
            if given.bias is not None:
                params[(nid, "bias", "")] = torch.tensor(given.bias, dtype=self.dtype)
        return params

    def nest(self, flat: Params) -> dict[str, dict]:
        """{node: {"weight": {src: [[..]]}, "bias": [..] | None}} for JSON."""
        out: dict[str, dict] = {}
        for nid in self.param_nodes:
            out[nid] = {"weight": {}, "bias": None}
        for (nid, kind, src), t in flat.items():
            if kind == "weight":
                out[nid]["weight"][src] = t.tolist()
            else:
                out[nid]["bias"] = t.tolist()
        return out

    # ----- local functions -------------------------------------------------------------
    def _local_fn(self, node: Node) -> Callable[[Values, Params], torch.Tensor]:
        nid = node.id
        if node.op == "linear":
            f_in = activation_fn(node.input_activation, node.negative_slope)
            f_out = activation_fn(node.activation, node.negative_slope)
            srcs = list(node.inputs)
            has_bias = node.bias

            def linear(v: Values, p: Params) -> torch.Tensor:
                s = p[(nid, "weight", srcs[0])] @ f_in(v[srcs[0]])
                for src in srcs[1:]:
                    s = s + p[(nid, "weight", src)] @ f_in(v[src])
                if has_bias:
                    s = s + p[(nid, "bias", "")]
                return f_out(s)

            return linear
        srcs = list(node.inputs)
        if node.op == "add":
            return lambda v, p: torch.stack([v[s] for s in srcs]).sum(0)
        if node.op == "mul":
            def mul(v: Values, p: Params) -> torch.Tensor:
                out = v[srcs[0]]
                for s in srcs[1:]:
                    out = out * v[s]
                return out
            return mul
        fn = activation_fn(node.op, node.negative_slope)
        return lambda v, p: fn(v[srcs[0]])

    def predict(self, nid: str, values: Values, params: Params) -> torch.Tensor:
        """mu_i from the current values of i's parents."""
        return self._fn[nid](values, params)

    def predict_all(self, values: Values, params: Params) -> Values:
        """Every prediction from the given values (not a forward pass: no chaining).

        The output has no value variable of its own in the predictive rules (it is its
        prediction plus the loss), so a vertex that reads the output reads mu_out,
        detached: the target acts through the loss, and no error flows from the
        output's children back through the output into its parents."""
        mus: Values = {}
        for nid in self.hidden_and_output:
            mus[nid] = self._fn[nid](values, params)
            if nid == self.output and nid not in values and self.s.children[nid]:
                values = {**values, nid: mus[nid].detach()}
        return mus

    def forward(self, inputs: Values, params: Params) -> Values:
        values = dict(inputs)
        for nid in self.hidden_and_output:
            values[nid] = self._fn[nid](values, params)
        return values

    # ----- loss -------------------------------------------------------------------------
    def loss(self, mu_out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.config.graph.loss == "mse":
            return 0.5 * torch.sum((mu_out - target) ** 2)
        return -torch.sum(target * torch.log_softmax(mu_out, dim=0))

    def output_error(self, mu_out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """eps_out = -dL/dmu_out (y - mu for the half-MSE), by autograd."""
        mu = mu_out.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.loss(mu, target), mu)
        return -g

    # ----- backprop -----------------------------------------------------------------------
    def backprop(self, inputs: Values, target: torch.Tensor, params: Params
                 ) -> tuple[Values, torch.Tensor, Values, Params]:
        """Feed-forward values, loss, adjoints dL/dv_i and gradients dL/dtheta."""
        leaves = {k: t.detach().clone().requires_grad_(True) for k, t in params.items()}
        # Inputs require grad too, so that every value is differentiable (a vertex fed by
        # inputs alone, like y0^2, has no parameter upstream).
        values = {n: v.detach().clone().requires_grad_(True) for n, v in inputs.items()}
        for nid in self.hidden_and_output:
            values[nid] = self._fn[nid](values, leaves)
        loss = self.loss(values[self.output], target)
        outs = [values[n] for n in self.hidden_and_output] + [leaves[k] for k in self.param_keys]
        grads = torch.autograd.grad(loss, outs, allow_unused=True)
        adjoint: Values = {n: torch.zeros(self.s.sizes[n], dtype=self.dtype) for n in self.order}
        for nid, g in zip(self.hidden_and_output, grads, strict=False):
            if g is not None:
                adjoint[nid] = g.detach()
        pgrads: Params = {}
        for k, g in zip(self.param_keys, grads[len(self.hidden_and_output):], strict=True):
            pgrads[k] = torch.zeros_like(params[k]) if g is None else g.detach()
        ff = {n: v.detach() for n, v in values.items()}
        return ff, loss.detach(), adjoint, pgrads
