"""The decision boundary sent with the learning rows: the engine's own forward pass over a
grid of the input plane, for 2-D datasets only."""

from __future__ import annotations

import math

import pytest
import torch

from errorwave import Engine
from errorwave.boundary import GRID, decision_boundary
from errorwave.presets import get_preset


@pytest.mark.parametrize("preset", ["zoo-fa-xor", "zoo-dtp-spirals"])
def test_grid_is_the_forward_pass(preset):
    e = Engine(get_preset(preset))
    b = decision_boundary(e.graph, e.params, e.config)
    assert b is not None
    assert len(b["x"]) == len(b["y"]) == GRID and len(b["z"]) == GRID and len(b["z"][0]) == GRID
    assert b["points"] and {p["label"] for p in b["points"]} <= {0, 1}
    # spot-check three grid points against a plain forward pass, one point at a time
    g = e.graph
    for i, j in [(0, 0), (GRID // 2, GRID // 3), (GRID - 1, GRID - 1)]:
        x = torch.tensor([b["x"][j], b["y"][i]], dtype=g.dtype)
        out = g.forward({g.inputs[0]: x}, e.params)[g.output]
        score = float(out[0]) if out.numel() == 1 else float(out[1] - out[0])
        assert math.isclose(b["z"][i][j], score, rel_tol=1e-9, abs_tol=1e-12)
    # the data lie inside the grid
    xs = [p["x"] for p in b["points"]]
    assert b["x"][0] < min(xs) and max(xs) < b["x"][-1]


def test_rows_carry_the_boundary_after_the_update():
    e = Engine(get_preset("zoo-fa-xor"))
    before = decision_boundary(e.graph, e.params, e.config)
    e.next_example()
    e.next_example()
    rows = e.history
    assert rows[-1]["boundary"] is not None
    assert "boundary" not in rows[0]  # only the newest row keeps it
    assert rows[-1]["boundary"] == decision_boundary(e.graph, e.params, e.config)
    assert rows[-1]["boundary"]["z"] != before["z"]  # learning moved it


def test_no_boundary_without_a_planar_dataset():
    e = Engine(get_preset("zil-mlp"))
    assert decision_boundary(e.graph, e.params, e.config) is None
    e.next_example()
    assert e.history[-1]["boundary"] is None
