"""The comparison with backprop (docs/rules.md), edge cases included."""

from __future__ import annotations

import torch

from errorwave.divergence import compare


def t(*v):
    return torch.tensor(v, dtype=torch.float64)


def test_identical():
    assert compare(t(1, 2, 3), t(1, 2, 3)) == {"cosine": 1.0, "rel_l2": 0.0, "max_abs": 0.0}


def test_zero_vs_zero_is_exact():
    assert compare(t(0, 0), t(0, 0)) == {"cosine": 1.0, "rel_l2": 0.0, "max_abs": 0.0}


def test_zero_vs_nonzero_has_cosine_zero():
    m = compare(t(0, 0), t(3, 4))
    assert m == {"cosine": 0.0, "rel_l2": 1.0, "max_abs": 4.0}
    m = compare(t(3, 4), t(0, 0))
    assert m["cosine"] == 0.0 and m["rel_l2"] is None and m["max_abs"] == 4.0


def test_scaled_and_opposite():
    m = compare(t(2, 4), t(1, 2))
    assert abs(m["cosine"] - 1) < 1e-15 and abs(m["rel_l2"] - 1) < 1e-15 and m["max_abs"] == 2.0
    assert abs(compare(t(-1, -2), t(1, 2))["cosine"] + 1) < 1e-15


def test_non_finite_gives_none():
    m = compare(t(float("nan"), 1), t(1, 1))
    assert m == {"cosine": None, "rel_l2": None, "max_abs": None}


def test_empty():
    assert compare(t(), t())["rel_l2"] == 0.0
