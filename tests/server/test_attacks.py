"""A classroom's worst students against a live server with shortened limits: a laptop that
stops reading (a short stall keeps its session, a long one ends it with 1008 and frees
its socket, memory and descriptor), two heavy players beside ten light sessions, and a
`next_example` that runs for minutes beside sessions stepping by hand.

The measured figures (default limits, longer windows) come from benchmarks/server.py;
the floors here are wide because CI's two cores are slow.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from errorwave.server.side import TRANSPORT_KEY
from tests.engine.builders import mlp
from tests.server.helpers import LiveServer, RawClient, make_settings, run_coroutine, wait_for

STUCK_S = 4.0  # the stuck limit here (30 s by default)
T_FIELD = re.compile(rb'"t":(\d+)')


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Two workers; a client that takes nothing for 4 s is stuck; a worker silent for 3 s
    is killed (so a request that ran unchunked would show)."""
    settings = make_settings(tmp_path_factory.mktemp("attacks"), stuck_timeout_s=STUCK_S,
                             hard_timeout_s=3.0, max_sessions=32, idle_timeout_s=600.0)
    server = LiveServer(settings)
    # accepted sockets inherit a fixed 64 kB send buffer (no autotuning to megabytes): a
    # client's stall blocks the server's sends within a few frames even on a slow machine
    server.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 10)
    server.start()
    yield server
    server.stop()


def chain(layers: int, steps: int = 2000) -> dict[str, Any]:
    """A tanh chain of width 8 on standard PC: 50 layers make frames of about 100 kB."""
    return mlp(layers, "B", width=8, rule={"name": "pc", "steps": steps})


def stall(live: LiveServer, n: int) -> tuple[list[RawClient], list[Any]]:
    """`n` clients that load the 50-layer chain and play fast without reading, and their
    sessions, once the server's sends to them block."""
    known = set(live.sessions)
    clients = [RawClient(live.port) for _ in range(n)]
    for c in clients:
        c.send({"type": "load", "config": chain(50)})
        c.send({"type": "play", "rate": 200})
    wait_for(lambda: sum(1 for sid, s in live.sessions.items() if sid not in known
                         and s.state is not None) >= n, what="the sessions")
    sessions = [s for sid, s in live.sessions.items() if sid not in known]
    wait_for(lambda: all(s.blocked_for() > 0.5 for s in sessions), what="the sends to block")
    return clients, sessions


def held_bytes(session: Any) -> int:
    """What the server process holds for a client: its outbox and the bytes its transport
    has not handed to the kernel yet."""
    transport = session.ws.scope.get(TRANSPORT_KEY)
    return session.mailbox.pending_bytes + (transport.get_write_buffer_size() if transport else 0)


