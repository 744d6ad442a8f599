"""IL-prox (docs/rules.md): one linear layer takes exactly the proximal (implicit SGD) step."""

from __future__ import annotations

import pytest
import torch

from errorwave import ConfigInvalid, Engine
from tests.engine.builders import finished, mixed_dag, mlp, skip_dag


def single_layer(lr: float, bias: bool, eps: float = 0.0, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    h = (2 * torch.rand(4, generator=gen, dtype=torch.float64) - 1).tolist()
    t = (2 * torch.rand(3, generator=gen, dtype=torch.float64) - 1).tolist()
    return {"graph": {"nodes": [{"id": "x", "op": "input", "size": 4},
                                {"id": "y", "op": "linear", "inputs": ["x"], "size": 3,
                                 "bias": bias}], "output": "y"},
            "data": {"input": {"x": h}, "target": t},
            "rule": {"name": "ilprox", "lr": lr, "eps": eps}, "seeds": {"init": seed}}



@pytest.mark.parametrize("lr", [0.01, 0.3, 2.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_single_linear_layer_is_the_closed_form_proximal_step(lr, seed):
    engine = finished(single_layer(lr, bias=False, seed=seed))
    w = engine.params[("y", "weight", "x")]
    h, t = engine.example.inputs["x"], engine.example.target
    expect = lr / (1 + lr * h @ h) * torch.outer(t - w @ h, h)
    got = engine.rule.observe().updates[("y", "weight", "x")]
    assert float((got - expect).abs().max()) < 1e-12 * float(expect.abs().max())


def test_with_a_bias_the_bias_input_counts_in_the_energy():
    lr = 0.5
    engine = finished(single_layer(lr, bias=True))
    w, b = engine.params[("y", "weight", "x")], engine.params[("y", "bias", "")]
    h, t = engine.example.inputs["x"], engine.example.target
    k = lr / (1 + lr * (h @ h + 1))
    got = engine.rule.observe().updates
    assert torch.allclose(got[("y", "weight", "x")], k * torch.outer(t - w @ h - b, h), atol=1e-14)
    assert torch.allclose(got[("y", "bias", "")], k * (t - w @ h - b), atol=1e-14)


def test_tends_to_backprop_as_lr_shrinks():
    rels = [finished(single_layer(lr, bias=True)).divergence()["total"]["rel_l2"]
            for lr in (0.1, 0.01, 0.001)]
    assert rels[0] > rels[1] > rels[2]
    assert 5 < rels[0] / rels[1] < 20 and 5 < rels[1] / rels[2] < 20


@pytest.mark.parametrize("config", [mlp(3, "A", seed=2, rule={"name": "ilprox"}),
                                    skip_dag({"name": "ilprox"})])
def test_runs_on_dags_with_phases_and_a_single_update(config):
    engine = Engine(config)
    frames = [engine.frame] + engine.run()
    assert engine.halted is None
    assert [f["phase"] for f in frames[:-1]] == ["inference"] * (len(frames) - 1)
    assert frames[-1]["phase"] == "update"
    assert {e["node"] for e in frames[-1]["events"] if e["kind"] == "plasticity"} == set(
        engine.graph.param_nodes)
    assert frames[-1]["divergence"]["params"]["y"]["cosine"] > 0.9


def test_refusals():
    with pytest.raises(ConfigInvalid, match="half-MSE"):
        Engine(mlp(2, loss="cross_entropy", rule={"name": "ilprox"}))
    config = mixed_dag({"name": "ilprox"})
    config["graph"]["loss"] = "mse"
    config["data"]["target"] = [0.0, 1.0, 0.0]
    config["graph"]["nodes"].append({"id": "z", "op": "tanh", "inputs": ["y"]})
    config["graph"]["output"] = "z"
    with pytest.raises(ConfigInvalid, match="output must be a linear node"):
        Engine(config)
