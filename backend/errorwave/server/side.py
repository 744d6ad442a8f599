"""The socket side of a session: one websocket, its latest-wins outbox and its sender.

A runner publishes to any number of sides (the session's own client, and followers), each
with its own outbox, so a slow reader never slows the others. Every send has a deadline;
a send that misses it wrote nothing (uvicorn's sans-I/O websocket waits for the transport
to drain before writing), so the message goes back in line and frames keep coalescing.
A client that takes nothing for `stuck_timeout_s` gets close 1008, and when even that
cannot be flushed the transport is aborted, so its socket, memory and descriptor go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from errorwave.server import rpc
from errorwave.server.limits import Settings
from errorwave.server.mailbox import Item, Mailbox
from errorwave.server.quoting import clip, clip_issues

log = logging.getLogger("errorwave.side")
TRANSPORT_KEY = "errorwave.transport"


class SessionStuck(RuntimeError):
    """The client has not accepted a byte for `stuck_timeout_s`."""


class TransportHook:
    """ASGI middleware: remembers the websocket's transport in its scope (when the server
    exposes it), so a session can abort a connection whose close frame cannot be flushed."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                scope[TRANSPORT_KEY] = transport
        await self.app(scope, receive, send)


def dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


class SocketSide:
    def __init__(self, ws: WebSocket, settings: Settings, binary: bool = False):
        self.ws = ws
        self.settings = settings
        self.binary = binary
        self.mailbox = Mailbox(settings.max_pending, settings.outbox_bytes)
        self.sending_since: float | None = None
        self.last_sent = time.monotonic()
        self.frames_sent = 0
        self.progress = asyncio.Event()

    @property
    def encoding(self) -> rpc.Encoding:
        return "binary" if self.binary else "json"

    # ----- outgoing -----------------------------------------------------------------------
    def put(self, kind: str, payloads: rpc.Payloads) -> None:
        """One message from the runner: the payload in this side's encoding."""
        payload = payloads.get(self.encoding) or payloads.get("json")
        if payload is not None:
            self.mailbox.put(kind, payload)

    def put_message(self, message: dict[str, Any]) -> None:
        self.mailbox.put(message["type"], dumps(message))

    def put_error(self, code: str, message: str, issues: list[dict[str, Any]] | None = None) -> None:
        """Errors quote at most a short prefix of what the client sent (quoting.py)."""
        msg: dict[str, Any] = {"type": "error", "code": code, "message": clip(message)}
        if issues is not None:
            msg["issues"] = clip_issues(issues)
        self.put_message(msg)

    def put_event(self, kind: str, **fields: Any) -> None:
        self.put_message({"type": "event", "kind": kind, **fields})

    async def _send(self, item: Item) -> None:
        if isinstance(item.payload, bytes):
            await self.ws.send_bytes(item.payload)
        else:
            await self.ws.send_text(item.payload)

    async def sender(self) -> None:
        """Send until the client is gone (returns) or stuck (raises SessionStuck)."""
        timeout = self.settings.send_timeout_s
        while True:
            item = await self.mailbox.get()
            if self.sending_since is None:
                self.sending_since = time.monotonic()
            try:
                # asyncio.timeout, not wait_for: no task per send (a class of 200 followers
                # at 20 frames/s is 4000 sends a second)
                async with asyncio.timeout(timeout):
                    await self._send(item)
            except TimeoutError:  # before OSError: TimeoutError is one (Python >= 3.11)
                self.mailbox.putback(item)
                if time.monotonic() - self.last_sent > self.settings.stuck_timeout_s:
                    raise SessionStuck() from None
                continue
            except (WebSocketDisconnect, OSError, RuntimeError):
                return  # the client is gone
            self.sending_since = None
            self.last_sent = time.monotonic()
            if item.kind == "frame":
                self.frames_sent += 1
            self.progress.set()

    def blocked_for(self) -> float:
        """How long the client has not taken what is waiting for it."""
        return 0.0 if self.sending_since is None else time.monotonic() - self.sending_since

    async def close(self, code: int, reason: str) -> None:
        """Send the close frame if it can go out within a second; else drop the connection."""
        self.mailbox.clear()
        try:
            await asyncio.wait_for(self.ws.close(code, reason), 1.0)
        except Exception:  # stuck, or gone already
            self.abort()
            return
        self.abort_later()

    def abort(self) -> None:
        """Drop the connection now (a no-op once it is closed)."""
        _abort(self.ws.scope.get(TRANSPORT_KEY))

    def abort_later(self, delay: float = 5.0) -> None:
        """A close frame is queued: if the peer never takes it, free the socket anyway. The
        timer holds the transport only, so the session's memory goes now."""
        self.mailbox.clear()
        transport = self.ws.scope.get(TRANSPORT_KEY)
        if transport is not None:
            asyncio.get_running_loop().call_later(delay, _abort, transport)


def _abort(transport: Any) -> None:
    if transport is not None:
        with contextlib.suppress(Exception):
            transport.abort()
