"""A per-client outbox where frames coalesce ("latest wins") instead of queueing.

Rules, so a client that reads slowly (or not at all) never grows the server's memory:
- a frame replaces a frame still waiting at the end of the queue;
- a snapshot starts a new example or revision: it drops every waiting frame, snapshot
  and schema (they belong to an older example and would be stale);
- other messages (events, errors) are small; past `max_pending` of them, new ones are
  dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass


@dataclass
class Item:
    kind: str  # snapshot | schema | frame | event | error | welcome
    payload: str | bytes


SUPERSEDED = ("frame", "snapshot", "schema")


class Mailbox:
    def __init__(self, max_pending: int = 256):
        self.items: deque[Item] = deque()
        self.max_pending = max_pending
        self.dropped = 0
        self._ready = asyncio.Event()
        self._taken = asyncio.Event()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def pending_bytes(self) -> int:
        return sum(len(i.payload) for i in self.items)

    def put(self, kind: str, payload: str | bytes) -> None:
        items = self.items
        if kind == "frame":
            if items and items[-1].kind == "frame":
                items[-1] = Item(kind, payload)
                self.dropped += 1
                return
        elif kind == "snapshot":
            kept = [i for i in items if i.kind not in SUPERSEDED]
            self.dropped += len(items) - len(kept)
            items.clear()
            items.extend(kept)
        elif kind != "schema" and len(items) >= self.max_pending:
            self.dropped += 1
            return
        items.append(Item(kind, payload))
        self._ready.set()

    def putback(self, item: Item) -> None:
        """An item whose send timed out (nothing was written): first in line again, unless a
        newer frame or snapshot already supersedes it."""
        if item.kind == "frame" and any(i.kind in SUPERSEDED for i in self.items):
            self.dropped += 1
            return
        self.items.appendleft(item)
        self._ready.set()

    def frame_waiting(self) -> bool:
        return bool(self.items) and self.items[-1].kind == "frame"

    async def wait_taken(self, timeout: float) -> None:
        """Until the sender takes an item (or `timeout` seconds)."""
        self._taken.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._taken.wait(), timeout)

    async def get(self) -> Item:
        while not self.items:
            self._ready.clear()
            await self._ready.wait()
        self._taken.set()
        return self.items.popleft()
