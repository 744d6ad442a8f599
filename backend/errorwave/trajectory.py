"""Frames as a tidy pandas DataFrame: one row per example, step, node and unit.

The first seven columns are the header shared with the page's CSV and `errorwave export`
(`example,t,node,unit,value,prediction,error`); the divergence columns follow:

- `div_cosine, div_rel_l2, div_max_abs`: the node's error signal against backprop's
  -dL/dv (NaN for inputs, which have none);
- `update_cosine, update_rel_l2, update_max_abs`: the node's parameter update against
  backprop's (NaN for nodes without parameters);
- `total_cosine, total_rel_l2, total_max_abs`: all parameter updates at that step;
- `energy` of the step, and `plasticity` (a plasticity event fired at that node and step).

`t` and `unit` are integers, the numbers float64 (a non-finite value is NaN).
Needs pandas (`pip install 'errorwave[notebook]'`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd


class Stepper(Protocol):
    """What a trajectory needs of an engine (errorwave.engine.Engine is one)."""

    @property
    def frame(self) -> dict[str, Any]: ...

    def snapshot(self) -> dict[str, Any]: ...

    def run(self, until: int | None = None) -> list[dict[str, Any]]: ...

    def next_example(self) -> dict[str, Any] | None: ...

HEADER = ("example", "t", "node", "unit", "value", "prediction", "error")
METRICS = ("cosine", "rel_l2", "max_abs")
COLUMNS = (*HEADER, *(f"div_{m}" for m in METRICS), *(f"update_{m}" for m in METRICS),
           *(f"total_{m}" for m in METRICS), "energy", "plasticity")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as err:
        raise ImportError("trajectories as DataFrames need pandas: "
                          "pip install 'errorwave[notebook]'") from err
    return pandas


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def to_dataframe(frames: Iterable[dict[str, Any]], snapshot: dict[str, Any] | None = None) -> pd.DataFrame:
    """Frames (as `Engine.step()` returns them, or parsed from `errorwave run --jsonl`) as a
    tidy DataFrame. With the snapshot, `df.attrs` records the rule, the input nodes and the
    nodes ordered by distance to the output (what `errorwave.plots` sorts by)."""
    pd = _pandas()
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    nan3 = (float("nan"),) * 3
    for frame in frames:
        if frame.get("type", "frame") != "frame":
            continue
        div = frame["divergence"]
        total = tuple(_num(div["total"].get(m)) for m in METRICS)
        fired = {e["node"] for e in frame.get("events", ()) if e.get("kind") == "plasticity"}
        energy = _num(frame.get("energy"))
        for node, lists in frame["nodes"].items():
            n = len(lists["value"])
            d = div["nodes"].get(node)
            u = div["params"].get(node)
            dm = nan3 if d is None else tuple(_num(d.get(m)) for m in METRICS)
            um = nan3 if u is None else tuple(_num(u.get(m)) for m in METRICS)
            cols["example"] += [frame["example"]] * n
            cols["t"] += [frame["t"]] * n
            cols["node"] += [node] * n
            cols["unit"] += range(n)
            for key in ("value", "prediction", "error"):
                cols[key] += [_num(v) for v in lists[key]]
            for i, m in enumerate(METRICS):
                cols[f"div_{m}"] += [dm[i]] * n
                cols[f"update_{m}"] += [um[i]] * n
                cols[f"total_{m}"] += [total[i]] * n
            cols["energy"] += [energy] * n
            cols["plasticity"] += [node in fired] * n
    df = pd.DataFrame(cols)
    df = df.astype({"example": "int64", "t": "int64", "unit": "int64", "plasticity": "bool",
                    **{c: "float64" for c in COLUMNS[4:-1]}})
    if snapshot is not None:
        nodes = snapshot["graph"]["nodes"]
        df.attrs["rule"] = snapshot["rule"]["name"]
        df.attrs["inputs"] = [n for n, info in nodes.items() if info["op"] == "input"]
        far = 1 << 30  # a vertex with no path to the output goes last
        df.attrs["order"] = sorted(nodes, key=lambda n: (
            far if nodes[n]["distance"]["shortest"] is None else nodes[n]["distance"]["shortest"]))
    return df


def trajectory(engine: Stepper, examples: int = 1) -> pd.DataFrame:
    """The current frame and every frame to the end of the example (t = 0..T for a fresh
    engine), for `examples` examples in turn (learning between them, as `next_example()`
    does). This advances the engine."""
    if examples < 1:
        raise ValueError("examples must be at least 1")
    _pandas()
    snapshot = engine.snapshot()
    frames = [engine.frame, *engine.run()]
    for _ in range(examples - 1):
        if engine.next_example() is None:  # diverged: nothing more to learn from
            break
        frames += [engine.frame, *engine.run()]
    return to_dataframe(frames, snapshot)
