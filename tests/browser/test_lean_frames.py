"""The page runs on binary lean frames: the inspector's numbers (and the watched node's
update matrix) are the CLI's full frames, to the digits the page prints."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from browser_helpers import open_preset, wait_loaded, wait_t

pytestmark = pytest.mark.browser

PRESET = "fpa-chain-gamma1"
NODE, T = "h4", 3


def cli_frames(preset: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "errorwave", "run", f"preset:{preset}", "--jsonl"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [m for m in map(json.loads, out.splitlines()) if m["type"] == "frame"]


def parse(text: str) -> float | None:
    return None if text in ("NaN", "") else float(text)


def close(shown: float | None, exact: float | None) -> bool:
    """The page prints 3 significant digits of float32 numbers."""
    if shown is None or exact is None:
        return shown is exact
    return math.isclose(shown, exact, rel_tol=6e-3, abs_tol=1e-12)


def test_inspector_shows_the_cli_numbers_from_binary_lean_frames(page) -> None:
    binary: list[int] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: binary.append(1) if isinstance(payload, bytes) else None))
    page.goto("/")
    wait_loaded(page)
    open_preset(page, PRESET)
    wait_t(page, 0)
    page.locator(f"[data-node-id={NODE}]").first.click()
    page.get_by_test_id("inspector-node").wait_for()
    for t in range(1, T + 1):
        page.get_by_test_id("step").click()
        wait_t(page, t)
    assert binary, "the page asked for binary frames"
    frame = cli_frames(PRESET)[T]
    st = frame["nodes"][NODE]

    rows = page.get_by_test_id("inspector-numbers").locator("tbody tr")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=inspector-numbers] tbody tr')"
                           ".length === n", arg=len(st["value"]))
    for k in range(rows.count()):
        cells = [c.inner_text() for c in rows.nth(k).locator("td").all()]
        shown = [parse(c) for c in cells[1:4]]
        exact = [st["value"][k], st["prediction"][k], st["error"][k]]
        assert all(close(a, b) for a, b in zip(shown, exact, strict=True)), (k, shown, exact)

    # the watched node's cumulative update (full matrices come only for watched nodes)
    src = next(iter(frame["updates"][NODE]["weight"]))
    matrix = frame["updates"][NODE]["weight"][src]
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=inspector] pre')]"
                           ".some(p => p.textContent.includes('rule:'))")
    text = next(p for p in page.get_by_test_id("inspector").locator("pre").all_inner_texts()
                if "rule:" in p)
    lines = text.split("rule:", 1)[1].split("backprop:", 1)[0].strip().splitlines()
    shown_rows = [[parse(x.strip()) for x in line.strip().strip("[]").split(",")
                   if x.strip() != "…"] for line in lines if line.strip() != "…"]
    assert shown_rows
    for r, row in enumerate(shown_rows):
        assert all(close(a, b) for a, b in zip(row, matrix[r], strict=False)), (r, row, matrix[r])
