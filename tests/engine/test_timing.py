"""The timing theorem (docs/rules.md) and FPA-PC's exactness and convergence (§3)."""

from __future__ import annotations

import pytest

from errorwave import Engine
from tests.engine.builders import mlp, skip_dag


def first_nonzero(frames) -> dict[str, int]:
    seen: dict[str, int] = {}
    for f in frames:
        for nid, n in f["nodes"].items():
            if nid not in seen and any(v != 0 for v in n["error"]):
                seen[nid] = f["t"]
    return seen


@pytest.mark.parametrize("rule", [
    {"name": "fpa", "gamma": 1.0, "steps": 9},
    {"name": "fpa", "gamma": 0.3, "steps": 9},
    {"name": "pc", "gamma": 0.3, "steps": 9, "output_variance": 1.0},
    {"name": "pc", "gamma": 0.1, "steps": 9},
    {"name": "zil"},
], ids=["fpa-1", "fpa-0.3", "pc-k1", "pc-k10", "zil"])
def test_error_first_arrives_at_distance_on_chains(rule):
    engine = Engine(mlp(7, "B", seed=4, rule=rule))
    frames = [engine.frame] + engine.run()
    arrived = first_nonzero(frames)
    for nid in engine.graph.hidden_and_output:
        assert arrived[nid] == engine.structure.shortest[nid], nid
    events = {e["node"]: f["t"] for f in frames for e in f["events"] if e["kind"] == "error_arrived"}
    assert events == arrived


def test_fpa_on_dag_arrives_at_shortest_distance_exact_at_longest():
    engine = Engine(skip_dag({"name": "fpa", "gamma": 1.0, "steps": 5}))
    frames = [engine.frame] + engine.run()
    assert first_nonzero(frames)["h1"] == 1  # shortest path: h1 -> y
    for f in frames:
        m = f["divergence"]["nodes"]["h1"]
        if f["t"] >= 3:  # longest path: h1 -> h2 -> h3 -> y
            assert m["rel_l2"] < 1e-12, f["t"]
        else:
            assert m["rel_l2"] is None or m["rel_l2"] > 1e-3, f["t"]


@pytest.mark.parametrize("depth", [3, 6])
def test_fpa_unit_step_exact_from_number_of_hidden_layers_not_before(depth):
    engine = Engine(mlp(depth, "B", seed=depth, rule={"name": "fpa", "gamma": 1.0, "steps": depth + 2}))
    frames = [engine.frame] + engine.run()
    hidden = depth - 1
    for f in frames:
        rel = f["divergence"]["total"]["rel_l2"]
        if f["t"] >= hidden:
            assert rel < 1e-12, f["t"]
        else:
            assert rel > 1e-3, f["t"]


def test_fpa_small_step_converges_geometrically_never_exact():
    engine = Engine(mlp(4, "B", seed=2, rule={"name": "fpa", "gamma": 0.2, "steps": 200}))
    frames = [engine.frame] + engine.run()
    rels = [f["divergence"]["total"]["rel_l2"] for f in frames]
    assert all(b < a for a, b in zip(rels[3:150], rels[4:151], strict=True))  # monotone
    assert rels[100] > 1e-10  # not exact after 100 steps, where gamma = 1 needs 3
    assert rels[160] < 1e-12
    # geometric: the distance shrinks by a steady factor, about (1 - gamma)^10 per 10 steps
    r1, r2 = rels[110] / rels[100], rels[150] / rels[140]
    assert r1 < 0.2 and r2 < 0.2 and abs(r1 - r2) < 0.02


def test_standard_pc_leaks_forward_on_a_dag():
    """Under standard PC a vertex can see an error before its shortest distance: h2's
    prediction moves when its parent h1 moves (which the skip edge reaches first)."""
    engine = Engine(skip_dag({"name": "pc", "gamma": 0.5, "steps": 4, "output_variance": 1.0}))
    frames = [engine.frame] + engine.run()
    assert first_nonzero(frames)["h2"] < engine.structure.shortest["h2"]


@pytest.mark.parametrize("gamma", [0.3, 0.5, 1.0])
def test_fpa_errors_follow_the_binomial_law_frame_by_frame(gamma):
    """On a chain, FPA's error at distance d after t steps is P(Bin(t, gamma) >= d) times
    backprop's -dL/dv: each step moves a fraction gamma of the error one layer down."""
    from math import comb

    engine = Engine(mlp(4, "B", seed=7, rule={"name": "fpa", "gamma": gamma, "steps": 8}))
    frames = [engine.frame] + engine.run()
    snap = engine.snapshot()
    for frame in frames:
        t = frame["t"]
        for nid in ("h1", "h2", "h3"):
            d = snap["graph"]["nodes"][nid]["distance"]["shortest"]
            p = sum(comb(t, k) * gamma ** k * (1 - gamma) ** (t - k) for k in range(d, t + 1))
            want = [-p * a for a in snap["backprop"]["adjoint"][nid]]
            got = frame["nodes"][nid]["error"]
            assert all(abs(g - w) <= 1e-13 * (1 + abs(w)) for g, w in zip(got, want, strict=True)), \
                (t, nid)
