"""Each export in real Chromium downloads a file whose content matches the session: the
CSV's numbers and the graph SVG's numbers are the frames the websocket delivered, the
timing SVG's first-arrival and plasticity marks are where the frames put them, the PNG is
the canvas at 2x, the HTML report opens without a network."""

from __future__ import annotations

import csv
import io
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from browser_helpers import open_preset, wait_loaded, wait_t
from socket_frames import SocketFrames

pytestmark = pytest.mark.browser

PRESET, T = "dag-skip-fpa", 3


def download(page, item: str) -> bytes:
    if not page.get_by_test_id(f"export-{item}").is_visible():
        page.get_by_test_id("export-menu").click()
    with page.expect_download() as dl:
        page.get_by_test_id(f"export-{item}").click()
    return Path(dl.value.path()).read_bytes()


def shown_number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def test_exports_match_the_session(page, artifacts: Path) -> None:
    frames = SocketFrames(page)
    page.goto("/")
    wait_loaded(page)
    open_preset(page, PRESET)
    for t in range(1, T + 1):
        page.get_by_test_id("step").click()
        wait_t(page, t)
    # the timing diagram redraws at most every 150 ms: wait for the drawing of every step
    page.wait_for_function("n => { const d = document.querySelector('[data-testid=timing-diagram]')"
                           "?.dataset.timing; return !!d && Object.values(JSON.parse(d).shade)"
                           ".every(s => s.length === n) }", arg=T + 1)
    held = [frames.at(t) for t in range(T + 1)]

    # CSV: every held step, node and unit, the numbers as received
    rows = list(csv.reader(io.StringIO(download(page, "csv").decode())))
    assert rows[0] == ["example", "t", "node", "unit", "value", "prediction", "error"]
    assert len(rows) - 1 == sum(len(st["value"]) for f in held for st in f["nodes"].values())
    for _, t, node, unit, value, prediction, error in rows[1:]:
        st = held[int(t)]["nodes"][node]
        k = int(unit)
        assert (float(value), float(prediction), float(error)) == (
            st["value"][k], st["prediction"][k], st["error"][k]), (t, node, unit)

    # graph SVG: the cards as on screen, their numbers the frame's at t = T
    svg = ET.fromstring(download(page, "svg"))
    cards = {el.get("data-node-id"): el for el in svg.iter() if el.get("data-node-id")}
    frame = held[T]
    assert set(cards) == set(frame["nodes"])
    inputs = {n for n, st in frame["nodes"].items() if st["error"] == [0.0] * len(st["error"])
              and n not in frame["divergence"]["nodes"]}
    checked = 0
    for node, el in cards.items():
        st = frame["nodes"][node]
        shown = st["value"] if node in inputs else st["error"]
        if node not in inputs:
            assert float(el.get("data-error")) == max(abs(e) for e in st["error"])
        for cell in el.iter():
            if cell.get("data-unit") is None:
                continue
            text = "".join(c.text or "" for c in cell.iter() if "ew-num" in (c.get("class") or ""))
            exact = shown[int(cell.get("data-unit"))]
            assert shown_number(text) == pytest.approx(exact, rel=0.01, abs=0.006), (node, text)
            checked += 1
    assert checked == sum(len(st["value"]) for st in frame["nodes"].values())

    # timing SVG: first arrivals and plasticity where the frames put them
    timing = ET.fromstring(download(page, "timing-svg"))
    ns = "{http://www.w3.org/2000/svg}"
    rows_svg = {g.get("data-node"): g for g in timing.iter(f"{ns}g")}
    for node, g in rows_svg.items():
        first = next((f["t"] for f in held if any(e != 0 for e in f["nodes"][node]["error"])), None)
        marks = [int(c.get("data-first")) for c in g.iter(f"{ns}circle")]
        assert marks == ([] if first is None else [first]), node
        fired = [f["t"] for f in held for e in f["events"]
                 if e["kind"] == "plasticity" and e["node"] == node]
        assert [int(p.get("data-plasticity")) for p in g.iter(f"{ns}path")] == fired
    assert set(rows_svg) == set(frame["divergence"]["nodes"])

    # PNG: the graph pane at twice its CSS size
    png = download(page, "png")
    (artifacts / "export-graph-2x.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    box = page.locator(".ew-graph-wrap").bounding_box()
    assert abs(width - 2 * box["width"]) <= 4 and abs(height - 2 * box["height"]) <= 4

    # HTML report of the charts on screen, plotly inlined
    page.wait_for_function("() => document.querySelector('[data-testid=divergence-chart]')"
                           "?.dataset.summary !== undefined")
    html = download(page, "html").decode()
    assert not re.search(r"<script[^>]+src=", html)
    assert html.count("Plotly.newPlot") >= 2 and len(html) > 1_000_000
    for node in frame["divergence"]["nodes"]:
        assert f'"name":"{node}"' in html
