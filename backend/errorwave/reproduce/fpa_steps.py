"""FPA-PC's updates against backprop's as the number of inference steps grows (Zahid et
al. 2023, Figs. 3-5): MLPs of L hidden tanh layers of 64 units and a 10-way log-softmax,
SGD with momentum 0.9, batch 64, default PyTorch init, on `digits`. With step size 1 the
errors reach backprop's exactly at T = L (cosine 1); smaller steps have not converged."""

from __future__ import annotations

import statistics

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from errorwave.reproduce.common import Report
from errorwave.training import Trainer
from errorwave.training.configs import mlp

STEP_SIZES = (1.0, 0.5, 0.1)


def settings(fast: bool) -> tuple[tuple[int, ...], tuple[float, ...], int, int | None]:
    """Layers, T/L ratios, epochs, examples per epoch."""
    if fast:
        return (2,), (1.0, 2.0), 1, 256
    return (1, 2, 4), (0.5, 1.0, 2.0, 4.0, 8.0), 3, None


def run(fast: bool = False) -> Report:
    layers_list, ratios, epochs, cap = settings(fast)
    rows = []
    for layers in layers_list:
        steps_seen: set[int] = set()
        for ratio in ratios:
            steps = max(1, round(ratio * layers))
            if steps in steps_seen:
                continue
            steps_seen.add(steps)
            for gamma in STEP_SIZES:
                config = mlp("digits", [64] * layers, {"name": "fpa", "steps": steps, "gamma": gamma,
                                                        "lr": 0.05},
                             training={"epochs": epochs, "batch_size": 64, "optimiser": "momentum",
                                       "momentum": 0.9, "max_examples": cap})
                trainer = Trainer(config)
                cosines: list[float] = []
                for row in trainer.batches():
                    if row.get("type") != "epoch":
                        cosines.append(row["cosine"] if row["cosine"] is not None else float("nan"))
                        continue
                    rows.append({"layers": layers, "step_size": gamma, "t_over_l": steps / layers,
                                 "cosine": statistics.fmean(cosines),
                                 "test_accuracy": row["test_accuracy"], "epoch": row["epoch"]})
                    cosines = []
    return Report("fpa-steps", "FPA-PC: cosine to backprop's update against T / L", rows,
                  figure(rows), headline(rows), checks(rows))


def last_epoch(rows: list[dict]) -> list[dict]:
    top = max(r["epoch"] for r in rows)
    return [r for r in rows if r["epoch"] == top]


def at(rows: list[dict], gamma: float, ratio: float) -> list[float]:
    return [r["cosine"] for r in rows if r["step_size"] == gamma and abs(r["t_over_l"] - ratio) < 1e-9]


def headline(rows: list[dict]) -> str:
    last = last_epoch(rows)
    parts = [f"step {g}: cosine {min(at(last, g, 1.0)):.6f}" for g in STEP_SIZES]
    return "At T = L (last epoch, worst depth): " + "; ".join(parts) + "."


def checks(rows: list[dict]) -> list[tuple[str, bool]]:
    last = last_epoch(rows)
    exact = min(at(last, 1.0, 1.0))
    half, tenth = max(at(last, 0.5, 1.0)), max(at(last, 0.1, 1.0))
    return [
        (f"step size 1 reaches cosine 1 at T = L ({exact:.12f})", exact > 1 - 1e-9),
        (f"step size 0.5 does not at T = L ({half:.4f})", half < 0.999),
        (f"step size 0.1 is further off than 0.5 ({tenth:.4f} < {half:.4f})", tenth < half),
    ]


def figure(rows: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cosine to backprop", "test accuracy"))
    last = last_epoch(rows)
    for layers in sorted({r["layers"] for r in last}):
        for gamma in STEP_SIZES:
            pts = sorted((r for r in last if r["layers"] == layers and r["step_size"] == gamma),
                         key=lambda r: r["t_over_l"])
            name = f"L={layers}, γ={gamma}"
            xs = [r["t_over_l"] for r in pts]
            fig.add_trace(go.Scatter(x=xs, y=[r["cosine"] for r in pts], name=name, legendgroup=name,
                                     mode="lines+markers"), row=1, col=1)
            fig.add_trace(go.Scatter(x=xs, y=[r["test_accuracy"] for r in pts], name=name,
                                     legendgroup=name, showlegend=False, mode="lines+markers"), row=1, col=2)
    fig.update_xaxes(title_text="T / L", type="log")
    return fig
