"""Follow the teacher in real Chromium: the presenter shares, a student's page at /c/{code}
follows step for step (and the selected node), forks with "explore from here", and sees
the end of the class."""

from __future__ import annotations

import re

import pytest
from browser_helpers import open_preset, wait_loaded, wait_t

pytestmark = pytest.mark.browser

CHAIN = "fpa-chain-gamma1"


def _student(browser, server_url: str, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server_url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return context, page, errors


def test_follow_the_teacher_fork_and_end_of_class(page, browser, server_url, artifacts):
    page.goto("/")
    open_preset(page, CHAIN)
    page.get_by_test_id("presenter").click()
    page.get_by_test_id("class-share").click()
    page.get_by_test_id("class-title").fill("Ms Rivera")
    page.get_by_test_id("class-start").click()
    code_text = page.get_by_test_id("class-code").inner_text()
    url = page.get_by_test_id("class-url").inner_text()
    m = re.fullmatch(r"https?://[^/]+(/c/(A-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{5}))", url)
    assert m, url
    assert code_text.replace(" · ", "-") == m.group(2)
    assert page.locator("[data-testid=class-qr] svg").count() == 1
    # readable from the back: the code is drawn at least 40 px high
    height = page.get_by_test_id("class-code").evaluate("e => e.getBoundingClientRect().height")
    assert height >= 40, height
    page.screenshot(path=str(artifacts / "class-share.png"))

    context, student, errors = _student(browser, server_url, m.group(1))
    try:
        banner = student.get_by_test_id("following")
        banner.wait_for()
        assert "Ms Rivera" in banner.inner_text()
        wait_loaded(student)
        page.get_by_test_id("class-followers").filter(has_text="1 following").wait_for()
        # the teacher steps: the student's page follows
        for _ in range(3):
            page.get_by_test_id("step").click()
        wait_t(page, 3)
        wait_t(student, 3)
        # the teacher selects a node: the student's inspector shows it too
        node = page.locator("[data-node-id]").last
        node_id = node.get_attribute("data-node-id")
        node.click()
        student.wait_for_function(
            "id => document.querySelector('[data-testid=inspector-node]')?.textContent.includes(id)",
            arg=node_id)
        # read-only: a student's step is refused, the teacher's page stays at 3
        student.get_by_test_id("step").click()
        student.wait_for_timeout(300)
        assert student.get_by_test_id("current-t").inner_text() == "3"
        student.screenshot(path=str(artifacts / "class-follower.png"))

        # explore from here: the student's own session, at the teacher's step
        student.get_by_test_id("explore-here").click()
        student.get_by_test_id("follow-banner").wait_for(state="detached")
        wait_t(student, 3)
        student.get_by_test_id("step").click()
        wait_t(student, 4)
        page.wait_for_timeout(300)
        assert page.get_by_test_id("current-t").inner_text() == "3"  # the teacher's is its own
        page.get_by_test_id("class-followers").filter(has_text="0 following").wait_for()
        assert not errors, errors
    finally:
        context.close()

    # a second student follows; the teacher leaves: the class ends with a clear message
    context, student, errors = _student(browser, server_url, m.group(1))
    try:
        student.get_by_test_id("following").wait_for()
        wait_t(student, 3)
        page.close()
        ended = student.get_by_test_id("class-ended")
        ended.wait_for()
        assert "ended" in ended.inner_text()
        assert "/c/" not in student.url  # a reload opens the app, not the ended class
        student.get_by_test_id("explore-here").click()
        wait_t(student, 3)
        assert not errors, errors
    finally:
        context.close()


def test_an_unknown_class_says_so(page):
    page.goto("/c/A-2222-2222-22222")
    page.get_by_text(re.compile("no class A-2222-2222-22222")).wait_for()
