"""Fa-Z-IL makes Z-IL's updates on every graph Z-IL runs on: dead ReLU units, leaky
ReLUs, vertices with no path to the output and outputs with children included."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from errorwave import Engine
from tests.engine.builders import mlp, skip_dag


def run(config: dict[str, Any]) -> tuple[Engine, list[dict[str, Any]]]:
    engine = Engine(config)
    frames = [engine.frame] + engine.run()
    assert engine.halted is None
    return engine, frames


def with_rule(config: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    out["rule"] = rule
    return out


def assert_fazil_is_zil(config: dict[str, Any], t_d: int = 1) -> tuple[Engine, Engine]:
    zil, _ = run(with_rule(config, {"name": "zil", "lr": 0.1}))
    fa, frames = run(with_rule(config, {"name": "fazil", "lr": 0.1, "t_d": t_d}))
    assert fa.frame["updates"] == zil.frame["updates"]
    fired = [e["node"] for f in frames for e in f["events"] if e["kind"] == "plasticity"]
    assert len(fired) == len(set(fired)), f"a vertex learned twice: {fired}"
    return zil, fa


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("seed", range(4))
def test_relu_chains_equal_zil_and_backprop(act, seed):
    config = mlp(5, "A", seed=seed, act=act, width=6)
    zil, fa = assert_fazil_is_zil(config)
    assert fa.frame["divergence"]["total"]["rel_l2"] < 1e-12
    for nid, m in fa.frame["divergence"]["params"].items():
        assert m["rel_l2"] < 1e-12, nid


def test_relu_chain_has_dead_units_that_stay_silent():
    # Precondition: units whose true error is 0 when the front passes, and which turn
    # nonzero later from bottom-up relaxation (what reopened the old gate).
    config = mlp(5, "A", seed=1, act="relu", width=6)
    zil, fa = assert_fazil_is_zil(config)
    bp, _ = run(with_rule(config, {"name": "backprop", "lr": 0.1}))
    zero_grad_rows = [
        (nid, i) for nid, node in bp.frame["updates"].items() if node["bias"] is not None
        for i, b in enumerate(node["bias"]) if b == 0]
    assert zero_grad_rows, "the test graph must have units with a zero gradient"
    for nid, i in zero_grad_rows:
        assert fa.frame["updates"][nid]["bias"][i] == 0, (nid, i)


def test_hand_set_relu_bias_does_not_learn():
    # h2's second unit is dead at the feed-forward point (pre-activation -1 < 0): its
    # gradient is 0, and it must not learn when h1's later move wakes it up.
    config = {
        "graph": {"nodes": [
            {"id": "x", "op": "input", "size": 1},
            {"id": "h1", "op": "linear", "inputs": ["x"], "size": 1},
            {"id": "h2", "op": "linear", "inputs": ["h1"], "size": 2, "input_activation": "relu"},
            {"id": "y", "op": "linear", "inputs": ["h2"], "size": 1, "input_activation": "relu"}],
            "output": "y"},
        "params": {"h1": {"weight": {"x": [[1.0]]}, "bias": [0.0]},
                   "h2": {"weight": {"h1": [[1.0], [1.0]]}, "bias": [0.5, -1.5]},
                   "y": {"weight": {"h2": [[1.0, 1.0]]}, "bias": [0.0]}},
        "data": {"input": {"x": [1.0]}, "target": [0.0]},
        "rule": {"name": "zil"}, "seeds": {"init": 0}}
    bp, _ = run(with_rule(config, {"name": "backprop", "lr": 0.1}))
    zil, fa = assert_fazil_is_zil(config)
    assert bp.frame["updates"]["y"]["bias"] == fa.frame["updates"]["y"]["bias"]
    assert fa.frame["divergence"]["total"]["rel_l2"] < 1e-12


@pytest.mark.parametrize("t_d", [1, 3])
def test_dangling_vertex_never_learns(t_d):
    config = mlp(3, "B", seed=2)
    config["graph"]["nodes"].append(
        {"id": "side", "op": "linear", "inputs": ["h1"], "size": 2, "activation": "tanh"})
    zil, fa = assert_fazil_is_zil(config, t_d=t_d)
    assert all(v == 0 for row in fa.frame["updates"]["side"]["weight"]["h1"] for v in row)
    assert fa.frame["divergence"]["total"]["rel_l2"] < 1e-12


def test_skip_dag_equals_zil():
    # Z-IL itself is not backprop here; Fa-Z-IL must still be Z-IL.
    assert_fazil_is_zil(skip_dag(seed=3), t_d=2)


@pytest.mark.parametrize("rule", ["pc", "fpa", "zil", "fazil", "backprop", "fa", "ilprox",
                                  "weight_perturbation", "node_perturbation"])
def test_output_with_children_runs(rule):
    config = mlp(3, "B", seed=4)
    config["graph"]["nodes"].append({"id": "after", "op": "linear", "inputs": ["y"], "size": 2,
                                     "activation": "tanh"})
    config["graph"]["nodes"].append({"id": "after2", "op": "linear", "inputs": ["after"], "size": 2})
    config["rule"] = {"name": rule}
    engine, frames = run(config)
    assert all(f["energy"] == f["energy"] for f in frames)  # finite, not NaN
    if rule in ("zil", "fazil", "backprop"):
        # No path from `after2` to the output: no gradient, no update.
        assert all(v == 0 for row in engine.frame["updates"]["after2"]["weight"]["after"] for v in row)


def test_prediction_period_shorter_than_t_d_is_refused():
    from errorwave.validation import ConfigInvalid

    config = mlp(3, "B", seed=1, rule={"name": "fazil", "t_d": 4, "prediction_steps": 2})
    with pytest.raises(ConfigInvalid, match="t_d"):
        Engine(config)
