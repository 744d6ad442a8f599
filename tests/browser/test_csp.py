"""The app runs whole under its Content-Security-Policy (no inline script, no eval, no
foreign connection): loading, playing, the charts and sharing raise no violation."""

from __future__ import annotations

import pytest
from browser_helpers import wait_loaded

pytestmark = pytest.mark.browser

COLLECT = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


def test_the_app_runs_under_its_csp(page, api):
    r = api.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'self'" in csp
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(COLLECT)
    page.goto("/")
    wait_loaded(page)
    page.keyboard.press("Space")  # play: frames over the websocket, charts redraw
    page.wait_for_timeout(1500)
    page.keyboard.press("Space")
    assert page.get_by_test_id("divergence-chart").count() == 1
    page.get_by_test_id("share").click()  # POST /api/links from the page itself
    page.get_by_test_id("share-url").wait_for()
    assert page.evaluate("window.__csp") == []
    assert not [m for m in console if "Content Security Policy" in m]
