"""Feedback alignment learns to learn (Lillicrap et al. 2016): the angle between FA's
hidden-layer updates and backprop's, at the same weights, starts near 90 degrees and
closes as the forward weights come to align with the fixed random feedback."""

from __future__ import annotations

import statistics

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from errorwave.reproduce.common import Report
from errorwave.training import Trainer
from errorwave.training.configs import mlp


def settings(fast: bool) -> tuple[list[int], int, int | None, int]:
    """Hidden layers, epochs, examples per epoch, batch size."""
    return ([32], 3, 320, 16) if fast else ([64, 64], 10, None, 32)


def run(fast: bool = False) -> Report:
    hidden, epochs, cap, batch = settings(fast)
    config = mlp("digits", hidden, {"name": "fa", "lr": 0.1},
                 training={"epochs": epochs, "batch_size": batch, "optimiser": "sgd", "max_examples": cap})
    trainer = Trainer(config)
    rows: list[dict] = []
    for row in trainer.batches():
        if row.get("type") == "epoch":
            rows[-1]["test_accuracy"] = row["test_accuracy"]
            rows[-1]["backprop_test_accuracy"] = row["backprop_test_accuracy"]
            continue
        for node, angle in row["angle"].items():
            if node == "out":
                continue
            rows.append({"examples": row["example"] + row["batch_size"], "epoch": row["epoch"],
                         "layer": node, "angle": angle, "loss": row["loss"], "backprop_loss":
                         row["backprop_loss"], "test_accuracy": None, "backprop_test_accuracy": None})
    return Report("fa-alignment", "Feedback alignment: angle to backprop's hidden updates",
                  rows, figure(rows), headline(rows), checks(rows))


def window(rows: list[dict], layer: str, start: float, stop: float) -> float:
    pts = [r["angle"] for r in rows if r["layer"] == layer and r["angle"] is not None]
    lo, hi = int(start * len(pts)), max(int(start * len(pts)) + 1, int(stop * len(pts)))
    return statistics.fmean(pts[lo:hi])


def layers(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["layer"] for r in rows))


def headline(rows: list[dict]) -> str:
    parts = [f"{v}: {window(rows, v, 0, 0.1):.1f}° → {window(rows, v, 0.8, 1.0):.1f}°" for v in layers(rows)]
    return "Angle between FA's and backprop's hidden updates, first 10% → last 20% of batches: " + \
        "; ".join(parts) + "."


def checks(rows: list[dict]) -> list[tuple[str, bool]]:
    out = []
    for v in layers(rows):
        start, end = window(rows, v, 0, 0.1), window(rows, v, 0.8, 1.0)
        out.append((f"{v}: the angle closes by more than 10° ({start:.1f}° → {end:.1f}°)", end < start - 10))
        out.append((f"{v}: below 90° at the end ({end:.1f}°)", end < 90))
    return out


def figure(rows: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("angle to backprop's update (degrees)", "loss"))
    for v in layers(rows):
        pts = [r for r in rows if r["layer"] == v]
        fig.add_trace(go.Scatter(x=[r["examples"] for r in pts], y=[r["angle"] for r in pts], name=v),
                      row=1, col=1)
    first = [r for r in rows if r["layer"] == layers(rows)[0]]
    xs = [r["examples"] for r in first]
    fig.add_trace(go.Scatter(x=xs, y=[r["loss"] for r in first], name="FA loss"), row=1, col=2)
    fig.add_trace(go.Scatter(x=xs, y=[r["backprop_loss"] for r in first], name="backprop loss"),
                  row=1, col=2)
    fig.update_xaxes(title_text="examples seen")
    return fig
