"""After the server restarts, the page rebuilds its session from what it holds (the
configuration, the example and the step) and carries on at the same t: revisions from
the new server never strand it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from browser_helpers import current_t, open_preset, snapshots, wait_loaded, wait_new_snapshot, wait_t
from conftest import ROOT, _free_port


def start(port: int, data: Path) -> subprocess.Popen:
    env = {**os.environ, "ERRORWAVE_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "errorwave", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 150  # workers import torch before /healthz says 200
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("server did not become ready")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_the_page_resumes_at_the_same_step_after_a_server_restart(browser, tmp_path):
    port = _free_port()
    proc = start(port, tmp_path)
    context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                  base_url=f"http://127.0.0.1:{port}")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/")
        wait_loaded(page)
        open_preset(page, "zil-mlp")
        page.get_by_test_id("step").click()  # zil-mlp has T = 2
        wait_t(page, 1)
        before = snapshots(page)
        stop(proc)
        proc = start(port, tmp_path)
        # The page reconnects by itself, rebuilds the session (a new snapshot from the new
        # server, whose revisions start again at 0) and lands on t = 1 again ...
        wait_new_snapshot(page, before, timeout=60_000)
        wait_t(page, 1, timeout=20_000)
        page.wait_for_selector("[data-testid=step]:not([disabled])")
        assert page.locator("[data-testid=app]").get_attribute("data-rule") == "zil"
        # ... and goes on stepping: nothing is dropped as stale.
        page.get_by_test_id("step").click()
        wait_t(page, 2)
        assert current_t(page) == 2
    finally:
        context.close()
        stop(proc)
