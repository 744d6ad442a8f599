"""Z-IL against backprop over training, with each of its three conditions removed (Song et
al. 2020, Fig. 3): the distance between the Z-IL-trained and the backprop-trained weights
(same start, same batches) and both test errors, in float64 and float32. With all three
conditions the distance stays at rounding level; each ablation drifts away."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from errorwave.reproduce.common import Report
from errorwave.training import Trainer
from errorwave.training.configs import mlp

# name -> the rule's settings (Z-IL's three conditions, one removed at a time)
VARIANTS: dict[str, dict] = {
    "Z-IL (all three)": {},
    "without init at feed-forward": {"init": "perturbed", "init_noise": 0.1},
    "without unit step": {"gamma": 0.5},
    "without the timing": {"timing": "end"},
}
DTYPES = ("float64", "float32")


def settings(fast: bool) -> tuple[list[int], int, int | None, int]:
    """Hidden layers, epochs, examples per epoch, batches between evaluations."""
    return ([32, 32], 1, 256, 2) if fast else ([64, 64], 3, None, 5)


def run(fast: bool = False) -> Report:
    hidden, epochs, cap, every = settings(fast)
    rows = []
    for dtype in DTYPES:
        for variant, rule in VARIANTS.items():
            config = mlp("digits", hidden, {"name": "zil", "lr": 0.05, **rule}, dtype=dtype,
                         training={"epochs": epochs, "batch_size": 32, "optimiser": "sgd",
                                   "max_examples": cap})
            trainer = Trainer(config)
            batch = 0
            for row in trainer.batches():
                if row.get("type") == "epoch":
                    continue
                batch += 1
                if batch % every == 0:
                    ev = trainer.epoch_row()
                    rows.append({"variant": variant, "dtype": dtype, "examples": trainer.seen,
                                 "distance": row["distance"], "cosine": row["cosine"],
                                 "test_error": 1 - ev["test_accuracy"],
                                 "backprop_test_error": 1 - ev["backprop_test_accuracy"]})
    return Report("zil-ablation", "Z-IL and its ablations: distance to backprop-trained weights",
                  rows, figure(rows), headline(rows), checks(rows))


def final(rows: list[dict], variant: str, dtype: str) -> float:
    return [r for r in rows if r["variant"] == variant and r["dtype"] == dtype][-1]["distance"]


def headline(rows: list[dict]) -> str:
    exact = ", ".join(f"{d} {final(rows, 'Z-IL (all three)', d):.2e}" for d in DTYPES)
    worst = min(final(rows, v, "float64") for v in VARIANTS if v != "Z-IL (all three)")
    return (f"Final weight distance to backprop: Z-IL {exact}; the closest ablation (float64) "
            f"{worst:.2e}.")


def checks(rows: list[dict]) -> list[tuple[str, bool]]:
    out = []
    for dtype, level in (("float64", 1e-10), ("float32", 1e-3)):
        exact = final(rows, "Z-IL (all three)", dtype)
        out.append((f"{dtype}: Z-IL stays at rounding level ({exact:.2e} < {level:g})", exact < level))
        for v in VARIANTS:
            if v != "Z-IL (all three)":
                d = final(rows, v, dtype)
                out.append((f"{dtype}: {v} drifts away ({d:.2e} > 100 x {exact:.2e})",
                            d > 100 * exact and d > 1e-4))
    return out


def figure(rows: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("‖θ_rule − θ_backprop‖", "test error"))
    for dtype in DTYPES:
        for variant in VARIANTS:
            pts = [r for r in rows if r["variant"] == variant and r["dtype"] == dtype]
            name = f"{variant} ({dtype})"
            dash = "solid" if dtype == "float64" else "dot"
            xs = [r["examples"] for r in pts]
            fig.add_trace(go.Scatter(x=xs, y=[max(r["distance"], 1e-18) for r in pts], name=name,
                                     legendgroup=name, line={"dash": dash}), row=1, col=1)
            fig.add_trace(go.Scatter(x=xs, y=[r["test_error"] for r in pts], name=name, legendgroup=name,
                                     showlegend=False, line={"dash": dash}), row=1, col=2)
    pts = [r for r in rows if r["variant"] == "Z-IL (all three)" and r["dtype"] == "float64"]
    fig.add_trace(go.Scatter(x=[r["examples"] for r in pts], y=[r["backprop_test_error"] for r in pts],
                             name="backprop", line={"color": "black", "dash": "dash"}), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="examples seen")
    return fig
