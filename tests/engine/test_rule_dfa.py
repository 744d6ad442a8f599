"""Direct feedback alignment (docs/rules.md)."""

from __future__ import annotations

import pytest

from errorwave import ConfigInvalid, Engine
from tests.engine.builders import finished, mlp, skip_dag


@pytest.mark.parametrize("depth", [2, 3, 5])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_output_layer_always_equals_backprop(depth, loss):
    div = finished(mlp(depth, "B", loss, seed=depth, rule={"name": "dfa"})).divergence()
    assert div["params"]["y"]["rel_l2"] < 1e-12 and div["nodes"]["y"]["rel_l2"] < 1e-12
    assert div["total"]["rel_l2"] > 1e-2


@pytest.mark.parametrize("form", ["A", "B"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_tied_feedback_equals_backprop_with_one_hidden_layer(form, loss):
    div = finished(mlp(2, form, loss, seed=4, rule={"name": "dfa", "feedback": "tied"})).divergence()
    assert div["total"]["rel_l2"] < 1e-12 and div["total_nodes"]["rel_l2"] < 1e-12


def test_tied_feedback_equals_backprop_on_a_deep_linear_net():
    div = finished(mlp(5, "B", seed=5, act="identity", rule={"name": "dfa", "feedback": "tied"})
                ).divergence()
    assert div["total"]["rel_l2"] < 1e-12 and div["total_nodes"]["rel_l2"] < 1e-12


def test_hidden_errors_arrive_together():
    engine = Engine(mlp(5, "B", seed=3, rule={"name": "dfa"}))
    frames = [engine.frame] + engine.run()
    assert len(frames) == 2
    arrived = {e["node"]: f["t"] for f in frames for e in f["events"] if e["kind"] == "error_arrived"}
    assert arrived == {"y": 0, "h1": 1, "h2": 1, "h3": 1, "h4": 1}
    assert [f["phase"] for f in frames] == ["output", "broadcast"]


def test_refuses_graphs_that_are_not_chains():
    with pytest.raises(ConfigInvalid, match="node 'h1' feeds 2 nodes"):
        Engine(skip_dag({"name": "dfa"}))
