"""Where steps are computed: worker processes (one per core by default), off the event loop.

Threads are no good here: the engine's small-tensor work holds the GIL, and measured on
2 cores four stepping threads got less done than one. So each worker is a process with
its own engines (`compute.worker_main`); a session is pinned to the least busy worker.
Requests are typed (`rpc.py`). Each session has at most one request in flight, and each
worker is fair in CPU time, not in requests: a session's lead in CPU time over the
others (start-time fair queuing on the CPU each reply reports) delays its requests by that
lead, so a heavy session slows itself and not its neighbours. A lead is bounded
(`max_lead`) and forgiven while the session rests, so a costly load does not make its
student's later clicks wait behind the whole class, and no request waits more than
`max_lead` behind later ones. A step over the CPU cap pauses that
session, and a worker silent for `hard_timeout_s` is killed and restarted (its sessions
get an `internal` error and must load again).

`workers=0` computes in one thread of the server process instead (tests, debugging).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import json
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from errorwave.server import rpc
from errorwave.server.compute import Core
from errorwave.server.limits import Settings

log = logging.getLogger("errorwave.pool")


class WorkerLost(RuntimeError):
    """The worker holding this session's engine died or was killed."""


class _Worker:
    """Interface: `await call(req)`; `sessions` pinned here. Requests wait in a fair queue;
    at most `depth` are in the worker at once (two: it never idles between requests)."""

    depth = 2
    # CPU seconds a session may be ahead of the shared clock and still go in line with
    # everyone (first come, first served): a click's step and the next_example after it
    quantum = 0.05
    # CPU seconds a session may be ahead of the shared clock: past debts weigh no more
    max_lead = 0.5

    def __init__(self) -> None:
        self.sessions: set[str] = set()
        # (due, arrival order, virtual start, request, its future)
        self.waiting: list[tuple[float, int, float, rpc.Request, asyncio.Future[rpc.Reply]]] = []
        self.inflight = 0
        self.seq = itertools.count()
        self.vtime: dict[str, float] = {}  # CPU seconds used, per session, on a shared clock
        self.clock = 0.0  # the virtual time of the last request sent
        self.rested: dict[str, float] = {}  # when each session's last request came back

    def now(self) -> float:
        """Seconds on the clock that rests and waits are measured by (tests fake it)."""
        return time.monotonic()

    def _start(self, sid: str) -> float:
        """A request's place in line: the session's CPU used, never behind the clock (no
        credit for idle time), less the time it has rested since its last request (debt
        forgiven at one second per second) and a quantum. A session that keeps the worker
        busy (a heavy player, a long next_example) never rests and stays behind the others;
        one that computed a costly load and then waits for its student's clicks is not made
        to wait behind every click of the class for it. Without the quantum, a click's
        `next_example` (sent right after its step) would wait behind every fresh click
        for as long as the worker is backlogged: fresh clicks all start at the clock."""
        lead = self.vtime.get(sid, self.clock) - self.clock - self.quantum
        rested = self.rested.get(sid)
        if rested is not None:
            lead -= self.now() - rested
        return self.clock + min(max(lead, 0.0), self.max_lead)

    async def call(self, req: rpc.Request) -> rpc.Reply:
        fut: asyncio.Future[rpc.Reply] = asyncio.get_running_loop().create_future()
        start = self._start(req.sid)
        self.vtime[req.sid] = start
        # In line by arrival plus the session's lead: the lead is a wait in seconds, so a
        # request waits at most `max_lead` behind later arrivals. (Ordering by the virtual
        # start alone starves a session with a lead whenever every other request starts at
        # the clock, as forgiven and paced ones do: the clock then never moves.)
        due = self.now() + (start - self.clock)
        heapq.heappush(self.waiting, (due, next(self.seq), start, req, fut))
        self._pump()
        try:
            res = await fut
        finally:
            if fut.cancelled():
                self._drop(fut)
        self.vtime[req.sid] = self.vtime.get(req.sid, self.clock) + res.cpu_s
        self.rested[req.sid] = self.now()
        return res

    def _drop(self, fut: asyncio.Future[rpc.Reply]) -> None:
        kept = [w for w in self.waiting if w[-1] is not fut]
        if len(kept) != len(self.waiting):
            self.waiting = kept
            heapq.heapify(self.waiting)

    def _pump(self) -> None:
        while self.waiting and self.inflight < self.depth:
            _, _, start, req, fut = heapq.heappop(self.waiting)
            if fut.done():
                continue
            self.clock = max(self.clock, start)
            self.inflight += 1
            self._dispatch(req, fut)

    def _finished(self) -> None:
        self.inflight = max(0, self.inflight - 1)
        self._pump()

    def forget(self, sid: str) -> None:
        self.vtime.pop(sid, None)
        self.rested.pop(sid, None)

    def fail_all(self, err: Exception) -> None:
        waiting, self.waiting = self.waiting, []
        self.inflight = 0
        for *_, fut in waiting:
            if not fut.done():
                fut.set_exception(err)

    def _dispatch(self, req: rpc.Request, fut: asyncio.Future[rpc.Reply]) -> None:  # pragma: no cover
        raise NotImplementedError

    async def start(self) -> None:  # pragma: no cover
        raise NotImplementedError

    async def stop(self) -> None:  # pragma: no cover
        raise NotImplementedError

    @property
    def ready(self) -> bool:
        return True

    def check(self, now: float) -> None:
        """Called by the watchdog."""


