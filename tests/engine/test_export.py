"""`errorwave export`: the CSV is the run `errorwave run --jsonl` prints, number for number,
and the HTML report opens without a network (plotly.js inlined, no external script)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from errorwave.cli import main
from errorwave.export import HEADER

PRESET = "preset:dag-skip-fpa"


def jsonl_frames(capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    assert main(["run", PRESET, "--jsonl", *extra]) == 0
    lines = capsys.readouterr().out.splitlines()
    return [m for m in map(json.loads, lines) if m["type"] == "frame"]


def test_csv_is_the_jsonl_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.csv"
    assert main(["export", PRESET, "--csv", str(out), "--set", "rule.steps=6"]) == 0
    assert "wrote" in capsys.readouterr().out
    frames = jsonl_frames(capsys, "--set", "rule.steps=6")
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == HEADER
    body = rows[1:]
    assert len(body) == sum(len(st["value"]) for f in frames for st in f["nodes"].values())
    assert int(body[0][1]) == 0 and int(body[-1][1]) == 6
    nodes = {r[2] for r in body}
    assert nodes == set(frames[0]["nodes"])  # every node, inputs included
    for example, t, node, unit, value, prediction, error in body:
        st = frames[int(t)]["nodes"][node]
        k = int(unit)
        assert int(example) == frames[int(t)]["example"] == 0
        # full float64 precision: the numbers read back equal
        assert (float(value), float(prediction), float(error)) == (
            st["value"][k], st["prediction"][k], st["error"][k])


def test_html_report_is_self_contained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pandas")
    out = tmp_path / "report.html"
    assert main(["export", PRESET, "--html", str(out)]) == 0
    text = out.read_text()
    assert not re.search(r"<script[^>]+src=", text), "an external script"
    assert not re.search(r"<link[^>]+href=", text), "an external stylesheet"
    assert text.count("Plotly.newPlot") == 3  # divergence, energy, timing
    assert len(text) > 1_000_000  # plotly.js itself is inside
    for title in ("Divergence from backprop per node", "Energy", "Timing"):
        assert title in text


def test_export_needs_an_output_and_a_valid_config(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", PRESET]) == 2
    assert "--csv FILE and/or --html FILE" in capsys.readouterr().err
    assert main(["export", "preset:nope", "--csv", str(tmp_path / "x.csv")]) == 2
    assert "unknown preset" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
