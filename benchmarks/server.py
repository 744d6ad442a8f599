"""Streaming benchmark of the server: a real `errorwave serve` in a subprocess,
real websocket clients in this process.

    .venv/bin/python benchmarks/server.py [--seconds 5] [--sessions 1,10,50] [--rate 20]

Prints a table:
- fps of one session of the 8x64 tanh MLP through `step {n}` (binary frames, read as fast
  as they come), for fpa, pc and zil (goal: >= 100 frames/s);
- fps of one session playing as fast as the server allows (its `max_rate`, read from
  `welcome`) on a 50-vertex graph;
- frame latency with 1, 10 and 50 sessions playing at `--rate` frames/s each: how late
  frame k arrives against a perfect clock ticking at `rate` (anchored at the session's
  least late frame, after a 0.5 s warm-up); p50 and p99 over all sessions, plus the frames
  per second each session really got (a server that cannot keep up shows as growing
  latency and fewer frames per second);
- bytes per frame, lean JSON against binary float32, for the MLP, that 50-vertex graph
  and a preset (goal for the MLP: <= 40 kB);
- fairness: light sessions at `--rate` beside two heavy players of a long chain (each light
  one should keep >= 18 frames/s);
- a heavy `next_example` (the 199-layer chain, minutes of CPU in chunks) beside 20 students
  stepping by hand: their click-to-frame times, and whether it survives the watchdog;
- stalls (`--stall`, about a minute with the default 30 s stuck limit): a client that stops
  reading for 15 s keeps its session and gets frames again; ten that stop for good are
  ended, and the server's resident memory and open descriptors go back to their baseline
  (and when) while those clients still hold their sockets.
Run it on an otherwise idle machine; `taskset -c 0,1` pins the server and clients to two
cores like the product goal (60 fps; p99 < 100 ms at 50 x 20 fps on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
PRESET = "pc-variance-1"


def graph50(width: int = 8, steps: int = 2000) -> dict[str, Any]:
    """A 50-vertex chain: input, 48 tanh layers, output; standard PC."""
    rng = random.Random(0)
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, 50):
        last = i == 49
        nodes.append({"id": "y" if last else f"h{i}", "op": "linear", "inputs": [nodes[-1]["id"]],
                      "size": 2 if last else width, **({} if last else {"activation": "tanh"})})
    return {"graph": {"nodes": nodes, "output": "y"},
            "data": {"input": {"x": [rng.uniform(-1, 1) for _ in range(width)]},
                     "target": [0.5, -0.5]},
            "rule": {"name": "pc", "steps": steps}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ERRORWAVE_DATA": data, "ERRORWAVE_MAX_SESSIONS": "1000",
           "ERRORWAVE_MAX_SESSIONS_PER_ADDRESS": "1000", "ERRORWAVE_MESSAGES_PER_SECOND": "1000"}
    exe = Path(sys.executable).with_name("errorwave")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else
           ["-m", "errorwave"]), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def mlp(rule: str, layers: int = 8, width: int = 64, steps: int = 2000) -> dict[str, Any]:
    """The engine benchmark's 8x64 tanh MLP."""
    rng = random.Random(0)
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, layers + 1):
        nodes.append({"id": f"h{i}", "op": "linear", "inputs": [nodes[-1]["id"]], "size": width,
                      "activation": "tanh" if i < layers else "identity"})
    return {"graph": {"nodes": nodes, "output": f"h{layers}"},
            "data": {"input": {"x": [rng.uniform(-1, 1) for _ in range(width)]},
                     "target": [rng.uniform(-1, 1) for _ in range(width)]},
            "rule": {"name": rule, "steps": steps}}


def chain(n: int = 199, width: int = 8) -> dict[str, Any]:
    """A long chain within the default limits: the heavy session of the fairness row."""
    config = graph50(width)
    nodes: list[dict[str, Any]] = [{"id": "x", "op": "input", "size": width}]
    for i in range(1, n + 1):
        last = i == n
        nodes.append({"id": "y" if last else f"h{i}", "op": "linear", "inputs": [nodes[-1]["id"]],
                      "size": 2 if last else width, **({} if last else {"activation": "tanh"})})
    config["graph"] = {"nodes": nodes, "output": "y"}
    return config


async def welcome(url: str) -> dict[str, Any]:
    async with connect(url, max_size=None, compression=None) as ws:
        return json.loads(await ws.recv())


