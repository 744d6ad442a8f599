"""Vector-Jacobian products and fresh parameter leaves (every derivative by torch autograd)."""

from __future__ import annotations

import torch

from errorwave.graph import Params


def vjp(outputs: list[torch.Tensor], inputs: list[torch.Tensor],
        cotangents: list[torch.Tensor], retain: bool = False) -> list[torch.Tensor]:
    """Vector-Jacobian products; zeros for inputs the outputs do not depend on."""
    grads = torch.autograd.grad(outputs, inputs, grad_outputs=cotangents, retain_graph=retain,
                                allow_unused=True)
    return [torch.zeros_like(x) if gr is None else gr.detach() for x, gr in zip(inputs, grads,
                                                                             strict=True)]


def leaves(params: Params) -> Params:
    return {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
