"""The server side of a training run in the page: a task that advances the session's
trainer (trainjob.py, in the session's worker) one chunk at a time through the fair
scheduler, and streams `training` messages (protocol.TrainingProgress) to the session's
sides.

Every chunk is one request of at most `chunk_budget_s` CPU, queued behind other sessions
by CPU time used (pool.py), so a run never stalls its neighbours; pause and stop take
effect between chunks. While the owner is not reading, no chunk is computed (the rows
would pile up in its outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson

from errorwave.server import rpc
from errorwave.server.pool import WorkerLost
from errorwave.server.runner import Runner

log = logging.getLogger("errorwave.training")


class TrainingRun:
    def __init__(self, runner: Runner):
        self.runner = runner
        self.settings = runner.settings
        self.task: asyncio.Task[None] | None = None
        self.run = 0
        self.state = "stopped"
        self.info: dict[str, Any] = {}
        self.examples = 0
        self.epoch = 0
        self.rows: list[dict[str, Any]] = []  # rows not sent yet
        self.epoch_rows: list[dict[str, Any]] = []
        self.boundary: dict[str, Any] | None = None
        self.active_s = 0.0  # wall time spent running (not paused), for examples per second
        self._go = asyncio.Event()  # set while running; cleared by pause
        self._stop = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # ----- commands -----------------------------------------------------------------------
    async def start(self, training: dict[str, Any] | None) -> None:
        await self.stop(announce=False)
        r = self.runner
        res = await r.request(r.req(rpc.TrainStart, training=training,
                                    max_examples=self.settings.max_training_examples))
        if not res.ok:
            r.error(res.code or "internal", res.message, res.issues)
            return
        self.run += 1
        self.info = res.training or {}
        self.examples = self.epoch = 0
        self.rows, self.epoch_rows, self.boundary = [], [], None
        self.active_s = 0.0
        self._stop = False
        self._go.set()
        self.state = "running"
        self.publish()
        self.task = asyncio.create_task(self._loop())
        self.task.add_done_callback(self._done)

    def pause(self) -> None:
        if self.running and self.state == "running":
            self._go.clear()  # the loop says "paused" once its chunk in flight is back

    def resume(self) -> None:
        if self.running and self.state == "paused":
            self._go.set()

    async def stop(self, announce: bool = True) -> None:
        """End the run after its chunk in flight; the worker forgets the trainer."""
        if not self.running:
            return
        self._stop = True
        self._go.set()
        with contextlib.suppress(asyncio.CancelledError, WorkerLost):
            await self.task  # type: ignore[misc]
        if announce:
            self.state = "stopped"
            self.publish()
        with contextlib.suppress(WorkerLost):
            await self.runner.request(self.runner.req(rpc.TrainStop))

    def close(self) -> None:
        """The session is going away (its worker slot goes with it)."""
        self._stop = True
        if self.task is not None:
            self.task.cancel()

    # ----- messages -----------------------------------------------------------------------
    def publish(self) -> None:
        info = self.info
        msg = {"type": "training", "run": self.run, "state": self.state, "examples": self.examples,
               "total": info.get("total", 0), "epoch": self.epoch, "epochs": info.get("epochs", 0),
               "rate": self.examples / self.active_s if self.active_s > 0 else None,
               "rule": info.get("rule", ""), "rows": self.rows, "epoch_rows": self.epoch_rows,
               "boundary": self.boundary}
        text = orjson.dumps(msg).decode()
        for side in self.runner.sides:
            side.mailbox.put("training", text)
        self.rows, self.epoch_rows, self.boundary = [], [], None

    # ----- the task -----------------------------------------------------------------------
    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s: training failed", self.runner.sid, exc_info=task.exception())
            self.runner.error("internal", "the server failed while training")

    async def _loop(self) -> None:
        r, s = self.runner, self.settings
        owner = r.owner
        sent = last_boundary = time.monotonic()
        while not self._stop:
            if not self._go.is_set():
                self.state = "paused"
                self.publish()
                await self._go.wait()
                if self._stop:
                    break
                self.state = "running"
                self.publish()
                sent = time.monotonic()
            if owner.blocked_for() > s.stall_s:  # compute nothing nobody takes
                await asyncio.sleep(0.1)
                continue
            began = time.monotonic()
            due = began - last_boundary >= s.training_boundary_s and bool(self.info.get("planar"))
            try:
                res = await r.request(r.req(rpc.TrainChunk, boundary=due))
            except WorkerLost:
                r.lost()
                self.state = "failed"
                break
            now = time.monotonic()
            self.active_s += now - began
            if not res.ok:
                if res.code != "not_loaded":  # not_loaded: a load replaced the trainer
                    r.error(res.code or "internal", res.message, res.issues)
                self.state = "failed" if res.code != "not_loaded" else "stopped"
                break
            progress = res.training or {}
            self.rows += progress.get("rows", [])
            self.epoch_rows += progress.get("epochs", [])
            self.examples, self.epoch = progress.get("examples", 0), progress.get("epoch", 0)
            if progress.get("boundary") is not None:
                self.boundary, last_boundary = progress["boundary"], now
            if res.slow is not None:
                r.error("limit", f"a training batch took {res.slow:.2f} s of CPU, over the server's "
                        f"limit of {s.step_cpu_limit_s:g} s: use a smaller batch or graph")
                self.state = "failed"
                break
            if res.finished:
                self.state = "done"
                break
            if now - sent >= s.training_updates_s:
                self.publish()
                sent = now
        if not self._stop:  # stop() announces its own end
            self.publish()