async def stepping(url: str, load: dict[str, Any], n: int, per_example: int) -> float:
    """Frames per second of `step {per_example}` (then `reset`, until `n` frames), binary
    frames read as fast as they come."""
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "hello", "binary": True}))
        await ws.send(json.dumps({"type": "load", **load}))
        frames = 0
        while frames < 1:  # welcome, snapshot, schema, then frame 0
            frames += isinstance(await ws.recv(), bytes)
        start, got = time.monotonic(), 0
        while got < n:
            await ws.send(json.dumps({"type": "step", "n": per_example}))
            batch = 0
            while batch < per_example:
                msg = await asyncio.wait_for(ws.recv(), 30)
                if isinstance(msg, bytes):
                    batch += 1
                elif json.loads(msg)["type"] == "error":
                    raise RuntimeError(msg)
            got += batch
            if got < n:  # back to t = 0 (a snapshot, a schema and frame 0)
                await ws.send(json.dumps({"type": "reset"}))
                while not isinstance(await asyncio.wait_for(ws.recv(), 30), bytes):
                    pass
        return got / (time.monotonic() - start)


async def session(url: str, load: dict[str, Any], rate: float, seconds: float,
                  binary: bool = False) -> dict[str, Any]:
    """Play for `seconds`; arrival times of frames (and their sizes)."""
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.recv()
        if binary:
            await ws.send(json.dumps({"type": "hello", "binary": True}))
            await ws.recv()
        await ws.send(json.dumps({"type": "load", **load}))
        while True:  # the snapshot and frame 0
            msg = await ws.recv()
            if isinstance(msg, bytes) or json.loads(msg)["type"] == "frame":
                break
        await ws.send(json.dumps({"type": "play", "rate": rate}))
        arrivals: list[float] = []
        sizes: list[int] = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            now = time.monotonic()
            if isinstance(msg, bytes) or msg.startswith('{"type":"frame"'):
                arrivals.append(now)
                sizes.append(len(msg.encode() if isinstance(msg, str) else msg))
        await ws.send(json.dumps({"type": "pause"}))
        return {"arrivals": arrivals, "sizes": sizes}


def lateness(arrivals: list[float], rate: float, warmup: float = 0.5) -> list[float]:
    """How late each frame is against a perfect clock at `rate`, anchored at the least late
    frame after the warm-up (so the best frame counts 0 and delays show as positive)."""
    if not arrivals:
        return []
    start = arrivals[0]
    offsets = [a - k / rate for k, a in enumerate(arrivals) if a - start >= warmup]
    if not offsets:
        return []
    t0 = min(offsets)
    return [o - t0 for o in offsets]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def engine_alone(seconds: float) -> float:
    """The ceiling: frames per second of the engine itself (step + to_json) on one core."""
    import torch
    from orjson import dumps as to_json

    from errorwave.engine import Engine

    torch.set_num_threads(1)
    engine = Engine(graph50(), detail="lean")
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        frame = engine.step()
        if frame is None:
            engine.reset()
            continue
        to_json(frame)
        n += 1
    return n / (time.perf_counter() - start)


async def clicks(url: str, seconds: float, period: float) -> list[float]:
    """Click-to-frame times of a student stepping pc-variance-1 by hand every `period` s."""
    times: list[float] = []
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "load", "preset": PRESET}))
        while not (await ws.recv()).startswith('{"type":"frame"'):
            pass
        await asyncio.sleep(random.uniform(0, period))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            clicked = time.monotonic()
            await ws.send(json.dumps({"type": "step"}))
            while not (await ws.recv()).startswith('{"type":"frame"'):
                pass
            times.append(time.monotonic() - clicked)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - clicked)))
    return times


async def heavy_next_example(url: str, seconds: float) -> tuple[list[float], str]:
    """Students' click-to-frame times while one session runs `next_example` on the long
    chain; then that session is paused and stepped (it must still be there)."""
    async with connect(url, max_size=None, compression=None) as heavy:
        await heavy.recv()
        await heavy.send(json.dumps({"type": "load", "config": chain()}))
        while not (await heavy.recv()).startswith('{"type":"frame"'):
            pass
        await heavy.send(json.dumps({"type": "next_example"}))
        students = await asyncio.gather(*(clicks(url, seconds, 0.5) for _ in range(20)))
        await heavy.send(json.dumps({"type": "pause"}))
        asked = time.monotonic()
        await heavy.send(json.dumps({"type": "step"}))
        while True:
            msg = json.loads(await asyncio.wait_for(heavy.recv(), 30))
            if msg["type"] == "error":
                verdict = f"the heavy session failed: {msg['message']}"
                break
            if msg["type"] == "frame":
                verdict = (f"after {seconds:g} s it paused and stepped in "
                           f"{(time.monotonic() - asked) * 1000:.0f} ms (alive)")
                break
    return [t for s in students for t in s], verdict


