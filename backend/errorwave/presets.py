"""Classroom presets: the JSON configurations of shared/presets/ (package data once installed)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from errorwave import resources

PRESET_ID = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}$")


def presets_dir() -> Path:
    """The presets folder (see errorwave.resources); ERRORWAVE_PRESETS overrides."""
    return resources.presets_dir()


@lru_cache(maxsize=1)
def _all() -> dict[str, dict[str, Any]]:
    out = {}
    folder = presets_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            out[path.stem] = json.loads(path.read_text())
    return out


def list_presets() -> list[dict[str, Any]]:
    """id, title, description, group and rule of every preset, sorted by id."""
    return [{"id": pid, "title": c.get("title") or pid, "description": c.get("description", ""),
             "group": c.get("group"), "rule": c.get("rule", {}).get("name")}
            for pid, c in _all().items()]


def get_preset(preset_id: str) -> dict[str, Any] | None:
    """The preset's configuration (a fresh copy), or None for an unknown id."""
    if not PRESET_ID.match(preset_id):
        return None
    found = _all().get(preset_id)
    return json.loads(json.dumps(found)) if found is not None else None
