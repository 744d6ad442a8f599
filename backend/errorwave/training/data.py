"""A built-in dataset as tensors: a train/test split, targets encoded for the output, and
the order of the mini-batches of each epoch (reproducible from the data seed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from errorwave import datasets
from errorwave.config import Config, DatasetData, Training


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor  # [n, features]
    y_train: torch.Tensor  # [n, outputs] encoded targets
    labels_train: torch.Tensor  # [n] class labels
    index_train: torch.Tensor  # [n] dataset indices (after the dataset's own shuffle)
    x_test: torch.Tensor
    y_test: torch.Tensor
    labels_test: torch.Tensor


def encode(labels: np.ndarray, output_size: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot targets, or the label itself for a single output unit (as the engine does)."""
    lab = torch.tensor(np.array(labels), dtype=torch.long)
    if output_size == 1:
        return lab.to(dtype).unsqueeze(1)
    if len(lab) and int(lab.max()) >= output_size:
        raise ValueError(f"the output has {output_size} units but the dataset has "
                         f"{int(lab.max()) + 1} classes")
    return torch.nn.functional.one_hot(lab, output_size).to(dtype)


def split(config: Config, output_size: int, dtype: torch.dtype) -> Split:
    """The training split is the head of the dataset (in its seeded order), the test split
    its tail; `max_examples` caps the training split."""
    data = config.data
    if not isinstance(data, DatasetData):
        raise ValueError("training needs a built-in dataset (data.dataset), not one explicit example")
    settings = config.training or Training()
    x, y = datasets.load(data.dataset, data.samples, config.seeds.data)
    n = len(x)
    n_test = int(round(settings.test_split * n))
    n_train = n - n_test
    if n_train < 1:
        raise ValueError(f"test_split {settings.test_split} leaves no training examples of {n}")
    if settings.max_examples is not None:
        n_train = min(n_train, settings.max_examples)
    xt = torch.tensor(np.array(x), dtype=dtype)
    return Split(
        x_train=xt[:n_train], y_train=encode(y[:n_train], output_size, dtype),
        labels_train=torch.tensor(np.array(y[:n_train])), index_train=torch.arange(n_train),
        x_test=xt[n - n_test:], y_test=encode(y[n - n_test:], output_size, dtype),
        labels_test=torch.tensor(np.array(y[n - n_test:])))


def batch_order(n: int, batch_size: int, epoch: int, seed: int, shuffle: bool) -> list[torch.Tensor]:
    """The index sets of one epoch's mini-batches (the last one may be smaller)."""
    order = (np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n))
    idx = torch.as_tensor(order, dtype=torch.long)
    return list(idx.split(batch_size))


def accuracy(outputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction classified correctly: argmax of the outputs, or output > 0.5 for one unit."""
    if len(labels) == 0:
        return float("nan")
    pred = (outputs[:, 0] > 0.5).long() if outputs.shape[1] == 1 else outputs.argmax(dim=1)
    return float((pred == labels.to(pred.device)).double().mean())
