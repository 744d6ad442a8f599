"""Classroom capacity: a real `errorwave serve` in a subprocess, real websocket clients here.

    .venv/bin/python benchmarks/classroom.py [--followers 200] [--stuck 10] [--students 200]
                                             [--seconds 10] [--rate 20]

1. **One class.** A teacher plays the 50-vertex graph (benchmarks/server.py's graph50) at
   `--rate` frames/s; `--followers` followers read every frame while `--stuck` more follow
   and never read a byte (bare sockets with a tiny receive buffer). Per follower: frames
   per second received; over all: lateness of each frame against the teacher's clock (frame
   t is due at t / rate after the follower's least late frame), p50/p99; the server's
   resident memory at the start and end of the window. Goals: >= 19 frames/s each, p99
   < 100 ms, flat memory.
2. **Hands on.** `--students` sessions of their own on the presets (round robin), each
   stepping by hand: one `step` every 2 s at a random phase; click-to-frame time (the step
   sent, its frame received), p50/p99. Goal: p99 < 200 ms.
Run it on an otherwise idle machine; `taskset -c 0,1` pins server and clients to 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import free_port, graph50, pct, start_server  # noqa: E402

T_FIELD = re.compile(rb'"t":(\d+)')
FRAME = b'{"type":"frame"'



def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stuck_follower(port: int, code: str) -> socket.socket:
    """Follows and never reads: the slowest possible student."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws?class={code} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock


async def follower(url: str, code: str, ready: asyncio.Event, start: asyncio.Event,
                   seconds: float) -> list[tuple[float, int]]:
    """(arrival, t) of every frame received during the window."""
    out: list[tuple[float, int]] = []
    async with connect(f"{url}?class={code}", max_size=None, compression=None,
                       open_timeout=60) as ws:
        while True:  # welcome, following, snapshot, frame
            if (await ws.recv(decode=False)).startswith(FRAME):
                break
        ready.set()
        while not start.is_set():  # read through the warm-up too, counting nothing
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.recv(decode=False), 0.05)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                # bytes, not decoded: the clients share the 2 cores with the server
                msg = await asyncio.wait_for(ws.recv(decode=False), left)
            except TimeoutError:
                break
            if msg.startswith(FRAME):
                m = T_FIELD.search(msg, 0, 200)
                if m:
                    out.append((time.monotonic(), int(m.group(1))))
    return out


def lateness_by_t(frames: list[tuple[float, int]], rate: float) -> list[float]:
    if not frames:
        return []
    offsets = [a - t / rate for a, t in frames]
    best = min(offsets)
    return [o - best for o in offsets]


async def one_class(url: str, port: int, pid: int, n: int, stuck: int, seconds: float,
                    rate: float) -> dict[str, Any]:
    async with connect(url, max_size=None, compression=None) as teacher:
        await teacher.recv()
        await teacher.send(json.dumps({"type": "load", "config": graph50()}))
        while not (await teacher.recv()).startswith('{"type":"frame"'):
            pass
        await teacher.send(json.dumps({"type": "share", "title": "benchmark"}))
        code = ""
        while not code:
            msg = json.loads(await teacher.recv())
            code = msg.get("code", "") if msg.get("kind") == "shared" else ""
        start = asyncio.Event()
        readies = [asyncio.Event() for _ in range(n)]
        tasks = []
        for i in range(n):  # join a few at a time, like a class opening the link
            tasks.append(asyncio.create_task(follower(url, code, readies[i], start, seconds)))
            if i % 20 == 19:
                await asyncio.sleep(0.05)
        socks = [stuck_follower(port, code) for _ in range(stuck)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        await teacher.send(json.dumps({"type": "play", "rate": rate, "across_examples": True}))

        async def drain() -> None:
            while True:
                await teacher.recv(decode=False)

        drainer = asyncio.create_task(drain())
        await asyncio.sleep(1.0)  # warm-up: the stuck ones fill their buffers
        mem0 = rss_mb(pid)
        start.set()
        results = await asyncio.gather(*tasks)
        mem1 = rss_mb(pid)
        drainer.cancel()
        for s in socks:
            s.close()
    fps = [len(r) / seconds for r in results]
    late = [x for r in results for x in lateness_by_t(r, rate)]
    return {"followers": n, "stuck": stuck, "fps_min": min(fps), "fps_median": pct(fps, 0.5),
            "late_p50_ms": 1000 * pct(late, 0.5), "late_p99_ms": 1000 * pct(late, 0.99),
            "rss_start_mb": mem0, "rss_end_mb": mem1}


async def student(url: str, preset: str, seconds: float, period: float,
                  loaded: asyncio.Event, go: asyncio.Event) -> list[float]:
    """Click-to-frame times of one student stepping by hand (once every student loaded)."""
    times: list[float] = []
    async with connect(url, max_size=None, compression=None, open_timeout=60) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "load", "preset": preset}))
        while not (await ws.recv()).startswith('{"type":"frame"'):
            pass
        loaded.set()
        await go.wait()
        await asyncio.sleep(random.uniform(0, period))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            clicked = time.monotonic()
            await ws.send(json.dumps({"type": "step"}))
            while True:
                msg = await ws.recv()
                if msg.startswith('{"type":"frame"'):
                    times.append(time.monotonic() - clicked)
                    break
                if '"example_done"' in msg:
                    await ws.send(json.dumps({"type": "next_example"}))
                    while not (await ws.recv()).startswith('{"type":"frame"'):
                        pass
                    clicked = time.monotonic()
                    await ws.send(json.dumps({"type": "step"}))
            await asyncio.sleep(max(0.0, period - (time.monotonic() - clicked)))
    return times


