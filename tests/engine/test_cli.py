"""The command line, run as a user would (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.engine.builders import mlp

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "errorwave", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_run_jsonl_prints_snapshot_then_frames(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(mlp(3, "B", rule={"name": "zil"})))
    out = cli("run", str(path), "--jsonl")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0]["type"] == "snapshot"
    assert [f["t"] for f in lines[1:]] == [0, 1, 2]
    assert lines[-1]["divergence"]["total"]["rel_l2"] < 1e-12


def test_overrides(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(mlp(3, "B", rule={"name": "zil"})))
    out = cli("run", str(path), "--jsonl", "--rule", "fpa", "--steps", "4", "--set", "rule.gamma=0.5")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0]["rule"]["name"] == "fpa"
    assert lines[0]["rule"]["settings"]["gamma"] == 0.5
    assert len(lines) == 1 + 5


def test_presets_by_name_and_validate():
    out = cli("validate", "preset:zil-mlp")
    assert out.returncode == 0 and out.stdout.startswith("ok")


def test_invalid_input_exit_2_one_line(tmp_path):
    bad = mlp(3, "B")
    bad["graph"]["nodes"][1]["inputs"] = ["ghost"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    for args in (("validate", str(path)), ("run", str(path)), ("run", str(tmp_path / "none.json")),
                 ("run", "preset:does-not-exist")):
        out = cli(*args)
        assert out.returncode == 2, args
        assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "h1" in cli("validate", str(path)).stderr and "ghost" in cli("validate", str(path)).stderr


def test_unstable_run_exits_1_naming_node_and_step(tmp_path):
    from tests.engine.test_rule_eqprop import strong_chain

    path = tmp_path / "c.json"
    path.write_text(json.dumps(strong_chain(0, 0.5)))
    out = cli("run", str(path), "--jsonl")
    assert out.returncode == 1
    last = json.loads(out.stdout.splitlines()[-1])
    (event,) = [e for e in last["events"] if e["kind"] == "unstable"]
    assert f"unstable at node {event['node']!r} (step {last['t']})" in out.stderr
