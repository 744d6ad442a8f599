"""The error wave: stepping a chain preset moves the error one node per step."""

from __future__ import annotations

import pytest
from browser_helpers import (
    current_t,
    fragment,
    node_errors,
    open_preset,
    snapshots,
    wait_loaded,
    wait_new_snapshot,
    wait_t,
)

pytestmark = pytest.mark.browser

CHAIN = "fpa-chain-gamma1"  # six layers, unit step: distance d is reached at step d


def _chain_preset(api) -> str:
    ids = [p["id"] for p in api.get("/api/presets").json()]
    assert CHAIN in ids, ids
    return CHAIN


def test_chain_wave_reaches_distance_three_after_three_steps(page, api, artifacts):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, _chain_preset(api))
    wait_t(page, 0)
    for t in (1, 2, 3):
        page.get_by_test_id("step").click()
        wait_t(page, t)
        if t == 2:
            page.wait_for_timeout(250)  # pulses halfway along the edges
            page.screenshot(path=str(artifacts / "mid-wave.png"))
    # the animator paints node state on its own loop: wait until it has painted step 3
    page.wait_for_function("""() => [...document.querySelectorAll('[data-node-id]')]
        .some(el => el.dataset.distance === '3' && Number(el.dataset.error) > 0)""")
    nodes = node_errors(page)
    at3 = [n for n, v in nodes.items() if v["distance"] == 3]
    farther = [n for n, v in nodes.items() if v["distance"] is not None and v["distance"] > 3]
    assert at3 and farther, nodes
    assert all(nodes[n]["error"] > 0 for n in at3), nodes
    assert all(nodes[n]["error"] == 0 for n in farther), nodes
    assert (artifacts / "mid-wave.png").stat().st_size > 10_000


def test_keyboard_steps_and_history(page, api):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, _chain_preset(api))
    page.locator("body").click(position={"x": 5, "y": 5})
    for t in (1, 2, 3):
        page.keyboard.press("ArrowRight")
        wait_t(page, t)
    held = page.get_by_test_id("app").get_attribute("data-held")
    page.keyboard.press("ArrowLeft")
    wait_t(page, 2)
    page.keyboard.press("Home")
    wait_t(page, 0)
    # stepping back came from the client's history: nothing new was requested
    assert page.get_by_test_id("app").get_attribute("data-held") == held
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('[data-testid=run-example]').disabled")
    assert current_t(page) >= 3


def test_play_runs_and_pauses_at_the_end(page, api):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, _chain_preset(api))
    page.get_by_test_id("speed").select_option("30")
    page.get_by_test_id("play").click()
    page.wait_for_function("""() =>
        document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'false'
        && Number(document.querySelector('[data-testid=current-t]').textContent) > 0""")
    steps = int(page.evaluate("() => document.querySelector('[data-testid=scrubber]').max"))
    wait_t(page, steps)


def test_rule_change_changes_divergence_chart(page, api):
    page.goto("/")
    wait_loaded(page)
    open_preset(page, _chain_preset(api))
    page.get_by_test_id("run-example").click()
    chart = page.get_by_test_id("divergence-chart")
    page.wait_for_function("""() => {
        const el = document.querySelector('[data-testid=divergence-chart]');
        return el && el.dataset.summary && el.dataset.summary === el.dataset.pending
            && el.querySelector('.main-svg') && JSON.parse(el.dataset.summary)[0].length > 3 }""")
    before = chart.get_attribute("data-summary")
    rules = [o for o in page.get_by_test_id("rule-select").locator("option").evaluate_all(
        "os => os.map(o => o.value)")]
    current = page.get_by_test_id("app").get_attribute("data-rule")
    other = "pc" if "pc" in rules and current != "pc" else next(r for r in rules if r != current)
    before_snap = snapshots(page)
    page.get_by_test_id("rule-select").select_option(other)
    wait_new_snapshot(page, before_snap)
    wait_loaded(page, rule=other)
    page.get_by_test_id("run-example").click()
    page.wait_for_function("""before => {
        const el = document.querySelector('[data-testid=divergence-chart]');
        return el.dataset.summary && el.dataset.summary === el.dataset.pending
            && el.dataset.summary !== before && JSON.parse(el.dataset.summary)[0].length > 3 }""",
                           arg=before)
    after = chart.get_attribute("data-summary")
    assert after != before
    # the plot really redrew: plotly's own data differs too
    ys = page.evaluate("() => document.querySelector('[data-testid=divergence-chart]').data.map(d => d.y)")
    assert ys and any(len(y) > 3 for y in ys)


BLOWUP = {
    "version": 1, "title": "exp blows up",
    "graph": {"nodes": [
        {"id": "x", "op": "input", "size": 1},
        {"id": "h", "op": "linear", "inputs": ["x"], "size": 1},
        {"id": "e", "op": "exp", "inputs": ["h"]},
        {"id": "y", "op": "linear", "inputs": ["e"], "size": 1}], "output": "y"},
    "params": {"h": {"weight": {"x": [[1.0]]}, "bias": [0.0]},
               "y": {"weight": {"e": [[5.0]]}, "bias": [0.0]}},
    "data": {"input": {"x": [3.0]}, "target": [-100.0]},
    "rule": {"name": "pc", "steps": 50, "gamma": 2.0},
}


def test_blow_up_shows_where_it_started_and_pauses(page):
    page.goto("/" + fragment(BLOWUP))
    wait_loaded(page, rule="pc")
    page.get_by_test_id("play").click()
    badge = page.get_by_test_id("diverged-badge")
    badge.wait_for()
    assert page.get_by_test_id("diverged-node").inner_text() == "e"
    assert page.get_by_test_id("play").get_attribute("aria-pressed") == "false"
    t = current_t(page)
    page.wait_for_timeout(500)
    assert current_t(page) == t < 50
    assert page.locator("[data-node-id=e]").get_attribute("data-error") == "NaN" or \
        "ew-diverged-origin" in (page.locator("[data-node-id=e]").get_attribute("class") or "")


def test_reduced_motion_gives_a_static_wave(browser, server_url):
    context = browser.new_context(reduced_motion="reduce", base_url=server_url)
    page = context.new_page()
    try:
        page.goto("/")
        wait_loaded(page)
        assert page.evaluate("() => window.__errorwave.animator.reduced") is True
        ticks = page.evaluate("() => window.__errorwave.animator.ticks")
        page.get_by_test_id("step").click()
        wait_t(page, 1)
        page.wait_for_timeout(700)
        # a static repaint: a frame or two, not a loop running through a transition
        assert page.evaluate("() => window.__errorwave.animator.ticks") - ticks < 10
    finally:
        context.close()