def sockets() -> set[str]:
    """This process's open sockets (the server runs in a thread of it), by inode."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out


def own_socket(c: RawClient) -> str:
    return os.readlink(f"/proc/self/fd/{c.sock.fileno()}")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_short_stall_keeps_the_session_and_frames_coalesce(live: LiveServer) -> None:
    (c,), (session,) = stall(live, 1)
    try:
        sent = session.frames_sent
        time.sleep(STUCK_S / 2)  # a stall well under the stuck limit
        assert session.sid in live.sessions and session.closing is None
        assert session.frames_sent == sent  # nothing went out meanwhile
        assert len(session.mailbox) <= 4  # latest wins: one frame waits, not a queue
        assert held_bytes(session) <= 1 << 20
        # the client reads again: what was in flight, then frames again, newest first
        ts: list[int] = []
        resumed = time.monotonic()
        arrivals: list[float] = []
        while time.monotonic() - resumed < 2.0:
            op, payload = c.read(5.0)
            if op == 1 and payload.startswith(b'{"type":"frame"'):
                m = T_FIELD.search(payload, 0, 300)
                assert m is not None
                ts.append(int(m.group(1)))
                arrivals.append(time.monotonic())
        assert session.sid in live.sessions and session.closing is None
        assert all(b > a for a, b in zip(ts, ts[1:], strict=False)), "frames out of order"
        # the example started at t = 0: frames that waited were replaced by newer ones
        assert session.mailbox.dropped > 0 and len(ts) < ts[-1] + 1, \
            "no frame was skipped: frames queued instead of coalescing"
        late = [a for a in arrivals if a - resumed > 1.0]
        assert len(late) >= 10, f"only {len(late)} frames in the second after the resume"
    finally:
        c.close()
    wait_for(lambda: session.sid not in live.sessions, what="the session to end")


def test_a_long_stall_ends_with_1008_and_frees_the_socket_and_memory(live: LiveServer) -> None:
    gc.collect()
    wait_for(lambda: not live.sessions, what="an idle server")
    base_sockets, base_rss = sockets(), rss_mb()
    clients, sessions = stall(live, 4)
    own = {own_socket(c) for c in clients}
    try:
        held = [held_bytes(s) for s in sessions]
        assert max(held) <= 1 << 20, held  # a stalled client holds <= 1 MB here
        stalled_rss = rss_mb()
        # the first client reads again once the server gives up on it: it gets close 1008
        watcher, watched = clients[0], sessions[0]
        deadline = time.monotonic() + STUCK_S + 5
        while watched.closing is None:  # the server gives the close frame 1 s to go out
            assert time.monotonic() < deadline, "no stuck close"
            time.sleep(0.01)
        assert watched.closing[0] == 1008
        watcher.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        code = None
        while code is None:
            op, payload = watcher.read(5.0)
            if op == 8:
                code = int.from_bytes(payload[:2], "big")
        assert code == 1008, code
        # the others never read a byte again: their sessions end and the server drops their
        # connections anyway, while the clients still hold their ends open
        wait_for(lambda: not live.sessions, timeout=10, what="the sessions to end")
        wait_for(lambda: not (sockets() - base_sockets - own), timeout=10,
                 what="the server's sockets to be freed")
        gc.collect()
        freed_rss = rss_mb()
        print(f"\nstall: held per client {max(held) / 1024:.0f} kB; RSS {base_rss:.0f} -> "
              f"{stalled_rss:.0f} (4 stalled) -> {freed_rss:.0f} MB (freed)")
        # the leak this guards against kept ~11 MB per stalled client
        assert freed_rss - base_rss < 8.0, (base_rss, stalled_rss, freed_rss)
    finally:
        for c in clients:
            c.close()


async def _play(url: str, load: dict[str, Any], rate: float, seconds: float,
                warmup: float) -> float:
    """Frames per second a player reads (binary frames) after `warmup` seconds."""
    async with connect(url, max_size=None, compression=None, open_timeout=20) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "hello", "binary": True}))
        await ws.send(json.dumps({"type": "load", **load}))
        while not isinstance(await ws.recv(), bytes):  # the snapshot and the schema
            pass
        await ws.send(json.dumps({"type": "play", "rate": rate}))
        start = time.monotonic() + warmup
        end = start + seconds
        got = 0
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            if isinstance(msg, bytes) and time.monotonic() >= start:
                got += 1
        return got / seconds


def test_two_heavy_players_leave_ten_light_sessions_their_rate(live: LiveServer) -> None:
    async def run() -> list[float]:
        heavy = [_play(live.ws_url, {"config": chain(199)}, 200, 4.0, 1.0) for _ in range(2)]
        light = [_play(live.ws_url, {"preset": "pc-variance-1"}, 20, 4.0, 1.0)
                 for _ in range(10)]
        return list(await asyncio.gather(*heavy, *light))

    fps = run_coroutine(run())
    heavy, light = fps[:2], fps[2:]
    print(f"\nfairness: light min / median {min(light):.1f} / {statistics.median(light):.1f} "
          f"frames/s; heavy {heavy[0]:.1f}, {heavy[1]:.1f}")
    assert min(light) >= 10.0, light  # 20 asked; >= 18 on an idle machine (benchmark)
    assert min(heavy) > 0, heavy  # the heavy ones slow themselves down but are not stopped


async def _clicks(url: str, seconds: float, period: float) -> list[float]:
    """Click-to-frame times of a student stepping a preset by hand."""
    times: list[float] = []
    async with connect(url, max_size=None, compression=None, open_timeout=20) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "load", "preset": "pc-variance-1"}))
        while not (await ws.recv()).startswith('{"type":"frame"'):
            pass
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            clicked = time.monotonic()
            await ws.send(json.dumps({"type": "step"}))
            while not (await asyncio.wait_for(ws.recv(), 10)).startswith('{"type":"frame"'):
                pass
            times.append(time.monotonic() - clicked)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - clicked)))
    return times


def test_a_heavy_next_example_does_not_touch_other_sessions(live: LiveServer) -> None:
    pool = live.app.state.pool
    pids = [w.proc.pid for w in pool.workers]

    async def run() -> tuple[list[list[float]], list[dict[str, Any]]]:
        async with connect(live.ws_url, max_size=None, compression=None) as heavy:
            await heavy.recv()
            # 199 layers, 2000 steps: minutes of CPU in one request before chunking
            await heavy.send(json.dumps({"type": "load", "config": chain(199)}))
            while not (await heavy.recv()).startswith('{"type":"frame"'):
                pass
            await heavy.send(json.dumps({"type": "next_example"}))
            await asyncio.sleep(0.3)
            students = await asyncio.gather(*(_clicks(live.ws_url, 4.0, 0.1) for _ in range(4)))
            # still running after 4 s, beyond the 3 s watchdog, and still answering: a pause
            # stops it between chunks, and a step then comes back at once
            await heavy.send(json.dumps({"type": "pause"}))
            await heavy.send(json.dumps({"type": "step"}))
            seen: list[dict[str, Any]] = []
            while True:
                msg = json.loads(await asyncio.wait_for(heavy.recv(), 10))
                seen.append(msg)
                if msg["type"] in ("frame", "snapshot") or msg["type"] == "error":
                    break
            return students, seen

    students, seen = run_coroutine(run())
    times = [t for s in students for t in s]
    print(f"\nheavy next_example: {len(times)} clicks beside it, click-to-frame median "
          f"{1000 * statistics.median(times):.0f} ms, max {1000 * max(times):.0f} ms")
    assert all(len(s) >= 10 for s in students), [len(s) for s in students]
    assert max(times) < 1.0, max(times)  # a click waits for a chunk (30 ms), not the example
    assert statistics.median(times) < 0.2, statistics.median(times)
    assert [w.proc.pid for w in pool.workers] == pids  # no worker was killed by the watchdog
    assert seen[-1]["type"] in ("frame", "snapshot"), seen  # no "internal" error: not killed
