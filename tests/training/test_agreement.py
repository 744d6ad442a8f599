"""The batched training path agrees with the frame engine: a batch of one example gives
`Engine`'s update to 1e-12 for every rule, example after example (rule memory and seeds
carried alike), and a vectorised rule's batch equals the mean of its per-example updates."""

from __future__ import annotations

import pytest
import torch

from errorwave.engine import Engine
from errorwave.issues import ConfigInvalid
from errorwave.rules import registry
from errorwave.training import VECTORISED, PerExample, Trainer, batch_rule
from errorwave.training.configs import mlp

ONE_AT_A_TIME = {"epochs": 1, "batch_size": 1, "test_split": 0.0, "shuffle": False, "max_examples": 3}
SHORT = {"fpa": {"steps": 6}, "pc": {"steps": 8}, "eqprop": {"free_steps": 8, "nudged_steps": 6},
         "node_perturbation": {"trials": 20}, "weight_perturbation": {"trials": 20}}


def candidates(rule: str) -> list[dict]:
    extra = SHORT.get(rule, {})
    spec = {"name": rule, **extra}
    return [
        mlp("circles", [4, 3], spec, loss="mse", samples=40, training=ONE_AT_A_TIME),
        mlp("circles", [3], spec, loss="cross_entropy", samples=40, training=ONE_AT_A_TIME),
        mlp("circles", [2, 2], spec, activation="leaky_relu", loss="mse", samples=40,
            training=ONE_AT_A_TIME),
    ]


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize("rule", sorted(registry))
def test_batch_of_one_is_the_engine(rule: str) -> None:
    ran = 0
    for config in candidates(rule):
        try:
            engine = Engine(config)
        except ConfigInvalid:
            continue  # this graph is not one the rule runs on; another candidate is
        trainer = Trainer(config)
        for _ in range(3):
            engine.run()
            assert engine.halted is None
            expected = engine.observation.updates
            row = trainer.step(torch.tensor([trainer.seen]))
            assert max_diff(trainer.last_update, expected) < 1e-12, rule
            engine.next_example()
            assert max_diff(trainer.learner.params, engine.params) < 1e-12, rule
            assert row["loss"] == pytest.approx(engine.history[-1]["loss"], abs=1e-12)
        ran += 1
    assert ran, f"no candidate graph runs rule {rule}"


VARIANTS = [
    ("backprop", {}),
    ("fpa", {"steps": 3, "gamma": 1.0}),
    ("fpa", {"steps": 5, "gamma": 0.3}),
    ("pc", {"steps": 7, "output_variance": 3.0, "hidden_variance": 0.5}),
    ("pc", {"steps": 4, "scale_lr_by_output_variance": False}),
    ("zil", {}),
    ("zil", {"gamma": 0.5, "timing": "end"}),
    ("zil", {"init": "perturbed", "order": "weights_first", "steps": 5}),
]


def skip_dag(rule: dict) -> dict:
    """x -> h1 -> h2 -> out with a skip x -> h2 and a tanh vertex: paths of unequal length."""
    nodes = [{"id": "x", "op": "input", "size": 2},
             {"id": "h1", "op": "linear", "inputs": ["x"], "size": 3, "activation": "tanh"},
             {"id": "t", "op": "tanh", "inputs": ["h1"]},
             {"id": "h2", "op": "linear", "inputs": ["t", "x"], "size": 3, "activation": "sigmoid"},
             {"id": "out", "op": "linear", "inputs": ["h2"], "size": 2}]
    return {"version": 1, "graph": {"nodes": nodes, "output": "out", "loss": "cross_entropy"},
            "data": {"dataset": "circles", "samples": 40}, "rule": rule}


@pytest.mark.parametrize(("rule", "settings"), VARIANTS)
def test_vectorised_batch_is_the_mean_of_its_examples(rule: str, settings: dict) -> None:
    for config in (mlp("digits", [5, 4], {"name": rule, **settings}), skip_dag({"name": rule, **settings})):
        trainer = Trainer(config)
        assert isinstance(trainer.rule, VECTORISED[rule])
        slow = PerExample(trainer.graph, trainer.rule_cls, trainer.rule_settings, {})
        x, y = trainer.data.x_train[:6], trainer.data.y_train[:6]
        fast = trainer.rule.update(trainer.learner.params, x, y, 11).updates
        mean = slow.update(trainer.learner.params, x, y, 11).updates
        assert max_diff(fast, mean) < 1e-12
        assert max(float(v.abs().max()) for v in fast.values()) > 1e-6  # it does learn


def test_per_example_rules_are_named() -> None:
    config = mlp("circles", [3], {"name": "fa"}, samples=40)
    trainer = Trainer(config)
    assert not trainer.rule.vectorised
    assert batch_rule(trainer.graph, registry["zil"], registry["zil"].Settings(), {}).vectorised
