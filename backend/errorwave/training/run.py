"""A training run: a rule and, beside it, backprop from the same initial weights, on the
same mini-batches, each stepped by its own torch optimiser. One row per batch, in the
shape of the engine's learning rows (docs/contract.md), plus one row per epoch."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from errorwave.boundary import decision_boundary
from errorwave.config import Config, Limits, Training
from errorwave.graph import CompiledGraph, Params
from errorwave.rules import registry
from errorwave.training.batched import (
    BatchRule,
    backprop_batch,
    batch_rule,
    compare,
    flat,
    forward_batch,
    losses,
)
from errorwave.training.data import Split, accuracy, batch_order, split
from errorwave.validation import parse_config


def make_optimiser(tensors: list[torch.Tensor], settings: Training, lr: float) -> torch.optim.Optimizer:
    if settings.optimiser == "adam":
        return torch.optim.Adam(tensors, lr=lr)
    momentum = settings.momentum if settings.optimiser == "momentum" else 0.0
    return torch.optim.SGD(tensors, lr=lr, momentum=momentum)


class Learner:
    """Parameters with an optimiser; `apply(update)` gives the optimiser -update/rule_lr as
    its gradient, so plain SGD at the rule's own lr applies exactly the rule's update."""

    def __init__(self, params: Params, settings: Training, rule_lr: float):
        self.keys = list(params)
        self.tensors = [params[k].detach().clone() for k in self.keys]
        self.rule_lr = rule_lr
        self.optimiser = make_optimiser(self.tensors, settings, settings.lr or rule_lr)

    @property
    def params(self) -> Params:
        return dict(zip(self.keys, self.tensors, strict=True))

    def apply(self, update: Params) -> None:
        for k, t in zip(self.keys, self.tensors, strict=True):
            t.grad = -update[k] / self.rule_lr
        self.optimiser.step()


@dataclass
class Result:
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per batch
    epochs: list[dict[str, Any]] = field(default_factory=list)  # one per epoch (test split)
    params: Params = field(default_factory=dict)
    seconds: float = 0.0


class Trainer:
    """`Trainer(config).run()`, or iterate `batches()` to pause/stop between batches.

    metrics=False skips backprop's reference pass and run (benchmarks); boundary=True adds
    the decision boundary to each row (2-D datasets)."""

    def __init__(self, config: Config | dict, limits: Limits | None = None, metrics: bool = True,
                 boundary: bool = False, vectorise: bool = True):
        raw = config.model_dump(mode="json", exclude_none=True) if isinstance(config, Config) else config
        self.config, self.structure = parse_config(raw, limits)
        self.settings = self.config.training or Training()
        self.graph = CompiledGraph(self.config, self.structure)
        g = self.graph
        if len(g.inputs) != 1:
            raise ValueError("training reads a dataset into one input vertex; this graph has "
                             f"{len(g.inputs)} inputs")
        self.rule_cls = registry[self.config.rule.name]
        self.rule_settings = self.config.rule.settings_as(self.rule_cls.Settings)
        self.data: Split = split(self.config, self.structure.sizes[g.output], g.dtype)
        features = self.data.x_train.shape[1]
        if features != self.structure.sizes[g.inputs[0]]:
            raise ValueError(f"input '{g.inputs[0]}' has {self.structure.sizes[g.inputs[0]]} units "
                             f"but the dataset has {features} features")
        self.memory: dict[str, Any] = {}
        self.rule: BatchRule = batch_rule(g, self.rule_cls, self.rule_settings, self.memory, vectorise)
        init = g.init_params()
        lr = self.rule_settings.lr
        self.learner = Learner(init, self.settings, lr)
        self.metrics, self.boundary = metrics, boundary
        # backprop from the same start, with the rule's lr and the same optimiser
        self.reference = Learner(init, self.settings, lr) if metrics else None
        self.seen = 0
        self.epoch = 0
        self.last_update: Params = {}

    # ----- evaluation -----------------------------------------------------------------------
    def evaluate(self, params: Params, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor
                 ) -> tuple[float, float]:
        """Mean loss and accuracy of `params` on a set."""
        if len(x) == 0:
            return float("nan"), float("nan")
        with torch.no_grad():
            out = forward_batch(self.graph, x, params)[self.graph.output]
            return float(losses(self.graph, out, y).mean()), accuracy(out, labels)

    def distance(self) -> float | None:
        if self.reference is None:
            return None
        keys = self.learner.keys
        return float((flat(self.learner.params, keys) - flat(self.reference.params, keys)).norm())

    # ----- stepping ---------------------------------------------------------------------------
    def step(self, idx: torch.Tensor) -> dict[str, Any]:
        """One mini-batch: the rule's update at the current weights, applied; its row."""
        g, d = self.graph, self.data
        x, y, labels = d.x_train[idx], d.y_train[idx], d.labels_train[idx]
        params = self.learner.params
        lr = self.rule_settings.lr
        result = self.rule.update(params, x, y, self.config.seeds.init + self.seen)
        row: dict[str, Any] = {"example": self.seen, "index": int(d.index_train[idx[0]]),
                               "epoch": self.epoch, "batch_size": len(idx), "dropped": result.dropped}
        if self.metrics:
            assert self.reference is not None
            ff, ls, grads = backprop_batch(g, params, x, y)
            cosine, rel, angles = compare(result.updates, {k: -lr * v for k, v in grads.items()},
                                          self.learner.keys, g.param_nodes)
            row |= {"loss": float(ls.mean()), "accuracy": accuracy(ff[g.output], labels),
                    "angle": angles, "cosine": cosine, "rel_l2": rel}
            _, ref_ls, ref_grads = backprop_batch(g, self.reference.params, x, y)
            self.reference.apply({k: -lr * v for k, v in ref_grads.items()})
            row["backprop_loss"] = float(ref_ls.mean())
        else:
            row |= {"loss": None, "accuracy": None, "angle": {}, "cosine": None, "rel_l2": None}
        self.learner.apply(result.updates)
        self.last_update = result.updates
        self.seen += len(idx)
        row["distance"] = self.distance()
        row["boundary"] = (decision_boundary(g, self.learner.params, self.config)
                           if self.boundary else None)
        return _finite(row)

    def epoch_row(self) -> dict[str, Any]:
        d = self.data
        loss, acc = self.evaluate(self.learner.params, d.x_test, d.y_test, d.labels_test)
        train_loss, train_acc = self.evaluate(self.learner.params, d.x_train, d.y_train, d.labels_train)
        row = {"epoch": self.epoch, "examples": self.seen, "test_loss": loss, "test_accuracy": acc,
               "train_loss": train_loss, "train_accuracy": train_acc, "distance": self.distance()}
        if self.reference is not None:
            bl, ba = self.evaluate(self.reference.params, d.x_test, d.y_test, d.labels_test)
            row |= {"backprop_test_loss": bl, "backprop_test_accuracy": ba}
        return _finite(row)

    def batches(self) -> Iterator[dict[str, Any]]:
        """Yield each batch's row; after each epoch, a row {"type": "epoch", ...}."""
        s = self.settings
        n = len(self.data.x_train)
        while self.epoch < s.epochs:
            for idx in batch_order(n, s.batch_size, self.epoch, self.config.seeds.data, s.shuffle):
                yield self.step(idx)
            self.epoch += 1
            yield {"type": "epoch", **self.epoch_row()}

    def run(self) -> Result:
        import time

        start = time.perf_counter()
        result = Result()
        for row in self.batches():
            (result.epochs if row.get("type") == "epoch" else result.rows).append(row)
        result.params = self.learner.params
        result.seconds = time.perf_counter() - start
        return result


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: non-finite numbers become None."""
    def fix(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v
    return {k: fix(v) for k, v in row.items()}


def train(config: Config | dict, **kwargs: Any) -> Result:
    """Train a configuration (its `training` settings; defaults otherwise)."""
    return Trainer(config, **kwargs).run()
