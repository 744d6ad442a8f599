"""Permalinks: share the exact moment, open it fresh; broken links fail readably."""

from __future__ import annotations

import random

import pytest
from browser_helpers import (
    fragment,
    open_preset,
    snapshots,
    wait_loaded,
    wait_new_snapshot,
    wait_t,
)

pytestmark = pytest.mark.browser

CHAIN = "fpa-chain-gamma1"


def _view_of(page) -> dict:
    return {
        "nodes": sorted(page.locator("[data-node-id]").evaluate_all("els => els.map(e => e.dataset.nodeId)")),
        "edges": page.locator(".react-flow__edge").count(),
        "rule": page.get_by_test_id("app").get_attribute("data-rule"),
        "t": page.get_by_test_id("current-t").inner_text(),
        "selected": page.get_by_test_id("inspector-node").inner_text(),
        "selected_class": page.locator(".ew-node.ew-selected").get_attribute("data-node-id"),
    }


def _share(page) -> str:
    page.get_by_test_id("share").click()
    page.get_by_test_id("share-url").wait_for()
    return page.get_by_test_id("share-url").input_value()


def test_share_and_reopen_same_graph_rule_step_and_selection(page, browser, server_url):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, CHAIN)
    # edit the graph, switch the rule, step twice, select a node
    before = snapshots(page)
    page.get_by_test_id("add-node").click()
    page.locator("[data-node-id=n1]").wait_for()
    page.get_by_test_id("node-add-input").select_option("h5")
    page.get_by_test_id("node-add-output").select_option("y")
    wait_new_snapshot(page, before)
    page.wait_for_function("() => document.querySelector('[data-node-id=n1]')?.dataset.distance === '1'")
    rules = page.get_by_test_id("rule-select").locator("option").evaluate_all("os => os.map(o => o.value)")
    other = "pc" if "pc" in rules else next(r for r in rules if r != "fpa")
    before = snapshots(page)
    page.get_by_test_id("rule-select").select_option(other)
    wait_new_snapshot(page, before)
    wait_loaded(page, rule=other)
    for t in (1, 2):
        page.get_by_test_id("step").click()
        wait_t(page, t)
    page.locator("[data-node-id=h4]").click()
    page.get_by_test_id("inspector-node").wait_for()
    expected = _view_of(page)
    url = _share(page)
    assert url.startswith(server_url)

    fresh = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    errors: list[str] = []
    fresh.on("pageerror", lambda e: errors.append(str(e)))
    try:
        fresh.goto(url)
        wait_loaded(fresh, rule=other)
        wait_t(fresh, 2)
        fresh.get_by_test_id("inspector-node").wait_for()
        assert _view_of(fresh) == expected
        # back/forward: select another node (writes the fragment), then go back
        fresh.locator("[data-node-id=h2]").click()
        fresh.wait_for_function("() => location.hash.includes('sel=h2')")
    finally:
        fresh.context.close()
    assert not errors


def test_long_link_becomes_a_short_link(page, browser, api):
    config = api.get(f"/api/presets/{CHAIN}").json()
    rng = random.Random(0)
    # explicit random weights make the link long (they do not compress)
    params = {}
    for n in config["graph"]["nodes"]:
        if n["op"] == "linear" and n["id"] != config["graph"]["output"]:
            n["size"] = 8
    sizes = {n["id"]: n.get("size") for n in config["graph"]["nodes"]}
    for n in config["graph"]["nodes"]:
        if n["op"] == "linear":
            params[n["id"]] = {
                "weight": {src: [[round(rng.uniform(-1, 1), 6) for _ in range(sizes[src])]
                                 for _ in range(n["size"])] for src in n["inputs"]},
                "bias": [round(rng.uniform(-1, 1), 6) for _ in range(n["size"])],
            }
    config["params"] = params
    page.goto("/" + fragment(config, t=1, sel="h3"))
    wait_loaded(page)
    wait_t(page, 1)
    assert len(page.url) > 2000
    url = _share(page)
    assert "/s/" in url and len(url) < 200
    fresh = browser.new_context().new_page()
    try:
        fresh.goto(url)
        wait_loaded(fresh)
        wait_t(fresh, 1)
        assert fresh.get_by_test_id("inspector-node").inner_text() == "h3"
        weights = fresh.evaluate("() => document.querySelectorAll('[data-node-id]').length")
        assert weights == len(config["graph"]["nodes"])
    finally:
        fresh.context.close()


@pytest.mark.parametrize("bad", [
    "#v=1&c=AAAA-not-really-deflate",
    "#v=1&c=%%%",
    "#v=7&c=abc",
    "#v=1&t=-3",
])
def test_tampered_link_shows_a_readable_error(page, bad):
    page.goto("/" + bad)
    err = page.get_by_test_id("link-error")
    err.wait_for()
    text = err.inner_text()
    assert "could not be opened" in text
    assert page.locator("[data-node-id]").count() == 0


def test_link_with_an_invalid_config_is_checked_by_the_server(page):
    page.goto("/" + fragment({"version": 1, "graph": {"nodes": [{"id": "x", "op": "input", "size": 2}],
                                                       "output": "nope"},
                               "data": {"input": {"x": [1, 2]}, "target": [0]}, "rule": {"name": "fpa"}}))
    err = page.get_by_test_id("link-error")
    err.wait_for()
    assert "invalid" in err.inner_text()
    assert page.locator("[data-node-id]").count() == 0


def test_unknown_short_link(page):
    page.goto("/s/AAAAAAAAAAAAAAAA")
    page.get_by_test_id("link-error").wait_for()
    assert page.locator("[data-node-id]").count() == 0
