"""Configurations for tests: random MLPs, chains and DAGs."""

from __future__ import annotations

import random
from typing import Any


def mlp(depth: int, form: str = "B", loss: str = "mse", seed: int = 0, width: int = 4,
        rule: dict[str, Any] | None = None, act: str = "tanh", n_in: int = 3, n_out: int = 2,
        dtype: str = "float64") -> dict[str, Any]:
    """`depth` linear layers (depth - 1 hidden). Form A: mu = W f(x) + b; form B: f(W x + b)."""
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": n_in}]
    prev = "x"
    for i in range(1, depth + 1):
        last = i == depth
        nid = "y" if last else f"h{i}"
        node: dict[str, Any] = {"id": nid, "op": "linear", "inputs": [prev],
                                "size": n_out if last else width}
        if form == "A" and i > 1:
            node["input_activation"] = act
        if form == "B" and not last:
            node["activation"] = act
        nodes.append(node)
        prev = nid
    x = [rng.uniform(-1.5, 1.5) for _ in range(n_in)]
    target: Any = rng.randrange(n_out) if loss == "cross_entropy" else [
        rng.uniform(-1, 1) for _ in range(n_out)]
    return {"version": 1, "graph": {"nodes": nodes, "output": "y", "loss": loss},
            "data": {"input": {"x": x}, "target": target},
            "rule": rule or {"name": "zil"}, "seeds": {"init": seed, "data": 0}, "dtype": dtype}


def skip_dag(rule: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """h1 reaches y in 1 edge (skip) and in 3 edges (through h2, h3)."""
    return {"graph": {"nodes": [
        {"id": "x", "op": "input", "size": 3},
        {"id": "h1", "op": "linear", "inputs": ["x"], "size": 4, "activation": "tanh"},
        {"id": "h2", "op": "linear", "inputs": ["h1"], "size": 4, "activation": "tanh"},
        {"id": "h3", "op": "linear", "inputs": ["h2"], "size": 4, "activation": "tanh"},
        {"id": "y", "op": "linear", "inputs": ["h3", "h1"], "size": 2}], "output": "y"},
        "data": {"input": {"x": [0.3, -0.7, 1.1]}, "target": [0.5, -0.5]},
        "rule": rule or {"name": "fpa", "gamma": 1.0, "steps": 5}, "seeds": {"init": seed}}


def mixed_dag(rule: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """Every op kind: linear in both forms, add, mul and elementwise functions."""
    return {"graph": {"nodes": [
        {"id": "a", "op": "input", "size": 3},
        {"id": "b", "op": "input", "size": 2},
        {"id": "h1", "op": "linear", "inputs": ["a", "b"], "size": 4, "activation": "sigmoid"},
        {"id": "h2", "op": "linear", "inputs": ["h1"], "size": 4, "input_activation": "softplus"},
        {"id": "s", "op": "sin", "inputs": ["h2"]},
        {"id": "c", "op": "cos", "inputs": ["h1"]},
        {"id": "m", "op": "mul", "inputs": ["s", "c"]},
        {"id": "q", "op": "add", "inputs": ["m", "h2", "h1"]},
        {"id": "e", "op": "exp", "inputs": ["q"]},
        {"id": "y", "op": "linear", "inputs": ["e", "h1"], "size": 3, "input_activation": "tanh"}],
        "output": "y", "loss": "cross_entropy"},
        "data": {"input": {"a": [0.2, -0.4, 0.9], "b": [0.5, -0.1]}, "target": 1},
        "rule": rule or {"name": "backprop"}, "seeds": {"init": seed}}


def finished(config: dict[str, Any]):
    """An Engine run to the end of its example, which must not have diverged."""
    from errorwave import Engine

    engine = Engine(config)
    engine.run()
    assert engine.halted is None
    return engine
