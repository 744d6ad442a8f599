"""Feedback alignment (docs/rules.md): tied feedback is backprop, the output layer always is,
random feedback is fixed and seeded, and in training the hidden update comes to align."""

from __future__ import annotations

import pytest

from errorwave import ConfigInvalid, Engine
from errorwave.presets import get_preset
from tests.engine.builders import finished, mixed_dag, mlp, skip_dag


@pytest.mark.parametrize("form", ["A", "B"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_tied_feedback_equals_backprop_on_chains(form, loss):
    for depth in (2, 4):
        div = finished(mlp(depth, form, loss, seed=depth, rule={"name": "fa", "feedback": "tied"})
                    ).divergence()
        assert div["total"]["rel_l2"] < 1e-12
        assert div["total_nodes"]["rel_l2"] < 1e-12


@pytest.mark.parametrize("build", [skip_dag, mixed_dag])
def test_tied_feedback_equals_backprop_on_dags(build):
    div = finished(build({"name": "fa", "feedback": "tied"})).divergence()
    assert div["total"]["rel_l2"] < 1e-12 and div["total_nodes"]["rel_l2"] < 1e-12


@pytest.mark.parametrize("config", [mlp(3, "B", seed=1, rule={"name": "fa"}),
                                    mlp(4, "A", "cross_entropy", seed=2, rule={"name": "fa"}),
                                    skip_dag({"name": "fa"})])
def test_output_layer_always_equals_backprop(config):
    div = finished(config).divergence()
    assert div["params"]["y"]["rel_l2"] < 1e-12
    assert div["nodes"]["y"]["rel_l2"] < 1e-12
    # ... and the hidden layers do not (random feedback)
    assert div["total"]["rel_l2"] > 1e-2


def test_feedback_is_fixed_and_seeded():
    a, b = finished(mlp(3, "B", seed=1, rule={"name": "fa"})), finished(mlp(3, "B", seed=1,
                                                                     rule={"name": "fa"}))
    assert a.frame["updates"] == b.frame["updates"]
    # the same B for the next example (kept in memory), a different B for another init seed
    first = a.rule.B
    a.next_example()
    assert a.rule.B is first
    c = finished(mlp(3, "B", seed=2, rule={"name": "fa"}))
    assert any((c.rule.B[k] != first[k]).any() for k in first if k in c.rule.B)


def test_errors_arrive_one_vertex_depth_per_step():
    engine = Engine(mlp(4, "B", seed=3, rule={"name": "fa"}))
    frames = [engine.frame] + engine.run()
    arrived = {e["node"]: f["t"] for f in frames for e in f["events"] if e["kind"] == "error_arrived"}
    assert arrived == {"y": 0, "h3": 1, "h2": 2, "h1": 3}
    assert frames[-1]["phase"] == "update" and frames[0]["phase"] == "backward"


def test_alignment_angle_falls_while_learning_xor():
    engine = Engine(get_preset("zoo-fa-xor"))
    for _ in range(240):
        engine.next_example()
    angles = [row["angle"]["h"] for row in engine.history]
    early = sum(angles[:40]) / 40
    late = sum(angles[-40:]) / 40
    assert early > 100 and late < 85, (early, late)
    assert sum(r["loss"] for r in engine.history[-8:]) < 0.1 * sum(
        r["loss"] for r in engine.history[:8])


def test_feedback_angle_readout():
    engine = finished(mlp(3, "B", seed=1, rule={"name": "fa", "feedback": "tied"}))
    assert all(a is not None and a < 1e-3 for a in engine.frame["readouts"]["feedback_angle_deg"].values())


def test_fa_runs_on_any_dag_but_validates_settings():
    with pytest.raises(ConfigInvalid):
        Engine(mlp(2, rule={"name": "fa", "feedback": "transpose"}))
