"""Test helpers: a real uvicorn on a free loopback port, in a thread of the test process (so
tests can look at its sessions and its memory), and a real websocket client."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from websockets.sync.client import ClientConnection, connect

from errorwave.server.app import create_app, uvicorn_kwargs
from errorwave.server.limits import Settings

TEST_SETTINGS = {
    "workers": 2,
    "max_message_bytes": 64 << 10,
    "ws_max_bytes": 256 << 10,
    "origins": ("http://allowed.example",),
    "send_timeout_s": 0.5,
    "stall_s": 0.5,
    "stuck_timeout_s": 30.0,
    "max_rate": 200.0,
    "preload_training": False,  # seconds of imports per worker; test_training.py turns it on
}


class LiveServer:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.app = create_app(settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", **uvicorn_kwargs(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 90
        while not (self.server.started and self.app.state.pool.ready):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def sessions(self) -> dict[str, Any]:
        return self.app.state.sessions

    def client(self, **kwargs: Any) -> Client:
        return Client(connect(self.ws_url, open_timeout=10, legacy=True, **kwargs))


class Client:
    """A websocket client that reads JSON messages (binary frames come back as bytes)."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.welcome = self.recv()
        assert self.welcome["type"] == "welcome"

    def send(self, message: dict[str, Any] | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv_raw(self, timeout: float = 10.0) -> str | bytes:
        return self.ws.recv(timeout=timeout)

    def recv(self, timeout: float = 10.0) -> Any:
        raw = self.recv_raw(timeout)
        return raw if isinstance(raw, bytes) else json.loads(raw)

    def until(self, stop: Callable[[Any], bool], timeout: float = 10.0) -> list[Any]:
        """Messages up to and including the first one for which `stop` is true."""
        out, deadline = [], time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            out.append(msg)
            if stop(msg):
                return out

    def error(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.until(lambda m: isinstance(m, dict) and m["type"] == "error", timeout)[-1]

    def quiet(self, wait: float = 0.3) -> list[Any]:
        """Whatever arrives within `wait` seconds."""
        out = []
        while True:
            try:
                out.append(self.recv(wait))
            except TimeoutError:
                return out

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    dist = tmp / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text("<!doctype html><title>Errorwave test app</title>")
    values = {**TEST_SETTINGS, "data_dir": str(tmp / "data"), "frontend_dir": str(dist)}
    values.update(overrides)
    return Settings(**values)


def frames_of(messages: list[Any]) -> list[dict[str, Any]]:
    return [m for m in messages if isinstance(m, dict) and m["type"] == "frame"]


def run_coroutine(coro: Any) -> Any:
    """asyncio.run in a fresh thread: the browser tests' Playwright (sync API) keeps an
    event loop running in the main thread for the whole pytest session."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
