"""The page's charts as plotly figures, from a trajectory (`Engine.trajectory()`).

- `divergence(df, metric)`: each node's error signal against backprop's over t, one line a
  node (a heatmap past 12 nodes), and all parameter updates together as a dashed line;
- `energy(df)`: the energy over t;
- `timing(df)`: nodes x steps, shaded where a node's error is nonzero, a dot where it first
  arrived, a diamond where plasticity fired.

Each takes one example of the trajectory (`example=`, default the first one in it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import plotly.graph_objects as go

if TYPE_CHECKING:
    import pandas as pd

Metric = Literal["cosine", "rel_l2", "max_abs"]
MAX_LINES = 12  # more nodes than this: a heatmap instead of one line each
NEEDED = {"example", "t", "node", "error"}


def _one_example(df: pd.DataFrame, example: int | None) -> pd.DataFrame:
    missing = NEEDED - set(df.columns)
    if missing:
        raise ValueError(f"not a trajectory (Engine.trajectory()): no column {sorted(missing)}")
    if df.empty:
        raise ValueError("the trajectory is empty")
    pick = int(df["example"].iloc[0]) if example is None else example
    part = df[df["example"] == pick]
    if part.empty:
        raise ValueError(f"the trajectory has no example {pick}; it has "
                         f"{sorted(int(e) for e in df['example'].unique())}")
    return part


def _nodes(df: pd.DataFrame, part: pd.DataFrame) -> list[str]:
    """Non-input nodes, nearest the output first (attrs from Engine.trajectory(); without
    them, in the order of the rows, inputs told by their missing divergence)."""
    present = list(dict.fromkeys(part["node"]))
    inputs = set(df.attrs.get("inputs", ()))
    if not inputs and "div_rel_l2" in part.columns:
        inputs = {n for n, g in part.groupby("node", sort=False) if g["div_rel_l2"].isna().all()}
    order = [n for n in df.attrs.get("order", present) if n in present] or present
    return [n for n in order if n not in inputs]


def _per_step(part: pd.DataFrame, column: str) -> pd.Series:
    return part.groupby("t", sort=True)[column].first()


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "xaxis": {"title": {"text": "step t"}, "tickformat": "d"},
            "yaxis": {"title": {"text": y_title}}, "template": "plotly_white", **extra}


def divergence(df: pd.DataFrame, metric: Metric = "rel_l2", example: int | None = None) -> go.Figure:
    """Divergence from backprop per node over t (the page's divergence chart)."""
    if metric not in ("cosine", "rel_l2", "max_abs"):
        raise ValueError(f"metric is one of cosine, rel_l2, max_abs (got {metric!r})")
    part = _one_example(df, example)
    nodes = _nodes(df, part)
    fig = go.Figure()
    column = f"div_{metric}"
    if len(nodes) <= MAX_LINES:
        for node in nodes:
            series = _per_step(part[part["node"] == node], column)
            fig.add_scatter(x=series.index, y=series.values, mode="lines+markers", name=node)
    else:
        table = part.groupby(["node", "t"], sort=True)[column].first().unstack("t")
        rows = list(reversed(nodes))  # output on top
        table = table.loc[rows]
        fig.add_heatmap(x=table.columns, y=rows, z=table.values, colorscale="YlOrRd",
                        reversescale=metric == "cosine", name="nodes", yaxis="y2", showscale=False)
        fig.update_layout(yaxis={"domain": [0, 0.28]},
                          yaxis2={"domain": [0.36, 1], "title": {"text": "nodes (output on top)"}})
    total = _per_step(part, f"total_{metric}")
    fig.add_scatter(x=total.index, y=total.values, mode="lines", name="all params",
                    line={"dash": "dash", "color": "#222", "width": 3})
    fig.update_layout(**_layout("Divergence from backprop per node", metric))
    return fig


def energy(df: pd.DataFrame, example: int | None = None) -> go.Figure:
    """The energy over t."""
    series = _per_step(_one_example(df, example), "energy")
    fig = go.Figure(go.Scatter(x=series.index, y=series.values, mode="lines+markers", name="energy",
                               line={"color": "#b2182b", "width": 3}))
    fig.update_layout(**_layout("Energy", "energy", showlegend=False))
    return fig


def timing(df: pd.DataFrame, example: int | None = None) -> go.Figure:
    """Nodes x steps: where each node's error is nonzero, when it first arrived (dot), when
    plasticity fired (diamond). The output is at the top."""
    part = _one_example(df, example)
    rows = list(reversed(_nodes(df, part)))
    nonzero = (part.assign(nz=part["error"].isna() | (part["error"] != 0))
               .groupby(["node", "t"], sort=True)["nz"].any().unstack("t").fillna(False))
    nonzero = nonzero.loc[rows]
    steps = list(nonzero.columns)
    fig = go.Figure(go.Heatmap(x=steps, y=rows, z=nonzero.values.astype(float), zmin=0, zmax=1,
                               colorscale=[[0, "#ffffff"], [1, "#f4c7bf"]], showscale=False,
                               hoverinfo="skip", name="error nonzero"))
    arrived = [(node, next(t for t, on in zip(steps, nonzero.loc[node], strict=True) if on))
               for node in rows if nonzero.loc[node].any()]
    fig.add_scatter(x=[t for _, t in arrived], y=[n for n, _ in arrived], mode="markers",
                    name="error arrived", marker={"symbol": "circle", "size": 12, "color": "#c83c28"})
    if "plasticity" in part.columns:
        fired = part[part["plasticity"] & part["node"].isin(rows)][["node", "t"]].drop_duplicates()
        fig.add_scatter(x=fired["t"], y=fired["node"], mode="markers", name="plasticity",
                        marker={"symbol": "diamond", "size": 12, "color": "#2166ac"})
    fig.update_layout(**_layout("Timing", "node"))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=rows)
    return fig


__all__ = ["divergence", "energy", "timing"]
