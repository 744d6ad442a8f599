"""Training throughput: one epoch of `digits` (batch 64, SGD, one torch thread, float64,
divergence metrics off) for backprop, Z-IL, FPA-PC and PC through `errorwave.training`,
each as a ratio to plain torch backprop training of the same MLP in the same run, next to
the timing theorem's lower bound: T vector-Jacobian sweeps per batch (T x the time of
one torch backward pass at batch 64). Then one FPA / PC inference step at batch 64 side
by side with the predictive-coding libraries on the package index (pclib, torch-pc),
installed by this script into its own virtual environment under benchmarks/out/ (never
the product's); a peer that fails to install or import is reported, not fatal.

    .venv/bin/python benchmarks/training.py [--rounds 3] [--no-peers]

Goals: FPA-PC training within 1.5x of (T x one backward) per batch; an FPA step at batch
64 faster than every peer's step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from errorwave.training import Trainer  # noqa: E402
from errorwave.training.batched import BatchFPA, BatchPC  # noqa: E402
from errorwave.training.configs import mlp  # noqa: E402

# The peers' venv, its installer and the interleaved timer are benchmarks/peers.py's.
sys.path.insert(0, str(ROOT / "benchmarks"))
from peers import VENV, ensure_venv, interleaved  # noqa: E402

LAYERS, WIDTH, BATCH = 3, 64, 64
RULES = {"backprop": {"name": "backprop"}, "zil": {"name": "zil"},
         "fpa": {"name": "fpa", "steps": 8, "gamma": 0.5}, "pc": {"name": "pc", "steps": 8}}


def config(rule: dict[str, Any]) -> dict[str, Any]:
    return mlp("digits", [WIDTH] * LAYERS, {**rule, "lr": 0.05},
               training={"epochs": 1, "batch_size": BATCH, "optimiser": "sgd", "test_split": 0.2})


def torch_epoch(trainer: Trainer) -> Callable[[], None]:
    """Plain torch: nn.Sequential of the same shape, SGD, log-softmax cross-entropy."""
    layers: list[torch.nn.Module] = []
    width = 64
    for _ in range(LAYERS):
        layers += [torch.nn.Linear(width, WIDTH).double(), torch.nn.Tanh()]
        width = WIDTH
    layers.append(torch.nn.Linear(width, 10).double())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x, labels = trainer.data.x_train, trainer.data.labels_train

    def epoch() -> None:
        for idx in torch.arange(len(x)).split(BATCH):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x[idx]), labels[idx], reduction="mean")
            loss.backward()
            opt.step()

    return epoch


def backward_only(trainer: Trainer) -> Callable[[], None]:
    """One reverse sweep at batch 64 (the forward retained): the unit of the lower bound."""
    from errorwave.training.batched import forward_batch, losses

    g = trainer.graph
    params = {k: v.detach().requires_grad_(True) for k, v in trainer.learner.params.items()}
    x, y = trainer.data.x_train[:BATCH], trainer.data.y_train[:BATCH]
    loss = losses(g, forward_batch(g, x, params)[g.output], y).sum()

    def sweep() -> None:
        torch.autograd.grad(loss, list(params.values()), retain_graph=True)

    return sweep


def errorwave_epoch(rule: dict[str, Any]) -> Callable[[], None]:
    def epoch() -> None:
        Trainer(config(rule), metrics=False).run()
    return epoch


def training_table(rounds: int) -> None:
    probe = Trainer(config(RULES["backprop"]), metrics=False)
    batches = -(-len(probe.data.x_train) // BATCH)
    cands: dict[str, Callable[[], Any]] = {"torch backprop": torch_epoch(probe)}
    cands |= {f"errorwave {name}": errorwave_epoch(rule) for name, rule in RULES.items()}
    res = interleaved(cands, 1, rounds)
    back = interleaved({"backward": backward_only(probe)}, 20, rounds)["backward"][0]
    base = res["torch backprop"][0]
    print(f"one epoch of digits ({len(probe.data.x_train)} examples, {batches} batches of {BATCH}), "
          f"MLP 64-{'-'.join([str(WIDTH)] * LAYERS)}-10 tanh, float64, 1 thread, metrics off; "
          f"min of {rounds} interleaved rounds")
    print(f"  one backward pass at batch {BATCH}: {back * 1e3:.3f} ms")
    print(f"  {'candidate':<20}{'epoch s':>9}{'/ torch':>9}{'T':>4}{'T x backward s':>16}{'/ bound':>9}")
    for name, (tmin, _) in res.items():
        rule = name.removeprefix("errorwave ").removeprefix("torch ")
        steps = (RULES[rule].get("steps") or LAYERS + 1) if rule in ("fpa", "pc", "zil") else 1
        bound = steps * back * batches
        print(f"  {name:<20}{tmin:>9.3f}{tmin / base:>9.2f}{steps:>4}{bound:>16.3f}{tmin / bound:>9.2f}")


def peer_steps(rounds: int) -> None:
    """Inside the peers' venv: one inference step at batch 64 of each, vs one backward."""
    torch.set_default_dtype(torch.float64)
    trainer = Trainer(config(RULES["fpa"]), metrics=False)
    x, y = trainer.data.x_train[:BATCH], trainer.data.y_train[:BATCH]
    params = trainer.learner.params
    back = backward_only(trainer)
    cands: dict[str, Callable[[], Any]] = {"backward": back}
    # errorwave: (T + 1 steps) - (1 step), over T, so set-up and the update cancel out
    k = 16
    settings = {"fpa": trainer.rule_settings}
    for name, cls in (("fpa", BatchFPA), ("pc", BatchPC)):
        rcls = trainer.rule_cls if name == "fpa" else Trainer(config(RULES["pc"]), metrics=False).rule_cls
        s = settings.get(name) or rcls.Settings()
        one = cls(trainer.graph, rcls, s.model_copy(update={"steps": 1}), {})
        many = cls(trainer.graph, rcls, s.model_copy(update={"steps": k + 1}), {})
        cands[f"errorwave {name} 1"] = lambda one=one: one.update(params, x, y, 0)
        cands[f"errorwave {name} k"] = lambda many=many: many.update(params, x, y, 0)
    notes: list[str] = []
    try:
        from pclib.nn.models.fc_classifier import FCClassifier

        model = FCClassifier(64, 10, hidden_sizes=[WIDTH] * LAYERS, steps=20, dtype=torch.float64)
        state = model.init_state(obs=x, y=y)
        cands["pclib step"] = lambda: model.step(state, obs=x, y=y)
    except Exception as err:
        notes.append(f"pclib: {type(err).__name__}: {err}")
    try:
        import warnings

        from torch_pc.module import PCNetwork
        from torch_pc.training import _run_inference

        warnings.filterwarnings("ignore")
        net = PCNetwork([64] + [WIDTH] * LAYERS, 10, activation_fn=torch.tanh,
                        activation_deriv=lambda a: 1 - torch.tanh(a) ** 2)
        cands["torch-pc 1"] = lambda: _run_inference(net, x, y, 1, 0.1)
        cands["torch-pc k"] = lambda: _run_inference(net, x, y, k + 1, 0.1)
    except Exception as err:
        notes.append(f"torch-pc: {type(err).__name__}: {err}")
    res = interleaved(cands, 5, rounds)
    for name in ("errorwave fpa", "errorwave pc", "torch-pc"):
        if f"{name} 1" in res:
            one, many = res.pop(f"{name} 1"), res.pop(f"{name} k")
            res[f"{name} step"] = ((many[0] - one[0]) / k, (many[1] - one[1]) / k)
    bmin, bmed = res.pop("backward")
    print(f"one inference step at batch {BATCH} (float64, 1 thread), as a ratio to one backward pass "
          f"({bmin * 1e3:.3f} ms); min / median of {rounds} rounds")
    for name, (tmin, tmed) in res.items():
        print(f"  {name:<22}{tmin * 1e3:>9.3f} ms {tmin / bmin:>7.2f} / {tmed / bmed:.2f}")
    for note in notes:
        print(f"  not measured: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.inside:
        peer_steps(args.rounds)
        return
    training_table(args.rounds)
    if args.no_peers:
        return
    try:
        py, failed = ensure_venv()
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"peers: could not create {VENV}: {err}")
        return
    for f in failed:
        print(f"peers: not installed: {f}")
    subprocess.run([str(py), __file__, "--inside", "--rounds", str(args.rounds)], check=False,
                   env={**os.environ, "PYTHONNOUSERSITE": "1"})


if __name__ == "__main__":
    main()
