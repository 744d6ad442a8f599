"""The compute side: engines of many sessions, stepped on request, frames encoded here.

`Core.handle(request)` takes one `rpc` request and never raises: it answers an `rpc.Reply`
(ok with messages ready to send, or a failure with code and message). A `Core` lives in a
worker process (`worker_main`), or in one thread when the server runs with `workers=0`.
Frames on the websocket are lean (docs/server.md): per vertex its value, prediction and
error, per parameter node the norm of its update and the divergence; full update matrices
only for the nodes the client watches. Each frame is encoded once per encoding asked for
(orjson for JSON, float32 columns for binary) and kept as sent for seeking back.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from errorwave import presets
from errorwave.config import Limits
from errorwave.engine import Engine
from errorwave.server import binary as binfmt
from errorwave.server import rpc
from errorwave.server.frameview import FrameView
from errorwave.validation import ConfigInvalid

log = logging.getLogger("errorwave.compute")
MAX_TRAINING_ROWS = 1000


def dumps(message: Any) -> str:
    """Compact JSON text; orjson writes non-finite numbers as null."""
    return orjson.dumps(message).decode()


def classify(err: ConfigInvalid) -> str:
    """The error code for a failed validation (from the issues' codes)."""
    codes = err.codes
    if "limit" in codes:
        return "too_large"
    if "unsupported_graph" in codes:
        return "unsupported_graph"
    return "invalid_config"


class Slot:
    """One session's engine, what its clients watch, and the frames of its current example
    as they were sent (for seek back), within `history_bytes`."""

    def __init__(self, engine: Engine, history_bytes: int):
        self.engine = engine
        self.view = FrameView(engine)
        self.watched: tuple[str, ...] = ()
        self.history: OrderedDict[int, rpc.Payloads] = OrderedDict()
        self.sent_with: dict[int, tuple[str, ...]] = {}  # watched nodes when it was sent
        self.layouts: dict[int, binfmt.Layout] = {}  # binary layout when it was sent
        self.history_bytes = history_bytes
        self.kept = 0

    def remember(self, t: int, payloads: rpc.Payloads, watched: tuple[str, ...],
                 layout: binfmt.Layout) -> None:
        old = self.history.pop(t, None)
        if old is not None:
            self.kept -= sum(len(v) for v in old.values())
        self.history[t] = payloads
        self.sent_with[t] = watched
        self.layouts[t] = layout
        self.kept += sum(len(v) for v in payloads.values())
        while self.kept > self.history_bytes and len(self.history) > 1:
            t_old, dropped = self.history.popitem(last=False)
            self.sent_with.pop(t_old, None)
            self.layouts.pop(t_old, None)
            self.kept -= sum(len(v) for v in dropped.values())

    def watch(self, nodes: tuple[str, ...]) -> None:
        """The parameter nodes whose full updates go into frames (unknown ones ignored)."""
        known = self.engine.graph.param_nodes
        self.watched = tuple(dict.fromkeys(n for n in nodes if n in known))
        self.engine.watch = set(self.watched)

    def forget(self) -> None:
        self.history.clear()
        self.sent_with.clear()
        self.layouts.clear()
        self.kept = 0
        self.view.new_example()

    def state(self) -> rpc.State:
        e = self.engine
        return rpc.State(revision=e.revision, example=e.examples_seen, t=e.t, steps=e.steps,
                         done=e.done, halted=e.halted)


class Core:
    def __init__(self, settings: dict[str, Any]):
        self.limits = Limits(**{k: settings[k] for k in Limits.model_fields})
        self.step_cpu_limit = float(settings["step_cpu_limit_s"])
        self.chunk_budget = float(settings["chunk_budget_s"])
        self.history_bytes = int(settings["history_bytes"])
        self.slots: dict[str, Slot] = {}
        # the one handler table: op -> method(slot, request)
        self.handlers: dict[str, Callable[[Slot, Any], rpc.Reply]] = {
            "current": self.current, "step": self.step, "frame_at": self.frame_at,
            "set": self.set_field, "reset": self.reset, "next_example": self.next_example,
            "watch": self.watch,
        }

    # ----- dispatch ------------------------------------------------------------------------
    def handle(self, req: rpc.Ping | rpc.Close | rpc.Open | rpc.Current | rpc.Step | rpc.FrameAt
               | rpc.SetField | rpc.Reset | rpc.NextExample | rpc.Watch) -> rpc.Reply:
        cpu = time.thread_time()
        try:
            res = self._handle(req)
        except ConfigInvalid as err:
            res = rpc.fail(classify(err), _summary(err), [i.as_dict() for i in err.issues])
        except Exception as err:  # a bug, not the client's fault: keep serving
            log.exception("compute op %s failed", req.op)
            res = rpc.fail("internal", f"internal error in '{req.op}': {type(err).__name__}")
        res.cpu_s = time.thread_time() - cpu
        return res

    def _handle(self, req: Any) -> rpc.Reply:
        if isinstance(req, rpc.Ping):
            return rpc.Reply()
        if isinstance(req, rpc.Close):
            self.slots.pop(req.sid, None)
            return rpc.Reply()
        if isinstance(req, rpc.Open):
            return self.open(req)
        slot = self.slots.get(req.sid)
        if slot is None:
            return rpc.fail("not_loaded", "load a configuration or a preset first")
        return self.handlers[req.op](slot, req)

    # ----- encoding -----------------------------------------------------------------------
    def _encode(self, slot: Slot, frame: dict[str, Any], encodings: tuple[str, ...]) -> rpc.Payloads:
        out: rpc.Payloads = {}
        for enc in encodings:
            out[enc] = binfmt.encode(frame, slot.view.layout) if enc == "binary" else dumps(frame)
        return out

    def _frame_out(self, slot: Slot, encodings: tuple[str, ...], out: rpc.Out) -> None:
        frame = slot.view.lean(slot.watched)
        payloads = self._encode(slot, frame, encodings)
        slot.remember(frame["t"], payloads, slot.watched, slot.view.layout)
        out.append(("frame", payloads))

    def _schema(self, slot: Slot) -> rpc.Payloads:
        e = slot.engine
        return {"json": dumps(binfmt.schema_message(slot.view.layout, e.revision, e.examples_seen))}

    def _example_out(self, slot: Slot, encodings: tuple[str, ...]) -> rpc.Out:
        """Snapshot, schema (binary mode) and frame t=0 of the current example."""
        e = slot.engine
        if len(e.history) > MAX_TRAINING_ROWS:
            del e.history[:-MAX_TRAINING_ROWS]
        slot.forget()
        slot.view.set_layout(slot.watched)
        out: rpc.Out = [("snapshot", {"json": dumps(e.snapshot())})]
        if "binary" in encodings:
            out.append(("schema", self._schema(slot)))
        slot.view.record()
        self._frame_out(slot, encodings, out)
        return out

    def _ok(self, slot: Slot, out: rpc.Out, **extra: Any) -> rpc.Reply:
        return rpc.Reply(out=out, state=slot.state(), **extra)

    # ----- operations -----------------------------------------------------------------------
    def open(self, req: rpc.Open) -> rpc.Reply:
        config: Any = req.config
        if req.preset is not None:
            config = presets.get_preset(req.preset)
            if config is None:
                return rpc.fail("unknown_preset", f"no preset {req.preset[:64]!r}; see GET /api/presets")
        engine = Engine(config, limits=self.limits, revision=req.revision, detail="lean")
        slot = Slot(engine, self.history_bytes)
        old = self.slots.get(req.sid)
        if old is not None:  # a new configuration keeps what the client watches, where it exists
            slot.watch(old.watched)
        self.slots[req.sid] = slot  # replaces the previous engine only once the new one is valid
        return self._ok(slot, self._example_out(slot, req.encodings))

    def current(self, slot: Slot, req: rpc.Current) -> rpc.Reply:
        e = slot.engine
        out: rpc.Out = [("snapshot", {"json": dumps(e.snapshot())})]
        if "binary" in req.encodings:
            out.append(("schema", self._schema(slot)))
        self._frame_out(slot, req.encodings, out)
        return self._ok(slot, out)

    def step(self, slot: Slot, req: rpc.Step) -> rpc.Reply:
        e = slot.engine
        out: rpc.Out = []
        budget = self.chunk_budget if req.budget_s is None else req.budget_s
        started = time.thread_time()
        stepped, slow = 0, None
        while stepped < req.n and not e.done:
            cpu = time.thread_time()
            if e.step() is None:
                break
            slot.view.record()
            stepped += 1
            self._frame_out(slot, req.encodings, out)
            spent = time.thread_time() - cpu  # the encoding counts too
            if spent > self.step_cpu_limit:
                slow = spent
                break
            if time.thread_time() - started > budget:
                break
        return self._ok(slot, out, stepped=stepped, slow=slow)

    def frame_at(self, slot: Slot, req: rpc.FrameAt) -> rpc.Reply:
        t = req.t
        kept = slot.history.get(t)
        if kept is None:
            if t > slot.engine.t:
                return rpc.fail("bad_message", f"step {t} is not computed yet (now at {slot.engine.t})")
            return rpc.fail("limit", f"step {t} is no longer kept on the server (history cap); "
                            "the client keeps its own history")
        if slot.sent_with.get(t) != slot.watched or any(enc not in kept for enc in req.encodings):
            # sent before a watch or in another encoding: re-encode what was sent, with the
            # watched nodes' updates from the kept update tensors
            sent = kept["json"] if "json" in kept else kept["binary"]
            frame = json.loads(sent) if isinstance(sent, str) else binfmt.decode(
                sent, binfmt.schema_message(slot.layouts[t], 0, 0))
            flat = slot.view.kept.get(t)
            frame["updates"] = {} if flat is None else slot.view.nested(flat, slot.watched)
            kept = self._encode(slot, frame, req.encodings)
            slot.remember(t, kept, slot.watched, slot.view.layout)
        return self._ok(slot, [("frame", {enc: kept[enc] for enc in req.encodings})])

    def set_field(self, slot: Slot, req: rpc.SetField) -> rpc.Reply:
        try:
            slot.engine.set(req.path, req.value)
        except (TypeError, KeyError, IndexError):  # the path runs through a list or a scalar
            issue = {"path": req.path, "node": None, "field": req.path.rsplit(".", 1)[-1],
                     "message": f"no field '{req.path}' in the configuration"}
            return rpc.fail("invalid_config", str(issue["message"]), [issue])
        slot.view = FrameView(slot.engine)  # a rebuild may change the graph
        slot.watch(slot.watched)
        return self._ok(slot, self._example_out(slot, req.encodings))

    def reset(self, slot: Slot, req: rpc.Reset) -> rpc.Reply:
        slot.engine.reset()
        slot.view = FrameView(slot.engine)
        return self._ok(slot, self._example_out(slot, req.encodings))

    def next_example(self, slot: Slot, req: rpc.NextExample) -> rpc.Reply:
        """Finish the example in chunks of at most `budget_s` CPU (no frames: the client asked
        to move on), then learn and start the next one."""
        e = slot.engine
        budget = self.chunk_budget if req.budget_s is None else req.budget_s
        started = time.thread_time()
        while not e.done:
            cpu = time.thread_time()
            e.step()
            spent = time.thread_time() - cpu
            if spent > self.step_cpu_limit:
                return self._ok(slot, [], slow=spent, finished=False)
            if not e.done and time.thread_time() - started > budget:
                return self._ok(slot, [], finished=False)
        if e.next_example() is None:
            h = e.halted or {}
            what = "diverged" if h.get("kind", "diverged") == "diverged" else "became unstable"
            return rpc.fail("diverged", f"the example {what} at node {h.get('node')!r} (step "
                            f"{h.get('t')}); reset, set or load to go on")
        row = e.history[-1] if e.history else None
        return self._ok(slot, self._example_out(slot, req.encodings), row=row)

    def watch(self, slot: Slot, req: rpc.Watch) -> rpc.Reply:
        """Watch these nodes: their full updates for every kept step of this example (one
        `updates` message), then (binary) the new schema and the latest frame with them."""
        slot.watch(req.nodes)
        e = slot.engine
        out: rpc.Out = [("updates", {"json": dumps({
            "type": "updates", "revision": e.revision, "example": e.examples_seen,
            "nodes": list(slot.watched), "steps": slot.view.past_updates(slot.watched)})})]
        slot.view.set_layout(slot.watched)
        if "binary" in req.encodings:
            out.append(("schema", self._schema(slot)))
        return self._ok(slot, out)


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
    # warm up (imports, first-call costs) before saying ready: the first load is then fast
    core.handle(rpc.Open(sid="warm-up", preset="zil-mlp", encodings=("json", "binary")))
    core.handle(rpc.Step(sid="warm-up", n=2, encodings=("json", "binary")))
    core.handle(rpc.Close(sid="warm-up"))
    conn.send((0, rpc.Reply()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        rid, req = msg
        res = core.handle(req)
        try:
            conn.send((rid, res))
        except (BrokenPipeError, OSError):
            break
