"""Errorwave: watch how error signals travel backward under different learning rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from errorwave.config import Config, Limits
from errorwave.engine import Engine, to_json
from errorwave.validation import ConfigInvalid, Issue, parse_config

__all__ = ["Config", "ConfigInvalid", "Engine", "Issue", "Limits", "load_config", "parse_config",
           "to_json"]


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a configuration file (JSON); validate it by building an Engine."""
    return json.loads(Path(path).read_text())
