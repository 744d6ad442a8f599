"""Property-based fuzzing of a live server: every REST operation of its own OpenAPI schema
(schemathesis, valid and invalid cases), arbitrary paths, and every client websocket
message of `shared/schema/protocol.schema.json` (hypothesis-jsonschema), valid and
mutated, while a bystander session plays.

Allowed answers: anything below 500, and 503 (busy) or 507 (store full); never 500.
No session may die: the fuzzed one still answers `hello` at the end and the bystander
still plays. The server is ready (workers and checker up) before the first case. The
example counts keep both fuzzers well under a minute on 2 cores; `FUZZ_SCALE` (env)
multiplies them for a longer run by hand.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.server.helpers import LiveServer, make_settings

ROOT = Path(__file__).resolve().parents[2]
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
# wall-clock budgets (s): on a loaded machine a fuzzer stops sending when its budget is
# spent (the cases it tried are reported), so the three stay under a minute together
BUDGET = {"rest": 25.0 * SCALE, "paths": 8.0 * SCALE, "ws": 20.0 * SCALE}
ALLOWED_5XX = {503, 507}
BASE = settings(deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))
PRESET = "fpa-chain-gamma1"


def fuzz(n: int) -> settings:
    """Hypothesis settings for `n` examples (times FUZZ_SCALE), fixed seed, no shrinking."""
    return settings(BASE, max_examples=max(1, int(n * SCALE)))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(make_settings(
        tmp_path_factory.mktemp("fuzz"), workers=1, messages_per_second=2000.0,
        message_burst=2000, validations_per_minute=100_000, links_per_minute=100_000)).start()
    with httpx.Client(base_url=live.url, timeout=10) as c:  # ready: workers and checker
        deadline = time.monotonic() + 60
        while c.get("/healthz").status_code != 200:  # 503 while starting
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.1)
    yield live
    live.stop()


class Watcher:
    """A websocket read by a thread (so that it never stalls), counting what arrives."""

    def __init__(self, live: LiveServer):
        self.ws = connect(live.ws_url, open_timeout=10, legacy=True, max_size=None)
        self.codes: Counter[str] = Counter()
        self.frames = 0
        self.welcomes = 0
        self.closed: ConnectionClosed | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while True:
                raw = self.ws.recv()
                if isinstance(raw, bytes):
                    self.frames += 1
                    continue
                msg = json.loads(raw)
                if msg["type"] == "welcome":
                    self.welcomes += 1
                elif msg["type"] == "frame":
                    self.frames += 1
                elif msg["type"] == "error":
                    self.codes[msg["code"]] += 1
        except ConnectionClosed as err:
            self.closed = err

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def alive(self, timeout: float = 10.0) -> bool:
        """Answers `hello` with `welcome` (other messages, a training run's say, may follow
        the welcome before this looks: it counts welcomes, not the last message)."""
        before = self.welcomes
        self.send({"type": "hello"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.closed is None:
            if self.welcomes > before:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self.ws.close()
        self.thread.join(5)


@pytest.fixture
def bystander(target: LiveServer) -> Iterator[Watcher]:
    w = Watcher(target)
    w.send({"type": "load", "preset": PRESET})
    w.send({"type": "play", "rate": 10})
    yield w
    w.close()


def check_bystander(w: Watcher, before: int) -> None:
    deadline = time.monotonic() + 5
    while w.frames <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w.closed is None, f"the bystander session died: {w.closed}"
    assert w.frames > before, "the bystander session stopped playing"
    assert w.codes["internal"] == 0


# ----- REST ----------------------------------------------------------------------------------
def test_fuzz_every_rest_operation(target: LiveServer, bystander: Watcher) -> None:
    raw = httpx.get(f"{target.url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    session = requests.Session()
    start, frames = time.monotonic(), bystander.frames
    share = BUDGET["rest"] / (2 * len(operations))

    def fuzz_operation(op: Any, mode: GenerationMode, stop: float) -> None:
        @fuzz(18)
        @given(case=op.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            if time.monotonic() > stop:  # this operation's share of the budget is spent
                return
            response = case.call(base_url=target.url, session=session, timeout=10)
            statuses[response.status_code] += 1
            if response.status_code >= 500 and response.status_code not in ALLOWED_5XX:
                failures.append(f"{case.method} {case.formatted_path} "
                                f"-> {response.status_code}: {response.text[:200]}")

        try:
            run()
        except Unsatisfiable:  # no invalid variant (an operation without parameters)
            assert mode is GenerationMode.NEGATIVE

    for i, op in enumerate(operations):
        for j, mode in enumerate((GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
            fuzz_operation(op, mode, start + share * (2 * i + j + 1))
    took = time.monotonic() - start
    cases = sum(statuses.values())
    print(f"\nREST fuzz: {cases} cases over {len(operations)} operations in {took:.1f} s; "
          f"statuses {dict(sorted(statuses.items()))}")
    assert not failures, failures[:5]
    assert cases >= len(operations) * 2
    assert statuses[500] == 0
    check_bystander(bystander, frames)


PATH_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)


def test_fuzz_arbitrary_paths(target: LiveServer) -> None:
    """Paths, methods, bodies and media types that no schema describes."""
    seen: Counter[int] = Counter()
    stop = time.monotonic() + BUDGET["paths"]
    with httpx.Client(base_url=target.url, timeout=10) as c:

        @fuzz(150)
        @given(prefix=st.sampled_from(["/", "/api/", "/s/", "/api/links/", "/api/presets/"]),
               path=PATH_TEXT, method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]),
               body=st.binary(max_size=200), content_type=st.sampled_from(
                   ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]))
        def run(prefix: str, path: str, method: str, body: bytes, content_type: str) -> None:
            if time.monotonic() > stop:
                return
            url = prefix + quote(path.lstrip("/"), safe="/%:@!$&'()*+,;=")
            r = c.request(method, url, content=body if method != "GET" else None,
                          headers={"content-type": content_type} if content_type else {})
            seen[r.status_code] += 1
            assert r.status_code < 500 or r.status_code in ALLOWED_5XX, (method, url, r.text[:200])

        run()
    print(f"\npath fuzz: {sum(seen.values())} requests; statuses {dict(sorted(seen.items()))}")


# ----- websocket -----------------------------------------------------------------------------
def client_strategies(mode: GenerationMode) -> dict[str, st.SearchStrategy[Any]]:
    """Per client message type, bodies generated by schemathesis from the exported schema
    (wrapped as the request body of one OpenAPI operation per type): valid ones, or, in
    NEGATIVE mode, ones that break the schema."""
    text = (ROOT / "shared" / "schema" / "protocol.schema.json").read_text()
    schema = json.loads(text.replace("#/$defs/", "#/components/schemas/"))
    mapping = schema["properties"]["client"]["discriminator"]["mapping"]
    paths = {f"/{kind}": {"post": {
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": ref}}}},
        "responses": {"200": {"description": "ok"}}}} for kind, ref in mapping.items()}
    api = schemathesis.openapi.from_dict({
        "openapi": "3.1.0", "info": {"title": "client messages", "version": "1"},
        "paths": paths, "components": {"schemas": schema["$defs"]}})
    out = {}
    for result in api.get_all_operations():
        op = result.ok()
        out[op.path[1:]] = op.as_strategy(generation_mode=mode).map(lambda case: case.body)
    return out


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4), max_leaves=12)


def mutated(valid: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """A valid message with one field replaced, dropped or added."""
    def mutate(args: tuple[dict[str, Any], Any, str]) -> dict[str, Any]:
        msg, value, extra = args
        msg = dict(msg)
        keys = [k for k in msg if k != "type"]
        if keys and isinstance(value, bool):
            del msg[keys[0]]
        elif keys:
            msg[keys[len(extra) % len(keys)]] = value
        else:
            msg[extra or "x"] = value
        return msg
    return st.tuples(valid, JSON_VALUES, st.text(max_size=6)).map(mutate)


SCRIPTED = st.sampled_from([
    {"type": "load", "preset": PRESET}, {"type": "step", "n": 3}, {"type": "play", "rate": 50},
    {"type": "pause"}, {"type": "run_example"}, {"type": "seek", "t": 2}, {"type": "reset"},
    {"type": "next_example"}, {"type": "hello", "binary": True}, {"type": "hello"}])


def test_fuzz_every_websocket_message(target: LiveServer, bystander: Watcher) -> None:
    kinds = client_strategies(GenerationMode.POSITIVE)
    assert {"hello", "load", "step", "play", "seek", "set"} <= set(kinds)
    valid = st.one_of(*kinds.values())
    invalid = st.one_of(*client_strategies(GenerationMode.NEGATIVE).values())
    message = st.one_of(
        valid, invalid, mutated(valid), SCRIPTED, JSON_VALUES,
        SCRIPTED, SCRIPTED, st.text(max_size=40), st.binary(max_size=40),
        st.builds(lambda k, v: {"type": k, **v}, st.text(max_size=12),
                  st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3)))
    fuzzed = Watcher(target)
    fuzzed.send({"type": "load", "preset": PRESET})  # most messages need a loaded session
    sent: Counter[str] = Counter()
    start, frames = time.monotonic(), bystander.frames
    try:
        @fuzz(200)
        @given(batch=st.lists(message, min_size=1, max_size=6))
        def run(batch: list[Any]) -> None:
            if time.monotonic() > start + BUDGET["ws"]:
                return
            for msg in batch:
                kind = msg.get("type") if isinstance(msg, dict) else type(msg).__name__
                sent[str(kind)[:12] if str(kind) in kinds else "other"] += 1
                fuzzed.send(msg if isinstance(msg, str | bytes) else json.dumps(msg))
            assert fuzzed.closed is None, f"the fuzzed session was closed: {fuzzed.closed}"

        run()
        fuzzed.send({"type": "pause"})
        assert fuzzed.alive(), "the fuzzed session stopped answering"
        took = time.monotonic() - start
        total = sum(sent.values())
        print(f"\nwebsocket fuzz: {total} messages in {took:.1f} s; by type {dict(sent)}; "
              f"errors {dict(fuzzed.codes)}; frames {fuzzed.frames}")
        assert fuzzed.codes["internal"] == 0
        assert set(kinds) <= set(sent), "every message type was tried"
        check_bystander(bystander, frames)
        assert len(target.sessions) == 2
    finally:
        fuzzed.close()
