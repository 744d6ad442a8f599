"""The compute side: engines of many sessions, stepped on request, frames serialised here.

`Core.handle(request)` never raises: it answers `{"ok": True, "out": [(kind, payload)],
"state": {...}}` or `{"ok": False, "code", "message", "issues"?}`. A `Core` lives in a worker
process (`worker_main`), or in one thread when the server runs with `workers=0`.
Payloads are ready to send: JSON text from `errorwave.engine.to_json`, or binary frames.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections import OrderedDict
from typing import Any

from errorwave import presets
from errorwave.config import Limits
from errorwave.engine import Engine, nan_to_none, to_json
from errorwave.server import binary as binfmt
from errorwave.validation import ConfigInvalid

log = logging.getLogger("errorwave.compute")
MAX_TRAINING_ROWS = 1000
Out = list[tuple[str, Any]]


def safe_json(message: dict[str, Any]) -> str:
    """`to_json`, and where the engine let a non-finite number through (a divergence metric
    overflowing while the values are still finite), the same with null in its place."""
    try:
        return to_json(message)
    except ValueError:
        return to_json(nan_to_none(message))


def classify(err: ConfigInvalid) -> str:
    """The error code for a failed validation."""
    text = " ".join(i.message for i in err.issues)
    if "exceed the limit" in text:
        return "too_large"
    if "does not support this graph" in text:
        return "unsupported_graph"
    return "invalid_config"


def fail(code: str, message: str, issues: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "code": code, "message": message}
    if issues is not None:
        out["issues"] = issues
    return out


class Slot:
    """One session's engine plus the frames of its current example, kept as JSON text."""

    def __init__(self, engine: Engine, history_bytes: int):
        self.engine = engine
        self.history: OrderedDict[int, str] = OrderedDict()
        self.history_bytes = history_bytes
        self.kept = 0

    def remember(self, t: int, text: str) -> None:
        self.history[t] = text
        self.kept += len(text)
        while self.kept > self.history_bytes and len(self.history) > 1:
            old_t = next(iter(self.history))
            self.kept -= len(self.history.pop(old_t))

    def forget(self) -> None:
        self.history.clear()
        self.kept = 0

    def state(self) -> dict[str, Any]:
        e = self.engine
        return {"revision": e.revision, "example": e.examples_seen, "t": e.t, "steps": e.steps,
                "done": e.done, "halted": e.halted}


