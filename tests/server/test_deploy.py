"""The CLI server survives a restart with its short links; the compose file runs the CLI;
the exported protocol schema is current."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from errorwave import cli
from errorwave.schema import SCHEMA_DIR, render
from errorwave.server.protocol import json_schema
from tests.engine.builders import mlp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int, data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ERRORWAVE_DATA": str(data), "ERRORWAVE_WORKERS": "1"}
    exe = Path(sys.executable).with_name("errorwave")
    proc = subprocess.Popen([str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    # ready once its worker has imported torch and warmed up: on a loaded 2-core machine
    # that can take minutes
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # also while it answers 503 "starting"
    proc.kill()
    raise AssertionError("errorwave serve did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_short_links_survive_a_restart(tmp_path: Path) -> None:
    port = free_port()
    doc = {"config": mlp(3, seed=7), "view": {"t": 1, "selected": "h1", "label": "<b>x</b>"}}
    proc = start(port, tmp_path)
    try:
        link = httpx.post(f"http://127.0.0.1:{port}/api/links", json=doc).json()["id"]
    finally:
        stop(proc)
    assert (tmp_path / "links.sqlite3").exists()
    proc = start(port, tmp_path)
    try:
        got = httpx.get(f"http://127.0.0.1:{port}/api/links/{link}").json()
        assert got["config"] == doc["config"] and got["view"] == doc["view"]
        again = httpx.post(f"http://127.0.0.1:{port}/api/links", json=doc).json()["id"]
        assert again == link
    finally:
        stop(proc)


def test_compose_runs_the_cli_on_its_published_port(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    (service,) = compose["services"].values()
    command = service["command"]
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[:2] == ["errorwave", "serve"]
    seen: dict[str, Any] = {}
    monkeypatch.setattr("errorwave.server.app.serve", lambda **kw: seen.update(kw))
    assert cli.main(argv[1:]) == 0
    assert seen["host"] == "0.0.0.0"
    published = [str(p).split(":") for p in service["ports"]]
    assert [p[-1] for p in published] == [str(seen["port"])]
    env = service["environment"]
    data = env["ERRORWAVE_DATA"] if isinstance(env, dict) else dict(
        e.split("=", 1) for e in env)["ERRORWAVE_DATA"]
    assert any(str(v).split(":")[1] == data for v in service["volumes"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {seen['port']}" in dockerfile
    assert json.dumps(argv) in dockerfile  # the image's CMD is the same command


def test_protocol_schema_export_is_current() -> None:
    path = SCHEMA_DIR / "protocol.schema.json"
    assert path.read_text() == render(json_schema()), "run `make schema`"
