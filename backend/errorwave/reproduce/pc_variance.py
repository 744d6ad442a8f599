"""Standard predictive coding approaches backprop as the output's variance grows
(Whittington & Bogacz 2017): with the hidden variances 1 and the output's k, the relaxed
errors, scaled by k, tend to backprop's; the update's distance to backprop's falls about
10x per 10x of k. Measured at the same weights on held batches, and over a short
training run from the same start as backprop."""

from __future__ import annotations

import itertools
import math
import statistics

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from errorwave.reproduce.common import Report
from errorwave.training import Trainer
from errorwave.training.configs import mlp


def settings(fast: bool) -> tuple[tuple[float, ...], int, int, int]:
    """Variance ratios k, inference steps T, examples per run, batch size (T long enough
    for the relaxation to converge: an unconverged error floor hides the 1/k law)."""
    if fast:
        return (1.0, 10.0, 100.0, 1000.0), 200, 64, 32
    return (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 10000.0), 400, 512, 64


def run(fast: bool = False) -> Report:
    ks, steps, examples, batch = settings(fast)
    rows = []
    for k in ks:
        config = mlp("digits", [32, 32], {"name": "pc", "steps": steps, "gamma": 0.2, "lr": 0.05,
                                         "output_variance": k, "hidden_variance": 1.0},
                     training={"epochs": 1, "batch_size": batch, "optimiser": "sgd",
                               "max_examples": examples, "shuffle": False})
        trainer = Trainer(config)
        rel, cos = [], []
        for row in trainer.batches():
            if row.get("type") == "epoch":
                continue
            rel.append(row["rel_l2"])
            cos.append(row["cosine"])
        rows.append({"k": k, "rel_l2": statistics.fmean(rel), "cosine": statistics.fmean(cos),
                     "distance": trainer.distance(), "steps": steps, "examples": trainer.seen})
    return Report("pc-variance", "Standard PC: distance to backprop against the variance ratio k",
                  rows, figure(rows), headline(rows), checks(rows))


def slope(rows: list[dict], key: str = "rel_l2") -> float:
    """Least-squares slope of log10(key) against log10(k)."""
    xs = [math.log10(r["k"]) for r in rows]
    ys = [math.log10(r[key]) for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def headline(rows: list[dict]) -> str:
    tail = [r for r in rows if r["k"] >= 10]
    return (f"Relative L2 distance of PC's update to backprop's falls {10 ** -slope(tail):.1f}x per 10x "
            f"of k (slope {slope(tail):.2f} for k >= 10); {rows[0]['rel_l2']:.3g} at k = {rows[0]['k']:g}, "
            f"{rows[-1]['rel_l2']:.3g} at k = {rows[-1]['k']:g}.")


def checks(rows: list[dict]) -> list[tuple[str, bool]]:
    tail = [r for r in rows if r["k"] >= 10]
    s = slope(tail)
    dist = [r["rel_l2"] for r in rows]
    return [
        ("the distance falls with every step up in k", all(b < a for a, b in itertools.pairwise(dist))),
        (f"about 10x per 10x of k (slope {s:.2f} in [-1.3, -0.7])", -1.3 <= s <= -0.7),
        ("the trained weights stay closer to backprop's for larger k",
         rows[-1]["distance"] < rows[0]["distance"]),
    ]


def figure(rows: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("update: relative L2 to backprop",
                                                        "weights after training: L2 to backprop's"))
    ks = [r["k"] for r in rows]
    fig.add_trace(go.Scatter(x=ks, y=[r["rel_l2"] for r in rows], name="PC", mode="lines+markers"),
                  row=1, col=1)
    ref = [rows[0]["rel_l2"] * rows[0]["k"] / k for k in ks]
    fig.add_trace(go.Scatter(x=ks, y=ref, name="1/k", line={"dash": "dash", "color": "gray"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=ks, y=[r["distance"] for r in rows], name="distance",
                             mode="lines+markers"), row=1, col=2)
    fig.update_xaxes(type="log", title_text="k = output variance / hidden variance")
    fig.update_yaxes(type="log")
    return fig
