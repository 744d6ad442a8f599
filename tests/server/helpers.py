"""Test helpers: a real uvicorn on a free loopback port, in a thread of the test process (so
tests can look at its sessions and its memory), and a real websocket client."""

from __future__ import annotations

import base64
import json
import os
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


class RawClient:
    """A websocket client on a bare socket with a tiny receive buffer that reads only when
    told to: the slowest possible reader (its stall really blocks the server's sends)."""

    def __init__(self, port: int, path: str = "/ws"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                  bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else
                                  bytes([0x80 | 127]) + n.to_bytes(8, "big"))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _take(self, n: int, deadline: float) -> bytes:
        while len(self.buffer) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read(self, timeout: float = 10.0) -> tuple[int, bytes]:
        """The next message from the server: (opcode, payload); the server never fragments
        and never masks. A timeout raises TimeoutError (socket.timeout)."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._take(2, deadline)
        n = b1 & 0x7F
        if n >= 126:
            n = int.from_bytes(self._take(2 if n == 126 else 8, deadline), "big")
        return b0 & 0x0F, self._take(n, deadline)

    def close(self) -> None:
        self.sock.close()


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    dist = tmp / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text("<!doctype html><title>Errorwave test app</title>")
    values = {**TEST_SETTINGS, "data_dir": str(tmp / "data"), "frontend_dir": str(dist)}
    values.update(overrides)
    return Settings(**values)


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def frames_of(messages: list[Any]) -> list[dict[str, Any]]:
    return [m for m in messages if isinstance(m, dict) and m["type"] == "frame"]


def run_coroutine(coro: Any) -> Any:
    """asyncio.run in a fresh thread: the browser tests' Playwright (sync API) keeps an
    event loop running in the main thread for the whole pytest session."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
