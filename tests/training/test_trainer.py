"""The training run: rows in the learning-row shape, optimisers fed -update/lr, splits,
and clear refusals."""

from __future__ import annotations

import pytest
import torch

from errorwave.config import Training
from errorwave.issues import ConfigInvalid
from errorwave.training import Learner, Trainer
from errorwave.training.configs import mlp

LEARNING_ROW = {"example", "index", "loss", "angle", "cosine", "boundary"}


def test_rows_have_the_learning_row_shape_and_backprop_tracks_itself() -> None:
    config = mlp("circles", [4], {"name": "backprop", "lr": 0.2}, loss="mse", samples=60,
                 training={"epochs": 2, "batch_size": 16, "test_split": 0.25})
    trainer = Trainer(config, boundary=True)
    rows = list(trainer.batches())
    batches = [r for r in rows if r.get("type") != "epoch"]
    epochs = [r for r in rows if r.get("type") == "epoch"]
    assert len(epochs) == 2 and len(batches) == 2 * 3  # 45 training examples, batches of 16
    assert all(set(r) >= LEARNING_ROW for r in batches)
    assert [r["example"] for r in batches] == [0, 16, 32, 45, 61, 77]
    assert set(batches[0]["angle"]) == {"h1", "out"}
    assert batches[-1]["boundary"] is not None and len(batches[-1]["boundary"]["z"]) == 33
    # the rule is backprop: its run is the reference run, exactly
    assert all(r["distance"] == 0 and r["cosine"] == pytest.approx(1) for r in batches)
    assert epochs[-1]["test_accuracy"] == epochs[-1]["backprop_test_accuracy"]
    assert batches[-1]["loss"] < batches[0]["loss"]  # it learns


def test_a_rule_drifts_from_backprop_and_the_rows_say_so() -> None:
    config = mlp("digits", [16], {"name": "fa", "lr": 0.1},
                 training={"epochs": 1, "batch_size": 32, "max_examples": 96})
    rows = [r for r in Trainer(config).batches() if r.get("type") != "epoch"]
    assert len(rows) == 3
    assert all(r["distance"] > 0 and r["rel_l2"] > 0 for r in rows[1:])
    assert rows[0]["angle"]["out"] == pytest.approx(0, abs=1e-6)  # FA's output layer is backprop's
    assert rows[0]["angle"]["h1"] > 20


@pytest.mark.parametrize("optimiser", ["sgd", "momentum", "adam"])
def test_the_optimiser_gets_minus_update_over_lr(optimiser: str) -> None:
    params = {("h", "bias", ""): torch.tensor([1.0, 2.0], dtype=torch.float64)}
    update = {("h", "bias", ""): torch.tensor([0.3, -0.1], dtype=torch.float64)}
    learner = Learner(params, Training(optimiser=optimiser), rule_lr=0.1)
    learner.apply(update)
    got = learner.params[("h", "bias", "")]
    if optimiser == "adam":  # the first Adam step moves each coordinate by lr along -grad's sign
        assert torch.allclose(got, torch.tensor([1.1, 1.9], dtype=torch.float64))
    else:  # SGD (and momentum's first step) at the rule's lr applies the rule's update
        assert torch.allclose(got, params[("h", "bias", "")] + update[("h", "bias", "")], atol=1e-15)


def test_training_needs_a_dataset_and_a_matching_input() -> None:
    explicit = mlp("circles", [3], {"name": "backprop"})
    explicit["data"] = {"input": {"x": [0.1, 0.2]}, "target": [1.0, 0.0]}
    with pytest.raises(ValueError, match="built-in dataset"):
        Trainer(explicit)
    wrong = mlp("circles", [3], {"name": "backprop"})
    wrong["graph"]["nodes"][0]["size"] = 3
    wrong["graph"]["nodes"][1]["size"] = 3
    with pytest.raises(ValueError, match="features"):
        Trainer(wrong)
    with pytest.raises(ConfigInvalid):
        Trainer(mlp("circles", [3], {"name": "backprop"}, training={"optimiser": "rmsprop"}))