def server_resources(pid: int) -> tuple[float, int]:
    """The server process's resident memory (MB) and open file descriptors."""
    rss = next(int(line.split()[1]) / 1024 for line in
               Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def stalling(url: str, port: int) -> Any:
    """A client on a socket with a 4 kB receive buffer whose reads stop while nobody calls
    recv() (max_queue=1): its stall fills the buffers and blocks the server's sends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    ws = await connect(url, sock=sock, max_size=None, compression=None, max_queue=1)
    await ws.recv()
    # the MLP watching every layer: frames of ~700 kB fill the server's socket buffers (up
    # to 4 MB) within a few frames, so the stall starts when the client stops reading
    await ws.send(json.dumps({"type": "load", "config": mlp("fpa")}))
    await ws.send(json.dumps({"type": "watch", "nodes": [f"h{i}" for i in range(1, 9)]}))
    while not (await ws.recv()).startswith('{"type":"updates"'):
        pass
    await ws.send(json.dumps({"type": "play", "rate": 60}))
    return ws


async def stalls(url: str, port: int, pid: int) -> list[tuple[str, str]]:
    from websockets.exceptions import ConnectionClosed

    rows = []
    ws = await stalling(url, port)
    await asyncio.sleep(15.0)
    resumed = time.monotonic()
    frames: list[float] = []
    while time.monotonic() - resumed < 3.0:
        msg = await asyncio.wait_for(ws.recv(), 10)
        if msg.startswith('{"type":"frame"'):
            frames.append(time.monotonic() - resumed)
    await ws.close()
    late = [t for t in frames if t >= 1.0]
    rows.append(("stall 15 s (stuck limit 30 s): the session after the client reads again",
                 f"alive; {len(frames)} frames in 3 s, {len(late) / 2:.1f} frames/s after the "
                 "first second (60 asked)"))
    await asyncio.sleep(2.0)
    base = server_resources(pid)
    clients = [await stalling(url, port) for _ in range(10)]
    began = time.monotonic()
    await asyncio.sleep(5.0)
    stalled = server_resources(pid)
    # the clients still hold their sockets and read nothing: the server gives up on them
    # once a send has waited past the stuck limit (30 s after the last byte they took;
    # a send's deadline is 5 s) and frees their sockets
    while time.monotonic() - began < 60.0 and server_resources(pid)[1] > base[1]:
        await asyncio.sleep(0.5)
    freed_after = time.monotonic() - began
    freed = server_resources(pid)
    codes = []
    for c in clients:
        try:
            while True:
                await asyncio.wait_for(c.recv(), 10)
        except ConnectionClosed as err:
            codes.append(err.rcvd.code if err.rcvd is not None else 1006)
        except TimeoutError:
            codes.append(0)
        await c.close()
    rows.append(("stall of 10 clients that never read: server RSS / fds before, stalled, freed",
                 f"{base[0]:.0f} / {stalled[0]:.0f} / {freed[0]:.0f} MB; {base[1]} / "
                 f"{stalled[1]} / {freed[1]} fds, freed {freed_after:.0f} s after they stopped "
                 f"reading; what they read then ends with codes {sorted(set(codes))} "
                 "(1006: aborted once close 1008 could not be flushed)"))
    return rows


async def run(args: argparse.Namespace, url: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    max_rate = float((await welcome(url))["limits"]["max_rate"])
    # Z-IL's example is its depth (8 steps) long: step it through, reset, again
    for rule, per in (("fpa", 400), ("pc", 400), ("zil", 8)):
        fps = await stepping(url, {"config": mlp(rule, steps=per)}, 400, per)
        rows.append((f"fps, 1 session, MLP 8x64 {rule}, step {{n: {per}}} (binary)", f"{fps:.1f}"))
    one = await session(url, {"config": graph50()}, max_rate, args.seconds)
    fps = (len(one["arrivals"]) - 1) / (one["arrivals"][-1] - one["arrivals"][0])
    rows.append((f"fps, 1 session, 50-vertex graph (pc, play at max_rate {max_rate:g})",
                 f"{fps:.1f}"))
    ceiling = engine_alone(min(args.seconds, 3.0))
    rows.append(("  the engine alone on that graph (lean step + orjson, one core)",
                 f"{ceiling:.1f} ({fps / ceiling:.0%} reached)"))
    for n in args.sessions:
        results = await asyncio.gather(*(session(url, {"preset": PRESET}, args.rate, args.seconds)
                                         for _ in range(n)))
        late = [x for r in results for x in lateness(r["arrivals"], args.rate)]
        got = [len(r["arrivals"]) / args.seconds for r in results]
        rows.append((f"latency p50 / p99, {n} sessions x {args.rate:g} fps ({PRESET})",
                     f"{pct(late, 0.5) * 1000:.1f} / {pct(late, 0.99) * 1000:.1f} ms"))
        rows.append((f"  frames/s per session got (min / median), {n} sessions",
                     f"{min(got):.1f} / {statistics.median(got):.1f}"))
    for n in args.sessions[-1:]:
        results = await asyncio.gather(*(session(url, {"config": graph50()}, args.rate,
                                                 args.seconds, binary=True) for _ in range(n)))
        late = [x for r in results for x in lateness(r["arrivals"], args.rate)]
        got = [len(r["arrivals"]) / args.seconds for r in results]
        rows.append((f"latency p50 / p99, {n} sessions x {args.rate:g} fps (50-vertex, binary)",
                     f"{pct(late, 0.5) * 1000:.1f} / {pct(late, 0.99) * 1000:.1f} ms"))
        rows.append((f"  frames/s per session got (min / median), {n} sessions",
                     f"{min(got):.1f} / {statistics.median(got):.1f}"))
    heavy = [session(url, {"config": chain()}, max_rate, args.seconds, binary=True)
             for _ in range(2)]
    light = [session(url, {"preset": PRESET}, args.rate, args.seconds, binary=True)
             for _ in range(10)]
    results = await asyncio.gather(*heavy, *light)
    got = [len(r["arrivals"]) / args.seconds for r in results[2:]]
    heavy_got = [len(r["arrivals"]) / args.seconds for r in results[:2]]
    rows.append((f"fairness: 10 light x {args.rate:g} fps beside 2 heavy players (199-layer chain)",
                 f"light min / median {min(got):.1f} / {statistics.median(got):.1f}; "
                 f"heavy {heavy_got[0]:.1f}, {heavy_got[1]:.1f}"))
    times, survived = await heavy_next_example(url, args.seconds * 2)
    rows.append(("heavy next_example (199-layer chain) beside 20 students stepping by hand",
                 f"click-to-frame p50 / p99 / max {pct(times, 0.5) * 1000:.0f} / "
                 f"{pct(times, 0.99) * 1000:.0f} / {max(times) * 1000:.0f} ms; {survived}"))
    for label, load in (("MLP 8x64 fpa", {"config": mlp("fpa")}),
                        ("50-vertex graph", {"config": graph50()}), (PRESET, {"preset": PRESET})):
        js = await session(url, load, 20.0, 1.0)
        bn = await session(url, load, 20.0, 1.0, binary=True)
        rows.append((f"bytes per frame, lean JSON / binary, {label}",
                     f"{statistics.median(js['sizes']):.0f} / {statistics.median(bn['sizes']):.0f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sessions", default="1,10,50")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--url", help="an already running server's ws URL")
    parser.add_argument("--stall", action="store_true",
                        help="also the 15 s and 40 s stalls (about a minute)")
    parser.add_argument("--only-stall", action="store_true", help="only the stalls")
    args = parser.parse_args()
    args.sessions = [int(x) for x in args.sessions.split(",")]
    proc = None
    if args.url:
        url = args.url
    else:
        port = free_port()
        proc = start_server(port, tempfile.mkdtemp(prefix="errorwave-bench-"))
        url = f"ws://127.0.0.1:{port}/ws"
    try:
        rows = [] if args.only_stall else asyncio.run(run(args, url))
        if (args.stall or args.only_stall) and proc is not None:
            rows += asyncio.run(stalls(url, port, proc.pid))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"(cores: {os.cpu_count()}, {args.seconds:g} s per measure, load average after: "
          f"{os.getloadavg()[0]:.2f}; other work on the machine shows up in every row)")


if __name__ == "__main__":
    main()
