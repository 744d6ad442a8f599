"""Equilibrium propagation (RULES.md §11): the update tends to the true gradient as beta -> 0,
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
