"""Standard PC approaches backprop as the output-variance ratio grows (docs/rules.md)."""

from __future__ import annotations

from errorwave import Engine
from tests.engine.builders import mlp


def test_relative_difference_shrinks_like_one_over_k():
    rels = {}
    for k in (1.0, 10.0, 100.0, 1000.0):
        engine = Engine(mlp(3, "A", seed=7, rule={"name": "pc", "steps": 400, "gamma": 0.2,
                                                  "output_variance": k}))
        engine.run()
        rels[k] = engine.frame["divergence"]["total"]["rel_l2"]
    assert rels[1.0] > 0.05  # k = 1 does not approximate backprop
    assert rels[1000.0] < rels[100.0] < rels[10.0] < rels[1.0]
    for k in (10.0, 100.0):
        ratio = rels[k] / rels[k * 10]
        assert 5 < ratio < 20, (k, ratio)


def test_weight_change_scaling_by_output_variance():
    cfg = mlp(3, "A", seed=7, rule={"name": "pc", "steps": 200, "output_variance": 100.0})
    on = Engine(cfg)
    on.run()
    cfg["rule"]["scale_lr_by_output_variance"] = False
    off = Engine(cfg)
    off.run()
    a = on.frame["updates"]["y"]["bias"][0]
    b = off.frame["updates"]["y"]["bias"][0]
    assert abs(a - 100.0 * b) < 1e-12 * abs(a) + 1e-15
