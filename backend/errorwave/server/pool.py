"""Where steps are computed: worker processes (one per core by default), off the event loop.

Threads are no good here: the engine's small-tensor work holds the GIL, and measured on
2 cores four stepping threads got less done than one. So each worker is a process with
its own engines (`compute.worker_main`); a session is pinned to the least busy worker.
Each session has at most one request in flight and a worker answers in arrival order,
so a heavy session delays the others on its worker by at most one of its steps; a step
over the CPU cap pauses that session, and a worker silent for `hard_timeout_s` is killed
and restarted (its sessions get an `internal` error and must load again).

`workers=0` computes in one thread of the server process instead (tests, debugging).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing as mp
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from errorwave.server.compute import Core, worker_main
from errorwave.server.limits import Settings

log = logging.getLogger("errorwave.pool")


class WorkerLost(RuntimeError):
    """The worker holding this session's engine died or was killed."""


class _Worker:
    """Interface: `await call(req)`; `sessions` pinned here."""

    def __init__(self) -> None:
        self.sessions: set[str] = set()

    async def call(self, req: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    async def start(self) -> None:  # pragma: no cover
        raise NotImplementedError

    async def stop(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def check(self, now: float) -> None:
        """Called by the watchdog."""


class ThreadWorker(_Worker):
    def __init__(self, settings: Settings):
        super().__init__()
        self.core = Core(settings.as_dict())
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="errorwave-compute")

    async def start(self) -> None:
        pass

    async def call(self, req: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.core.handle, req)

    async def stop(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class ProcessWorker(_Worker):
    def __init__(self, index: int, settings: Settings):
        super().__init__()
        self.index = index
        self.settings = settings
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.last_progress = time.monotonic()
        self.generation = 0
        self.stopping = False
        self.proc: Any = None
        self.ready: asyncio.Future[dict[str, Any]] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, self.settings.as_dict()),
                                name=f"errorwave-worker-{self.index}", daemon=True)
        self.proc.start()
        child.close()
        self.generation += 1
        self.ready = loop.create_future()
        self.pending[0] = self.ready
        outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.outbox = outbox
        gen = self.generation
        threading.Thread(target=self._read, args=(parent, loop, gen), daemon=True,
                         name=f"errorwave-read-{self.index}").start()
        threading.Thread(target=self._write, args=(parent, outbox), daemon=True,
                         name=f"errorwave-write-{self.index}").start()

    async def wait_ready(self, timeout: float) -> None:
        assert self.ready is not None
        await asyncio.wait_for(asyncio.shield(self.ready), timeout)

    # threads: a blocking pipe each way, so a big request never blocks the event loop
    def _read(self, conn: Any, loop: asyncio.AbstractEventLoop, gen: int) -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            with contextlib.suppress(RuntimeError):  # loop closed at shutdown
                loop.call_soon_threadsafe(self._resolve, msg)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._lost, gen)

    @staticmethod
    def _write(conn: Any, outbox: queue.SimpleQueue[Any]) -> None:
        while True:
            req = outbox.get()
            try:
                conn.send(req)
            except (OSError, ValueError):
                break
            if req is None:
                break
        with contextlib.suppress(OSError):
            conn.close()

    def _resolve(self, msg: dict[str, Any]) -> None:
        self.last_progress = time.monotonic()
        fut = self.pending.pop(msg.get("rid", -1), None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def _lost(self, gen: int) -> None:
        if gen != self.generation:
            return
        pending, self.pending = self.pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(WorkerLost("the worker stopped"))
        if self.proc is not None:
            self.proc.join(timeout=1)
        lost, self.sessions = self.sessions, set()
        if not self.stopping:
            log.warning("worker %d stopped (%d sessions lost); restarting", self.index, len(lost))
            asyncio.get_running_loop().create_task(self.start())

    async def call(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.stopping:
            raise WorkerLost("the server is stopping")
        rid = next(self.ids)
        req["rid"] = rid
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if not self.pending:
            self.last_progress = time.monotonic()
        self.pending[rid] = fut
        self.outbox.put(req)
        try:
            return await fut
        finally:
            self.pending.pop(rid, None)

    def check(self, now: float) -> None:
        if self.pending and now - self.last_progress > self.settings.hard_timeout_s \
                and self.proc is not None and self.proc.is_alive():
            log.warning("worker %d silent for %.1f s: killing it", self.index,
                        now - self.last_progress)
            self.proc.kill()

    async def stop(self) -> None:
        self.stopping = True
        self.outbox.put(None)
        if self.proc is not None:
            await asyncio.to_thread(self.proc.join, 3)
            if self.proc.is_alive():
                self.proc.kill()


class ComputePool:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.workers: list[_Worker] = (
            [ProcessWorker(i, settings) for i in range(settings.workers)]
            if settings.workers > 0 else [ThreadWorker(settings)])
        self.where: dict[str, _Worker] = {}
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 120.0) -> None:
        for w in self.workers:
            await w.start()
        for w in self.workers:
            if isinstance(w, ProcessWorker):
                await w.wait_ready(timeout)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

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

    async def call(self, sid: str, op: str, **args: Any) -> dict[str, Any]:
        worker = self.where.get(sid)
        if worker is None or sid not in worker.sessions:  # its worker was restarted
            if worker is not None:
                self.where.pop(sid, None)
                self.assign(sid)
                raise WorkerLost("the worker holding this session stopped")
            self.assign(sid)
            worker = self.where[sid]
        return await worker.call({"op": op, "sid": sid, "args": args})

    async def release(self, sid: str) -> None:
        worker = self.where.pop(sid, None)
        if worker is None:
            return
        worker.sessions.discard(sid)
        with contextlib.suppress(WorkerLost, RuntimeError):
            await worker.call({"op": "close", "sid": sid, "args": {}})

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for w in self.workers:
            await w.stop()
