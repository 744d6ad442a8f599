"""The wheel from `make dist`, installed in a fresh environment outside the checkout, serves
the page, its presets and a live session, and runs the CLI (see conftest.py for how the
environment gets its dependencies)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.package.conftest import ROOT, Dist, Installed

PRESETS = sorted(p.name for p in (ROOT / "shared" / "presets").glob("*.json"))
SCHEMAS = sorted(p.name for p in (ROOT / "shared" / "schema").glob("*.json"))
MAX_WHEEL_BYTES = 20 << 20  # the page with plotly is ~5 MB unpacked; far less zipped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wheel_and_sdist_carry_the_page_presets_and_schemas(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assets = "errorwave/assets/"
    assert {n.removeprefix(assets + "presets/") for n in names if n.startswith(assets + "presets/")} \
        == set(PRESETS)
    assert {n.removeprefix(assets + "schema/") for n in names if n.startswith(assets + "schema/")} \
        == set(SCHEMAS)
    page = {n.removeprefix(assets + "web/") for n in names if n.startswith(assets + "web/")}
    with zipfile.ZipFile(dist.wheel) as zf:
        index = zf.read(assets + "web/index.html").decode()
    linked = set(re.findall(r'(?:src|href)="/([^"]+\.(?:js|css))"', index))
    assert linked and linked <= page, linked - page  # the page's own files are all there
    assert not any(n.startswith(("tests/", "frontend/", "shared/")) for n in names)
    assert dist.wheel.stat().st_size < MAX_WHEEL_BYTES
    # runtime dependencies as ranges, and the extras the README promises
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    assert any(r.startswith("torch") and ">=" in r for r in requires)
    extras = {line.split(":", 1)[1].strip() for line in meta.splitlines()
              if line.startswith("Provides-Extra:")}
    assert extras >= {"notebook", "ray", "postgres", "dev"}
    with tarfile.open(dist.sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name and m.isfile()}
    # the wheel's page is the sdist's (the build copies it whole)
    assert page == {m.removeprefix("frontend/dist/") for m in members if m.startswith("frontend/dist/")}
    assert {"pyproject.toml", "setup.py", "frontend/dist/index.html",
            "shared/presets/zil-mlp.json", "shared/schema/config.schema.json"} <= members
    assert not any(m.startswith(("frontend/src", "frontend/node_modules", "tests/")) for m in members)


def test_installed_outside_the_checkout(installed: Installed) -> None:
    code = ("import errorwave, errorwave.resources as r, json, sys; print(json.dumps({"
            "'file': errorwave.__file__, 'path': sys.path, 'presets': str(r.presets_dir()), "
            "'web': str(r.web_dir()), 'schema': str(r.schema_dir())}))")
    proc = installed.run(installed.python, "-c", code)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    venv = installed.root.resolve()
    for key in ("file", "presets", "web", "schema"):
        assert Path(got[key]).resolve().is_relative_to(venv), (key, got[key])
    assert not [p for p in got["path"] if p and Path(p).resolve().is_relative_to(ROOT)], got["path"]
    # only the declared dependencies are there: the [notebook] extra and test tools are not
    missing = installed.run(installed.python, "-c", "import pandas")
    assert missing.returncode != 0 and "No module named 'pandas'" in missing.stderr
    # (the console script is run by the CLI and serve tests below)
    version = installed.run(installed.python, "-m", "errorwave", "--version")
    assert version.returncode == 0 and re.fullmatch(r"errorwave \d+\.\d+\.\d+\S*\n", version.stdout)


def test_cli_runs_a_preset_as_jsonl(installed: Installed) -> None:
    proc = installed.run(installed.exe, "run", "preset:zil-mlp", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["type"] == "snapshot" and lines[0]["rule"]["name"] == "zil"
    frames = lines[1:]
    assert [f["t"] for f in frames] == list(range(lines[0]["rule"]["steps"] + 1))
    assert frames[-1]["done"] and not frames[0]["done"]


def test_serves_the_page_presets_and_a_live_session(installed: Installed, tmp_path: Path) -> None:
    port = free_port()
    launched = time.monotonic()
    proc = subprocess.Popen([str(installed.exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=installed.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=installed.env(ERRORWAVE_DATA=str(tmp_path), ERRORWAVE_WORKERS="1"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).json().get("workers_ready"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, "errorwave serve did not start"
            time.sleep(0.2)
        page = httpx.get(base + "/", timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        scripts = re.findall(r'src="(/[^"]+\.js)"', page.text)
        assert scripts, page.text[:500]
        for src in scripts:
            asset = httpx.get(base + src, timeout=10)
            assert asset.status_code == 200 and len(asset.content) > 1000
        presets = httpx.get(f"{base}/api/presets", timeout=10).json()
        assert sorted(p["id"] + ".json" for p in presets) == PRESETS
        preset = httpx.get(f"{base}/api/presets/zil-mlp", timeout=10).json()
        assert preset == json.loads((ROOT / "shared" / "presets" / "zil-mlp.json").read_text())
        with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            ws.send(json.dumps({"type": "load", "preset": "zil-mlp"}))
            ws.send(json.dumps({"type": "step", "n": 1}))
            seen = []
            while not (seen and seen[-1].get("type") == "frame" and seen[-1]["t"] == 1):
                seen.append(json.loads(ws.recv(timeout=10)))
        serve_s = time.monotonic() - launched
        print(f"\ninstall-to-first-frame: {installed.install_s + serve_s:.1f} s (venv and wheel "
              f"{installed.install_s:.1f} s, serve to frame 1 {serve_s:.1f} s)")
        kinds = [m["type"] for m in seen]
        assert kinds[0] == "snapshot" and seen[0]["rule"]["name"] == "zil"
        assert [m["t"] for m in seen if m["type"] == "frame"] == [0, 1]
        assert "error" not in kinds
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_image_installs_this_wheel_and_no_node() -> None:
    """The Dockerfile (not built in CI: no container engine) installs dist/'s wheel over
    the lock, and its build context lets exactly that through."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    steps = [line.split(None, 1) for line in dockerfile.splitlines() if line and line[0].isupper()]
    assert [s[0] for s in steps if s[0] == "FROM"] == ["FROM"]  # one stage: no frontend build
    assert "npm " not in dockerfile
    assert "COPY dist/ /tmp/dist/" in dockerfile
    assert "pip install --no-deps /tmp/dist/errorwave-*.whl" in dockerfile
    lock = re.search(r"pip install [^\n]*-r /tmp/(requirements\.\w+)", dockerfile)
    assert lock and lock.start() < dockerfile.index("/tmp/dist/errorwave-")  # the lock first
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line and not line.startswith("#")]
    assert ignore[0] == "*" and "!dist/errorwave-*.whl" in ignore and f"!{lock.group(1)}" in ignore
