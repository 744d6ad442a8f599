"""Every zoo preset loads and runs to its end without diverging, and shows what it claims;
every zoo rule is registered with its settings and supported graphs."""

from __future__ import annotations

import pytest

from errorwave import Engine
from errorwave.presets import get_preset, list_presets
from errorwave.rules import registry

ZOO = sorted(p["id"] for p in list_presets() if p["id"].startswith("zoo-"))
RULES = ["fa", "dfa", "tp", "dtp", "gaitprop", "ilprox", "weight_perturbation",
         "node_perturbation", "eqprop"]


def finished(pid: str) -> Engine:
    engine = Engine(get_preset(pid))
    engine.run()
    assert engine.halted is None, pid
    assert engine.frame["done"]
    return engine


def test_zoo_presets_exist():
    assert {"zoo-fa-xor", "zoo-dfa-mlp4", "zoo-dtp-spirals", "zoo-gaitprop-orthogonal",
            "zoo-gaitprop-nonorthogonal", "zoo-node-perturbation", "zoo-weight-perturbation",
            "zoo-eqprop-beta050", "zoo-eqprop-beta010", "zoo-eqprop-beta001"} <= set(ZOO)


@pytest.mark.parametrize("pid", ZOO)
def test_zoo_preset_runs_to_its_end(pid):
    config = get_preset(pid)
    assert config["title"] and len(config["description"]) > 100
    assert config["rule"]["name"] in RULES
    engine = finished(pid)
    engine.next_example()  # and learns from it
    assert engine.halted is None and engine.history


def test_zoo_preset_claims():
    def total(pid):
        return finished(pid).divergence()["total"]

    assert total("zoo-gaitprop-orthogonal")["rel_l2"] < 1e-5
    non = finished("zoo-gaitprop-nonorthogonal").divergence()["params"]
    assert non["y"]["rel_l2"] < 1e-12 and non["h1"]["rel_l2"] > 1e-2
    rels = [total(f"zoo-eqprop-beta{b}")["rel_l2"] for b in ("050", "010", "001")]
    assert rels[0] > rels[1] > rels[2] and rels[2] < 0.05
    assert total("zoo-node-perturbation")["cosine"] > total("zoo-weight-perturbation")["cosine"]
    hop = finished("zoo-eqprop-hopfield").frame["readouts"]["equilibrium_gradient"]
    assert hop["rel_l2"] < 0.02


@pytest.mark.parametrize("name", RULES)
def test_registered_with_settings_and_support(name):
    described = registry[name].describe()
    assert described["title"] and described["description"] and described["supports"]
    assert any(p["name"] == "lr" for p in described["params"])
