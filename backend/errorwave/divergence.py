"""The one place that compares a rule with backprop (RULES.md section 0)."""

from __future__ import annotations

import math

import torch

Metrics = dict[str, float | None]


def compare(a: torch.Tensor, b: torch.Tensor) -> Metrics:
    """Cosine similarity, relative L2 distance ||a - b|| / ||b|| and max-abs difference of
    a rule's signal `a` against the reference `b`. Zero vs zero is exact; zero vs
    nonzero has cosine 0; rel_l2 is None (undefined) when only the reference is zero."""
    a = a.detach().reshape(-1).to(torch.float64)
    b = b.detach().reshape(-1).to(torch.float64)
    if a.numel() == 0:
        return {"cosine": 1.0, "rel_l2": 0.0, "max_abs": 0.0}
    na, nb = float(torch.linalg.vector_norm(a)), float(torch.linalg.vector_norm(b))
    diff = a - b
    max_abs = float(diff.abs().max())
    if not (math.isfinite(na) and math.isfinite(max_abs)):
        return {"cosine": None, "rel_l2": None, "max_abs": None}
    if na == 0.0 and nb == 0.0:
        return {"cosine": 1.0, "rel_l2": 0.0, "max_abs": 0.0}
    cosine = 0.0 if na == 0.0 or nb == 0.0 else float(torch.dot(a, b)) / (na * nb)
    rel = None if nb == 0.0 else float(torch.linalg.vector_norm(diff)) / nb
    return {"cosine": max(-1.0, min(1.0, cosine)), "rel_l2": rel, "max_abs": max_abs}


def flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])
