"""Browser animation benchmark: frames per second while playing, at 50 and 300 nodes,
in headless Chromium (Debian's, no GPU). Goal: 60 fps at 50 nodes, 30 fps at
300 nodes.

Starts `python -m errorwave serve` on a free port (frontend/dist must be built: `make
frontend`), opens a permalink to a layered graph, runs the example once (so the server's
compute does not compete for the CPU), goes back to t = 0 and presses play: the page
replays its own frame history at the chosen rate while we count animation frames
(requestAnimationFrame callbacks, which the page's one animation loop also runs on).

    .venv/bin/python benchmarks/browser.py [--seconds 5] [--sizes 50,300]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
GOALS = {50: 60.0, 300: 30.0}


def layered_config(nodes: int, size: int = 4, steps: int = 240) -> dict:
    """An input, then hidden layers of linear+tanh nodes (each fed by two nodes of the
    layer before), then the output: `nodes` vertices in all."""
    hidden = nodes - 2
    width = max(1, round(hidden ** 0.5 * 1.3))
    layers: list[list[str]] = []
    graph = [{"id": "x", "op": "input", "size": size}]
    made = 0
    while made < hidden:
        row = []
        for j in range(min(width, hidden - made)):
            nid = f"h{len(layers)}_{j}"
            prev = layers[-1] if layers else ["x"]
            inputs = sorted({prev[j % len(prev)], prev[(j + 1) % len(prev)]})
            graph.append({"id": nid, "op": "linear", "inputs": inputs, "size": size,
                          "activation": "tanh"})
            row.append(nid)
            made += 1
        layers.append(row)
    graph.append({"id": "y", "op": "linear", "inputs": layers[-1], "size": 2})
    return {"version": 1, "title": f"benchmark, {nodes} nodes",
            "graph": {"nodes": graph, "output": "y"},
            "data": {"input": {"x": [0.5] * size}, "target": [1.0, -1.0]},
            "rule": {"name": "fpa", "steps": steps, "lr": 0.01},
            "seeds": {"init": 0, "data": 0}}


def fragment(config: dict) -> str:
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = co.compress(json.dumps(config, separators=(",", ":")).encode()) + co.flush()
    return "#v=1&c=" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ERRORWAVE_DATA_DIR": data, "ERRORWAVE_MAX_NODES": "400",
           "ERRORWAVE_MAX_EDGES": "2000"}
    proc = subprocess.Popen([sys.executable, "-m", "errorwave", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("server exited") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


MEASURE = """async (seconds) => {
  const stamps = [];
  const ticks0 = window.__errorwave.animator.ticks;
  const stepNow = () => Number(document.querySelector('[data-testid=current-t]').textContent);
  const step0 = stepNow();
  const t0 = performance.now();
  await new Promise(done => {
    const loop = (now) => {
      stamps.push(now);
      if (now - t0 < seconds * 1000) requestAnimationFrame(loop); else done();
    };
    requestAnimationFrame(loop);
  });
  const span = (stamps[stamps.length - 1] - stamps[0]) / 1000;
  const gaps = stamps.slice(1).map((s, i) => s - stamps[i]).sort((a, b) => a - b);
  return {
    fps: (stamps.length - 1) / span,
    loop: (window.__errorwave.animator.ticks - ticks0) / span,
    steps: (stepNow() - step0) / span,
    p95: gaps[Math.floor(gaps.length * 0.95)] ?? 0,
    worst: gaps[gaps.length - 1] ?? 0,
  };
}"""


def measure(page, url: str, nodes: int, seconds: float, rate: int) -> dict:
    config = layered_config(nodes)
    page.goto(f"{url}/{fragment(config)}")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=app]')?.dataset.held) > 0",
                           timeout=60_000)
    page.wait_for_function(f"() => document.querySelectorAll('[data-node-id]').length === {nodes}")
    steps = config["rule"]["steps"]
    page.get_by_test_id("run-example").click()
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=current-t]').textContent === '{steps}'",
        timeout=300_000)
    page.keyboard.press("Home")
    page.get_by_test_id("speed").select_option(str(rate))
    page.get_by_test_id("play").click()
    page.wait_for_timeout(1000)  # warm up
    result = page.evaluate(MEASURE, seconds)
    page.get_by_test_id("play").click()
    edges = page.locator(".react-flow__edge").count()
    return {"nodes": nodes, "edges": edges, **result}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--sizes", default="50,300")
    ap.add_argument("--rate", type=int, default=30, help="inference steps per second while playing")
    args = ap.parse_args()
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        raise SystemExit("frontend/dist is missing: run `make frontend` first")
    with tempfile.TemporaryDirectory() as data:
        proc, url = start_server(data)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                rows = []
                for n in args.sizes.split(","):
                    page = browser.new_page(viewport={"width": 1600, "height": 1000})
                    rows.append(measure(page, url, int(n), args.seconds, args.rate))
                    page.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"\nBrowser animation while playing at {args.rate} steps/s "
          f"(headless Chromium, no GPU, {args.seconds:g} s each)")
    print(f"{'nodes':>6} {'edges':>6} {'fps':>6} {'loop/s':>7} {'steps/s':>8} {'p95 ms':>7} "
          f"{'worst ms':>9} {'goal':>5} {'ratio':>6}")
    for r in rows:
        goal = GOALS.get(r["nodes"], 30.0)
        print(f"{r['nodes']:>6} {r['edges']:>6} {r['fps']:>6.1f} {r['loop']:>7.1f} {r['steps']:>8.1f} "
              f"{r['p95']:>7.1f} {r['worst']:>9.1f} {goal:>5.0f} {r['fps'] / goal:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
