"""Configuration checks for the REST routes (`/api/validate`, short links), off the server
process.

Validating a 1 MB configuration holds the GIL for a while: run in the server process,
eight of them at once cut twenty playing students to 3 frames/s. So parsing and
validation run in one helper process at a lower CPU priority (`nice` 10: the compute
workers and the event loop come first), at most `max_validations_waiting` at a time
(then 503), and `POST /api/validate` is rate-limited per address. The event loop never
parses a request body: the bytes go to the helper, which answers with a status and
either the problem or, for links, the canonical text to store.

`workers=0` runs the checks in a thread instead (tests, debugging).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
from collections import OrderedDict
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from errorwave.config import Limits
from errorwave.server.limits import Settings
from errorwave.server.links import canonical
from errorwave.server.quoting import clip, clip_issues
from errorwave.server.replies import Problem

log = logging.getLogger("errorwave.checker")
NICE = 10


# ----- in the helper process ------------------------------------------------------------
def _start_helper() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server stops the helper
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICE)
    import torch

    torch.set_num_threads(1)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(body: bytes | str, max_depth: int) -> Any:
    """Parse untrusted JSON: no NaN/Infinity, at most `max_depth` levels, strings that
    encode as UTF-8 (no lone surrogates). Raises Problem 400."""
    try:
        doc = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise Problem(400, "bad_json", f"the JSON is nested deeper than {max_depth} levels") \
            from None
    except ValueError as err:  # also UnicodeDecodeError: bytes that are not UTF-8
        raise Problem(400, "bad_json", f"not valid JSON: {clip(str(err), 120)}") from None
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > max_depth:
                raise Problem(400, "bad_json", f"the JSON is nested deeper than {max_depth} levels")
            for k, v in value.items():
                _check_text(k)
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            if depth > max_depth:
                raise Problem(400, "bad_json", f"the JSON is nested deeper than {max_depth} levels")
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            _check_text(value)
    return doc


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Problem(400, "bad_json", "strings must be valid Unicode (a lone surrogate "
                          "such as \\ud800 is not)") from None


def _issues(err: Exception) -> list[dict[str, Any]]:
    return clip_issues([i.as_dict() for i in err.issues])  # type: ignore[attr-defined]


def check_validate(body: bytes, limits: Limits, max_depth: int) -> tuple[int, dict[str, Any]]:
    """POST /api/validate: (200, summary), (422, issues) or (400, problem)."""
    from errorwave.validation import ConfigInvalid, parse_config

    try:
        doc = load_json(body, max_depth)
        config, structure = parse_config(doc, limits)
    except Problem as err:
        return err.status, {"ok": False, "code": err.code, "message": err.message}
    except ConfigInvalid as err:
        return 422, {"ok": False, "code": "invalid_config", "issues": _issues(err)}
    return 200, {"ok": True, "nodes": len(structure.order), "rule": config.rule.name,
                 "output": structure.output}


def check_link(body: bytes, limits: Limits, max_depth: int, max_bytes: int
               ) -> tuple[int, dict[str, Any] | str]:
    """POST /api/links: (200, canonical text to store) or (status, problem)."""
    from errorwave.validation import ConfigInvalid, parse_config

    try:
        doc = load_json(body, max_depth)
        if not isinstance(doc, dict) or "config" not in doc or set(doc) - {"config", "view"}:
            raise Problem(400, "bad_message", 'the body is {"config": {...}, "view": {...}}')
        if not isinstance(doc.get("view", {}), dict):
            raise Problem(400, "bad_message", "'view' must be an object")
        parse_config(doc["config"], limits)
        text = canonical(doc)
        if len(text.encode()) > max_bytes:
            raise Problem(413, "too_large", f"the link exceeds the limit of {max_bytes} bytes")
    except Problem as err:
        return err.status, {"ok": False, "code": err.code, "message": err.message}
    except ConfigInvalid as err:
        return 422, {"ok": False, "code": "invalid_config", "issues": _issues(err)}
    return 200, text


def check_stored(text: str, limits: Limits) -> list[dict[str, Any]]:
    """Issues of a stored configuration under today's limits (empty when it is fine)."""
    from errorwave.validation import ConfigInvalid, parse_config

    try:
        parse_config(json.loads(text)["config"], limits)
    except ConfigInvalid as err:
        return _issues(err)
    return []


def _ping() -> int:
    return os.getpid()


# ----- in the server process ------------------------------------------------------------
class Checker:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.limits = settings.engine_limits()
        self.waiting = 0
        self.executor: Executor | None = None
        self._started: Future[int] | None = None
        # issues of stored links, by link id: a class opening one link checks it once
        self._stored: OrderedDict[str, asyncio.Future[list[dict[str, Any]]]] = OrderedDict()

    def _make(self) -> Executor:
        if self.settings.workers == 0:
            return ThreadPoolExecutor(1, thread_name_prefix="checker")
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_helper)

    async def start(self) -> None:
        self.executor = self._make()
        # start the helper now (it imports torch, alongside the workers), not on a request;
        # /healthz says "starting" until it is up
        self._started = self.executor.submit(_ping)

    @property
    def ready(self) -> bool:
        return self._started is not None and self._started.done()

    async def stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    async def run(self, fn: Any, *args: Any, queue: bool = False) -> Any:
        """`fn(*args)` in the helper. Problem 503 when `max_validations_waiting` are already
        in flight (unless `queue`) or when the helper died (it is restarted)."""
        if not queue and self.waiting >= self.settings.max_validations_waiting:
            raise Problem(503, "busy", "too many configuration checks at once; try again",
                          retry_after=1)
        if self.executor is None:
            raise Problem(503, "busy", "the server is starting or stopping")
        self.waiting += 1
        try:
            return await asyncio.wrap_future(self.executor.submit(fn, *args))
        except BrokenProcessPool:
            log.error("the configuration checker died; restarting it")
            self.executor = self._make()
            raise Problem(503, "busy", "the configuration checker restarted; try again") \
                from None
        finally:
            self.waiting -= 1

    async def validate(self, body: bytes) -> tuple[int, dict[str, Any]]:
        return await self.run(check_validate, body, self.limits, self.settings.max_json_depth)

    async def link(self, body: bytes) -> tuple[int, dict[str, Any] | str]:
        return await self.run(check_link, body, self.limits, self.settings.max_json_depth,
                              self.settings.link_max_bytes)

    async def stored_issues(self, link_id: str, text: str) -> list[dict[str, Any]]:
        future = self._stored.get(link_id)
        if future is None or (future.done() and future.exception() is not None):
            future = asyncio.ensure_future(
                self.run(check_stored, text, self.limits, queue=True))
            self._stored[link_id] = future
            while len(self._stored) > 1024:
                self._stored.popitem(last=False)
        self._stored.move_to_end(link_id)
        return list(await asyncio.shield(future))
