"""Binary frames: the bulk numbers of a frame as one block of little-endian float32.

Layout of one binary websocket message (docs/server.md):

    bytes 0-3   b"EWF1"
    bytes 4-7   uint32 little-endian: H, the length of the JSON header
    8 .. 8+H    UTF-8 JSON: the frame without "nodes" and "updates"
    padding     zero bytes up to a multiple of 4
    the rest    float32 little-endian, in the column order of the last `schema` message

Non-finite numbers (null in JSON frames) travel as NaN.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import orjson

MAGIC = b"EWF1"
Layout = tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]


def layout_of(frame: dict[str, Any]) -> Layout:
    cols: list[tuple[tuple[str, ...], tuple[int, ...]]] = []
    for nid, st in frame["nodes"].items():
        for f in ("value", "prediction", "error"):
            cols.append((("nodes", nid, f), (len(st[f]),)))
    for nid, up in frame["updates"].items():
        for src, w in up["weight"].items():
            cols.append((("updates", nid, "weight", src), (len(w), len(w[0]) if w else 0)))
        if up.get("bias") is not None:
            cols.append((("updates", nid, "bias"), (len(up["bias"]),)))
    return tuple(cols)


def schema_message(layout: Layout, revision: int, example: int) -> dict[str, Any]:
    columns, offset = [], 0
    for path, shape in layout:
        columns.append({"path": list(path), "offset": offset, "shape": list(shape)})
        offset += math.prod(shape)
    return {"type": "schema", "revision": revision, "example": example, "dtype": "float32",
            "byte_order": "little", "count": offset, "columns": columns}


def _column(frame: dict[str, Any], path: tuple[str, ...], shape: tuple[int, ...]) -> Any:
    """A column's numbers; NaN where the frame lacks it (a frame kept from before a watch)."""
    try:
        if path[0] == "nodes":
            return frame["nodes"][path[1]][path[2]]
        up = frame["updates"][path[1]]
        return up["weight"][path[3]] if path[2] == "weight" else up["bias"]
    except (KeyError, TypeError):
        return np.full(math.prod(shape), np.nan)


def _block(frame: dict[str, Any], layout: Layout) -> np.ndarray:
    parts = [_column(frame, path, shape) for path, shape in layout]
    try:
        arrays = [np.asarray(p, dtype=np.float64).reshape(-1) for p in parts]
    except (TypeError, ValueError):  # None stands for a non-finite number
        arrays = [np.asarray(nan_to_none_inverse(p), dtype=np.float64).reshape(-1) for p in parts]
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf
        return (np.concatenate(arrays) if arrays else np.zeros(0)).astype("<f4")


def nan_to_none_inverse(value: Any) -> Any:
    """None back to NaN, in nested lists."""
    if value is None:
        return math.nan
    if isinstance(value, list):
        return [nan_to_none_inverse(v) for v in value]
    return value


def encode(frame: dict[str, Any], layout: Layout | None = None) -> bytes:
    """One binary frame: the header (everything but nodes and updates) as JSON, then the
    numbers of `layout`'s columns (default: every column the frame has)."""
    header = {k: v for k, v in frame.items() if k not in ("nodes", "updates")}
    head = orjson.dumps(header)  # non-finite numbers become null
    pad = b"\0" * (-(8 + len(head)) % 4)
    block = _block(frame, layout_of(frame) if layout is None else layout)
    return MAGIC + struct.pack("<I", len(head)) + head + pad + block.tobytes()


def decode(data: bytes, schema: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `encode` given the schema message (for tests and Python clients)."""
    if data[:4] != MAGIC:
        raise ValueError("not a binary frame")
    (h,) = struct.unpack("<I", data[4:8])
    frame = json.loads(data[8:8 + h])
    start = 8 + h + (-(8 + h) % 4)
    block = np.frombuffer(data[start:], dtype="<f4").astype(float).tolist()
    frame["nodes"], frame["updates"] = {}, {}
    for col in schema["columns"]:
        n = math.prod(col["shape"])
        vals = [None if math.isnan(v) else v for v in block[col["offset"]:col["offset"] + n]]
        path = col["path"]
        if path[0] == "nodes":
            frame["nodes"].setdefault(path[1], {})[path[2]] = vals
        elif path[2] == "weight":
            rows, cols = col["shape"]
            up = frame["updates"].setdefault(path[1], {"weight": {}, "bias": None})
            up["weight"][path[3]] = [vals[r * cols:(r + 1) * cols] for r in range(rows)]
        else:
            frame["updates"].setdefault(path[1], {"weight": {}, "bias": None})["bias"] = vals
    return frame
