"""The hashed locks (`make lock`, tools/lock.py) agree with the pins, lock every package with
one sha256, and lock torch as the local CPU wheel; make and the Dockerfile install them
with --require-hashes."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
TORCH_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")


def lock_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ew_lock_tool", ROOT / "tools" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_locks_agree_with_the_pins() -> None:
    assert lock_tool().disagreements(ROOT) == []


def test_every_package_is_locked_with_a_hash_and_the_runtime_lock_is_a_subset() -> None:
    tool = lock_tool()
    dev = tool.read_lock(ROOT / "requirements-dev.lock")
    runtime = tool.read_lock(ROOT / "requirements.lock")
    for locked in (dev, runtime):
        for name, (_version, digest) in locked.items():
            assert len(digest) == 64 and int(digest, 16) >= 0, name
    assert runtime.items() <= dev.items()
    text = (ROOT / "requirements-dev.lock").read_text()
    entries = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(entries) == len(dev) == text.count("--hash=sha256:")
    # transitive packages are there, not only the pinned ones
    assert {"starlette", "pydantic-core", "annotated-types", "sympy"} <= set(runtime)


def test_torch_is_the_local_cpu_wheel() -> None:
    version, digest = lock_tool().read_lock(ROOT / "requirements.lock")["torch"]
    assert version == "2.13.0+cpu"
    if TORCH_WHEEL.exists():
        assert hashlib.sha256(TORCH_WHEEL.read_bytes()).hexdigest() == digest


def test_make_and_the_dockerfile_install_the_locks_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements-dev.lock" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r /tmp/requirements.lock" in dockerfile
    assert "!requirements.lock" in (ROOT / ".dockerignore").read_text().splitlines()
