"""Helpers for the browser tests: permalink encoding and waiting on the page."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def encode_config(config: dict[str, Any]) -> str:
    """The frontend's permalink encoding: compact JSON, deflate-raw, base64url without '='."""
    raw = json.dumps(config, separators=(",", ":")).encode()
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = co.compress(raw) + co.flush()
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def fragment(config: dict[str, Any] | None = None, **view: Any) -> str:
    parts = ["v=1"]
    if config is not None:
        parts.append(f"c={encode_config(config)}")
    parts += [f"{k}={v}" for k, v in view.items()]
    return "#" + "&".join(parts)


def wait_loaded(page: Page, rule: str | None = None, timeout: float = 20_000) -> None:
    """Wait until the server session has sent a snapshot (and frame 0) for the page."""
    page.wait_for_selector("[data-testid=app][data-revision]:not([data-revision=''])", timeout=timeout)
    page.wait_for_function("() => Number(document.querySelector('[data-testid=app]').dataset.held) > 0",
                           timeout=timeout)
    if rule is not None:
        page.wait_for_selector(f"[data-testid=app][data-rule='{rule}']", timeout=timeout)
    page.wait_for_selector("[data-node-id]", timeout=timeout)


def current_t(page: Page) -> int:
    return int(page.locator("[data-testid=current-t]").inner_text())


def wait_t(page: Page, t: int, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "t => document.querySelector('[data-testid=current-t]')?.textContent === String(t)",
        arg=t, timeout=timeout)


def node_errors(page: Page) -> dict[str, dict[str, Any]]:
    """Per node on screen: distance to the output and the largest |error| painted."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-node-id]')].map(el => [el.dataset.nodeId, {
            distance: el.dataset.distance === '' ? null : Number(el.dataset.distance),
            error: el.dataset.error === undefined ? null : Number(el.dataset.error),
        }]))""")


def snapshots(page: Page) -> int:
    return int(page.get_by_test_id("app").get_attribute("data-snapshots") or 0)


def wait_new_snapshot(page: Page, before: int, timeout: float = 20_000) -> None:
    """Wait for a snapshot newer than the `before`-th one, and its frame 0."""
    page.wait_for_function(
        """n => { const a = document.querySelector('[data-testid=app]');
                  return Number(a.dataset.snapshots) > n && Number(a.dataset.held) > 0 }""",
        arg=before, timeout=timeout)
    page.wait_for_selector("[data-node-id]", timeout=timeout)


def open_preset(page: Page, preset_id: str) -> None:
    before = snapshots(page)
    page.get_by_test_id(f"preset-{preset_id}").click()
    wait_new_snapshot(page, before)
