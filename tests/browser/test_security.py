"""Text from links is only ever text: a label with markup shows as itself and runs nothing."""

from __future__ import annotations

import pytest
from browser_helpers import fragment, wait_loaded

pytestmark = pytest.mark.browser

CHAIN = "fpa-chain-gamma1"
PAYLOAD = "<img src=x onerror=alert(1)>"


def test_label_with_markup_is_rendered_as_text(page, api):
    config = api.get(f"/api/presets/{CHAIN}").json()
    config["graph"]["nodes"][1]["label"] = PAYLOAD
    config["title"] = PAYLOAD
    target = config["graph"]["nodes"][1]["id"]
    page.goto("/" + fragment(config, sel=target))
    wait_loaded(page)
    label = page.locator(f"[data-node-id={target}] .ew-node-label")
    assert label.inner_text() == PAYLOAD
    assert page.get_by_test_id("inspector-node").inner_text() == PAYLOAD
    assert page.get_by_test_id("config-title").inner_text() == PAYLOAD
    assert page.locator("img").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_label_typed_in_the_editor_is_text(page):
    page.goto("/")
    wait_loaded(page)
    node = page.locator("[data-node-id]").nth(1)
    node_id = node.get_attribute("data-node-id")
    node.click()
    page.get_by_test_id("node-label").fill(PAYLOAD)
    page.get_by_test_id("node-label").press("Enter")
    page.wait_for_function(
        "([id, text]) => document.querySelector(`[data-node-id=${id}] .ew-node-label`).textContent === text",
        arg=[node_id, PAYLOAD])
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []  # type: ignore[attr-defined]
