"""A guided tour in real Chromium, from the keyboard as a presenter walks it: PageDown
(what a clicker sends) goes from stop to stop, and at each stop the page shows what the
caption says: the stop's step, its selected node, and the number the caption names (in the
tour bar, and in the inspector for the selected node). Screenshots in presenter mode at
1366x768 and 1920x1080."""

from __future__ import annotations

import math
import re

import pytest
from browser_helpers import open_preset, wait_t

from errorwave.presets import get_preset
from errorwave.tours import readings

pytestmark = pytest.mark.browser

TOUR = "zil-mlp"


def _wait_text(page, testid: str, text: str) -> None:
    page.wait_for_function(
        "([id, text]) => document.querySelector(`[data-testid=${id}]`)?.textContent === text",
        arg=[testid, text])


def _stop_shown(page, k: int, stop: dict) -> None:
    """The page is at stop k: index, step, selected node, and every reading holds."""
    bar = page.get_by_test_id("tour-bar")
    page.wait_for_function(
        "k => document.querySelector('[data-testid=tour-bar]')?.dataset.stop === String(k)", arg=k)
    wait_t(page, stop["t"])
    assert page.get_by_test_id("tour-index").inner_text() == str(k + 1)
    assert bar.get_by_test_id("tour-caption").inner_text() == stop["caption"]
    nodes = get_preset(TOUR)["graph"]["nodes"]
    label = next(n.get("label") or n["id"] for n in nodes if n["id"] == stop["node"])
    _wait_text(page, "inspector-node", label)
    assert page.locator(".ew-selected").get_attribute("data-node-id") == stop["node"]
    claims = readings(stop["caption"])
    chips = bar.get_by_test_id("tour-reading")
    # each named number: its chip holds (the value on screen now), side b's once it arrived
    page.wait_for_function(
        "n => { const c = [...document.querySelectorAll('[data-testid=tour-reading]')];"
        "       return c.length === n && c.every(e => e.dataset.holds === 'true') }",
        arg=len(claims), timeout=15_000)
    for i, claim in enumerate(claims):
        chip = chips.nth(i)
        assert chip.get_attribute("data-node") == claim.node and chip.get_attribute("data-side") == claim.side
        assert claim.holds(float(chip.get_attribute("data-value")))
        if claim.side == "a" and claim.node == stop["node"] and claim.metric == "rel L2":
            # the inspector's own readout of the selected node says the same
            cell = page.get_by_test_id(f"div-{claim.signal}-rel_l2").inner_text()
            shown = float(cell.replace("−", "-"))
            assert claim.holds(shown) or (claim.op == "=" and math.isclose(shown, float(claim.number),
                                                                            rel_tol=5e-3)), (cell, claim)


def _class_follows_the_tour(browser, server_url: str, teacher, tour: list[dict]) -> None:
    """A student following the presenter's class sees the stop's caption, and the next."""
    teacher.get_by_test_id("class-share").click()
    teacher.get_by_test_id("class-start").click()
    url = teacher.get_by_test_id("class-url").inner_text()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server_url)
    try:
        student = context.new_page()
        student.goto(re.sub(r"^https?://[^/]+", "", url))
        caption = student.get_by_test_id("tour-caption")
        _wait_text(student, "tour-caption", tour[-2]["caption"])
        teacher.keyboard.press("PageUp")
        _wait_text(student, "tour-caption", tour[-3]["caption"])
        wait_t(student, tour[-3]["t"])
        assert caption.is_visible() and student.get_by_test_id("tour-next").count() == 0  # read-only
    finally:
        context.close()


def test_zil_tour_by_keys_in_presenter_mode(browser, server_url, artifacts):
    tour = get_preset(TOUR)["tour"]
    for width, height in ((1920, 1080), (1366, 768)):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=server_url)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        try:
            page.goto("/")
            open_preset(page, TOUR)
            page.get_by_test_id("presenter").click()
            page.get_by_test_id("tour-start").wait_for()
            stops = range(len(tour)) if width == 1920 else range(3)  # the laptop: the first three
            for k in stops:
                page.keyboard.press("PageDown")
                _stop_shown(page, k, tour[k])
                if k == 2:
                    page.screenshot(path=str(artifacts / f"tour-{TOUR}-{width}x{height}.png"))
            if width == 1920:
                page.screenshot(path=str(artifacts / f"tour-{TOUR}-compare-{width}x{height}.png"))
                # the caption is large enough to read from the back of a room
                size = page.get_by_test_id("tour-caption").evaluate(
                    "e => parseFloat(getComputedStyle(e).fontSize)")
                assert size >= 28, size
                # PageUp walks back, and each stop is a permalink: reloading the link shows it
                page.keyboard.press("PageUp")
                _stop_shown(page, len(tour) - 2, tour[-2])
                page.wait_for_function("() => /[#&]ts=5(&|$)/.test(location.hash)")
                page.reload()
                _stop_shown(page, len(tour) - 2, tour[-2])
                _class_follows_the_tour(browser, server_url, page, tour)
            assert not errors, errors
        except Exception:
            # what the page showed, for the CI log
            page.screenshot(path=str(artifacts / f"tour-failure-{width}x{height}.png"))
            raise
        finally:
            context.close()


def test_next_event_key_and_hidden_controls(page, artifacts):
    """E runs to the next step where plasticity fires or an error first arrives (FPA on a
    6-layer chain: one arrival per step, then plasticity at the end); hidden controls are
    kept in the link."""
    page.goto("/")
    open_preset(page, "fpa-chain-gamma1")
    page.locator("body").click(position={"x": 5, "y": 5})
    for expected in (1, 2, 3, 4, 5, 8):  # arrivals at h5..h1, then plasticity at T = 8
        page.keyboard.press("e")
        wait_t(page, expected)
    page.keyboard.press("Shift+E")
    wait_t(page, 5)
    page.get_by_test_id("panels-menu").click()
    page.get_by_test_id("control-reset").uncheck()
    page.get_by_test_id("control-speed").uncheck()
    assert page.get_by_test_id("reset").is_hidden() and page.get_by_test_id("speed").is_hidden()
    assert page.get_by_test_id("step").is_visible()
    page.wait_for_function("() => /[#&]hc=reset%2Cspeed(&|$)/.test(location.hash)")
    page.reload()
    wait_t(page, 5)  # the link restored (its step, then its hidden controls)
    page.get_by_test_id("reset").wait_for(state="hidden")
    assert page.get_by_test_id("speed").is_hidden() and page.get_by_test_id("step").is_visible()
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    keys = page.get_by_test_id("keys-list").inner_text()
    assert re.search(r"PageDown\s+PageUp", keys) and "next event" in keys
    page.keyboard.press("?")
    page.get_by_test_id("keys-list").wait_for(state="detached")
