"""Exports: the trajectory as CSV and the charts as a self-contained plotly HTML report.

`errorwave export CONFIG --csv FILE --html FILE` writes the run `errorwave run CONFIG --jsonl`
prints (one example, t = 0..T, every node including inputs). The CSV's header is the one
`Engine.trajectory()` and the page share: `example,t,node,unit,value,prediction,error`,
integer t and unit, float64 at full precision (shortest round-trip form), an empty cell for
a non-finite number. The report inlines plotly.js once, so it opens without a network.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

HEADER = ("example", "t", "node", "unit", "value", "prediction", "error")


def _cell(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def trajectory_rows(frames: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    """One row per frame, node and unit, in the frames' node order (as the trajectory's)."""
    for frame in frames:
        if frame.get("type", "frame") != "frame":
            continue
        for node, lists in frame["nodes"].items():
            for k, value in enumerate(lists["value"]):
                yield [frame["example"], frame["t"], node, k, _cell(value),
                       _cell(lists["prediction"][k]), _cell(lists["error"][k])]


def trajectory_csv(frames: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(trajectory_rows(frames))
    return out.getvalue()


def report_html(title: str, figures: list[go.Figure | dict[str, Any]], note: str = "") -> str:
    """One HTML page with every figure, plotly.js inlined in the first one only."""
    parts = []
    for i, fig in enumerate(figures):
        parts.append(pio.to_html(fig, include_plotlyjs=i == 0, full_html=False, validate=False,
                                 default_width="100%", default_height="460px"))
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head>"
            "<body style='font-family:system-ui,sans-serif;margin:24px'>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(note)}</p>"
            + "".join(parts) + "</body></html>")


def run_frames(engine: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The snapshot and frames t = 0..T of the engine's current example (it advances it)."""
    return engine.snapshot(), [engine.frame, *engine.run()]


def charts(snapshot: dict[str, Any], frames: list[dict[str, Any]]) -> list[go.Figure]:
    """The page's charts of one example: divergence per node, energy, timing (needs pandas)."""
    from errorwave import plots
    from errorwave.trajectory import to_dataframe

    df = to_dataframe(frames, snapshot)
    return [plots.divergence(df), plots.energy(df), plots.timing(df)]


def export(engine: Any, csv_path: Path | None, html_path: Path | None) -> list[Path]:
    """Write the CSV and/or the report of the engine's current example; the paths written."""
    snapshot, frames = run_frames(engine)
    written = []
    if csv_path is not None:
        csv_path.write_text(trajectory_csv(frames))
        written.append(csv_path)
    if html_path is not None:
        title = snapshot["config"].get("title") or "Errorwave run"
        rule = snapshot["rule"]
        note = (f"rule {rule['title']} ({rule['name']}), T = {rule['steps']}, "
                f"{len(frames)} frames; {snapshot['sign_convention']}")
        html_path.write_text(report_html(title, list(charts(snapshot, frames)), note))
        written.append(html_path)
    return written
