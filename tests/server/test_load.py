"""Many sessions, a client that stops reading, disconnects, idle sessions, caps."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as aconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.engine.builders import mlp
from tests.server.helpers import LiveServer, RawClient, make_settings, run_coroutine, wait_for


@pytest.fixture(scope="module")
def hygiene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with short timeouts: one worker, sends stuck for 3 s end a session, 2 s idle."""
    settings = make_settings(tmp_path_factory.mktemp("hygiene"), workers=1, stuck_timeout_s=3.0,
                             idle_timeout_s=2.0, reap_interval_s=0.2, max_sessions=4)
    live = LiveServer(settings).start()
    yield live
    live.stop()


def heavy_config() -> dict[str, Any]:
    """A 50-vertex chain: frames of about 100 KB."""
    return mlp(49, "B", width=8, rule={"name": "pc", "steps": 2000})


def test_a_client_that_stops_reading_costs_nothing_and_delays_no_one(hygiene: LiveServer) -> None:
    good = hygiene.client()
    good.send({"type": "load", "preset": "pc-variance-1"})
    good.send({"type": "play", "rate": 20})
    arrivals: list[float] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                if good.recv(0.2)["type"] == "frame":
                    arrivals.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    connections = hygiene.server.server_state.connections  # uvicorn's live protocols
    before = len(connections)
    tracemalloc.start()
    try:
        slow = RawClient(hygiene.port)
        slow.send({"type": "load", "config": heavy_config()})
        slow.send({"type": "play", "rate": 200})
        wait_for(lambda: any(s.state and s.state["steps"] == 2000
                             for s in hygiene.sessions.values()), what="the heavy session")
        stalled = next(s for s in hygiene.sessions.values() if s.state and s.state["steps"] == 2000)
        wait_for(lambda: stalled.blocked_for() > 0.5, what="the slow client to stall")
        base = tracemalloc.get_traced_memory()[0]
        sent = stalled.frames_sent
        start = time.monotonic()
        time.sleep(2.0)
        grown = tracemalloc.get_traced_memory()[0] - base
        window = [a for a in arrivals if a >= start]
        gaps = [b - a for a, b in zip(window, window[1:], strict=False)]
        assert len(window) >= 30, len(window)  # 20 frames/s for 2 s, some slack
        assert max(gaps) < 0.5, max(gaps)
        assert grown < 2_000_000, grown
        assert stalled.frames_sent == sent  # nothing went out to it meanwhile
        assert len(stalled.mailbox) <= 4
        # after stuck_timeout_s without progress the server ends that session, and frees the
        # socket although the client never reads (the transport is aborted): its connection
        # is gone within 10 s while the client still holds its end open
        wait_for(lambda: stalled.sid not in hygiene.sessions, timeout=10, what="the session to end")
        wait_for(lambda: len(connections) <= before, timeout=10, what="the stalled socket freed")
        slow.close()
    finally:
        tracemalloc.stop()
        stop.set()
        reader.join()
        good.close()
    wait_for(lambda: not hygiene.sessions, what="sessions freed")


def test_disconnect_frees_the_session_and_its_engine(hygiene: LiveServer) -> None:
    pool = hygiene.app.state.pool
    c = hygiene.client()
    c.send({"type": "load", "preset": "pc-variance-1"})
    c.send({"type": "play", "rate": 50})
    c.until(lambda m: m["type"] == "frame" and m["t"] >= 3)
    (sid,) = list(hygiene.sessions)
    assert sid in pool.where
    c.ws.close()
    wait_for(lambda: not hygiene.sessions and sid not in pool.where, what="session freed")


def test_sessions_do_not_leak(hygiene: LiveServer) -> None:
    def one_session() -> None:
        with hygiene.client() as c:
            c.send({"type": "load", "preset": "dag-skip-fpa"})
            c.send({"type": "play", "rate": 100})
            c.until(lambda m: m["type"] == "snapshot" and m["example"]["seen"] >= 1)
            c.send({"type": "set", "path": "rule.gamma", "value": 0.5})
            c.until(lambda m: m["type"] == "frame" and m["revision"] == 1)
        wait_for(lambda: not hygiene.sessions, what="session freed")

    for _ in range(3):  # warm up caches, pools, first-time imports
        one_session()
    tracemalloc.start()
    try:
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(15):
            one_session()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 15 * 10_000, grown  # well under one snapshot per session


