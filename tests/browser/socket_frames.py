"""The frames the page receives, read off its websocket (JSON or binary), for tests that
compare what the page shows or exports with what the server sent."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page

from errorwave.server.binary import decode


class SocketFrames:
    """Collects every frame of side a (compare mode's side b is left out), by t, keeping
    the newest per step; binary frames are decoded with the last `schema` message."""

    def __init__(self, page: Page):
        self.schema: dict[str, Any] | None = None
        self.by_t: dict[int, dict[str, Any]] = {}
        page.on("websocket", lambda ws: ws.on("framereceived", self._receive))

    def _receive(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            if self.schema is None:
                return
            msg = decode(payload, self.schema)
            msg.setdefault("type", "frame")
        else:
            msg = json.loads(payload)
        if msg.get("type") == "schema":
            self.schema = msg
        elif msg.get("type") == "snapshot" and msg.get("side", "a") == "a":
            self.by_t.clear()
        elif msg.get("type") == "frame" and msg.get("side", "a") == "a":
            self.by_t[msg["t"]] = msg

    def at(self, t: int) -> dict[str, Any]:
        return self.by_t[t]
