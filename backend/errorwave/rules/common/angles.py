"""The angle between two updates or matrices, in degrees."""

from __future__ import annotations

import math

import torch


def angle_deg(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """Angle between two tensors (flattened) in degrees; None if either is zero."""
    a, b = a.reshape(-1).to(torch.float64), b.reshape(-1).to(torch.float64)
    na, nb = float(a.norm()), float(b.norm())
    if na == 0.0 or nb == 0.0:
        return None
    c = max(-1.0, min(1.0, float(a @ b) / (na * nb)))
    return math.degrees(math.acos(c))
