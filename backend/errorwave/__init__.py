"""Errorwave: watch how error signals travel backward under different learning rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from errorwave.config import Config, Limits
from errorwave.engine import Engine, to_json
from errorwave.issues import ConfigInvalid, Issue
from errorwave.validation import parse_config

__all__ = ["Config", "ConfigInvalid", "Engine", "Issue", "Limits", "load_config", "package_version",
           "parse_config", "to_json"]


def package_version() -> str:
    """The installed distribution's version (`errorwave --version`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("errorwave")
    except PackageNotFoundError:  # imported from a checkout that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    # errorwave.show needs the [notebook] extra; import it only when asked for.
    if name == "show":
        from errorwave.notebook import show

        return show
    raise AttributeError(f"module 'errorwave' has no attribute {name!r}")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a configuration file (JSON) and validate it; raises ConfigInvalid."""
    raw = json.loads(Path(path).read_text())
    parse_config(raw)
    return raw
