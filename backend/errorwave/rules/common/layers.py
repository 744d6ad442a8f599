"""A linear vertex in two halves (pre-activation and output activation), its presynaptic
activity, elementwise slopes by autograd, and the mapping of a pre-activation signal to
its vertex's scale."""

from __future__ import annotations

from collections.abc import Callable

import torch

from errorwave.graph import CompiledGraph, Params, Values, activation_fn

# A slope below this is treated as zero when a pre-activation signal is divided by it.
FLAT_SLOPE = 1e-6


MatMul = Callable[[tuple, torch.Tensor, torch.Tensor], torch.Tensor]


def _plain_matmul(key: tuple, w: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return w @ h


def preactivation(g: CompiledGraph, nid: str, values: Values, params: Params,
                  matmul: MatMul = _plain_matmul) -> torch.Tensor:
    """a = sum_src W_src f_in(v_src) + b of a linear vertex (mu = f_out(a))."""
    node = g.nodes[nid]
    f_in = activation_fn(node.input_activation, node.negative_slope)
    terms = [matmul((nid, "weight", src), params[(nid, "weight", src)], f_in(values[src]))
             for src in node.inputs]  # a linear node has at least one input (validated)
    a = terms[0]
    for term in terms[1:]:
        a = a + term
    if node.bias:
        a = a + params[(nid, "bias", "")]
    return a


def out_activation(g: CompiledGraph, nid: str) -> Callable[[torch.Tensor], torch.Tensor]:
    node = g.nodes[nid]
    return activation_fn(node.activation, node.negative_slope)


def in_activation(g: CompiledGraph, nid: str) -> Callable[[torch.Tensor], torch.Tensor]:
    node = g.nodes[nid]
    return activation_fn(node.input_activation, node.negative_slope)


def presynaptic(g: CompiledGraph, nid: str, values: Values) -> list[torch.Tensor]:
    """The activity each incoming weight of a linear vertex multiplies: f_in(v_src)."""
    f_in = in_activation(g, nid)
    return [f_in(values[src]) for src in g.nodes[nid].inputs]


def presynaptic_energy(g: CompiledGraph, nid: str, values: Values) -> float:
    """||h||^2 over every incoming edge, plus 1 for the bias input when there is one."""
    energy = sum(float((h ** 2).sum()) for h in presynaptic(g, nid, values))
    return energy + (1.0 if g.nodes[nid].bias else 0.0)


def slope(fn: Callable[[torch.Tensor], torch.Tensor], a: torch.Tensor) -> torch.Tensor:
    """f'(a) of an elementwise function, by autograd."""
    leaf = a.detach().clone().requires_grad_(True)
    (d,) = torch.autograd.grad(fn(leaf).sum(), leaf, allow_unused=True)
    return torch.zeros_like(leaf) if d is None else d.detach()


def to_vertex_scale(signal: torch.Tensor, f_slope: torch.Tensor) -> torch.Tensor:
    """A signal on a vertex's pre-activation (e.g. -dL/da) put on its value's scale (-dL/dv)
    by dividing by the activation's slope f'(a); where the slope is flat (|f'| < 1e-6,
    e.g. a dead ReLU) the vertex cannot be read and 0 is shown."""
    flat = f_slope.abs() < FLAT_SLOPE
    safe = torch.where(flat, torch.ones_like(f_slope), f_slope)
    return torch.where(flat, torch.zeros_like(signal), signal / safe)
