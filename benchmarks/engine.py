"""Cost of one inference step of fpa, pc and zil, as a ratio to one backprop backward
pass on the same graph, measured side by side in one run (DESIGN §8).

    .venv/bin/python benchmarks/engine.py [--repeat N]

"step" is the rule's inference step alone (`Rule.advance()`: for FPA-PC one
vector-Jacobian sweep through the cached linearisation and one vector update), as a
script that reads only the end result pays it; "frame" is `Engine.step()`: the step plus
the readout the UI shows at every step (errors, scheduled parameter updates, energy,
divergence from backprop, JSON-ready numbers), which the server pays.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from errorwave import Engine  # noqa: E402


def mlp(layers: int = 8, width: int = 64) -> dict:
    nodes = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, layers + 1):
        nodes.append({"id": f"h{i}", "op": "linear", "inputs": [nodes[-1]["id"]], "size": width,
                      "activation": "tanh" if i < layers else "identity"})
    rng = random.Random(0)
    return {"graph": {"nodes": nodes, "output": f"h{layers}"},
            "data": {"input": {"x": [rng.uniform(-1, 1) for _ in range(width)]},
                     "target": [rng.uniform(-1, 1) for _ in range(width)]}}


def dag(n: int = 50, width: int = 16) -> dict:
    """A random layered DAG: every vertex takes 1-3 earlier vertices."""
    rng = random.Random(1)
    nodes = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, n):
        pool = [m["id"] for m in nodes[max(0, i - 6):i]]
        inputs = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        nodes.append({"id": f"v{i}", "op": "linear", "inputs": inputs, "size": width,
                      "activation": "tanh" if i < n - 1 else "identity"})
    return {"graph": {"nodes": nodes, "output": nodes[-1]["id"]},
            "data": {"input": {"x": [rng.uniform(-1, 1) for _ in range(width)]},
                     "target": [rng.uniform(-1, 1) for _ in range(width)]}}


def timed(fn, repeat: int) -> float:
    """Median seconds of one call over `repeat` calls, in 5 batches."""
    per_batch = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        per_batch.append((time.perf_counter() - start) / repeat)
    return statistics.median(per_batch)


def backward_pass(engine: Engine):
    g, ex = engine.graph, engine.example
    leaves = [p.detach().clone().requires_grad_(True) for p in engine.params.values()]
    params = dict(zip(engine.params, leaves, strict=True))
    values = g.forward(ex.inputs, params)
    loss = g.loss(values[g.output], ex.target)
    wrt = [values[n] for n in g.hidden_and_output] + leaves
    return lambda: torch.autograd.grad(loss, wrt, retain_graph=True, allow_unused=True)


def rule_step(config: dict, rule: dict, steps: int):
    engine = Engine({**config, "rule": {**rule, "steps": steps}})
    return engine, engine.rule.advance


def engine_step(config: dict, rule: dict, steps: int):
    engine = Engine({**config, "rule": {**rule, "steps": steps}})
    return lambda: engine.step()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rules = {"fpa": {"name": "fpa", "gamma": 0.2}, "pc": {"name": "pc"}, "zil": {"name": "zil"}}
    graphs = {"MLP 8x64": mlp(), "DAG 50 nodes": dag()}
    big = args.repeat * 5 * 2 + 10
    print(f"torch {torch.__version__}, float64, 1 thread, median of 5 batches x {args.repeat}")
    print(f"{'graph':<14}{'rule':<6}{'backward us':>12}{'step us':>10}{'step/bwd':>10}"
          f"{'frame us':>10}{'frame/bwd':>11}")
    for gname, config in graphs.items():
        probe = Engine({**config, "rule": {"name": "backprop"}})
        bwd = timed(backward_pass(probe), args.repeat)
        for rname, rule in rules.items():
            _, step = rule_step(config, rule, big)
            t_step = timed(step, args.repeat)
            t_frame = timed(engine_step(config, rule, big), args.repeat)
            print(f"{gname:<14}{rname:<6}{bwd * 1e6:>12.1f}{t_step * 1e6:>10.1f}{t_step / bwd:>10.2f}"
                  f"{t_frame * 1e6:>10.1f}{t_frame / bwd:>11.2f}")
    print("goal: an fpa step within 1.5x one backward pass (step/bwd <= 1.5)")


if __name__ == "__main__":
    main()
