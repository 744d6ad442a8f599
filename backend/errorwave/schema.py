"""Export the pydantic models' JSON Schemas to the repo's shared/schema/ for the frontend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from errorwave.config import json_schema as config_schema
from errorwave.resources import schema_dir

SCHEMA_DIR = schema_dir()  # shared/schema in a checkout; the package's copy once installed


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every public format."""
    out = {"config.schema.json": config_schema()}
    try:
        from errorwave.server.protocol import json_schema as protocol_schema
    except ImportError:  # the server package is optional for the engine alone
        return out
    out["protocol.schema.json"] = protocol_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path | None = None) -> list[Path]:
    folder = folder or SCHEMA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = folder / name
        path.write_text(render(schema))
        written.append(path)
    return written
