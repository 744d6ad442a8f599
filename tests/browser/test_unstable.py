"""A runaway that stays finite (the `unstable` event) is shown like a NaN blow-up:
a badge naming the node and the step, and the transport paused."""

from __future__ import annotations

from browser_helpers import current_t, fragment, wait_loaded
from tests.engine.test_rule_eqprop import strong_chain


def test_unstable_run_shows_a_runaway_badge_and_pauses(page):
    config = strong_chain(0, 0.5)  # EqProp, predictive energy, a step too large for it
    page.goto("/" + fragment(config))
    wait_loaded(page, rule="eqprop")
    page.get_by_test_id("run-example").click()
    badge = page.get_by_test_id("diverged-badge")
    badge.wait_for()
    assert "Runaway (unstable)" in badge.inner_text()
    node = page.get_by_test_id("diverged-node").inner_text()
    assert node in {n["id"] for n in config["graph"]["nodes"]}
    t = current_t(page)
    assert 0 < t < 100  # halted before the end of the example (T = 100)
    page.wait_for_timeout(300)
    assert current_t(page) == t
