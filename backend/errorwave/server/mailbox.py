"""A per-client outbox where frames coalesce ("latest wins") instead of queueing.

Rules, so a client that reads slowly (or not at all) never grows the server's memory:
- a frame replaces a frame still waiting at the end of the queue;
- a snapshot starts a new example or revision: it drops every waiting frame, snapshot
  and schema (they belong to an older example and would be stale);
- other messages (events, errors) are small; past `max_pending` of them, or past
  `max_bytes` waiting in all, new ones are dropped and counted;
- frames kept behind events are dropped, oldest first, while the outbox is over
  `max_bytes` (the newest frame always stays).
Compare mode (pair.py) tags side b's kinds `frame:b`, `snapshot:b`. Frames come in pairs
(side a's, then side b's): a new side a frame replaces a whole waiting pair at the end of
the queue, never half of one, so a client always gets both sides of a step; side b's
snapshot drops only side b's waiting messages (side a's comes first and drops all).
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


def base(kind: str) -> str:
    """`frame` for `frame` and `frame:b`."""
    return kind.partition(":")[0]


def _stale(item: Item, kind: str) -> bool:
    """Superseded by a new snapshot of this kind (side a's: every side's; side b's: its own)."""
    return base(item.kind) in SUPERSEDED and (kind == "snapshot" or item.kind.endswith(":b"))


class Mailbox:
    def __init__(self, max_pending: int = 256, max_bytes: int = 512 << 10):
        self.items: deque[Item] = deque()
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.bytes = 0
        self.dropped = 0
        self._ready = asyncio.Event()
        self._taken = asyncio.Event()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def pending_bytes(self) -> int:
        return self.bytes

    def put(self, kind: str, payload: str | bytes) -> None:
        items = self.items
        if base(kind) == "frame":
            drop = 0  # the waiting frame, or pair, that a side a frame supersedes
            if kind == "frame" and items and items[-1].kind == "frame":
                drop = 1
            elif kind == "frame" and len(items) > 1 and items[-1].kind == "frame:b" \
                    and items[-2].kind == "frame":
                drop = 2
            for _ in range(drop):
                self.bytes -= len(items.pop().payload)
                self.dropped += 1
        elif base(kind) == "snapshot":
            kept = [i for i in items if not _stale(i, kind)]
            self.dropped += len(items) - len(kept)
            items.clear()
            items.extend(kept)
            self.bytes = sum(len(i.payload) for i in kept)
        elif base(kind) != "schema" and (len(items) >= self.max_pending
                                   or self.bytes + len(payload) > self.max_bytes):
            self.dropped += 1
            return
        items.append(Item(kind, payload))
        self.bytes += len(payload)
        if base(kind) == "frame":
            self._trim()
        self._ready.set()

    def _trim(self) -> None:
        """Over the byte cap: drop waiting frames, oldest first, but never the newest."""
        if self.bytes <= self.max_bytes:
            return
        frames = [i for i in self.items if base(i.kind) == "frame"]
        newest = {i.kind: i for i in frames}  # per side
        for old in [i for i in frames if newest[i.kind] is not i]:
            if self.bytes <= self.max_bytes:
                break
            self.items.remove(old)
            self.bytes -= len(old.payload)
            self.dropped += 1

    def clear(self) -> None:
        self.items.clear()
        self.bytes = 0

    def putback(self, item: Item) -> None:
        """An item whose send timed out (nothing was written): first in line again, unless a
        newer frame or snapshot already supersedes it."""
        if base(item.kind) == "frame" and any(
                base(i.kind) in SUPERSEDED and (i.kind == item.kind or i.kind == "snapshot"
                                                or base(i.kind) == "schema") for i in self.items):
            self.dropped += 1
            return
        self.items.appendleft(item)
        self.bytes += len(item.payload)
        self._ready.set()

    def frame_waiting(self) -> bool:
        return bool(self.items) and base(self.items[-1].kind) == "frame"

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
        item = self.items.popleft()
        self.bytes -= len(item.payload)
        return item
