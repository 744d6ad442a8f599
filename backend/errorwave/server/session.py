"""One live session: a websocket, its engine (in a worker), a runner that steps or plays,
and a latest-wins outbox with a deadline on every send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.websockets import WebSocket, WebSocketDisconnect

from errorwave.engine import to_json
from errorwave.server import protocol as p
from errorwave.server.limits import Settings
from errorwave.server.mailbox import Item, Mailbox
from errorwave.server.pool import ComputePool, WorkerLost
from errorwave.server.quoting import clip, clip_issues

log = logging.getLogger("errorwave.session")


class SessionStuck(RuntimeError):
    """The client has not accepted a byte for `stuck_timeout_s`."""


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


@dataclass
class Plan:
    """What the runner does: `n` steps as fast as allowed, or play at `rate` (n None)."""

    n: int | None = None
    rate: float | None = None
    across_examples: bool = True


class Session:
    def __init__(self, ws: WebSocket, pool: ComputePool, settings: Settings,
                 rules: list[dict[str, Any]]):
        self.ws = ws
        self.pool = pool
        self.settings = settings
        self.rules = rules
        self.sid = secrets.token_hex(8)
        self.mailbox = Mailbox(settings.max_pending)
        self.lock = asyncio.Lock()
        self.bucket = TokenBucket(settings.messages_per_second, settings.message_burst)
        self.binary = False
        self.state: dict[str, Any] | None = None  # the worker's view: revision, t, steps, done
        self.revision = -1
        self.blocked: str | None = None  # why stepping is refused (a step over the CPU cap)
        self.runner: asyncio.Task[None] | None = None
        self.plan: Plan | None = None
        self._stop = asyncio.Event()
        self._progress = asyncio.Event()
        self.sending_since: float | None = None
        self.last_sent = time.monotonic()
        self.last_message = time.monotonic()
        self.closing: tuple[int, str] | None = None
        self._close = asyncio.Event()
        self.frames_sent = 0

    # ----- lifecycle ----------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.plan is not None and self.plan.rate is not None and self.runner is not None \
            and not self.runner.done()

    def idle_for(self, now: float) -> float:
        """Seconds without client activity; playing counts only at `idle_min_rate` or more
        (a play at 1e-8 frames/s must not hold a slot forever)."""
        plan = self.plan
        active = self.playing and plan is not None and (plan.rate or 0.0) >= self.settings.idle_min_rate
        return 0.0 if active else now - self.last_message

    def close(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
        self._close.set()

    async def run(self) -> None:
        self.put_message(self.welcome())
        tasks = {asyncio.create_task(self._reader(), name="reader"),
                 asyncio.create_task(self._sender(), name="sender"),
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
            await self._halt_runner(wait=False)
            await self.pool.release(self.sid)
            if self.closing is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.ws.close(*self.closing), 1.0)

    def welcome(self) -> dict[str, Any]:
        return {"type": "welcome", "proto": p.PROTO, "binary": self.binary,
                "limits": self.settings.public_limits(), "rules": self.rules}

    # ----- outgoing -----------------------------------------------------------------------
    def put_message(self, message: dict[str, Any]) -> None:
        self.mailbox.put(message["type"], to_json(message))

    def put_error(self, code: str, message: str, issues: list[dict[str, Any]] | None = None) -> None:
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

    async def _sender(self) -> None:
        """Every send has its own deadline; a send that misses it wrote nothing (uvicorn waits
        for the transport to drain before writing), so the item goes back in line."""
        timeout = self.settings.send_timeout_s
        while True:
            item = await self.mailbox.get()
            if self.sending_since is None:
                self.sending_since = time.monotonic()
            try:
                await asyncio.wait_for(self._send(item), timeout)
            except (WebSocketDisconnect, OSError, RuntimeError):
                return  # the client is gone
            except TimeoutError:
                self.mailbox.putback(item)
                if time.monotonic() - self.last_sent > self.settings.stuck_timeout_s:
                    raise SessionStuck() from None
                continue
            self.sending_since = None
            self.last_sent = time.monotonic()
            if item.kind == "frame":
                self.frames_sent += 1
            self._progress.set()

    def blocked_for(self) -> float:
        """How long the client has not taken what is waiting for it."""
        return 0.0 if self.sending_since is None else time.monotonic() - self.sending_since

    async def _writable(self) -> bool:
        """Wait while the client is not reading (compute no frames nobody takes); False if
        the runner was told to stop meanwhile."""
        while self.blocked_for() > self.settings.stall_s:
            if self._stop.is_set():
                return False
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), 0.25)
        return not self._stop.is_set()

    # ----- incoming -----------------------------------------------------------------------
    async def _reader(self) -> None:
        cap = self.settings.max_message_bytes
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            self.last_message = time.monotonic()
            text = msg.get("text")
            if text is None:
                self.put_error("bad_message", "send JSON text messages, not binary ones")
                continue
            size = len(text) if len(text) * 4 <= cap else len(text.encode())
            if size > cap:
                self.put_error("too_large", f"a message of {size} bytes exceeds the limit of {cap}")
                continue
            if not self.bucket.take():
                self.put_error("limit", "too many messages: at most "
                               f"{self.settings.messages_per_second:g} per second")
                continue
            try:
                message = p.parse_client(text)
            except p.BadMessage as err:
                self.put_error(err.code, err.message)
                continue
            try:
                await self.dispatch(message)
            except WorkerLost:
                self._lost()
            except Exception:
                log.exception("session %s: handling %s failed", self.sid, type(message).__name__)
                self.put_error("internal", "the server failed to handle this message")

    def _lost(self) -> None:
        self.state = None
        self.put_error("internal", "the computation was stopped (a worker was restarted after "
                       "taking too long); load again")

    async def dispatch(self, m: BaseModel) -> None:
        if isinstance(m, p.Hello):
            await self.on_hello(m)
        elif isinstance(m, p.Load):
            await self.on_load(m)
        elif isinstance(m, p.Pause):
            was = self.playing
            await self._halt_runner()
            if not was:
                self.put_event("paused", reason="pause")
        elif not self._loaded():
            return
        elif isinstance(m, p.Step):
            await self.on_steps(m.n)
        elif isinstance(m, p.RunExample):
            await self.on_steps(None)
        elif isinstance(m, p.Play):
            await self.on_play(m)
        elif isinstance(m, p.Seek):
            await self.on_seek(m.t)
        elif isinstance(m, p.Set):
            await self.on_rebuild("set", path=m.path, value=m.value)
        elif isinstance(m, p.Reset):
            await self.on_rebuild("reset")
        elif isinstance(m, p.NextExample):
            await self._halt_runner()
            await self.next_example()

    def _loaded(self) -> bool:
        if self.state is None:
            self.put_error("not_loaded", "load a configuration or a preset first")
            return False
        return True

    # ----- engine calls -------------------------------------------------------------------
    async def call(self, op: str, pace: bool = False, **args: Any) -> dict[str, Any] | None:
        """One request to the worker; its messages go to the outbox. None on failure (the
        error is already queued for the client)."""
        return await self.deliver(await self.request(op, **args), pace)

    async def request(self, op: str, **args: Any) -> dict[str, Any]:
        async with self.lock:
            return await self.pool.call(self.sid, op, binary=self.binary, **args)

    async def deliver(self, res: dict[str, Any], pace: bool = False) -> dict[str, Any] | None:
        """A worker's answer: its messages to the outbox, its state kept. With `pace`, a batch
        of frames goes out one by one as the client takes them, coalescing only once it stops
        keeping up."""
        if not res["ok"]:
            if res["code"] == "not_loaded" and self.state is not None:
                self._lost()
                return None
            self.put_error(res["code"], res["message"], res.get("issues"))
            return None
        if res.get("state") is not None:
            self.state = res["state"]
            self.revision = max(self.revision, self.state["revision"])
        if res.get("row") is not None:
            self.put_event("learned", row=res["row"])
        for kind, payload in res["out"]:
            if pace and kind == "frame":
                while (self.mailbox.frame_waiting() and not self._stop.is_set()
                       and self.blocked_for() <= self.settings.stall_s):
                    await self.mailbox.wait_taken(0.1)
            self.mailbox.put(kind, payload)
        return res

    async def on_hello(self, m: p.Hello) -> None:
        changed = m.binary != self.binary
        self.binary = m.binary
        self.put_message(self.welcome())
        if changed and self.state is not None:
            playing = self.plan if self.playing else None
            await self._halt_runner(wait=True)
            await self.call("current")
            if playing is not None:
                self._start(playing)

    async def on_load(self, m: p.Load) -> None:
        await self._halt_runner()
        args: dict[str, Any] = {"revision": self.revision + 1}
        if m.preset is not None:
            args["preset"] = m.preset
        else:
            args["config"] = m.config
        if await self.call("open", **args) is not None:
            self.blocked = None
            self._after_frames()

    async def on_rebuild(self, op: str, **args: Any) -> None:
        plan = self.plan if self.playing else None
        await self._halt_runner()
        if await self.call(op, **args) is not None:
            self.blocked = None
            self._after_frames()
            if plan is not None and not self._halted():
                self._start(plan)

    async def on_steps(self, n: int | None) -> None:
        plan, runner = self.plan, self.runner
        if (plan is not None and plan.rate is None and runner is not None and not runner.done()
                and not self._stop.is_set()):
            # steps asked for while stepping: queue them (the runner stops at the example's end)
            plan.n = (plan.n or 0) + (self.settings.max_steps if n is None else n)
            return
        await self._halt_runner()
        if not self._can_step():
            return
        st = self.state or {}
        if n is None:
            n = st["steps"] - st["t"]
        if st["done"]:
            self.put_event("example_done", example=st["example"], t=st["t"])
            return
        self._start(Plan(n=min(n, st["steps"] - st["t"])))

    async def on_play(self, m: p.Play) -> None:
        await self._halt_runner()
        if not self._can_step():
            return
        rate = min(m.rate, self.settings.max_rate)
        self._start(Plan(rate=rate, across_examples=m.across_examples))

    async def on_seek(self, t: int) -> None:
        await self._halt_runner()
        st = self.state or {}
        if t > st["steps"]:
            self.put_error("bad_message", f"t={t} is past the last step of this example "
                           f"({st['steps']})")
        elif t <= st["t"]:
            await self.call("frame_at", t=t)
        elif self._can_step():
            self._start(Plan(n=t - st["t"]))

    async def next_example(self) -> bool:
        res = await self.call("next_example")
        if res is None:
            return False
        self._after_frames()
        return True

    def _halted(self) -> bool:
        return bool(self.state and self.state["halted"])

    def _can_step(self) -> bool:
        if self.blocked is not None:
            self.put_error("limit", self.blocked)
            return False
        if self._halted():
            h = (self.state or {})["halted"]
            self.put_error("diverged", f"the example diverged at node {h['node']!r} (step "
                           f"{h['t']}); reset, set or load to go on")
            return False
        return True

    def _after_frames(self) -> None:
        """Tell the client about a divergence the last frames ran into."""
        if self._halted():
            h = (self.state or {})["halted"]
            self.put_error("diverged", f"non-finite {h['field']} at node {h['node']!r} (step "
                           f"{h['t']}): the session is paused; reset, set or load to go on")

    # ----- the runner ---------------------------------------------------------------------
    def _start(self, plan: Plan) -> None:
        self._stop.clear()
        self.plan = plan
        self.runner = asyncio.create_task(self._run(plan))
        self.runner.add_done_callback(self._runner_done)

    def _runner_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s: runner failed", self.sid, exc_info=task.exception())
            self.put_error("internal", "the server failed while stepping")

    async def _halt_runner(self, wait: bool = True) -> None:
        """Stop the runner after its request in flight (whose frames still go out)."""
        runner = self.runner
        if runner is None or runner.done():
            return
        self._stop.set()
        if wait:
            with contextlib.suppress(asyncio.CancelledError, WorkerLost):
                await runner
        else:
            runner.cancel()

    async def _run(self, plan: Plan) -> None:
        playing = plan.rate is not None
        reason = "done"
        loop = asyncio.get_running_loop()
        # while playing, the next step is computed while this one waits for its tick
        ahead: asyncio.Task[dict[str, Any]] | None = None
        if playing:
            self.put_event("playing", rate=plan.rate, across_examples=plan.across_examples)
        tick = loop.time()
        try:
            while not self._stop.is_set():
                if not await self._writable():
                    reason = "pause"
                    break
                st = self.state
                if st is None:
                    reason = "not_loaded"
                    break
                if st["halted"]:
                    reason = "diverged"
                    break
                if st["done"]:
                    if playing and plan.across_examples:
                        if not await self.next_example():
                            reason = "diverged" if self._halted() else "error"
                            break
                    else:
                        reason = "example_done"
                        break
                else:
                    if ahead is not None:
                        raw, ahead = await ahead, None
                    else:
                        raw = await self.request("step", n=1 if playing else plan.n)
                    res = await self.deliver(raw, pace=not playing)
                    if res is None:
                        reason = "error"
                        break
                    if plan.n is not None:
                        plan.n -= res["stepped"]
                    if res.get("slow") is not None:
                        self.blocked = (f"a step took {res['slow']:.2f} s of CPU, over the server's "
                                        f"limit of {self.settings.step_cpu_limit_s:g} s: use a "
                                        "smaller graph or fewer steps")
                        self.put_error("limit", self.blocked)
                        reason = "limit"
                        break
                    self._after_frames()
                    st = self.state or {}
                    if st.get("done") and not st.get("halted"):
                        self.put_event("example_done", example=st["example"], t=st["t"])
                    elif playing and not st.get("halted") and self.settings.play_ahead:
                        ahead = asyncio.create_task(self.request("step", n=1))
                    if plan.n is not None and plan.n <= 0:
                        break
                if playing:
                    tick += 1.0 / (plan.rate or 1.0)
                    now = loop.time()
                    if tick < now - 0.25:  # fell behind: do not burst to catch up
                        tick = now
                    if tick > now:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stop.wait(), tick - now)
            else:
                reason = "pause"
            if ahead is not None:  # computed already: the client sees where the engine is
                raw, ahead = await ahead, None
                await self.deliver(raw)
                self._after_frames()
        except WorkerLost:
            self._lost()
            reason = "error"
        finally:
            if ahead is not None:  # cancelled: the session is going away
                ahead.cancel()
            if playing:
                self.put_event("paused", reason=reason)
