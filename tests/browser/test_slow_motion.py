"""Slow motion of one step in real Chromium: the page plays the stages of the frame it
received, in the order the frame lists them, highlighting each stage's nodes, and the
caption is large enough to read from the back of a room in presenter mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import open_preset, wait_loaded, wait_t
from socket_frames import SocketFrames

pytestmark = pytest.mark.browser

CAPTION = "[data-testid=stage-caption]"
SHOWN = """() => { const c = document.querySelector('[data-testid=stage-caption]');
  return c && { index: Number(c.dataset.stageIndex), stage: c.dataset.stage,
    caption: c.querySelector('[data-testid=stage-text]').textContent,
    font: parseFloat(getComputedStyle(c.querySelector('[data-testid=stage-text]')).fontSize),
    on: [...document.querySelectorAll('.ew-stage-on')].map(e => e.dataset.nodeId).sort() } }"""


def wait_stage(page, index: int) -> dict:
    page.wait_for_function(
        "i => { const c = document.querySelector('[data-testid=stage-caption]');"
        " return c && Number(c.dataset.stageIndex) === i"
        " && document.querySelectorAll('.ew-stage-on').length > 0 }", arg=index)
    return page.evaluate(SHOWN)


def test_slow_motion_plays_the_frames_stages_in_order(browser, server_url: str,
                                                      artifacts: Path) -> None:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server_url)
    # each stage stays until the next key press (no timer racing the test)
    ctx.add_init_script("localStorage.setItem('errorwave.slowMs', '60000');"
                        "localStorage.setItem('errorwave.intro.dismissed', '1')")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        frames = SocketFrames(page)
        page.goto("/")
        wait_loaded(page)
        open_preset(page, "zil-mlp")
        page.get_by_test_id("step").click()
        wait_t(page, 1)
        stages = frames.at(1)["stages"]
        assert [s["stage"] for s in stages][:3] == ["values", "weights applied", "predictions"]

        page.keyboard.press("s")
        shown = []
        for i in range(len(stages)):
            shown.append(wait_stage(page, i))
            if stages[i]["stage"] == "errors":
                page.screenshot(path=str(artifacts / "slow-motion-zil-mlp-laptop.png"))
            page.keyboard.press("s")
        page.wait_for_selector(CAPTION, state="detached")
        assert [(s["stage"], s["caption"]) for s in shown] == \
            [(s["stage"], s["caption"]) for s in stages]
        assert [s["on"] for s in shown] == [sorted(s["nodes"]) for s in stages]
        assert page.locator(".ew-stage-on, .ew-stage-off").count() == 0  # cleared at the end

        # presenter mode at 1920x1080: the caption reads from the back of the room
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.get_by_test_id("presenter").click()
        page.get_by_test_id("slow-motion").click()
        first = wait_stage(page, 0)
        assert first["font"] >= 36, first
        page.keyboard.press("s")
        wait_stage(page, 1)
        page.wait_for_timeout(300)  # the highlight's transition
        page.screenshot(path=str(artifacts / "slow-motion-zil-mlp-presenter.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector(CAPTION, state="detached")

        # on its own timer it walks every stage and ends
        page.evaluate("localStorage.setItem('errorwave.slowMs', '150')")
        page.keyboard.press("s")
        page.wait_for_selector(CAPTION)
        page.wait_for_selector(CAPTION, state="detached", timeout=5000)
    finally:
        ctx.close()
    assert not errors
