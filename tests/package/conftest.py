"""The package as a user gets it: `make dist`'s build (sdist, then the wheel from the sdist)
once per test session, and that wheel installed into a fresh virtual environment outside
the checkout.

Why the fresh environment does not download its dependencies: torch and the rest weigh
hundreds of MB and install in minutes, far past this suite's budget, and CI must not depend
on a package index being fast. So the wheel goes in with `--no-deps`, and the environment
sees exactly the distributions its metadata asks for (the transitive closure of its
`Requires-Dist`, markers and extras evaluated) through a .pth file naming one folder of
symlinks to those distributions in the project's .venv. Not `--system-site-packages` (no
extra path, no other package, no repository: a dependency missing from pyproject.toml fails
to import here), and not the .venv's whole site-packages (whose editable install and every
test tool would hide a missing dependency). The test asserts that `errorwave` is imported
from the new environment and that nothing on `sys.path` is inside the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Dist:
    wheel: Path
    sdist: Path
    build_s: float


@dataclass
class Installed:
    root: Path          # the venv
    python: Path
    exe: Path           # bin/errorwave
    workdir: Path       # an empty folder outside the checkout, the cwd of every command
    started: float      # time.monotonic() when the install began
    install_s: float

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
        return {**env, "PYTHONNOUSERSITE": "1", "VIRTUAL_ENV": str(self.root), **extra}

    def run(self, *argv: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in argv], cwd=self.workdir, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout)


def requirement_closure(requires: list[str], extras: tuple[str, ...] = ()) -> list[metadata.Distribution]:
    """The installed distributions that `requires` needs, transitively (markers evaluated
    for this interpreter and the extras asked for). A needed one that is not installed is
    an error: the lock (requirements*.txt) and pyproject.toml disagree."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(r, extras) for r in requires]
    while todo:
        text, wanted = todo.pop()
        req = Requirement(text)
        if req.marker is not None and not any(
                req.marker.evaluate({"extra": e}) for e in (wanted or ("",))):
            continue
        name = canonicalize_name(req.name)
        if name in found:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{req.name} is required ({text}) but not installed in the "
                                 f".venv: pin it in requirements.txt") from None
        found[name] = dist
        todo += [(r, tuple(req.extras)) for r in dist.requires or ()]
    return list(found.values())


def link_distributions(dists: list[metadata.Distribution], folder: Path) -> None:
    """A folder holding only these distributions: a symlink per top-level entry they own."""
    folder.mkdir()
    for dist in dists:
        base = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or ()}
        for top in sorted(tops):
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            target = base / top
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """`make dist`'s command into a temporary folder (the page must be built: make test
    builds it first)."""
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("frontend/dist is not built: run `make frontend` (make test does)")
    out = tmp_path_factory.mktemp("dist")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("errorwave-*.whl")
    (sdist,) = out.glob("errorwave-*.tar.gz")
    return Dist(wheel, sdist, time.monotonic() - t0)


def install(dist: Dist, base: Path, extras: tuple[str, ...] = (), also: tuple[str, ...] = ()) -> Installed:
    """The wheel in a fresh venv under `base` that sees only the distributions its metadata
    requires (with these extras), plus the distributions `also` names (e.g. a kernel)."""
    assert not base.resolve().is_relative_to(ROOT), "the fresh venv must be outside the checkout"
    started = time.monotonic()
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    with zipfile.ZipFile(dist.wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = zf.read(meta_name).decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    deps = base / "deps"
    link_distributions(requirement_closure(requires, extras) + requirement_closure(list(also)), deps)
    (site / "errorwave-test-deps.pth").write_text(f"{deps}\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                           "--no-deps", "--no-index", str(dist.wheel)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work = base / "work"
    work.mkdir()
    return Installed(venv, python, venv / "bin" / "errorwave", work, started,
                     time.monotonic() - started)


@pytest.fixture(scope="session")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip install errorwave-*.whl`: the runtime dependencies only."""
    return install(dist, tmp_path_factory.mktemp("user"))


@pytest.fixture(scope="session")
def installed_notebook(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip install 'errorwave-*.whl[notebook]'` next to a Jupyter kernel (ipykernel)."""
    return install(dist, tmp_path_factory.mktemp("notebook-user"), extras=("notebook",),
                   also=("ipykernel",))
