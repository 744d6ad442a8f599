"""REST routes on a live server: rules, presets, validation, short links, the app, docs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from errorwave.presets import get_preset, list_presets
from errorwave.rules import registry
from tests.engine.builders import mlp
from tests.server.helpers import LiveServer, make_settings

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def test_healthz_and_docs(http: httpx.Client) -> None:
    r = http.get("/healthz")
    assert r.status_code == 200 and r.json()["ok"] is True
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    for p in ("/api/rules", "/api/presets", "/api/presets/{preset_id}", "/api/validate",
              "/api/links", "/api/links/{link_id}", "/healthz"):
        assert p in paths


def test_rules_describe_their_parameters(http: httpx.Client) -> None:
    rules = {r["name"]: r for r in http.get("/api/rules").json()}
    assert {"backprop", "pc", "fpa", "zil"} <= set(rules)
    for rule in rules.values():
        assert rule["title"] and rule["description"] and rule["supports"]
        for p in rule["params"]:
            assert {"name", "type", "default", "minimum", "maximum", "description"} <= set(p)
    assert rules == {name: json.loads(json.dumps(cls.describe())) for name, cls in registry.items()}
    lr = next(p for p in rules["pc"]["params"] if p["name"] == "lr")
    assert lr["default"] > 0 and lr["maximum"] is not None


def test_presets(http: httpx.Client) -> None:
    listed = http.get("/api/presets").json()
    assert listed == list_presets() and listed
    first = listed[0]["id"]
    assert http.get(f"/api/presets/{first}").json() == get_preset(first)
    r = http.get("/api/presets/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "unknown_preset"


def test_validate(http: httpx.Client) -> None:
    assert http.post("/api/validate", json=mlp(2)).json()["ok"] is True
    bad = mlp(3)
    bad["graph"]["nodes"][1]["inputs"] = ["x", "h2"]
    r = http.post("/api/validate", json=bad)
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False and "cycle" in body["issues"][0]["message"]
    bad = mlp(3)
    bad["graph"]["nodes"][2]["inputs"] = ["zz"]
    issue = http.post("/api/validate", json=bad).json()["issues"][0]
    assert issue["node"] == "h2" and issue["field"] == "inputs" and "zz" in issue["message"]
    r = http.post("/api/validate", content=b"{nope")
    assert r.status_code == 400 and r.json()["code"] == "bad_json" and "JSON" in r.json()["message"]
    r = http.post("/api/validate", content=b"{" + b" " * (1 << 20) + b"}")
    assert r.status_code == 413


def test_links_roundtrip_content_addressed_unguessable(http: httpx.Client) -> None:
    doc = {"config": get_preset("dag-skip-zil"), "view": {"t": 2, "selected": "h1"}}
    r = http.post("/api/links", json=doc)
    assert r.status_code == 201
    link = r.json()["id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", link) and r.json()["url"] == f"/s/{link}"
    # same content (any key order, any spacing): same id
    again = json.dumps(doc, indent=3, sort_keys=True)
    assert http.post("/api/links", content=again, headers=JSON).json()["id"] == link
    other = http.post("/api/links", json={**doc, "view": {"t": 3}}).json()["id"]
    assert other != link
    got = http.get(f"/api/links/{link}").json()
    assert got["config"] == doc["config"] and got["view"] == doc["view"] and got["issues"] == []


def test_bad_links(server: LiveServer, http: httpx.Client) -> None:
    for bad in ("AAAAAAAAAAAAAAAA", "short", "../../etc/passwd", "x" * 300, "%00"):
        r = http.get(f"/api/links/{bad}")
        assert r.status_code == 404
        if r.headers["content-type"].startswith("application/json"):
            assert r.json().get("code", "unknown_link") == "unknown_link"
    assert http.post("/api/links", content=b"not json", headers=JSON).status_code == 400
    assert http.post("/api/links", content=b'{"config": {"x": NaN}}',
                     headers=JSON).status_code == 400
    assert http.post("/api/links", json={"config": {}, "extra": 1}).status_code == 400
    assert http.post("/api/links", json=[1]).status_code == 400
    r = http.post("/api/links", json={"config": {"graph": "tampered"}})
    assert r.status_code == 422 and r.json()["issues"]
    big = {"config": {**mlp(2), "title": "x" * server.settings.link_max_bytes}}
    assert http.post("/api/links", json=big).status_code == 413


def test_app_and_short_link_page(server: LiveServer, http: httpx.Client) -> None:
    r = http.get("/")
    assert r.status_code == 200 and "Errorwave test app" in r.text
    link = http.post("/api/links", json={"config": mlp(2)}).json()["id"]
    r = http.get(f"/s/{link}")
    assert r.status_code == 200 and "Errorwave test app" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert http.get("/s/bad").status_code == 404


def test_link_rate_limit(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, workers=0, links_per_minute=3,
                                    frontend_dir=str(tmp_path / "missing"))).start()
    try:
        with httpx.Client(base_url=live.url, timeout=10) as c:
            codes = [c.post("/api/links", json={"config": mlp(2, seed=i)}).status_code
                     for i in range(5)]
            assert codes[:3] == [201] * 3 and codes[3:] == [429, 429]
            r = c.get("/")  # no frontend build: a readable text page
            assert r.status_code == 200 and "not built" in r.text
            assert "not built" in c.get("/s/AAAAAAAAAAAAAAAA").text
    finally:
        live.stop()
