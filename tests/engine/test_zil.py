"""Z-IL equals backprop (docs/rules.md) under its three conditions, and only under them."""

from __future__ import annotations

import pytest

from errorwave import Engine
from tests.engine.builders import mlp, skip_dag


def final_rel(config) -> float:
    engine = Engine(config)
    engine.run()
    assert engine.halted is None
    return engine.frame["divergence"]["total"]["rel_l2"]


@pytest.mark.parametrize("depth", [2, 3, 5, 8])
@pytest.mark.parametrize("form", ["A", "B"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_zil_equals_backprop(depth, form, loss):
    for seed in range(2):
        config = mlp(depth, form, loss, seed=seed + 10 * depth, rule={"name": "zil", "lr": 0.1})
        engine = Engine(config)
        engine.run()
        div = engine.frame["divergence"]
        assert div["total"]["rel_l2"] < 1e-12
        for nid, m in div["params"].items():
            assert m["rel_l2"] < 1e-12, nid


def test_each_layer_fires_once_at_its_distance():
    engine = Engine(mlp(5, "B", seed=3))
    frames = [engine.frame] + engine.run()
    fired = {e["node"]: f["t"] for f in frames for e in f["events"] if e["kind"] == "plasticity"}
    assert fired == {"y": 0, "h4": 1, "h3": 2, "h2": 3, "h1": 4}


@pytest.mark.parametrize("change", [
    {"init": "perturbed"}, {"gamma": 0.5}, {"timing": "end"}, {"order": "weights_first"},
], ids=["no-init", "no-unit-step", "no-timing", "weights-first"])
@pytest.mark.parametrize("form", ["A", "B"])
def test_dropping_a_condition_breaks_exactness(change, form):
    rel = final_rel(mlp(4, form, seed=5, rule={"name": "zil", "lr": 0.1, **change}))
    assert rel > 1e-3


def test_float32_residual_is_rounding():
    rel = final_rel(mlp(5, "B", seed=6, rule={"name": "zil"}, dtype="float32"))
    assert 0 <= rel < 1e-5


def test_plain_zil_is_not_exact_with_a_skip_connection():
    rel = final_rel(skip_dag({"name": "zil"}))
    assert rel > 1e-2


def test_fazil_equals_zil():
    for depth, form in [(3, "A"), (5, "B"), (6, "A")]:
        cfg = mlp(depth, form, seed=depth, rule={"name": "zil", "lr": 0.1})
        zil = Engine(cfg)
        zil.run()
        for t_d in (1, 2, 7):
            cfg["rule"] = {"name": "fazil", "lr": 0.1, "t_d": t_d}
            fa = Engine(cfg)
            fa.run()
            assert fa.frame["updates"] == zil.frame["updates"], (depth, t_d)
            assert fa.frame["divergence"]["total"]["rel_l2"] < 1e-12


def test_fazil_prediction_period_is_silent():
    engine = Engine(mlp(4, "B", seed=1, rule={"name": "fazil", "t_d": 2}))
    frames = [engine.frame] + engine.run()
    period = max(2, engine.structure.depth)
    for f in frames[:period]:
        assert f["phase"] == "prediction"
        assert not any(e["kind"] == "plasticity" for e in f["events"])
        assert all(not any(n["error"]) for n in f["nodes"].values())
    assert frames[period]["phase"] == "inference"
