"""What every reproduction shares: its report (rows, figure, headline, checks) and the
writing of NAME.csv and a self-contained NAME.html (plotly.js inlined)."""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go


@dataclass
class Report:
    name: str
    title: str
    rows: list[dict[str, Any]]
    figure: go.Figure
    headline: str  # the one number a reader takes away, in words
    checks: list[tuple[str, bool]] = field(default_factory=list)  # the qualitative result

    @property
    def ok(self) -> bool:
        return all(passed for _, passed in self.checks)

    def write(self, out: Path) -> tuple[Path, Path]:
        out.mkdir(parents=True, exist_ok=True)
        csv_path, html_path = out / f"{self.name}.csv", out / f"{self.name}.html"
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        with csv_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows)
        self.figure.update_layout(title=self.title)
        body = self.figure.to_html(include_plotlyjs=True, full_html=False)
        checks = "".join(f"<li>{'✔' if ok else '✘'} {html.escape(text)}</li>" for text, ok in self.checks)
        html_path.write_text(
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title></head><body style='font-family:sans-serif'>"
            f"<h1>{html.escape(self.title)}</h1><p>{html.escape(self.headline)}</p>"
            f"<ul>{checks}</ul>{body}</body></html>")
        return html_path, csv_path


Reproduction = Callable[[bool], Report]