class Core:
    def __init__(self, settings: dict[str, Any]):
        self.limits = Limits(**{k: settings[k] for k in Limits.model_fields})
        self.step_cpu_limit = float(settings["step_cpu_limit_s"])
        self.chunk_budget = float(settings["chunk_budget_s"])
        self.history_bytes = int(settings["history_bytes"])
        self.slots: dict[str, Slot] = {}

    # ----- dispatch ------------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op, sid, args = req["op"], req.get("sid", ""), req.get("args", {})
        try:
            if op == "ping":
                return {"ok": True, "out": [], "state": None}
            if op == "close":
                self.slots.pop(sid, None)
                return {"ok": True, "out": [], "state": None}
            if op == "open":
                return self.open(sid, **args)
            slot = self.slots.get(sid)
            if slot is None:
                return fail("not_loaded", "load a configuration or a preset first")
            return getattr(self, "op_" + op)(slot, **args)
        except ConfigInvalid as err:
            return fail(classify(err), _summary(err), [i.as_dict() for i in err.issues])
        except Exception as err:  # a bug, not the client's fault: keep serving
            log.exception("compute op %s failed", op)
            return fail("internal", f"internal error in '{op}': {type(err).__name__}")

    # ----- helpers ------------------------------------------------------------------------
    def _frame_out(self, slot: Slot, frame: dict[str, Any], is_binary: bool, out: Out) -> None:
        text = safe_json(frame)
        slot.remember(frame["t"], text)
        out.append(("frame", binfmt.encode(frame) if is_binary else text))

    def _example_out(self, slot: Slot, is_binary: bool) -> Out:
        """Snapshot, schema (binary mode) and frame t=0 of the current example."""
        e = slot.engine
        if len(e.history) > MAX_TRAINING_ROWS:
            del e.history[:-MAX_TRAINING_ROWS]
        slot.forget()
        out: Out = [("snapshot", safe_json(e.snapshot()))]
        if is_binary:
            layout = binfmt.layout_of(e.frame)
            out.append(("schema", to_json(binfmt.schema_message(layout, e.revision, e.examples_seen))))
        self._frame_out(slot, e.frame, is_binary, out)
        return out

    def _ok(self, slot: Slot, out: Out, **extra: Any) -> dict[str, Any]:
        return {"ok": True, "out": out, "state": slot.state(), **extra}

    # ----- operations -----------------------------------------------------------------------
    def open(self, sid: str, config: Any = None, preset: str | None = None, revision: int = 0,
             binary: bool = False) -> dict[str, Any]:
        if preset is not None:
            config = presets.get_preset(preset)
            if config is None:
                return fail("unknown_preset", f"no preset {preset[:64]!r}; see GET /api/presets")
        engine = Engine(config, limits=self.limits, revision=revision)
        slot = Slot(engine, self.history_bytes)
        self.slots[sid] = slot  # replaces the previous engine only once the new one is valid
        return self._ok(slot, self._example_out(slot, binary))

    def op_current(self, slot: Slot, binary: bool = False) -> dict[str, Any]:
        """The snapshot (and schema) again, and the latest frame: after a mode switch."""
        e = slot.engine
        out: Out = [("snapshot", safe_json(e.snapshot()))]
        if binary:
            layout = binfmt.layout_of(e.frame)
            out.append(("schema", to_json(binfmt.schema_message(layout, e.revision, e.examples_seen))))
        out.append(("frame", binfmt.encode(e.frame) if binary else safe_json(e.frame)))
        return self._ok(slot, out)

    def op_step(self, slot: Slot, n: int = 1, binary: bool = False) -> dict[str, Any]:
        e, out = slot.engine, []
        started = time.perf_counter()
        stepped, slow = 0, None
        while stepped < n and not e.done:
            cpu = time.thread_time()
            frame = e.step()
            spent = time.thread_time() - cpu
            if frame is None:
                break
            stepped += 1
            self._frame_out(slot, frame, binary, out)
            if spent > self.step_cpu_limit:
                slow = spent
                break
            if time.perf_counter() - started > self.chunk_budget:
                break
        return self._ok(slot, out, stepped=stepped, slow=slow)

    def op_frame_at(self, slot: Slot, t: int, binary: bool = False) -> dict[str, Any]:
        text = slot.history.get(t)
        if text is None:
            if t > slot.engine.t:
                return fail("bad_message", f"step {t} is not computed yet (now at {slot.engine.t})")
            return fail("limit", f"step {t} is no longer kept on the server (history cap); "
                        "the client keeps its own history")
        if binary:
            return self._ok(slot, [("frame", binfmt.encode(json.loads(text)))])
        return self._ok(slot, [("frame", text)])

    def op_set(self, slot: Slot, path: str, value: Any, binary: bool = False) -> dict[str, Any]:
        try:
            slot.engine.set(path, value)
        except (TypeError, KeyError, IndexError):  # the path runs through a list or a scalar
            issue = {"path": path, "node": None, "field": path.rsplit(".", 1)[-1],
                     "message": f"no field '{path}' in the configuration"}
            return fail("invalid_config", issue["message"], [issue])
        return self._ok(slot, self._example_out(slot, binary))

    def op_reset(self, slot: Slot, binary: bool = False) -> dict[str, Any]:
        slot.engine.reset()
        return self._ok(slot, self._example_out(slot, binary))

    def op_next_example(self, slot: Slot, binary: bool = False) -> dict[str, Any]:
        """Finish the example (the engine runs its remaining steps), learn, start the next."""
        e = slot.engine
        if e.next_example() is None:
            h = e.halted or {}
            return fail("diverged", f"the example diverged at node {h.get('node')!r} (step "
                        f"{h.get('t')}); reset, set or load to go on")
        row = e.history[-1] if e.history else None
        return self._ok(slot, self._example_out(slot, binary), row=row)


def _summary(err: ConfigInvalid) -> str:
    if not err.issues:
        return "invalid configuration"
    first = err.issues[0]
    more = f" (and {len(err.issues) - 1} more)" if len(err.issues) > 1 else ""
    return f"invalid configuration: {first.path + ': ' if first.path else ''}{first.message}{more}"


def main(fd: int) -> None:
    """Entry point of a worker process (see pool.ProcessWorker)."""
    from multiprocessing.connection import Connection

    settings = json.loads(os.environ["ERRORWAVE_WORKER_SETTINGS"])
    worker_main(Connection(fd), settings)


def worker_main(conn: Any, settings: dict[str, Any]) -> None:
    """A worker process: answer requests from the server process until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server process decides when we stop
    import torch

    torch.set_num_threads(1)
    core = Core(settings)
    conn.send({"rid": 0, "ok": True, "ready": True})
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            break
        if req is None:
            break
        res = core.handle(req)
        res["rid"] = req["rid"]
        try:
            conn.send(res)
        except (BrokenPipeError, OSError):
            break
