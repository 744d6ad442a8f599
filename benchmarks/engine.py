"""What a step costs, as ratios measured side by side in one run.

    .venv/bin/python benchmarks/engine.py [--repeat N] [--rounds R] [--no-peers]

Every quantity is timed in `rounds` interleaved rounds (each round runs every candidate for
`repeat` calls, in turn), so machine noise hits all of them alike; the table shows the min
and the median over rounds, and the ratios of those. On the 8x64 tanh MLP and a 50-vertex
random DAG (float64, batch 1, one thread):

- `advance`: the rule's inference step alone (`Rule.advance()`);
- `backward`: one backprop backward pass (torch.autograd.grad of the loss) on that graph;
- `step lean` / `step full`: `Engine.step()` with lean frames (the websocket's) or full ones
  (the CLI's and the Python API's);
- `json` / `binary`: encoding one lean frame (orjson; float32 columns).

Goals: step lean / advance <= 3; encoded frame / advance <= 1; pc and zil advance <= 1.5
backward passes on the MLP; a lean MLP frame <= 40 kB. Then the same FPA / PC step side by
side with the predictive-coding libraries on the package index (pclib, torch-pc), installed
by `benchmarks/peers.py` into its own virtual environment (never the product's).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from errorwave import Engine  # noqa: E402
from errorwave.server import binary  # noqa: E402

RULES = {"fpa": {"name": "fpa", "gamma": 0.2}, "pc": {"name": "pc"}, "zil": {"name": "zil"}}


def mlp(layers: int = 8, width: int = 64) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, layers + 1):
        nodes.append({"id": f"h{i}", "op": "linear", "inputs": [nodes[-1]["id"]], "size": width,
                      "activation": "tanh" if i < layers else "identity"})
    rng = random.Random(0)
    return {"graph": {"nodes": nodes, "output": f"h{layers}"},
            "data": {"input": {"x": [rng.uniform(-1, 1) for _ in range(width)]},
                     "target": [rng.uniform(-1, 1) for _ in range(width)]}}


def dag(n: int = 50, width: int = 16) -> dict[str, Any]:
    """A random layered DAG: every vertex takes 1-3 earlier vertices."""
    rng = random.Random(1)
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, n):
        pool = [m["id"] for m in nodes[max(0, i - 6):i]]
        inputs = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        nodes.append({"id": f"v{i}", "op": "linear", "inputs": inputs, "size": width,
                      "activation": "tanh" if i < n - 1 else "identity"})
    return {"graph": {"nodes": nodes, "output": nodes[-1]["id"]},
            "data": {"input": {"x": [rng.uniform(-1, 1) for _ in range(width)]},
                     "target": [rng.uniform(-1, 1) for _ in range(width)]}}


def interleaved(candidates: dict[str, Callable[[], Any]], repeat: int, rounds: int
                ) -> dict[str, tuple[float, float]]:
    """(min, median) seconds per call of each candidate, over interleaved rounds."""
    times: dict[str, list[float]] = {k: [] for k in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            times[name].append((time.perf_counter() - start) / repeat)
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def backward_pass(engine: Engine) -> Callable[[], Any]:
    g, ex = engine.graph, engine.example
    leaves = [p.detach().clone().requires_grad_(True) for p in engine.params.values()]
    params = dict(zip(engine.params, leaves, strict=True))
    values = g.forward(ex.inputs, params)
    loss = g.loss(values[g.output], ex.target)
    wrt = [values[n] for n in g.hidden_and_output] + leaves
    return lambda: torch.autograd.grad(loss, wrt, retain_graph=True, allow_unused=True)


def endless(config: dict[str, Any], rule: dict[str, Any], detail: str) -> Engine:
    return Engine({**config, "rule": {**rule, "steps": 5000}}, detail=detail)  # type: ignore[arg-type]


def stepper(engine: Engine) -> Callable[[], Any]:
    def step() -> Any:
        if engine.step() is None:  # not reached within 5000 steps, but never measure nothing
            engine.reset()
    return step


def measure(config: dict[str, Any], rname: str, repeat: int, rounds: int) -> dict[str, Any]:
    rule = RULES[rname]
    probe = Engine({**config, "rule": {"name": "backprop"}})
    adv = endless(config, rule, "lean")
    lean, full = endless(config, rule, "lean"), endless(config, rule, "full")
    for e in (adv, lean, full):  # past the first steps (some rules do more at t = 0)
        e.run(until=3)
    frame = lean.frame
    layout = binary.layout_of(frame)
    cands = {
        "backward": backward_pass(probe),
        "advance": adv.rule.advance,
        "step lean": stepper(lean),
        "step full": stepper(full),
        "json": lambda: orjson.dumps(lean.frame),
        "binary": lambda: binary.encode(lean.frame, layout),
    }
    res = interleaved(cands, repeat, rounds)
    res["bytes json"] = len(orjson.dumps(frame))
    res["bytes binary"] = len(binary.encode(frame, layout))
    res["bytes full json"] = len(orjson.dumps(full.frame))
    return res


def ratio(res: dict[str, Any], a: str, b: str) -> str:
    (amin, amed), (bmin, bmed) = res[a], res[b]
    return f" {amin / bmin:.2f} / {amed / bmed:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    graphs = {"MLP 8x64": mlp(), "DAG 50": dag()}
    print(f"torch {torch.__version__}, float64, 1 thread; {args.rounds} interleaved rounds x "
          f"{args.repeat} calls; ratios as min / median")
    head = (f"{'graph':<10}{'rule':<5}{'bwd us':>8}{'adv us':>8}{'adv/bwd':>13}{'lean/adv':>13}"
            f"{'full/adv':>13}{'json/adv':>13}{'bin/adv':>13}{'kB json/bin/full':>19}")
    print(head)
    for gname, config in graphs.items():
        for rname in RULES:
            r = measure(config, rname, args.repeat, args.rounds)
            kb = (f"{r['bytes json'] / 1e3:.1f}/{r['bytes binary'] / 1e3:.1f}/"
                  f"{r['bytes full json'] / 1e3:.0f}")
            print(f"{gname:<10}{rname:<5}{r['backward'][0] * 1e6:>8.1f}{r['advance'][0] * 1e6:>8.1f}"
                  f"{ratio(r, 'advance', 'backward'):>13}{ratio(r, 'step lean', 'advance'):>13}"
                  f"{ratio(r, 'step full', 'advance'):>13}{ratio(r, 'json', 'advance'):>13}"
                  f"{ratio(r, 'binary', 'advance'):>13}{kb:>19}")
    print("goals: lean/adv <= 3; json/adv and bin/adv <= 1; pc, zil adv/bwd <= 1.5 on the MLP; "
          "MLP lean frame <= 40 kB")
    if not args.no_peers:
        print()
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers.py")], check=False)


if __name__ == "__main__":
    main()
