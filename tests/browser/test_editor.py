"""Editing the graph: add a node, connect it, run it; invalid edits are named at the node."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import open_preset, snapshots, wait_loaded, wait_new_snapshot, wait_t

pytestmark = pytest.mark.browser

CHAIN = "fpa-chain-gamma1"


def test_add_connect_and_run_a_node(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, CHAIN)
    before = snapshots(page)
    page.get_by_test_id("add-node").click()
    node = page.locator("[data-node-id=n1]")
    node.wait_for()
    # an unconnected node is invalid: the server's message shows next to it
    node.locator("[data-testid=node-issue]").first.wait_for()
    assert node.locator("[data-testid=node-issue]").first.inner_text().strip()
    # connect h5 -> n1 -> y (the inspector's editor; dragging handles works the same way)
    page.get_by_test_id("node-add-input").select_option("h5")
    page.get_by_test_id("node-add-output").select_option("y")
    wait_new_snapshot(page, before)
    page.wait_for_function("""() => {
        const n = document.querySelector('[data-node-id=n1]');
        return n && n.dataset.distance === '1' && !n.querySelector('[data-testid=node-issue]') }""")
    assert page.locator("[data-testid=node-issue]").count() == 0
    page.get_by_test_id("run-example").click()
    steps = int(page.evaluate("() => document.querySelector('[data-testid=scrubber]').max"))
    wait_t(page, steps)
    page.wait_for_function("() => Number(document.querySelector('[data-node-id=n1]').dataset.error) > 0")
    # inspector shows the new node's numbers
    node.click()
    page.get_by_test_id("inspector-node").wait_for()
    assert page.get_by_test_id("inspector-node").inner_text() == "n1"
    assert page.get_by_test_id("inspector-numbers").locator("tbody tr").count() == 2


def test_undo_redo(page):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, CHAIN)
    count = page.locator("[data-node-id]").count()
    page.get_by_test_id("add-node").click()
    page.wait_for_function(f"() => document.querySelectorAll('[data-node-id]').length === {count + 1}")
    page.get_by_test_id("undo").click()
    page.wait_for_function(f"() => document.querySelectorAll('[data-node-id]').length === {count}")
    page.get_by_test_id("redo").click()
    page.wait_for_function(f"() => document.querySelectorAll('[data-node-id]').length === {count + 1}")


def test_rule_settings_come_from_the_server(page, api):
    page.goto("/")
    wait_loaded(page)
    rules = api.get("/api/rules").json()
    options = page.get_by_test_id("rule-select").locator("option").evaluate_all("os => os.map(o => o.value)")
    assert sorted(options) == sorted(r["name"] for r in rules)
    current = page.get_by_test_id("app").get_attribute("data-rule")
    info = next(r for r in rules if r["name"] == current)
    for p in info["params"]:
        assert page.get_by_test_id(f"rule-param-{p['name']}").count() == 1
    wait_t(page, 0)


def test_export_config_and_trajectory(page):
    page.goto("/")
    wait_loaded(page)
    page.get_by_test_id("step").click()
    wait_t(page, 1)
    page.get_by_test_id("export-menu").click()
    with page.expect_download() as dl:
        page.get_by_test_id("export-csv").click()
    text = Path(dl.value.path()).read_text()
    assert text.startswith("example,t,node,unit,value,prediction,error\n")
    assert len(text.splitlines()) > 4
    with page.expect_download() as dl:
        page.get_by_test_id("export-json").click()
    assert "\"graph\"" in Path(dl.value.path()).read_text()