class ThreadWorker(_Worker):
    depth = 1

    def __init__(self, settings: Settings):
        super().__init__()
        self.core = Core(settings.as_dict())
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="errorwave-compute")

    async def start(self) -> None:
        pass

    def _dispatch(self, req: rpc.Request, fut: asyncio.Future[rpc.Reply]) -> None:
        done = asyncio.get_running_loop().run_in_executor(self.executor, self.core.handle, req)

        def finish(f: asyncio.Future[rpc.Reply]) -> None:
            self._finished()
            if fut.done():
                return
            if f.cancelled():
                fut.cancel()
            elif f.exception() is not None:
                fut.set_exception(f.exception())  # type: ignore[arg-type]
            else:
                fut.set_result(f.result())

        done.add_done_callback(finish)

    async def stop(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class ProcessWorker(_Worker):
    def __init__(self, index: int, settings: Settings):
        super().__init__()
        self.index = index
        self.settings = settings
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[rpc.Reply]] = {}
        self.last_progress = time.monotonic()
        self.generation = 0
        self.stopping = False
        self.proc: Any = None
        self.started: asyncio.Future[rpc.Reply] | None = None
        self.restarting: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.started is not None and self.started.done() and not (
            self.restarting is not None and not self.restarting.done())

    async def start(self) -> None:
        """A fresh interpreter (not multiprocessing's spawn, which re-imports the caller's
        __main__) on one end of a socket pair; this end is an asyncio stream speaking
        multiprocessing's Connection framing (a 4-byte length, then a pickle), so no
        thread and no blocking call sits between the event loop and a worker."""
        ours, theirs = socket.socketpair()
        code = "import sys; from errorwave.server.compute import main; main(int(sys.argv[1]))"
        env = {**os.environ, "ERRORWAVE_WORKER_SETTINGS": json.dumps(self.settings.as_dict())}
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), env=env, close_fds=True)
        theirs.close()
        reader, self.writer = await asyncio.open_unix_connection(sock=ours, limit=1 << 20)
        self.generation += 1
        self.last_progress = time.monotonic()
        self.started = asyncio.get_running_loop().create_future()
        self.pending[0] = self.started
        self.reading = asyncio.create_task(self._read(reader, self.generation))

    async def _read(self, reader: asyncio.StreamReader, gen: int) -> None:
        try:
            while True:
                (size,) = struct.unpack("!i", await reader.readexactly(4))
                if size == -1:
                    (size,) = struct.unpack("!Q", await reader.readexactly(8))
                rid, reply = pickle.loads(await reader.readexactly(size))
                self._resolve(rid, reply)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._lost(gen)

    def _write(self, msg: Any) -> None:
        data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        head = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else \
            struct.pack("!i", -1) + struct.pack("!Q", len(data))
        self.writer.write(head + data)

    def _resolve(self, rid: int, reply: rpc.Reply) -> None:
        self.last_progress = time.monotonic()
        fut = self.pending.pop(rid, None)
        if rid != 0:
            self._finished()
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def _lost(self, gen: int) -> None:
        if gen != self.generation:
            return
        pending, self.pending = self.pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(WorkerLost("the worker stopped"))
        self.fail_all(WorkerLost("the worker stopped"))
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # it closed its end but lives on: it is of no use any more
        if self.proc is not None:  # reap it without blocking the loop
            asyncio.get_running_loop().run_in_executor(None, self.proc.wait)
        lost, self.sessions = self.sessions, set()
        self.vtime.clear()
        self.rested.clear()
        if not self.stopping:
            log.warning("worker %d stopped (%d sessions lost); restarting", self.index, len(lost))
            self.restarting = asyncio.get_running_loop().create_task(self.start())
            self.restarting.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("worker %d could not restart", self.index, exc_info=task.exception())

    async def call(self, req: rpc.Request) -> rpc.Reply:
        if self.stopping:
            raise WorkerLost("the server is stopping")
        if self.restarting is not None and not self.restarting.done():
            await asyncio.shield(self.restarting)  # write to the new process, not the dead one
        return await super().call(req)

    def _dispatch(self, req: rpc.Request, fut: asyncio.Future[rpc.Reply]) -> None:
        rid = next(self.ids)
        if not self.pending or list(self.pending) == [0]:
            self.last_progress = time.monotonic()
        self.pending[rid] = fut
        try:
            self._write((rid, req))
        except (OSError, RuntimeError) as err:
            self.pending.pop(rid, None)
            self._finished()
            if not fut.done():
                fut.set_exception(WorkerLost(f"the worker is gone: {err}"))

    def check(self, now: float) -> None:
        busy = any(rid != 0 for rid in self.pending)
        if busy and now - self.last_progress > self.settings.hard_timeout_s \
                and self.proc is not None and self.proc.poll() is None:
            log.warning("worker %d silent for %.1f s: killing it", self.index,
                        now - self.last_progress)
            self.proc.kill()

    async def stop(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError, RuntimeError):
            self._write(None)
            self.writer.close()
        if self.proc is not None:
            try:
                await asyncio.to_thread(self.proc.wait, 3)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class ComputePool:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.workers: list[_Worker] = (
            [ProcessWorker(i, settings) for i in range(settings.workers)]
            if settings.workers > 0 else [ThreadWorker(settings)])
        self.where: dict[str, _Worker] = {}
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the workers; requests sent before one is ready wait in its socket."""
        for w in self.workers:
            await w.start()
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        # this process's imports (torch, pydantic, FastAPI) are long-lived too: out of every
        # collection, so a full one cannot stall the event loop (and every session) for ~1 s
        gc.freeze()

    @property
    def ready(self) -> bool:
        """Every worker has imported torch and warmed up (the first `load` is fast)."""
        return all(w.ready for w in self.workers)

    async def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for w in self.workers:
                w.check(now)

    def assign(self, sid: str) -> None:
        worker = min(self.workers, key=lambda w: len(w.sessions))
        worker.sessions.add(sid)
        self.where[sid] = worker

    async def call(self, req: rpc.Request) -> rpc.Reply:
        sid = req.sid
        worker = self.where.get(sid)
        if worker is None or sid not in worker.sessions:  # its worker was restarted
            if worker is not None:
                self.where.pop(sid, None)
                self.assign(sid)
                raise WorkerLost("the worker holding this session stopped")
            self.assign(sid)
            worker = self.where[sid]
        return await worker.call(req)

    async def release(self, sid: str) -> None:
        worker = self.where.pop(sid, None)
        if worker is None:
            return
        worker.sessions.discard(sid)
        with contextlib.suppress(WorkerLost, RuntimeError):
            await worker.call(rpc.Close(sid=sid))
        worker.forget(sid)

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for w in self.workers:
            await w.stop()
