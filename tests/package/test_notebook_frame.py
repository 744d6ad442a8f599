"""What Jupyter shows: `errorwave.show`'s iframe inside a page of another local origin (as
a notebook at http://localhost:8888 would be), in real Chromium, loads the explorer on the
configuration it was given and runs its live session."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import errorwave
from errorwave import notebook
from tests.browser.browser_helpers import CHROMIUM, CHROMIUM_ARGS, wait_loaded

pytestmark = pytest.mark.browser


@pytest.fixture
def notebook_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[notebook.NotebookServer]:
    monkeypatch.setenv("ERRORWAVE_DATA", str(tmp_path))
    monkeypatch.setenv("ERRORWAVE_WORKERS", "1")
    notebook.stop()
    yield notebook.server()
    notebook.stop()


def host_page(body: str) -> tuple[ThreadingHTTPServer, int]:
    """A stand-in for Jupyter: one HTML page on another port."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            data = f"<!doctype html><html><body>{body}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def test_the_iframe_opens_the_explorer_on_the_configuration(notebook_server: notebook.NotebookServer) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install-browser` installs Debian's chromium")
    config = notebook.resolve_config("fpa-chain-gamma1")
    shown = errorwave.show(config, t=2, height=600)
    assert shown.src.startswith(notebook_server.url + "/#v=1&c=")
    assert errorwave.show("fpa-chain-gamma1").src.split("#")[0] == shown.src.split("#")[0]  # reused
    httpd, port = host_page(shown._repr_html_())
    try:
        # In a thread of its own: the browser tests' session-wide Playwright may still hold
        # the main thread's event loop, and a second sync Playwright refuses to start there.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(look_inside, port, config).result()
    finally:
        httpd.shutdown()


def look_inside(port: int, config: dict) -> None:
    """The host page in Chromium: the iframe loads the explorer on the configuration."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"http://localhost:{port}/")
            frame = page.wait_for_selector("iframe").content_frame()
            assert frame is not None
            wait_loaded(frame, rule=config["rule"]["name"], timeout=30_000)
            frame.wait_for_function(
                "() => document.querySelector('[data-testid=current-t]')?.textContent === '2'",
                timeout=30_000)
            on_screen = set(frame.eval_on_selector_all(
                "[data-node-id]", "els => els.map(e => e.dataset.nodeId)"))
            assert on_screen == {n["id"] for n in config["graph"]["nodes"]}
        finally:
            browser.close()
