"""Configurations of plain MLPs on the built-in datasets (reproductions, sweeps, benchmarks)."""

from __future__ import annotations

from typing import Any

from errorwave.datasets import dataset_shape


def mlp(dataset: str, hidden: list[int], rule: dict[str, Any], *, activation: str = "tanh",
        loss: str = "cross_entropy", samples: int = 200, training: dict[str, Any] | None = None,
        dtype: str = "float64", seed: int = 0, data_seed: int = 0) -> dict[str, Any]:
    """x -> h1 -> ... -> out: hidden layers of `activation`, a linear output (a log-softmax
    under the cross-entropy loss)."""
    features, classes = dataset_shape(dataset)
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": features}]
    prev = "x"
    for i, width in enumerate(hidden, 1):
        nodes.append({"id": f"h{i}", "op": "linear", "inputs": [prev], "size": width,
                      "activation": activation})
        prev = f"h{i}"
    nodes.append({"id": "out", "op": "linear", "inputs": [prev], "size": classes})
    config: dict[str, Any] = {
        "version": 1, "graph": {"nodes": nodes, "output": "out", "loss": loss},
        "data": {"dataset": dataset, "samples": samples}, "rule": rule,
        "seeds": {"init": seed, "data": data_seed}, "dtype": dtype}
    if training is not None:
        config["training"] = training
    return config
