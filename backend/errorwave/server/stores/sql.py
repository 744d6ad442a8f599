"""The link and class-record logic both stores share, written once in SQL; a backend
(SQLite, PostgreSQL) supplies its connection, its write transaction and the few phrases
its dialect spells differently.

Links are content-addressed (sha256 of the canonical text) behind unguessable ids
(`secrets.token_urlsafe(12)`, 96 random bits). A link not used (opened, or posted again)
for `ttl_s` expires and is deleted by `sweep`. The store is capped in rows and bytes;
when it is full, expired links go first, then links never opened and older than
`unused_s` (oldest first); links in use are never evicted, and only then is the store
full (507).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from errorwave.server.links import DAY, StoreFull, canonical


class SQLStore(ABC):
    # The SQL below is written with `?` parameters; a dialect with another style says so.
    placeholder: ClassVar[str] = "?"
    # sum(size) over no rows: 0, not NULL
    total_size: ClassVar[str] = "coalesce(sum(size), 0)"
    upsert_class: ClassVar[str]

    def __init__(self, max_links: int, max_bytes: int, ttl_s: float = 400 * DAY,
                 unused_s: float = 7 * DAY, clock: Callable[[], float] = time.time):
        self.max_links = max_links
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.unused_s = unused_s
        self.clock = clock
        # a read refreshes `last_used` only when it is this stale (reads stay reads)
        self.touch_s = min(3600.0, ttl_s / 10)

    # ----- what a backend supplies ---------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """Run one statement on this thread's connection; a cursor."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[None]:
        """A transaction that serialises writers (so none counts or evicts past another)."""

    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return self._execute(sql, params)

    # ----- links ------------------------------------------------------------------------------
    def put(self, doc: dict[str, Any] | str) -> tuple[str, bool]:
        """The id for this content (a dict, or its canonical text), and whether it was new."""
        body = doc if isinstance(doc, str) else canonical(doc)
        data = body.encode()
        digest = hashlib.sha256(data).hexdigest()
        now = self.clock()
        with self._writing():
            row = self._q("SELECT id FROM links WHERE sha256 = ?", (digest,)).fetchone()
            if row is not None:
                self._q("UPDATE links SET last_used = ? WHERE id = ?", (now, row[0]))
                return row[0], False
            self._make_room(len(data), now)
            while True:
                link_id = secrets.token_urlsafe(12)
                if self._q("SELECT 1 FROM links WHERE id = ?", (link_id,)).fetchone() is None:
                    break
            self._q("INSERT INTO links (id, sha256, body, size, created, last_used, opened) "
                    "VALUES (?,?,?,?,?,?,0)", (link_id, digest, body, len(data), now, now))
            return link_id, True

    def _full(self, size: int) -> bool:
        count, total = self._q(f"SELECT count(*), {self.total_size} FROM links").fetchone()
        return count >= self.max_links or total + size > self.max_bytes

    def _make_room(self, size: int, now: float) -> None:
        if not self._full(size):
            return
        self._q("DELETE FROM links WHERE last_used < ?", (now - self.ttl_s,))
        while self._full(size):
            row = self._q("SELECT id FROM links WHERE opened = 0 AND created < ? "
                          "ORDER BY created LIMIT 1", (now - self.unused_s,)).fetchone()
            if row is None:
                raise StoreFull("the link store is full; try again later")
            self._q("DELETE FROM links WHERE id = ?", (row[0],))

    def get(self, link_id: str) -> tuple[str, float] | None:
        """The stored canonical text and its creation time; marks the link as used."""
        row = self._q("SELECT body, created, last_used, opened FROM links WHERE id = ?",
                      (link_id,)).fetchone()
        if row is None:
            return None
        now = self.clock()
        if row[2] < now - self.ttl_s:
            return None  # expired, not swept yet
        if row[3] == 0 or row[2] < now - self.touch_s:
            self._q("UPDATE links SET last_used = ?, opened = opened + 1 WHERE id = ?", (now, link_id))
        return row[0], row[1]

    def get_doc(self, link_id: str) -> dict[str, Any] | None:
        found = self.get(link_id)
        if found is None:
            return None
        doc: dict[str, Any] = json.loads(found[0])
        doc["created"] = found[1]
        return doc

    def sweep(self) -> int:
        """Delete the links unused for `ttl_s` (how many went) and class records closed a
        day ago."""
        now = self.clock()
        self._q("DELETE FROM classes WHERE closed < ?", (now - DAY,))
        return int(self._q("DELETE FROM links WHERE last_used < ?", (now - self.ttl_s,)).rowcount)

    # ----- classes (which server holds a shared session) ------------------------------------
    def open_class(self, code: str, server: str, title: str) -> None:
        self._q(self.upsert_class, (code, server, title, self.clock()))

    def close_class(self, code: str) -> None:
        self._q("UPDATE classes SET closed = ? WHERE code = ?", (self.clock(), code))

    def find_class(self, code: str) -> dict[str, Any] | None:
        row = self._q("SELECT server, title, created, closed FROM classes WHERE code = ?",
                      (code,)).fetchone()
        if row is None:
            return None
        return {"code": code, "server": row[0], "title": row[1], "created": row[2], "closed": row[3]}

