"""Errorwave's FPA and PC steps side by side with the predictive-coding libraries on the
package index, pclib and torch-pc, on the same 8x64 tanh MLP (float64, batch 1, 1 thread).

    .venv/bin/python benchmarks/peers.py

The peers are installed into their own virtual environment (`benchmarks/.peers`, never
the product's environment), which reuses the product environment's torch through a .pth
file; a peer that fails to install or import is reported, and the others still run. All
candidates are timed in one process, in interleaved rounds (min and median per call), as
ratios to one backprop backward pass on that graph.
"""

from __future__ import annotations

import argparse
import os
import site
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "benchmarks" / ".peers"
PEERS = {"pclib": "pclib==2.0.0b2", "torch-pc": "torch-pc==0.1.0"}
HELPERS = ["tqdm==4.70.1"]  # imported by the peers at import time


def ensure_venv() -> tuple[Path, list[str]]:
    """The peers' venv, and what could not be installed."""
    py = VENV / "bin" / "python"
    failed: list[str] = []
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        # the product environment's packages (torch, numpy, errorwave) are read from there
        site_dir = next(VENV.glob("lib/python*/site-packages"))
        (site_dir / "errorwave-product.pth").write_text(site.getsitepackages()[0] + "\n")
    for spec in [*PEERS.values(), *HELPERS]:
        name = spec.split("==")[0]
        have = subprocess.run([str(py), "-m", "pip", "show", "-q", name], capture_output=True)
        if have.returncode == 0:
            continue
        # --no-deps: their other requirements (torchvision, matplotlib) are not needed to step
        got = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", spec],
                             capture_output=True, text=True)
        if got.returncode != 0:
            failed.append(f"{spec}: {got.stderr.strip().splitlines()[-1] if got.stderr else 'failed'}")
    return py, failed


def interleaved(cands: dict[str, Callable[[], Any]], repeat: int, rounds: int
                ) -> dict[str, tuple[float, float]]:
    times: dict[str, list[float]] = {k: [] for k in cands}
    for _ in range(rounds):
        for name, fn in cands.items():
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            times[name].append((time.perf_counter() - start) / repeat)
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def measure(repeat: int, rounds: int) -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    sys.path.insert(0, str(ROOT / "backend"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from engine import backward_pass, endless, mlp  # type: ignore[import-not-found]
    from errorwave import Engine

    config = mlp()
    probe = Engine({**config, "rule": {"name": "backprop"}})
    cands: dict[str, Callable[[], Any]] = {"backward": backward_pass(probe)}
    fpa = endless(config, {"name": "fpa", "gamma": 0.2}, "lean")
    pc = endless(config, {"name": "pc"}, "lean")
    cands["errorwave fpa step"] = fpa.rule.advance
    cands["errorwave pc step"] = pc.rule.advance
    x = torch.tensor([config["data"]["input"]["x"]])
    y = torch.tensor([config["data"]["target"]])
    notes: list[str] = []
    try:  # pclib: FCClassifier, one step of inference (x and e of every layer)
        from pclib.nn.models.fc_classifier import FCClassifier

        model = FCClassifier(64, 64, hidden_sizes=[64] * 7, steps=20, dtype=torch.float64)
        state = model.init_state(obs=x, y=y)
        cands["pclib step"] = lambda: model.step(state, obs=x, y=y)
    except Exception as err:  # a peer that does not run is reported, not fatal
        notes.append(f"pclib: {type(err).__name__}: {err}")
    try:  # torch-pc: its inference loop; one step = (k + 1 steps) - (1 step), over k
        import warnings

        from torch_pc.module import PCNetwork
        from torch_pc.training import _run_inference

        warnings.filterwarnings("ignore")
        net = PCNetwork([64] * 8, 64, activation_fn=torch.tanh,
                        activation_deriv=lambda a: 1 - torch.tanh(a) ** 2)
        k = 20
        cands["torch-pc 1 step"] = lambda: _run_inference(net, x, y, 1, 0.1)
        cands["torch-pc k+1 steps"] = lambda: _run_inference(net, x, y, k + 1, 0.1)
    except Exception as err:
        notes.append(f"torch-pc: {type(err).__name__}: {err}")
    res = interleaved(cands, repeat, rounds)
    if "torch-pc 1 step" in res:
        one, many = res.pop("torch-pc 1 step"), res.pop("torch-pc k+1 steps")
        res["torch-pc step"] = ((many[0] - one[0]) / k, (many[1] - one[1]) / k)
    bmin, bmed = res["backward"]
    print(f"peers on the 8x64 tanh MLP (float64, batch 1, 1 thread; {rounds} interleaved rounds "
          f"x {repeat}); per call in us, and as a ratio to one backward pass (min / median)")
    for name, (tmin, tmed) in res.items():
        print(f"  {name:<22}{tmin * 1e6:>10.1f} us   {tmin / bmin:>6.2f} / {tmed / bmed:.2f}")
    for note in notes:
        print(f"  not measured: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measure(args.repeat, args.rounds)
        return
    try:
        py, failed = ensure_venv()
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"peers: could not create {VENV}: {err}")
        return
    for f in failed:
        print(f"peers: not installed: {f}")
    subprocess.run([str(py), __file__, "--inside", "--repeat", str(args.repeat), "--rounds",
                    str(args.rounds)], check=False, env={**os.environ, "PYTHONNOUSERSITE": "1"})


if __name__ == "__main__":
    main()
