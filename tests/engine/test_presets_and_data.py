"""Every preset validates and runs; built-in datasets are generated, seeded and learnable."""

from __future__ import annotations

import numpy as np
import pytest

from errorwave import Engine
from errorwave.datasets import dataset_shape, load
from errorwave.presets import get_preset, list_presets

PRESETS = [p["id"] for p in list_presets()]


def test_presets_exist():
    assert {"zil-mlp", "zil-mlp-no-init", "zil-mlp-no-unit-step", "zil-mlp-no-timing",
            "fpa-chain-gamma1", "fpa-chain-gamma01", "dag-skip-zil", "millidge-scalar",
            "pc-variance-1", "pc-variance-10", "pc-variance-100"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_runs(preset):
    config = get_preset(preset)
    assert config["title"] and config.get("description")
    engine = Engine(config)
    engine.run()
    assert engine.halted is None, preset


def test_preset_claims():
    def rel(pid):
        engine = Engine(get_preset(pid))
        engine.run()
        return engine.frame["divergence"]["total"]["rel_l2"]
    assert rel("zil-mlp") < 1e-12 and rel("fazil-mlp") < 1e-12 and rel("fpa-chain-gamma1") < 1e-12
    for pid in ("zil-mlp-no-init", "zil-mlp-no-unit-step", "zil-mlp-no-timing", "dag-skip-zil"):
        assert rel(pid) > 1e-2, pid
    assert rel("pc-variance-100") < rel("pc-variance-10") < rel("pc-variance-1")
    assert rel("millidge-scalar") < 1e-3


def test_unknown_preset():
    assert get_preset("nope") is None and get_preset("../etc/passwd") is None


@pytest.mark.parametrize("name", ["xor", "circles", "spirals", "digits"])
def test_datasets_seeded(name):
    x1, y1 = load(name, 200, 1)
    x2, y2 = load(name, 200, 1)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    d, k = dataset_shape(name)
    assert x1.shape[1] == d and set(np.unique(y1)) == set(range(k))
    if name != "xor":
        assert not np.array_equal(load(name, 200, 2)[0], x1)


def test_learning_applies_updates_then_moves_to_the_next_example():
    engine = Engine(get_preset("zil-mlp"))
    for _ in range(10):
        engine.next_example()
    losses = [row["loss"] for row in engine.history]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))  # one example, learned
    config = get_preset("pc-variance-10")
    config["rule"]["steps"] = 20
    engine = Engine(config)
    for _ in range(6):
        engine.next_example()
    assert [row["index"] for row in engine.history] == [1, 2, 3, 0, 1, 2]  # walks the dataset
    assert any((engine.params[k] != v).any() for k, v in engine.initial_params.items())
    engine.reset()
    assert all((engine.params[k] == v).all() for k, v in engine.initial_params.items())