def test_idle_sessions_are_reaped(hygiene: LiveServer) -> None:
    c = hygiene.client()
    c.send({"type": "load", "preset": "pc-variance-1"})
    c.until(lambda m: m["type"] == "frame")
    with pytest.raises(ConnectionClosed) as info:
        c.quiet(6.0)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    wait_for(lambda: not hygiene.sessions, what="session reaped")


def test_session_cap(hygiene: LiveServer) -> None:
    clients = [hygiene.client() for _ in range(hygiene.settings.max_sessions)]
    try:
        with connect(hygiene.ws_url) as ws:
            msg = json.loads(ws.recv(timeout=5))
            assert msg["type"] == "error" and msg["code"] == "limit"
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1013
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: not hygiene.sessions, what="sessions freed")


def test_a_step_over_the_cpu_cap_pauses_only_that_session(tmp_path: Path) -> None:
    live = LiveServer(make_settings(tmp_path, workers=0, step_cpu_limit_s=0.004)).start()
    try:
        with live.client() as c:
            c.send({"type": "load", "config": heavy_config()})
            c.until(lambda m: m["type"] == "frame")
            c.send({"type": "play", "rate": 50})
            msgs = c.until(lambda m: m["type"] == "event" and m["kind"] == "paused")
            assert msgs[-1]["reason"] == "limit"
            assert any(m["type"] == "error" and m["code"] == "limit" for m in msgs)
            c.send({"type": "step"})
            assert c.error()["code"] == "limit"
            c.send({"type": "load", "preset": "fazil-mlp"})  # a small graph steps again
            c.until(lambda m: m["type"] == "frame")
            c.send({"type": "step"})
            assert c.until(lambda m: m["type"] == "frame")[-1]["t"] == 1
    finally:
        live.stop()


def test_a_killed_worker_is_replaced(hygiene: LiveServer) -> None:
    pool = hygiene.app.state.pool
    with hygiene.client() as c:
        c.send({"type": "load", "preset": "pc-variance-1"})
        c.until(lambda m: m["type"] == "frame")
        pool.workers[0].proc.kill()
        time.sleep(0.3)
        c.send({"type": "step"})
        err = c.error()
        assert err["code"] in ("internal", "not_loaded")
    wait_for(lambda: pool.workers[0].proc.poll() is None and pool.workers[0].ready,
             timeout=30, what="a new worker")
    # A new connection: the old one may have been reaped as idle (2 s here) meanwhile.
    with hygiene.client() as c:
        c.send({"type": "load", "preset": "pc-variance-1"})
        c.until(lambda m: m["type"] == "frame")
        c.send({"type": "step"})
        assert c.until(lambda m: m["type"] == "frame")[-1]["t"] == 1


def test_fifty_sessions_all_get_their_frames(server: LiveServer) -> None:
    n, seconds, rate = 50, 3.0, 20

    async def one(i: int) -> int:
        async with aconnect(server.ws_url, open_timeout=20) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "load", "preset": "pc-variance-1"}))
            await ws.send(json.dumps({"type": "play", "rate": rate}))
            got, end = 0, time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), left))
                except TimeoutError:
                    break
                got += msg["type"] == "frame"
            await ws.send(json.dumps({"type": "pause"}))
            return got

    async def run_all() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(n)))

    counts = run_coroutine(run_all())
    # Every session streams. (The rate itself is benchmarks/server.py's business: here the
    # server shares this process, and CI's two cores, with the fifty clients.)
    assert len(counts) == n and min(counts) >= 5, sorted(counts)
    wait_for(lambda: not server.sessions, what="all sessions freed")
