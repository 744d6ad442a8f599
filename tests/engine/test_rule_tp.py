"""Target propagation and difference target propagation (docs/rules.md)."""

from __future__ import annotations

import pytest
import torch

from errorwave import ConfigInvalid, Engine
from tests.engine.builders import finished, mlp, skip_dag


@pytest.mark.parametrize("rule", ["tp", "dtp"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_output_and_top_hidden_layer_equal_backprop(rule, loss):
    """The output learns by its gradient; the first target (last hidden layer) is a gradient
    step, and the local loss / eta_hat puts its update on backprop's scale exactly."""
    div = finished(mlp(4, "B", loss, seed=2, rule={"name": rule})).divergence()
    for nid in ("y", "h3"):
        assert div["params"][nid]["rel_l2"] < 1e-12, nid
        assert div["nodes"][nid]["rel_l2"] < 1e-12, nid
    assert div["total"]["rel_l2"] > 1e-2  # no backprop equality below


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dtp_zero_target_step_gives_zero_target_step_below(seed):
    engine = Engine(mlp(5, "B", seed=seed, rule={"name": "dtp"}))
    rule, ff = engine.rule, engine.rule.ctx.feedforward
    for nid in rule.inverses:  # any g: the (random, untrained) inverses of a fresh engine
        below = rule.target_below(nid, ff[nid])
        assert torch.equal(below, ff[rule.below[nid]]) or float(
            (below - ff[rule.below[nid]]).abs().max()) < 1e-15
    tp = Engine(mlp(5, "B", seed=seed, rule={"name": "tp"})).rule
    assert max(float((tp.target_below(n, ff[n]) - ff[tp.below[n]]).abs().max())
               for n in tp.inverses) > 1e-3


def test_with_exact_inverses_dtp_equals_tp():
    dtp = Engine(mlp(4, "B", seed=3, width=3, n_in=3, rule={"name": "dtp"})).rule
    tp = Engine(mlp(4, "B", seed=3, width=3, n_in=3, rule={"name": "tp"})).rule
    p = dtp.ctx.params

    def exact(nid, h):  # the true inverse of layer nid = tanh(W h_below + b)
        w, b = p[(nid, "weight", dtp.below[nid])], p[(nid, "bias", "")]
        return torch.linalg.solve(w, torch.atanh(h) - b)

    dtp.g_inverse = exact
    tp.g_inverse = exact
    for nid in dtp.inverses:
        target = dtp.ctx.feedforward[nid] + 0.01
        diff = dtp.target_below(nid, target) - tp.target_below(nid, target)
        assert float(diff.abs().max()) < 1e-12


def test_error_shown_is_target_minus_value_and_step_schedule():
    engine = Engine(mlp(4, "B", seed=1, rule={"name": "dtp"}))
    frames = [engine.frame] + engine.run()
    assert [f["phase"] for f in frames] == ["output", "targets", "targets", "targets", "inverse"]
    arrived = {e["node"]: f["t"] for f in frames for e in f["events"] if e["kind"] == "error_arrived"}
    assert arrived == {"y": 0, "h3": 1, "h2": 2, "h1": 3}
    rule = engine.rule
    for nid in ("h1", "h2", "h3"):
        node = frames[-1]["nodes"][nid]
        expect = (rule.targets[nid] - rule.ctx.feedforward[nid]).tolist()
        assert node["error"] == pytest.approx(expect, abs=1e-15)
        assert [v - p for v, p in zip(node["value"], node["prediction"], strict=True)] == \
            pytest.approx(expect, abs=1e-12)


def test_inverses_persist_and_learn_across_examples():
    config = mlp(3, "B", seed=4, width=6, rule={"name": "dtp", "inverse_lr": 0.1, "noise": 0.1,
                                                "inverse_steps": 5})
    engine = Engine(config)
    first = engine.frame["readouts"]["reconstruction"]["h2"]
    key = "dtp:inverses"
    v0 = engine.memory[key]["h2"][0].clone()
    for _ in range(60):
        engine.next_example()
    assert not torch.equal(engine.memory[key]["h2"][0], v0)
    assert engine.rule.inverses is engine.memory[key]
    assert engine.frame["readouts"]["reconstruction"]["h2"] < 0.5 * first
    engine.reset()
    assert torch.equal(engine.memory[key]["h2"][0], v0)


@pytest.mark.parametrize("rule", ["tp", "dtp"])
def test_refuses_graphs_that_are_not_chains(rule):
    with pytest.raises(ConfigInvalid, match="layered chain"):
        Engine(skip_dag({"name": rule}))
