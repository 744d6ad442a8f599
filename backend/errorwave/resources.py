"""Where the package's files are: the presets, the JSON Schemas and the built page.

An installed wheel carries them as package data (`errorwave/assets/`, copied in by the
build, see setup.py); an editable install or a plain checkout finds them where they live in
the repository (`shared/presets`, `shared/schema`, `frontend/dist`). Environment variables
override both (`ERRORWAVE_PRESETS`; the server's `ERRORWAVE_FRONTEND`).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

# name -> the folder in a checkout, relative to the repository root
CHECKOUT = {"presets": "shared/presets", "schema": "shared/schema", "web": "frontend/dist"}


def checkout_root() -> Path | None:
    """The repository root when this package is imported from a checkout's backend/."""
    here = Path(__file__).resolve().parent
    root = here.parents[1]
    if here.parent.name == "backend" and (root / "shared").is_dir():
        return root
    return None


def asset_dir(name: str) -> Path:
    """The folder `name` (presets, schema or web): the package data of an installed wheel
    first, then the checkout. The checkout path is returned even when it does not exist
    yet (an unbuilt frontend), so that callers can say what is missing."""
    if name not in CHECKOUT:
        raise ValueError(f"unknown resource folder {name!r}; one of {sorted(CHECKOUT)}")
    packaged = resources.files("errorwave") / "assets" / name
    if packaged.is_dir():
        # A wheel is installed unpacked, so its package data is a real folder.
        return Path(str(packaged))
    root = checkout_root()
    if root is not None:
        return root / CHECKOUT[name]
    return Path(str(packaged))


def presets_dir() -> Path:
    env = os.environ.get("ERRORWAVE_PRESETS")
    return Path(env) if env else asset_dir("presets")


def schema_dir() -> Path:
    return asset_dir("schema")


def web_dir() -> Path:
    """The built page (index.html and its assets)."""
    return asset_dir("web")
