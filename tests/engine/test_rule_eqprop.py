"""Equilibrium propagation (docs/rules.md): the update tends to the true gradient as beta -> 0,
O(beta) one-sided and O(beta^2) with symmetric nudging."""

from __future__ import annotations

import pytest

from errorwave import ConfigInvalid, Engine
from tests.engine.builders import finished, mlp, skip_dag


def rule(beta, symmetric=False, energy="hopfield", free=100, nudged=100):
    return {"name": "eqprop", "beta": beta, "symmetric": symmetric, "energy": energy,
            "free_steps": free, "nudged_steps": nudged, "epsilon": 0.5}


@pytest.mark.parametrize(("symmetric", "low", "high"), [(False, 6, 14), (True, 60, 140)])
def test_hopfield_update_tends_to_the_equilibrium_gradient(symmetric, low, high):
    rel = {b: finished(mlp(3, "B", seed=4, rule=rule(b, symmetric))).frame["readouts"][
        "equilibrium_gradient"]["rel_l2"] for b in (0.05, 0.005)}
    assert low < rel[0.05] / rel[0.005] < high, rel


@pytest.mark.parametrize(("symmetric", "low", "high"), [(False, 6, 14), (True, 60, 140)])
def test_predictive_energy_tends_to_backprop(symmetric, low, high):
    """On the predictive-coding energy the free equilibrium is the feed-forward pass, so the
    engine's own divergence from backprop shrinks with beta."""
    rel = {b: finished(mlp(3, "B", seed=4, rule=rule(b, symmetric, "predictive", 0))).divergence()[
        "total"]["rel_l2"] for b in (0.05, 0.005)}
    assert low < rel[0.05] / rel[0.005] < high, rel
    div = finished(mlp(3, "B", seed=4, rule=rule(1e-3, True, "predictive", 0))).divergence()
    assert div["total_nodes"]["rel_l2"] < 1e-5  # errors tend to -dL/dv too


def test_phases_in_frames():
    engine = Engine(mlp(3, "B", seed=1, rule={**rule(0.1, True), "free_steps": 3,
                                              "nudged_steps": 2}))
    frames = [engine.frame] + engine.run()
    assert [f["phase"] for f in frames] == ["free"] * 4 + ["nudged"] * 2 + ["nudged-"] * 2
    assert all(not any(f["updates"]["y"]["bias"]) for f in frames[:4])  # no update while free
    assert {e["node"] for e in frames[-1]["events"] if e["kind"] == "plasticity"} == {"h1", "h2", "y"}


def test_hopfield_needs_a_form_b_chain_predictive_runs_on_dags():
    with pytest.raises(ConfigInvalid, match="layered chain"):
        Engine(skip_dag(rule(0.1)))
    with pytest.raises(ConfigInvalid, match="input_activation 'tanh'"):
        Engine(mlp(3, "A", rule=rule(0.1)))
    div = finished(skip_dag(rule(1e-3, True, "predictive", 0, 60))).divergence()
    assert div["total"]["rel_l2"] < 1e-4


def strong_chain(seed: int, epsilon: float | None) -> dict:
    """A 4-layer tanh chain with weights of std 1: its energy's curvature makes a relaxation
    step of 0.5 unstable (the old default)."""
    import random

    cfg = mlp(4, "B", seed=seed, width=4)
    rng = random.Random(seed)
    sizes, params = {"x": 3}, {}
    for n in cfg["graph"]["nodes"][1:]:
        src = n["inputs"][0]
        params[n["id"]] = {"weight": {src: [[rng.gauss(0, 1) for _ in range(sizes[src])]
                                           for _ in range(n["size"])]}}
        sizes[n["id"]] = n["size"]
    cfg["params"] = params
    cfg["rule"] = {"name": "eqprop", "energy": "predictive"}
    if epsilon is not None:
        cfg["rule"]["epsilon"] = epsilon
    return cfg


@pytest.mark.parametrize("seed", range(3))
def test_default_step_comes_from_the_curvature_and_is_stable(seed):
    engine = Engine(strong_chain(seed, None))
    engine.run()
    assert engine.halted is None
    step = engine.frame["readouts"]["epsilon"]
    assert 0 < step < 0.5
    assert abs(engine.frame["energy"]) < 10


def test_an_unstable_step_halts_with_an_event_naming_node_and_step():
    engine = Engine(strong_chain(0, 0.5))
    frames = engine.run()
    halt = engine.halted
    assert halt is not None and halt["kind"] == "unstable"
    assert frames[-1]["t"] == halt["t"] < engine.steps
    (event,) = [e for e in frames[-1]["events"] if e["kind"] == "unstable"]
    assert event["node"] == halt["node"] and str(halt["t"]) in event["detail"]
    assert all(e["kind"] != "unstable" for f in frames[:-1] for e in f["events"])
    assert engine.step() is None  # halted like `diverged`
