"""One live session: a socket side (outbox and sender), a runner (the engine in a worker and
the step/play/seek state machine) and a dispatcher (client messages to runner commands),
tied to one websocket by a reader."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from starlette.websockets import WebSocket

from errorwave.server import protocol as p
from errorwave.server.dispatcher import Dispatcher
from errorwave.server.limits import Settings
from errorwave.server.mailbox import Mailbox
from errorwave.server.pool import ComputePool, WorkerLost
from errorwave.server.runner import Runner
from errorwave.server.side import SessionStuck, SocketSide

log = logging.getLogger("errorwave.session")


class ClassHooks(Protocol):
    """What a session asks of the class registry (classes.Classes, which builds on
    sessions: typed structurally here so that the two modules do not import each other)."""

    async def handle(self, session: Session, message: Any) -> bool: ...

    def leave(self, session: Session) -> None: ...

    async def end(self, session: Session) -> None: ...


class TokenBucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Session:
    def __init__(self, ws: WebSocket, pool: ComputePool, settings: Settings,
                 rules: list[dict[str, Any]], classes: ClassHooks | None = None,
                 address: str = "?", quota: Callable[[bool], str | None] | None = None,
                 follow: str | None = None):
        self.ws = ws
        self.settings = settings
        self.rules = rules
        self.sid = secrets.token_hex(8)
        self.side = SocketSide(ws, settings)
        self.runner = Runner(self.sid, pool, settings, self.side)
        self.dispatch = Dispatcher(self.runner, self.side, self.welcome)
        self.bucket = TokenBucket(settings.messages_per_second, settings.message_burst)
        self.last_message = time.monotonic()
        self.closing: tuple[int, str] | None = None
        self._close = asyncio.Event()
        # classes: followers watch another session and compute nothing (classes.py)
        self.classes = classes
        self.address = address
        self.following: Any = None  # the classes.Class this session follows, or None
        # counted in the session caps; `quota(True)` takes a place (None, or why not),
        # `quota(False)` gives it back
        self.computing = follow is None
        self._quota = quota
        self._first_follow = follow

    # ----- what tests and the app look at -------------------------------------------------
    @property
    def state(self) -> dict[str, Any] | None:
        return self.runner.state

    @property
    def mailbox(self) -> Mailbox:
        return self.side.mailbox

    @property
    def frames_sent(self) -> int:
        return self.side.frames_sent

    @property
    def playing(self) -> bool:
        return self.runner.playing

    def blocked_for(self) -> float:
        return self.side.blocked_for()

    def idle_for(self, now: float) -> float:
        """Seconds without client activity: a message, or playing at a real rate."""
        if self.following is not None:  # a follower waits for its class as long as it is open
            return 0.0
        plan = self.runner.plan
        # playing slower than `idle_min_rate` is no sign of life: reaped like an idle session
        if self.playing and plan is not None and (plan.rate or 0.0) >= self.settings.idle_min_rate:
            return 0.0
        return now - self.last_message

    def welcome(self) -> dict[str, Any]:
        return {"type": "welcome", "proto": p.PROTO, "binary": self.side.binary,
                "limits": self.settings.public_limits(), "rules": self.rules}

    def count_in(self) -> str | None:
        """Become a computing session (a follower forks): None, or why the caps refuse."""
        if self.computing:
            return None
        refusal = self._quota(True) if self._quota is not None else None
        self.computing = refusal is None
        return refusal

    def release(self) -> None:
        """No longer a computing session (it follows a class)."""
        if self.computing and self._quota is not None:
            self._quota(False)
        self.computing = False

    # ----- lifecycle ----------------------------------------------------------------------
    def close(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
        self._close.set()

    async def run(self) -> None:
        self.side.put_message(self.welcome())
        if self._first_follow is not None and self.classes is not None:
            from errorwave.server.protocol import Follow

            await self.classes.handle(self, Follow(type="follow", code=self._first_follow))
        tasks = {asyncio.create_task(self._reader(), name="reader"),
                 asyncio.create_task(self.side.sender(), name="sender"),
                 asyncio.create_task(self._close.wait(), name="close")}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks - done:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and isinstance(task.exception(), SessionStuck):
                    self.closing = (1008, "client stopped reading")
                elif not task.cancelled() and task.exception() is not None:
                    log.error("session %s failed", self.sid, exc_info=task.exception())
                    self.closing = self.closing or (1011, "internal error")
        finally:
            for task in tasks:
                task.cancel()
            if self.classes is not None:
                self.classes.leave(self)
                await self.classes.end(self)
            self.dispatch.training.close()
            await self.runner.close()
            if self.closing is not None:
                await self.side.close(*self.closing)
            else:
                self.side.abort_later()

    # ----- incoming -----------------------------------------------------------------------
    async def _reader(self) -> None:
        cap = self.settings.max_message_bytes
        side = self.side
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            self.last_message = time.monotonic()
            text = msg.get("text")
            if text is None:
                side.put_error("bad_message", "send JSON text messages, not binary ones")
                continue
            size = len(text) if len(text) * 4 <= cap else len(text.encode())
            if size > cap:
                side.put_error("too_large", f"a message of {size} bytes exceeds the limit of {cap}")
                continue
            if not self.bucket.take():
                side.put_error("limit", "too many messages: at most "
                               f"{self.settings.messages_per_second:g} per second")
                continue
            try:
                message = p.parse_client(text)
            except p.BadMessage as err:
                side.put_error(err.code, err.message)
                continue
            try:
                if self.classes is not None and await self.classes.handle(self, message):
                    continue
                await self.dispatch(message)
            except WorkerLost:
                self.runner.lost()
            except Exception:
                log.exception("session %s: handling %s failed", self.sid, type(message).__name__)
                side.put_error("internal", "the server failed to handle this message")


__all__ = ["Session", "SessionStuck", "TokenBucket"]
