"""One package definition, whose dependency ranges agree with the lock (requirements*.txt)
and cover what the code imports; `errorwave --version`; `python -m errorwave`."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from errorwave import cli
from tests.package.conftest import ROOT, requirement_closure

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def pins() -> dict[str, Version]:
    """name -> pinned version, from requirements.txt and requirements-dev.txt."""
    out: dict[str, Version] = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            m = PIN.match(line.strip())
            if m:
                out[canonicalize_name(m.group(1))] = Version(m.group(3))
    return out


def declared() -> tuple[list[Requirement], dict[str, list[Requirement]]]:
    extras = {k: [Requirement(r) for r in v] for k, v in PROJECT["optional-dependencies"].items()}
    return [Requirement(r) for r in PROJECT["dependencies"]], extras


def test_exactly_one_project_table() -> None:
    skip = ("node_modules", ".venv", ".git", "build", "dist")
    found = [p.relative_to(ROOT) for p in ROOT.rglob("pyproject.toml")
             if not set(p.relative_to(ROOT).parts) & set(skip)
             and "project" in tomllib.loads(p.read_text())]
    assert [str(p) for p in found] == ["pyproject.toml"]
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"": "backend"}
    assert set(PROJECT["optional-dependencies"]) == {"notebook", "ray", "parquet", "postgres", "dev"}


def test_ranges_agree_with_the_pins() -> None:
    """Every runtime dependency is pinned for make/CI inside its declared range; an extra's
    pin, where make installs one, too. A range, never an exact pin, in pyproject.toml."""
    base, extras = declared()
    locked = pins()
    for req in base + [r for rs in extras.values() for r in rs]:
        if canonicalize_name(req.name) == "errorwave":
            continue
        assert not any(s.operator == "==" for s in req.specifier), f"{req}: a range, not a pin"
        assert req.specifier, f"{req}: give a compatible range"
        pinned = locked.get(canonicalize_name(req.name))
        if req in base:
            assert pinned is not None, f"{req.name} is a dependency but not pinned in requirements.txt"
        if pinned is not None:
            assert req.specifier.contains(pinned, prereleases=True), \
                f"{req.name}=={pinned} (requirements) is outside {req} (pyproject.toml)"


def imported_distributions() -> dict[str, set[str]]:
    """Third-party distribution -> the modules of backend/errorwave that import it."""
    by_module = metadata.packages_distributions()
    out: dict[str, set[str]] = {}
    for path in (ROOT / "backend" / "errorwave").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                else []
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "errorwave":
                    continue
                for dist in by_module.get(top, [top]):
                    out.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(ROOT)))
    return out


def test_everything_imported_is_declared() -> None:
    """A module the package imports comes from a dependency (or one of its dependencies),
    or, imported only where an extra is needed, from that extra."""
    base, extras = declared()
    provided = {canonicalize_name(d.metadata["Name"]) for d in requirement_closure([str(r) for r in base])}
    optional = {canonicalize_name(r.name) for rs in extras.values() for r in rs}
    missing = {d: sorted(files) for d, files in imported_distributions().items()
               if d not in provided and d not in optional}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"errorwave {PROJECT['version']}\n"
    main = (ROOT / "backend" / "errorwave" / "__main__.py").read_text()
    assert "sys.exit(main())" in main  # `python -m errorwave`, run in test_wheel.py


def test_a_checkout_finds_the_shared_folders_and_the_built_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The editable install copies nothing: the presets, schemas and page are the checkout's."""
    from errorwave import resources
    from errorwave.schema import SCHEMA_DIR
    from errorwave.server.limits import Settings

    monkeypatch.delenv("ERRORWAVE_PRESETS", raising=False)
    assert not (ROOT / "backend" / "errorwave" / "assets").exists()
    assert resources.presets_dir() == ROOT / "shared" / "presets"
    assert resources.schema_dir() == SCHEMA_DIR == ROOT / "shared" / "schema"
    assert resources.web_dir() == ROOT / "frontend" / "dist"
    assert Settings().frontend_dir == str(ROOT / "frontend" / "dist")
    with pytest.raises(ValueError, match="unknown resource folder"):
        resources.asset_dir("secrets")
