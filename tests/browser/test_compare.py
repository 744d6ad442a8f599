"""Compare mode in real Chromium: Z-IL beside standard PC on one clock. Both sides stay at
the same t through step, play, seek and a reload from the permalink; side b's numbers on
the split cards are rule b's own (checked against a single-rule engine); screenshots at
1366x768 and at 1920x1080 in presenter mode."""

from __future__ import annotations

import copy
import math
from typing import Any

from browser_helpers import current_t, fragment, wait_loaded, wait_t

from errorwave.engine import Engine
from errorwave.presets import get_preset

RULE_B = {"name": "pc", "steps": 6, "lr": 0.1}  # Z-IL takes 2 steps on this MLP: it holds


def compare_config() -> dict[str, Any]:
    cfg = copy.deepcopy(get_preset("zil-mlp"))
    assert cfg is not None
    cfg["compare"] = {"rule": RULE_B}
    cfg.pop("tour", None)
    return cfg


def reference_b(cfg: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Side b's frames from a single-rule engine of rule b: {t: frame}."""
    alone = {k: v for k, v in cfg.items() if k not in ("compare", "tour")}
    alone["rule"] = RULE_B
    e = Engine(alone)
    return {f["t"]: f for f in [e.frame, *e.run()]}


def sides(page: Any) -> dict[str, Any]:
    """The step on the transport and every split card's side b step and error numbers."""
    return page.evaluate("""() => ({
        t: Number(document.querySelector('[data-testid=current-t]').textContent),
        b: Object.fromEntries([...document.querySelectorAll('[data-testid^=half-b-]')].map(el => [
            el.dataset.testid.slice(7),
            {t: el.dataset.t === '' ? null : Number(el.dataset.t),
             values: [...el.querySelectorAll('[data-unit-b]')].map(c => c.dataset.value === ''
                      ? null : Number(c.dataset.value))}]))})""")


def same_t(page: Any, t: int, ref: dict[int, dict[str, Any]]) -> None:
    """Both sides at step t, and side b's error numbers are rule b's at t (float32 frames)."""
    wait_t(page, t)
    page.wait_for_function(
        """t => { const h = [...document.querySelectorAll('[data-testid^=half-b-]')];
                  return h.length > 0 && h.every(el => el.dataset.t === String(t)) }""", arg=t)
    got = sides(page)
    assert got["t"] == t
    want = ref[t]["nodes"]
    for nid, half in got["b"].items():
        assert half["t"] == t, (nid, half)
        if nid == "x":  # the input prints its data
            continue
        for g, w in zip(half["values"], want[nid]["error"], strict=False):
            assert math.isclose(g, w, rel_tol=1e-5, abs_tol=1e-6), (nid, t, g, w)


def test_compare_mode_keeps_both_sides_on_one_clock(browser, server_url, artifacts):
    cfg = compare_config()
    ref = reference_b(cfg)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server_url)
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto("/" + fragment(cfg))
        wait_loaded(page, rule="zil")
        legend = page.get_by_test_id("compare-legend")
        legend.wait_for()
        assert "Standard" in legend.inner_text() or "PC" in legend.inner_text()
        assert page.get_by_test_id("compare-toggle").is_checked()
        same_t(page, 0, ref)

        page.get_by_test_id("step").click()  # step
        same_t(page, 1, ref)
        page.get_by_test_id("play").click()  # play to the end: Z-IL is done at 2, PC goes on
        same_t(page, 6, ref)
        half = page.locator("[data-testid^=half-b-]").first
        assert half.get_attribute("data-held") == ""  # side b is PC's own last step
        assert "(done)" in page.get_by_test_id("compare-legend-a").inner_text()
        # the divergence b from a, and each from backprop, on the cards and the readout
        assert float(page.get_by_test_id("vs-ba-y").get_attribute("data-value") or 0) > 0
        page.get_by_test_id("readout-ba-y").wait_for()

        page.get_by_test_id("scrubber").fill("3")  # seek back (the page's own history)
        same_t(page, 3, ref)
        page.screenshot(path=str(artifacts / "compare-zil-pc-laptop.png"))

        # the permalink carries compare and t: a reload reopens both sides at t = 3
        page.wait_for_function("() => location.hash.includes('t=3')")
        page.reload()
        wait_loaded(page, rule="zil")
        same_t(page, 3, ref)
        assert current_t(page) == 3

        # a rejected setting of side b is marked at its field and changes neither side
        lr = page.get_by_test_id("compare-param-lr")
        lr.fill("-1")
        lr.press("Enter")
        page.get_by_test_id("compare-issue-lr").wait_for()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=compare-param-lr]').value === '0.1'")
        same_t(page, 3, ref)

        page.set_viewport_size({"width": 1920, "height": 1080})
        page.get_by_test_id("presenter").click()
        page.wait_for_timeout(600)  # the canvas refits to the new size
        page.screenshot(path=str(artifacts / "compare-zil-pc-presenter.png"))
        # from the back of the room: the b half's numbers are not tiny on screen
        box = page.locator("[data-testid^=vs-ba-]").first.bounding_box()
        assert box is not None and box["height"] >= 10
    finally:
        ctx.close()
    assert not errors, errors
