"""Training on mini-batches: the rules' updates without frames, an optimiser from torch,
a train/test split, and backprop from the same start as the reference (docs/training.md)."""

from errorwave.training.batched import VECTORISED, BatchRule, BatchUpdate, PerExample, batch_rule
from errorwave.training.run import Learner, Result, Trainer, train

__all__ = ["VECTORISED", "BatchRule", "BatchUpdate", "PerExample", "batch_rule", "Learner", "Result",
           "Trainer", "train"]
