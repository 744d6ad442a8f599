"""The compute side of a training run in the page: a session's `errorwave.training.Trainer`
kept in its worker slot and advanced in chunks of at most `budget_s` CPU, so that a run is
paused, stopped and scheduled between chunks like any other request (training_runner.py).

The rows are the Trainer's own (one per batch, one per epoch), so a run in the page gives
the same numbers as `Trainer(config).run()` for the same configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from errorwave.boundary import decision_boundary, is_planar
from errorwave.config import Limits
from errorwave.server import rpc
from errorwave.training import Trainer
from errorwave.validation import ConfigInvalid


def preload() -> None:
    """Import what a first training run would import on the spot (scikit-learn's datasets,
    the machinery torch's optimisers load on first use: seconds of CPU). A worker runs this
    before it says ready, so a session's first `train` does not hold the worker, and its
    other sessions, for those seconds."""
    import sklearn.datasets  # noqa: F401
    import torch

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


class OverCap(ValueError):
    """The run would train on more examples than the server allows."""


class TrainJob:
    """One run: the trainer, its row generator, and how far it is."""

    def __init__(self, config: dict[str, Any], limits: Limits, max_examples: int):
        self.trainer = Trainer(config, limits=limits)
        s = self.trainer.settings
        self.per_epoch = len(self.trainer.data.x_train)
        self.total = s.epochs * self.per_epoch
        if self.per_epoch == 0:
            raise ValueError("the training split is empty: lower test_split or add samples")
        if self.total > max_examples:
            raise OverCap(f"this run trains on {self.total} examples ({s.epochs} epochs of "
                             f"{self.per_epoch}), over the server's cap of {max_examples}: use "
                             "fewer epochs or set training.max_examples")
        self.planar = is_planar(self.trainer.config)
        self.rows: Iterator[dict[str, Any]] = self.trainer.batches()
        self.finished = False

    def info(self) -> dict[str, Any]:
        s = self.trainer.settings
        return {"total": self.total, "per_epoch": self.per_epoch, "epochs": s.epochs,
                "batch_size": s.batch_size, "optimiser": s.optimiser, "planar": self.planar,
                "rule": self.trainer.config.rule.name}

    def boundary(self) -> dict[str, Any] | None:
        t = self.trainer
        return decision_boundary(t.graph, t.learner.params, t.config) if self.planar else None

    def chunk(self, budget_s: float, step_limit_s: float, boundary: bool
              ) -> tuple[dict[str, Any], float | None]:
        """Batches until `budget_s` of CPU is spent or the run ends; (progress, slow) where
        slow is the CPU of one batch that went over `step_limit_s`."""
        rows: list[dict[str, Any]] = []
        epochs: list[dict[str, Any]] = []
        started = time.thread_time()
        slow = None
        while not self.finished:
            cpu = time.thread_time()
            row = next(self.rows, None)
            if row is None:
                self.finished = True
                break
            if row.get("type") == "epoch":
                epochs.append({k: v for k, v in row.items() if k != "type"})
            else:
                rows.append(row)
            spent = time.thread_time() - cpu
            if spent > step_limit_s:
                slow = spent
                break
            if time.thread_time() - started > budget_s:
                break
        progress = {"rows": rows, "epochs": epochs, "examples": self.trainer.seen,
                    "epoch": self.trainer.epoch, "finished": self.finished,
                    "boundary": self.boundary() if boundary or self.finished else None}
        return progress, slow


class _Core(Protocol):
    limits: Limits
    chunk_budget: float
    step_cpu_limit: float


class _Slot(Protocol):
    engine: Any
    training: TrainJob | None


def handlers(core: _Core) -> dict[str, Callable[[Any, Any], rpc.Reply]]:
    """The training operations for compute.Core's handler table."""

    def start(slot: _Slot, req: rpc.TrainStart) -> rpc.Reply:
        slot.training = None
        config = slot.engine.config.model_dump(mode="json", exclude_none=True)
        if req.training is not None:
            config["training"] = req.training
        try:
            job = TrainJob(config, core.limits, req.max_examples)
        except ConfigInvalid:
            raise  # Core.handle answers with the issues
        except (ValueError, KeyError) as err:  # no dataset, several inputs, over the cap
            return rpc.fail("limit" if isinstance(err, OverCap) else "invalid_config",
                            f"cannot train: {err}")
        slot.training = job
        return rpc.Reply(training=job.info())

    def chunk(slot: _Slot, req: rpc.TrainChunk) -> rpc.Reply:
        job = slot.training
        if job is None:
            return rpc.fail("not_loaded", "no training run (it was stopped, or a load replaced it)")
        budget = core.chunk_budget if req.budget_s is None else req.budget_s
        progress, slow = job.chunk(budget, core.step_cpu_limit, req.boundary)
        if job.finished:
            slot.training = None
        return rpc.Reply(training=progress, slow=slow, finished=job.finished)

    def stop(slot: _Slot, req: rpc.TrainStop) -> rpc.Reply:
        slot.training = None
        return rpc.Reply()

    return {"train_start": start, "train_chunk": chunk, "train_stop": stop}
