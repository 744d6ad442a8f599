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

from errorwave.server.compute import Core
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
        self.restarting: asyncio.Task[None] | None = None

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
        self.ready = asyncio.get_running_loop().create_future()
        self.pending[0] = self.ready
        self.reading = asyncio.create_task(self._read(reader, self.generation))

    async def _read(self, reader: asyncio.StreamReader, gen: int) -> None:
        try:
            while True:
                (size,) = struct.unpack("!i", await reader.readexactly(4))
                if size == -1:
                    (size,) = struct.unpack("!Q", await reader.readexactly(8))
                self._resolve(pickle.loads(await reader.readexactly(size)))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._lost(gen)

    def _write(self, req: dict[str, Any] | None) -> None:
        data = pickle.dumps(req, protocol=pickle.HIGHEST_PROTOCOL)
        head = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else \
            struct.pack("!i", -1) + struct.pack("!Q", len(data))
        self.writer.write(head + data)

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
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # it closed its end but lives on: it is of no use any more
        if self.proc is not None:  # reap it without blocking the loop
            asyncio.get_running_loop().run_in_executor(None, self.proc.wait)
        lost, self.sessions = self.sessions, set()
        if not self.stopping:
            log.warning("worker %d stopped (%d sessions lost); restarting", self.index, len(lost))
            self.restarting = asyncio.get_running_loop().create_task(self.start())
            self.restarting.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("worker %d could not restart", self.index, exc_info=task.exception())

    async def call(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.stopping:
            raise WorkerLost("the server is stopping")
        if self.restarting is not None and not self.restarting.done():
            await asyncio.shield(self.restarting)  # write to the new process, not the dead one
        rid = next(self.ids)
        req["rid"] = rid
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if not self.pending:
            self.last_progress = time.monotonic()
        self.pending[rid] = fut
        self._write(req)
        try:
            return await fut
        finally:
            self.pending.pop(rid, None)

    def check(self, now: float) -> None:
        if self.pending and now - self.last_progress > self.settings.hard_timeout_s \
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

    @property
    def ready(self) -> bool:
        return all(w.ready is None or w.ready.done() for w in self.workers
                   if isinstance(w, ProcessWorker))

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
