"""The runner of a session: its engine (in a worker) driven by a step/play/seek state machine,
publishing every message to a fan-out of socket sides.

The first side is the session's own client: batches of frames are paced on it, and while
it stops reading no frames are computed. Other sides (followers) only receive; each has
its own latest-wins outbox, so a slow one never slows the rest. Each frame is encoded once
per encoding the sides read, in the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from errorwave.server import rpc
from errorwave.server.limits import Settings
from errorwave.server.pool import ComputePool, WorkerLost
from errorwave.server.side import SocketSide

log = logging.getLogger("errorwave.runner")
# what a new follower gets first (classes.py), in this order
LATEST = ("snapshot", "snapshot:b", "schema", "frame", "frame:b")


@dataclass
class Plan:
    """What the runner does: `n` steps as fast as allowed, play at `rate` (n None), or
    finish the example and go on to the next (`next_example`)."""

    n: int | None = None
    rate: float | None = None
    across_examples: bool = True
    next_example: bool = False


class Runner:
    def __init__(self, sid: str, pool: ComputePool, settings: Settings, owner: SocketSide):
        self.sid = sid
        self.pool = pool
        self.settings = settings
        self.sides: list[SocketSide] = [owner]
        self.lock = asyncio.Lock()
        self.state: dict[str, Any] | None = None  # the worker's view: revision, t, steps, done
        self.revision = -1
        self.blocked: str | None = None  # why stepping is refused (a step over the CPU cap)
        self.task: asyncio.Task[None] | None = None
        self.plan: Plan | None = None
        self._stop = asyncio.Event()
        # the latest snapshot, schema and frame sent: where a new follower starts (classes.py)
        self.latest: dict[str, rpc.Payloads] = {}

    # ----- the fan-out --------------------------------------------------------------------
    @property
    def owner(self) -> SocketSide:
        return self.sides[0]

    def join(self, side: SocketSide) -> None:
        self.sides.append(side)

    def leave(self, side: SocketSide) -> None:
        if side in self.sides[1:]:
            self.sides.remove(side)

    def encodings(self) -> tuple[rpc.Encoding, ...]:
        return tuple(sorted({s.encoding for s in self.sides}))

    def publish(self, kind: str, payloads: rpc.Payloads) -> None:
        """`kind` is the message's, `:b` added for side b in compare mode (pair.py)."""
        if kind in LATEST:
            if kind == "snapshot":
                self.latest.clear()
            elif kind == "schema":  # a new binary layout: the last frames are in the old one
                self.latest.pop("frame", None)
                self.latest.pop("frame:b", None)
            self.latest[kind] = payloads
        for side in self.sides:
            side.put(kind, payloads)

    def error(self, code: str, message: str, issues: list[dict[str, Any]] | None = None) -> None:
        for side in self.sides:
            side.put_error(code, message, issues)

    def event(self, kind: str, **fields: Any) -> None:
        for side in self.sides:
            side.put_event(kind, **fields)

    # ----- state --------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.plan is not None and self.plan.rate is not None and self.running

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def loaded(self) -> bool:
        return self.state is not None

    def halted(self) -> bool:
        return bool(self.state and self.state["halted"])

    def lost(self) -> None:
        self.state = None
        self.error("internal", "the computation was stopped (a worker was restarted after "
                   "taking too long); load again")

    def can_step(self) -> bool:
        if self.blocked is not None:
            self.error("limit", self.blocked)
            return False
        if self.halted():
            h = (self.state or {})["halted"]
            what = "diverged" if h.get("kind", "diverged") == "diverged" else "became unstable"
            self.error("diverged", f"the example {what} at node {h['node']!r}{_side(h)} (step "
                       f"{h['t']}); reset, set or load to go on")
            return False
        return True

    def halt_reason(self) -> str:
        """`diverged` (a NaN or Inf) or `unstable` (finite, far past the example's scale)."""
        return str(((self.state or {}).get("halted") or {}).get("kind", "diverged"))

    def after_frames(self) -> None:
        """Tell the clients about a halt the last frames ran into (error code `diverged`)."""
        if self.halted():
            h = (self.state or {})["halted"]
            what = (f"non-finite {h['field']}" if self.halt_reason() == "diverged"
                    else f"{h['field']} far beyond the example's scale (unstable)")
            self.error("diverged", f"{what} at node {h['node']!r}{_side(h)} (step "
                       f"{h['t']}): the session is paused; reset, set or load to go on")

    # ----- worker calls -------------------------------------------------------------------
    async def request(self, req: rpc.Request) -> rpc.Reply:
        async with self.lock:
            return await self.pool.call(req)

    def req(self, cls: type[Any], **args: Any) -> Any:
        return cls(sid=self.sid, encodings=self.encodings(), **args)

    async def call(self, req: rpc.Request, pace: bool = False) -> rpc.Reply | None:
        """One request; its messages go out. None on failure (the error is already queued)."""
        return await self.deliver(await self.request(req), pace)

    async def deliver(self, res: rpc.Reply, pace: bool = False) -> rpc.Reply | None:
        """A worker's answer: its messages to the sides, its state kept. With `pace`, a batch
        of frames goes out one by one as the owner takes them, coalescing only once it stops
        keeping up."""
        if not res.ok:
            if res.code == "not_loaded" and self.state is not None:
                self.lost()
                return None
            self.error(res.code or "internal", res.message, res.issues)
            return None
        if res.state is not None:
            self.state = res.state.model_dump()
            self.revision = max(self.revision, res.state.revision)
        if res.row is not None:
            self.event("learned", row=res.row)
        if res.row_b is not None:
            self.event("learned", row=res.row_b, side="b")
        box = self.owner.mailbox
        for kind, payloads in res.out:
            if pace and kind == "frame":
                while (box.frame_waiting() and not self._stop.is_set()
                       and self.owner.blocked_for() <= self.settings.stall_s):
                    await box.wait_taken(0.1)
            self.publish(kind, payloads)
        return res

    # ----- commands -----------------------------------------------------------------------
    async def load(self, config: dict[str, Any] | None, preset: str | None) -> None:
        await self.halt()
        if not self.pool.ready:  # the workers are still importing torch
            self.event("starting")
            await self.pool.wait_ready(60.0)
        if await self.call(self.req(rpc.Open, config=config, preset=preset,
                                    revision=self.revision + 1)) is not None:
            self.blocked = None
            self.after_frames()

    async def rebuild(self, req: rpc.Request) -> None:
        """set or reset: a new revision; play goes on if it was playing."""
        plan = self.plan if self.playing else None
        await self.halt()
        if await self.call(req) is not None:
            self.blocked = None
            self.after_frames()
            if plan is not None and not self.halted():
                self.start(plan)

    async def compare(self, rule: dict[str, Any] | None) -> None:
        """Compare mode on or off: both sides rebuilt at the same example, then stepped to
        the same t in lockstep (every frame goes out, as for a seek forward)."""
        t = (self.state or {}).get("t", 0)
        await self.halt()
        if await self.call(self.req(rpc.Compare, rule=rule)) is None:
            return
        self.blocked = None
        self.after_frames()
        if t > 0:
            await self.seek(min(t, (self.state or {}).get("steps", 0)))

    async def resend(self) -> None:
        """The snapshot, schema and latest frame again (a side switched encodings)."""
        if self.state is None:
            return
        plan = self.plan if self.running else None
        await self.halt()
        await self.call(self.req(rpc.Current))
        if plan is not None:
            self.start(plan)

    async def steps(self, n: int | None) -> None:
        plan = self.plan
        if (plan is not None and plan.rate is None and not plan.next_example and self.running
                and not self._stop.is_set()):
            # steps asked for while stepping: queue them (the runner stops at the example's end)
            plan.n = (plan.n or 0) + (self.settings.max_steps if n is None else n)
            return
        await self.halt()
        if not self.can_step():
            return
        st = self.state or {}
        if st["done"]:
            self.event("example_done", example=st["example"], t=st["t"])
            return
        left = st["steps"] - st["t"]
        self.start(Plan(n=left if n is None else min(n, left)))

    async def play(self, rate: float, across_examples: bool) -> None:
        await self.halt()
        if not self.can_step():
            return
        self.start(Plan(rate=min(rate, self.settings.max_rate), across_examples=across_examples))

    async def pause(self) -> None:
        was = self.playing
        await self.halt()
        if not was:
            self.event("paused", reason="pause")

    async def seek(self, t: int) -> None:
        await self.halt()
        st = self.state or {}
        if t > st["steps"]:
            self.error("bad_message", f"t={t} is past the last step of this example "
                       f"({st['steps']})")
        elif t <= st["t"]:
            await self.call(self.req(rpc.FrameAt, t=t))
        elif self.can_step():
            self.start(Plan(n=t - st["t"]))

    async def next_example(self) -> None:
        await self.halt()
        self.start(Plan(next_example=True))

    async def watch(self, nodes: list[str]) -> None:
        """Frames change layout: the request in flight lands first, then the task goes on."""
        plan = self.plan if self.running else None
        await self.halt()
        await self.call(self.req(rpc.Watch, nodes=tuple(nodes)))
        if plan is not None and not self.halted():
            self.start(plan)

    async def _next_example(self) -> bool:
        """Finish the example in chunks (cancellable between them), learn, go on."""
        while True:
            if self._stop.is_set():
                return False
            res = await self.deliver(await self.request(self.req(rpc.NextExample)))
            if res is None:
                return False
            if res.slow is not None:
                self._over_cap(res.slow)
                return False
            if res.finished:
                self.after_frames()
                return True

    def _over_cap(self, spent: float) -> None:
        self.blocked = (f"a step took {spent:.2f} s of CPU, over the server's limit of "
                        f"{self.settings.step_cpu_limit_s:g} s: use a smaller graph or fewer steps")
        self.error("limit", self.blocked)

    # ----- the task -----------------------------------------------------------------------
    def start(self, plan: Plan) -> None:
        if plan.n is not None and plan.n <= 0:  # a plan resumed after its last step landed
            return
        self._stop.clear()
        self.plan = plan
        self.task = asyncio.create_task(self._run(plan))
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s: runner failed", self.sid, exc_info=task.exception())
            self.error("internal", "the server failed while stepping")

    async def halt(self, wait: bool = True) -> None:
        """Stop the task after its request in flight (whose frames still go out)."""
        task = self.task
        if task is None or task.done():
            return
        self._stop.set()
        if wait:
            with contextlib.suppress(asyncio.CancelledError, WorkerLost):
                await task
        else:
            task.cancel()

    async def _writable(self) -> bool:
        """Wait while the owner is not reading (compute no frames nobody takes); False if
        the task was told to stop meanwhile."""
        owner = self.owner
        while owner.blocked_for() > self.settings.stall_s:
            if self._stop.is_set():
                return False
            owner.progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(owner.progress.wait(), 0.25)
        return not self._stop.is_set()

    async def _run(self, plan: Plan) -> None:
        if plan.next_example:
            try:
                await self._next_example()
            except WorkerLost:
                self.lost()
            return
        playing = plan.rate is not None
        reason = "done"
        loop = asyncio.get_running_loop()
        # while playing, the next step is computed while this one waits for its tick
        ahead: asyncio.Task[rpc.Reply] | None = None
        if playing:
            self.event("playing", rate=plan.rate, across_examples=plan.across_examples)
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
                    reason = self.halt_reason()
                    break
                if st["done"]:
                    if playing and plan.across_examples:
                        if not await self._next_example():
                            reason = (self.halt_reason() if self.halted() else "limit"
                                      if self.blocked else "pause" if self._stop.is_set() else "error")
                            break
                    else:
                        reason = "example_done"
                        break
                else:
                    if ahead is not None:
                        raw, ahead = await ahead, None
                    else:
                        raw = await self.request(self.req(rpc.Step, n=1 if playing else plan.n))
                    res = await self.deliver(raw, pace=not playing)
                    if res is None:
                        reason = "error"
                        break
                    if plan.n is not None:
                        plan.n -= res.stepped
                    if res.slow is not None:
                        self._over_cap(res.slow)
                        reason = "limit"
                        break
                    self.after_frames()
                    st = self.state or {}
                    if st.get("done") and not st.get("halted"):
                        self.event("example_done", example=st["example"], t=st["t"])
                    elif playing and not st.get("halted") and self.settings.play_ahead:
                        ahead = asyncio.create_task(self.request(self.req(rpc.Step, n=1)))
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
            if ahead is not None:  # computed already: the clients see where the engine is
                raw, ahead = await ahead, None
                await self.deliver(raw)
                self.after_frames()
        except WorkerLost:
            self.lost()
            reason = "error"
        finally:
            if ahead is not None:  # cancelled: the session is going away
                ahead.cancel()
            if playing:
                self.event("paused", reason=reason)

    async def close(self) -> None:
        await self.halt(wait=False)
        await self.pool.release(self.sid)


def _side(halted: dict[str, Any]) -> str:
    return f" (side {halted['side']})" if "side" in halted else ""
