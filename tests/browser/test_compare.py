"""Compare mode in real Chromium: Z-IL beside standard PC on one clock. Both sides stay at
the same t through step, play, seek and a reload from the permalink; side b's numbers on
the split cards are rule b's own (checked against a single-rule engine); screenshots at
1366x768 and at 1920x1080 in presenter mode. Z-IL beside DFA: an undefined b-from-a (side a's
error zero) reads "—" with its reason, the inspector shows both sides, and switching
compare on or off mid-example leaves no gap in the held steps even when frames drop."""

from __future__ import annotations

import copy
import json
import math
import struct
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
    alone["rule"] = cfg["compare"]["rule"]
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
    relay = DropOnce(page)
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

        _undefined_divergence_and_switches(page, relay, artifacts)

        page.set_viewport_size({"width": 1920, "height": 1080})
        page.get_by_test_id("presenter").click()
        page.wait_for_timeout(600)  # the canvas refits to the new size
        page.screenshot(path=str(artifacts / "compare-zil-pc-presenter.png"))
        # from the back of the room: the b half's numbers are not tiny on screen
        box = page.locator("[data-testid^=vs-ba-]").first.bounding_box()
        assert box is not None and box["height"] >= 10
        # the inspector's two sides fit its column (no number clipped)
        page.get_by_test_id("inspector-numbers").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "compare-inspector-presenter.png"))
        box, panel = (page.get_by_test_id(k).bounding_box() for k in ("inspector-numbers", "inspector"))
        assert box and panel and box["x"] + box["width"] <= panel["x"] + panel["width"] + 1, (box, panel)
    finally:
        ctx.close()
    assert not errors, errors


def _frame_tag(msg: str | bytes) -> tuple[int, str] | None:
    """(t, side) of a frame message, JSON or binary (its header is JSON: binary.py)."""
    if isinstance(msg, bytes):
        (h,) = struct.unpack("<I", msg[4:8])
        head = json.loads(msg[8:8 + h])
    else:
        head = json.loads(msg)
        if head.get("type") != "frame":
            return None
    return head["t"], head.get("side", "a")


class DropOnce:
    """A websocket relay that, when armed, drops the first delivery of step 1's frames (both
    sides), as the server's coalescing outbox does to a slow reader during a catch-up."""

    def __init__(self, page: Any):
        self.armed = False
        self.dropped: list[tuple[int, str]] = []
        page.route_web_socket("**/ws*", self._route)

    def _route(self, ws: Any) -> None:
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(lambda m: None if self._drop(m) else ws.send(m))

    def _drop(self, msg: str | bytes) -> bool:
        tag = _frame_tag(msg) if self.armed else None
        if tag is None or tag[0] != 1:
            return False
        self.dropped.append(tag)
        if tag[1] == "b" or len(self.dropped) >= 2:
            self.armed = False  # the pair is gone; what the page asks for next gets through
        return True


def _switch_without_gaps(page: Any, relay: DropOnce, act: Any, t: int | None = None) -> None:
    """A compare switch at t >= 2 with step 1's frames dropped on the way: the page fetches
    them back (steps 0..t held on every side), the view stays at t, and the timing diagram
    has a column for every step (t: where the switch lands, by default where it is)."""
    t = current_t(page) if t is None else t
    relay.armed, relay.dropped = True, []
    before = int(page.get_by_test_id("app").get_attribute("data-snapshots") or 0)
    act()
    page.wait_for_function("n => Number(document.querySelector('[data-testid=app]').dataset.snapshots) > n",
                           arg=before)
    wait_t(page, t)
    page.wait_for_function("n => document.querySelector('[data-testid=app]').dataset.whole === String(n)",
                           arg=t + 1, timeout=8_000)
    assert relay.dropped and relay.dropped[0][0] == 1, relay.dropped
    assert current_t(page) == t
    page.wait_for_function("""n => { const d = JSON.parse(document.querySelector(
        '[data-testid=timing-diagram]').dataset.timing || '{}').shade || {};
        return Object.values(d).length > 0 && Object.values(d).every(r => r.length === n) }""", arg=t + 1)


def _undefined_divergence_and_switches(page: Any, relay: DropOnce, artifacts: Any) -> None:
    """Z-IL beside DFA: at t = 1 Z-IL's error at h1 is still zero and DFA's is not, so b
    from a is undefined: "—" with its reason, never "NaN". The inspector shows side b's
    numbers under side a's. Then compare off and on again at t = 2, each losing a frame."""
    toggle = page.get_by_test_id("compare-toggle")
    # from t = 3 (the rejected setting's issue clears with the new pair); DFA takes 1 step,
    # so the pair's clock ends at Z-IL's 2
    _switch_without_gaps(page, relay, lambda: page.get_by_test_id("compare-rule-select").select_option("dfa"),
                         t=2)
    page.get_by_test_id("compare-legend-b").filter(has_text="feedback").wait_for()
    ref = reference_b({**compare_config(), "compare": {"rule": {"name": "dfa"}}})
    page.get_by_test_id("scrubber").fill("1")
    wait_t(page, 1)
    page.locator("[data-node-id=h1]").first.click()
    vs = page.get_by_test_id("vs-ba-h1")
    page.wait_for_function("() => document.querySelector('[data-testid=vs-ba-h1]')?.dataset.why")
    assert vs.inner_text().split() == ["b↔a", "—"], vs.inner_text()
    assert "reference is zero" in (vs.get_attribute("title") or "")
    readout = page.get_by_test_id("readout-ba-h1")
    assert readout.inner_text() == "—" and "reference is zero" in (readout.get_attribute("title") or "")
    page.get_by_test_id("inspector-error-0-b").wait_for()
    got = float(page.get_by_test_id("inspector-error-0-b").inner_text().replace("−", "-"))
    want = ref[1]["nodes"]["h1"]["error"][0]
    assert math.isclose(got, want, rel_tol=6e-3, abs_tol=1e-6), (got, want)
    assert float(page.get_by_test_id("inspector-error-0").inner_text()) == 0  # side a: still zero
    assert page.get_by_test_id("div-ba-error-rel_l2").inner_text() == "—"
    assert float(page.get_by_test_id("inspector-norm-b").inner_text()) > 0
    for where in ("inspector", "divergence-readout", "half-b-h1"):
        assert "NaN" not in page.get_by_test_id(where).inner_text(), where
    page.get_by_test_id("inspector-divergence").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "compare-inspector-laptop.png"))

    page.get_by_test_id("scrubber").fill("2")
    wait_t(page, 2)
    _switch_without_gaps(page, relay, toggle.click)  # off: Z-IL alone
    assert page.locator("[data-testid^=half-b-]").count() == 0
    _switch_without_gaps(page, relay, toggle.click)  # on: Z-IL beside Z-IL
    page.locator("[data-testid^=half-b-]").first.wait_for()
    page.get_by_test_id("compare-rule-select").select_option("pc")  # back to PC for the slides
    page.get_by_test_id("compare-legend-b").filter(has_text="Standard").wait_for()
