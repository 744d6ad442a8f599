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
from errorwave.server import pair, rpc, trainjob
from errorwave.server.frameview import FrameView
from errorwave.validation import ConfigInvalid, parse_config

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
    as they were sent (for seek back), within `history_bytes`. In compare mode the slot is
    side a and holds side b's slot (`b`): one clock, `t` the later of the two."""

    def __init__(self, engine: Engine, history_bytes: int, side: str = "a"):
        self.engine = engine
        self.side = side
        self.b: Slot | None = None
        self.versus: pair.Versus | None = None
        self.view = FrameView(engine)
        self.watched: tuple[str, ...] = ()
        self.history: OrderedDict[int, rpc.Payloads] = OrderedDict()
        self.sent_with: dict[int, tuple[str, ...]] = {}  # watched nodes when it was sent
        self.layouts: dict[int, binfmt.Layout] = {}  # binary layout when it was sent
        self.history_bytes = history_bytes
        self.kept = 0
        self.training: trainjob.TrainJob | None = None  # a training run (trainjob.py)

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

    # ----- the pair's clock (one side: the engine's own) -----------------------------------
    @property
    def sides(self) -> list[Slot]:
        return [self] if self.b is None else [self, self.b]

    @property
    def t(self) -> int:
        return max(s.engine.t for s in self.sides)

    @property
    def steps(self) -> int:
        return max(s.engine.steps for s in self.sides)

    @property
    def halted(self) -> dict[str, Any] | None:
        for s in self.sides:
            if s.engine.halted is not None:
                return s.engine.halted if self.b is None else {**s.engine.halted, "side": s.side}
        return None

    @property
    def done(self) -> bool:
        """A halt on either side stops the clock; else it runs until both sides are done."""
        return self.halted is not None or all(s.engine.done for s in self.sides)

    def advance(self) -> bool:
        """One tick: every side whose example goes on steps (False when none could)."""
        moved = False
        for s in self.sides:
            if not s.engine.done and s.engine.step() is not None:
                s.view.record()
                moved = True
        return moved

    def sync_revisions(self) -> None:
        rev = max(s.engine.revision for s in self.sides)
        for s in self.sides:
            s.engine.revision = rev

    def state(self) -> rpc.State:
        e = self.engine
        return rpc.State(revision=e.revision, example=e.examples_seen, t=self.t, steps=self.steps,
                         done=self.done, halted=self.halted)


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
            "watch": self.watch, "compare": self.compare,
        }
        self.handlers.update(trainjob.handlers(self))

    # ----- dispatch ------------------------------------------------------------------------
    def handle(self, req: rpc.Ping | rpc.Close | rpc.Open | rpc.Current | rpc.Step | rpc.FrameAt
               | rpc.SetField | rpc.Reset | rpc.NextExample | rpc.Watch | rpc.TrainStart
               | rpc.TrainChunk | rpc.TrainStop | rpc.Compare) -> rpc.Reply:
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
        if slot.b is None:
            frame = slot.view.lean(slot.watched)
            payloads = self._encode(slot, frame, encodings)
            slot.remember(frame["t"], payloads, slot.watched, slot.view.layout)
            out.append(("frame", payloads))
            return
        # compare mode: both sides at the clock's t; a side whose example ended holds its
        # last numbers (`held`, no events); side b carries its divergence from side a
        t, done = slot.t, slot.done
        for s in slot.sides:
            frame = {**s.view.lean(s.watched), "side": s.side, "t": t, "done": done}
            if s.engine.t < t:
                frame.update(held=True, events=[])
            if s is slot.b and slot.versus is not None:
                frame["vs_a"] = slot.versus(slot.engine, s.engine)
            payloads = self._encode(s, frame, encodings)
            s.remember(t, payloads, s.watched, s.view.layout)
            out.append(("frame" if s is slot else "frame:b", payloads))

    def _snapshots(self, slot: Slot) -> rpc.Out:
        """The snapshot (compare mode: one per side, tagged, with the clock's steps)."""
        if slot.b is None:
            return [("snapshot", {"json": dumps(slot.engine.snapshot())})]
        return [("snapshot" if s is slot else "snapshot:b",
                 {"json": dumps({**s.engine.snapshot(), "side": s.side, "steps": slot.steps})})
                for s in slot.sides]

    def _schema(self, slot: Slot) -> rpc.Payloads:
        e = slot.engine
        return {"json": dumps(binfmt.schema_message(slot.view.layout, e.revision, e.examples_seen))}

    def _example_out(self, slot: Slot, encodings: tuple[str, ...]) -> rpc.Out:
        """Snapshot, schema (binary mode) and frame t=0 of the current example."""
        for s in slot.sides:
            if len(s.engine.history) > MAX_TRAINING_ROWS:
                del s.engine.history[:-MAX_TRAINING_ROWS]
            s.forget()
            s.view.set_layout(s.watched)
        out = self._snapshots(slot)
        if "binary" in encodings:  # one schema: both sides have the same graph and watch
            out.append(("schema", self._schema(slot)))
        for s in slot.sides:
            s.view.record()
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
        slot = self._replace(req.sid, self._build(config, req.revision))
        return self._ok(slot, self._example_out(slot, req.encodings))

    def _build(self, config: Any, revision: int) -> Slot:
        """One engine, or (the configuration has `compare`) the pair, under limits that
        count both sides. Raises ConfigInvalid."""
        if not pair.has_compare(config):
            return Slot(Engine(config, limits=self.limits, revision=revision, detail="lean"),
                        self.history_bytes)
        limits = pair.shared_limits(self.limits)
        try:
            a = Engine(config, limits=limits, revision=revision, detail="lean")
        except ConfigInvalid as err:
            raise pair.as_pair(err) from None
        try:
            b = Engine(pair.side_b_config(config), limits=limits, revision=revision, detail="lean")
        except ConfigInvalid as err:
            raise pair.as_side_b(pair.as_pair(err)) from None
        slot = Slot(a, self.history_bytes // 2)
        slot.b = Slot(b, self.history_bytes // 2, side="b")
        slot.versus = pair.Versus(a)
        return slot

    def _replace(self, sid: str, slot: Slot) -> Slot:
        """The session's new slot; a new configuration keeps what the client watches, where
        it exists. Only called once the new one is valid."""
        old = self.slots.get(sid)
        if old is not None:
            for s in slot.sides:
                s.watch(old.watched)
        self.slots[sid] = slot
        return slot

    def current(self, slot: Slot, req: rpc.Current) -> rpc.Reply:
        out = self._snapshots(slot)
        if "binary" in req.encodings:
            out.append(("schema", self._schema(slot)))
        self._frame_out(slot, req.encodings, out)
        return self._ok(slot, out)

    def step(self, slot: Slot, req: rpc.Step) -> rpc.Reply:
        out: rpc.Out = []
        budget = self.chunk_budget if req.budget_s is None else req.budget_s
        started = time.thread_time()
        stepped, slow = 0, None
        while stepped < req.n and not slot.done:
            cpu = time.thread_time()  # both sides' steps count against the cap
            if not slot.advance():
                break
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
        if any(s.history.get(t) is None for s in slot.sides):
            if t > slot.t:
                return rpc.fail("bad_message", f"step {t} is not computed yet (now at {slot.t})")
            return rpc.fail("limit", f"step {t} is no longer kept on the server (history cap); "
                            "the client keeps its own history")
        return self._ok(slot, [("frame" if s is slot else "frame:b", self._kept(s, t, req.encodings))
                               for s in slot.sides])

    def _kept(self, slot: Slot, t: int, encodings: tuple[str, ...]) -> rpc.Payloads:
        """The frame of step t as it was sent, in these encodings with the watched updates."""
        kept = slot.history[t]
        if slot.sent_with.get(t) != slot.watched or any(enc not in kept for enc in encodings):
            # sent before a watch or in another encoding: re-encode what was sent, with the
            # watched nodes' updates from the kept update tensors
            sent = kept["json"] if "json" in kept else kept["binary"]
            frame = json.loads(sent) if isinstance(sent, str) else binfmt.decode(
                sent, binfmt.schema_message(slot.layouts[t], 0, 0))
            flat = slot.view.kept.get(slot.engine.t if frame.get("held") else t)
            frame["updates"] = {} if flat is None else slot.view.nested(flat, slot.watched)
            kept = self._encode(slot, frame, encodings)
            slot.remember(t, kept, slot.watched, slot.view.layout)
        return {enc: kept[enc] for enc in encodings}

    def set_field(self, slot: Slot, req: rpc.SetField) -> rpc.Reply:
        try:
            if slot.b is None and req.path.split(".")[0] != "compare":
                slot.engine.set(req.path, req.value)
            else:
                slot = self._set_pair(slot, req)
        except (TypeError, KeyError, IndexError):  # the path runs through a list or a scalar
            issue = {"path": req.path, "node": None, "field": req.path.rsplit(".", 1)[-1],
                     "message": f"no field '{req.path}' in the configuration"}
            return rpc.fail("invalid_config", str(issue["message"]), [issue])
        for s in slot.sides:
            s.view = FrameView(s.engine)  # a rebuild may change the graph
            s.watch(s.watched)
        return self._ok(slot, self._example_out(slot, req.encodings))

    def _set_pair(self, slot: Slot, req: rpc.SetField) -> Slot:
        """A setting in compare mode (or `compare` itself): validated for both sides before
        either changes. A side's rule setting keeps the learned parameters and restarts the
        example on both sides (one clock); anything else rebuilds from the configuration."""
        a = slot.engine
        raw = a.config.model_dump(mode="json", exclude_none=True)
        kind = pair.set_kind(req.path) if slot.b is not None else "rebuild"
        if kind == "rebuild":
            return self._replace(req.sid, self._build(pair.patched(raw, req.path, req.value),
                                                      a.revision + 1))
        assert slot.b is not None
        b = slot.b.engine
        if kind == "rule_a":
            a.set(req.path, req.value)  # raises before anything changed
            b.restart_example()
        else:
            try:
                config, _ = parse_config(pair.patched(raw, req.path, req.value),
                                         pair.shared_limits(self.limits))
            except ConfigInvalid as err:
                raise pair.as_pair(err) from None
            try:
                b.set("rule." + req.path.split(".")[-1], req.value)
            except ConfigInvalid as err:
                raise pair.as_side_b(err) from None
            a.config = config  # the engine ignores `compare`; its snapshot shows it
            a.restart_example()
        slot.sync_revisions()
        return slot

    def reset(self, slot: Slot, req: rpc.Reset) -> rpc.Reply:
        for s in slot.sides:
            s.engine.reset()
            s.view = FrameView(s.engine)
        slot.sync_revisions()
        return self._ok(slot, self._example_out(slot, req.encodings))

    def compare(self, slot: Slot, req: rpc.Compare) -> rpc.Reply:
        """Compare mode on (`rule`) or off (None), going on from here: both sides start from
        side a's learned weights at its current example, t = 0 (a new revision); the runner
        then steps both to the same t. No replay: it costs one example's start."""
        a = slot.engine
        raw = a.config.model_dump(mode="json", exclude_none=True)
        raw.pop("compare", None)
        if req.rule is not None:
            raw["compare"] = {"rule": req.rule}
        new = self._build(raw, a.revision + 1)
        for s in new.sides:
            s.engine.adopt(a, same_rule=s is new)
        slot = self._replace(req.sid, new)
        return self._ok(slot, self._example_out(slot, req.encodings))

    @staticmethod
    def _diverged(slot: Slot) -> rpc.Reply:
        h = slot.halted or {}
        what = "diverged" if h.get("kind", "diverged") == "diverged" else "became unstable"
        side = f" (side {h['side']})" if "side" in h else ""
        return rpc.fail("diverged", f"the example {what} at node {h.get('node')!r}{side} (step "
                        f"{h.get('t')}); reset, set or load to go on")

    def next_example(self, slot: Slot, req: rpc.NextExample) -> rpc.Reply:
        """Finish the example in chunks of at most `budget_s` CPU (no frames: the client asked
        to move on), then learn and start the next one."""
        budget = self.chunk_budget if req.budget_s is None else req.budget_s
        started = time.thread_time()
        while not slot.done:
            cpu = time.thread_time()
            slot.advance()
            spent = time.thread_time() - cpu
            if spent > self.step_cpu_limit:
                return self._ok(slot, [], slow=spent, finished=False)
            if not slot.done and time.thread_time() - started > budget:
                return self._ok(slot, [], finished=False)
        if slot.halted is not None or any(s.engine.next_example() is None for s in slot.sides):
            return self._diverged(slot)
        rows = [s.engine.history[-1] if s.engine.history else None for s in slot.sides]
        return self._ok(slot, self._example_out(slot, req.encodings), row=rows[0],
                        row_b=rows[1] if len(rows) > 1 else None)

    def watch(self, slot: Slot, req: rpc.Watch) -> rpc.Reply:
        """Watch these nodes: their full updates for every kept step of this example (one
        `updates` message), then (binary) the new schema and the latest frame with them."""
        out: rpc.Out = []
        for s in slot.sides:
            s.watch(req.nodes)
            e = s.engine
            tag = {} if slot.b is None else {"side": s.side}
            out.append(("updates" if s is slot else "updates:b", {"json": dumps({
                "type": "updates", "revision": e.revision, "example": e.examples_seen, **tag,
                "nodes": list(s.watched), "steps": s.view.past_updates(s.watched)})}))
            s.view.set_layout(s.watched)
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
    if settings.get("preload_training", True):
        # before saying ready, not in a thread after: imported beside live sessions, these
        # seconds of CPU held the worker while a class joined (followers 0.5 s late)
        trainjob.preload()
    import gc

    # torch, pydantic, scikit-learn and the warm-up leave ~400k long-lived objects: out of
    # every collection from now on (a full collection over them took 0.1-0.8 s and stalled
    # all this worker's sessions; 200 students stepping by hand saw it as their p99)
    gc.freeze()
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