async def hands_on(url: str, n: int, seconds: float) -> dict[str, Any]:
    with urllib_get(url.replace("ws://", "http://").replace("/ws", "/api/presets")) as r:
        presets = [p["id"] for p in json.loads(r.read())]
    tasks = []
    loaded = [asyncio.Event() for _ in range(n)]
    go = asyncio.Event()
    for i in range(n):
        tasks.append(asyncio.create_task(student(url, presets[i % len(presets)], seconds, 2.0,
                                                 loaded[i], go)))
        if i % 20 == 19:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in loaded)), 120)
    go.set()
    results = await asyncio.gather(*tasks)
    times = [x for r in results for x in r]
    slowest = sorted(((max(r, default=0.0), presets[i % len(presets)])
                      for i, r in enumerate(results)), reverse=True)[:5]
    return {"students": n, "clicks": len(times), "p50_ms": 1000 * pct(times, 0.5),
            "p99_ms": 1000 * pct(times, 0.99), "max_ms": 1000 * max(times),
            "slowest": ", ".join(f"{name} {1000 * t:.0f} ms" for t, name in slowest)}


def urllib_get(url: str) -> Any:
    import urllib.request

    return urllib.request.urlopen(url, timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--followers", type=int, default=200)
    ap.add_argument("--stuck", type=int, default=10)
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--skip", choices=["class", "hands-on"], default=None)
    args = ap.parse_args()
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    with tempfile.TemporaryDirectory() as data:
        proc = start_server(port, data)
        try:
            if args.skip != "class":
                r = asyncio.run(one_class(url, port, proc.pid, args.followers, args.stuck,
                                          args.seconds, args.rate))
                print(f"one class: {r['followers']} followers (+{r['stuck']} never reading) of "
                      f"a 50-vertex graph at {args.rate:g} frames/s: min {r['fps_min']:.1f}, "
                      f"median {r['fps_median']:.1f} frames/s each; lateness p50 "
                      f"{r['late_p50_ms']:.0f} ms, p99 {r['late_p99_ms']:.0f} ms; server RSS "
                      f"{r['rss_start_mb']:.0f} -> {r['rss_end_mb']:.0f} MB")
            if args.skip != "hands-on":
                h = asyncio.run(hands_on(url, args.students, args.seconds * 2))
                print(f"hands on: {h['students']} students stepping (1 step / 2 s): "
                      f"{h['clicks']} clicks, click-to-frame p50 {h['p50_ms']:.0f} ms, p99 "
                      f"{h['p99_ms']:.0f} ms, max {h['max_ms']:.0f} ms (slowest students: {h['slowest']})")
        finally:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
