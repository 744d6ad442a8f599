"""POST /api/report: the page's charts as one self-contained HTML file."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.server.helpers import LiveServer


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def test_report_is_an_offline_html_attachment(http: httpx.Client) -> None:
    fig = {"data": [{"type": "scatter", "x": [0, 1, 2], "y": [0.5, 0.25, 0.125],
                     "name": "</script><b>h1</b>"}], "layout": {"title": {"text": "divergence"}}}
    r = http.post("/api/report", json={"title": "zil <mlp>", "figures": [fig, fig]})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "attachment" in r.headers["content-disposition"]
    text = r.text
    assert not re.search(r"<script[^>]+src=", text)
    assert text.count("Plotly.newPlot") == 2 and "0.125" in text
    assert "<title>zil &lt;mlp&gt;</title>" in text and "</script><b>" not in text


@pytest.mark.parametrize("body", [{"figures": []}, {"figures": [{"data": "x"}]},
                                  {"figures": [{"data": []}], "extra": 1}])
def test_report_rejects_bad_requests(http: httpx.Client, body: dict) -> None:
    r = http.post("/api/report", json=body)
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    r = http.post("/api/report", content=b"x" * (2 << 20))
    assert r.status_code == 413
