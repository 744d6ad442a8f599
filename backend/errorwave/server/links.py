"""Short links: configurations stored in SQLite, content-addressed, behind unguessable ids.

The same content (canonical JSON: sorted keys, no spaces) always gets the same id, found
by its sha256; a new content gets `secrets.token_urlsafe(12)` (96 random bits), so ids
reveal nothing and cannot be enumerated. Ids are matched in full against a strict
pattern before any lookup. The database runs in WAL mode with a busy timeout, so
concurrent requests and restarts lose nothing.

Links expire: one not used (opened, or posted again) for `ttl_s` (400 days by default)
is deleted by `sweep`. The store is capped in rows and bytes; when it is full, expired
links go first, then links never opened since they were created and older than
`unused_s` (oldest first); links in use are never evicted, and only then is the store
full (507).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LINK_ID = re.compile(r"[A-Za-z0-9_-]{16}")  # always `fullmatch`: `$` would accept "...\n"
DAY = 86400.0


def is_link_id(text: str) -> bool:
    return LINK_ID.fullmatch(text) is not None


class StoreFull(RuntimeError):
    pass


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


class LinkStore:
    def __init__(self, folder: str | Path, max_links: int, max_bytes: int,
                 ttl_s: float = 400 * DAY, unused_s: float = 7 * DAY,
                 clock: Callable[[], float] = time.time):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "links.sqlite3"
        self.max_links = max_links
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.unused_s = unused_s
        self.clock = clock
        # a read refreshes `last_used` only when it is this stale (reads stay reads)
        self.touch_s = min(3600.0, ttl_s / 10)
        self._local = threading.local()
        con = self._con()
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY, sha256 TEXT UNIQUE "
                    "NOT NULL, body TEXT NOT NULL, size INTEGER NOT NULL, created REAL NOT NULL)")
        columns = {row[1] for row in con.execute("PRAGMA table_info(links)")}
        if "last_used" not in columns:  # a store from before expiry: every link counts as new
            con.execute("ALTER TABLE links ADD COLUMN last_used REAL")
            con.execute("ALTER TABLE links ADD COLUMN opened INTEGER NOT NULL DEFAULT 0")
            con.execute("UPDATE links SET last_used = ? WHERE last_used IS NULL", (self.clock(),))
        con.execute("CREATE INDEX IF NOT EXISTS links_last_used ON links (last_used)")

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            con.execute("PRAGMA busy_timeout=10000")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    def put(self, doc: dict[str, Any] | str) -> tuple[str, bool]:
        """The id for this content (a dict, or its canonical text), and whether it was new."""
        body = doc if isinstance(doc, str) else canonical(doc)
        data = body.encode()
        digest = hashlib.sha256(data).hexdigest()
        now = self.clock()
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            row = con.execute("SELECT id FROM links WHERE sha256 = ?", (digest,)).fetchone()
            if row is not None:
                con.execute("UPDATE links SET last_used = ? WHERE id = ?", (now, row[0]))
                con.execute("COMMIT")
                return row[0], False
            self._make_room(con, len(data), now)
            while True:
                link_id = secrets.token_urlsafe(12)
                if con.execute("SELECT 1 FROM links WHERE id = ?", (link_id,)).fetchone() is None:
                    break
            con.execute("INSERT INTO links (id, sha256, body, size, created, last_used, opened) "
                        "VALUES (?,?,?,?,?,?,0)", (link_id, digest, body, len(data), now, now))
            con.execute("COMMIT")
            return link_id, True
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _full(self, con: sqlite3.Connection, size: int) -> bool:
        count, total = con.execute("SELECT count(*), total(size) FROM links").fetchone()
        return count >= self.max_links or total + size > self.max_bytes

    def _make_room(self, con: sqlite3.Connection, size: int, now: float) -> None:
        if not self._full(con, size):
            return
        con.execute("DELETE FROM links WHERE last_used < ?", (now - self.ttl_s,))
        while self._full(con, size):
            row = con.execute("SELECT id FROM links WHERE opened = 0 AND created < ? "
                              "ORDER BY created LIMIT 1", (now - self.unused_s,)).fetchone()
            if row is None:
                raise StoreFull("the link store is full; try again later")
            con.execute("DELETE FROM links WHERE id = ?", (row[0],))

    def get(self, link_id: str) -> tuple[str, float] | None:
        """The stored canonical text and its creation time; marks the link as used."""
        con = self._con()
        row = con.execute("SELECT body, created, last_used, opened FROM links WHERE id = ?",
                          (link_id,)).fetchone()
        if row is None:
            return None
        now = self.clock()
        if row[2] < now - self.ttl_s:
            return None  # expired, not swept yet
        if row[3] == 0 or row[2] < now - self.touch_s:
            con.execute("UPDATE links SET last_used = ?, opened = opened + 1 WHERE id = ?",
                        (now, link_id))
        return row[0], row[1]

    def get_doc(self, link_id: str) -> dict[str, Any] | None:
        found = self.get(link_id)
        if found is None:
            return None
        doc = json.loads(found[0])
        doc["created"] = found[1]
        return doc

    def sweep(self) -> int:
        """Delete the links unused for `ttl_s`; how many went."""
        cur = self._con().execute("DELETE FROM links WHERE last_used < ?",
                                  (self.clock() - self.ttl_s,))
        return cur.rowcount


class RateLimiter:
    """Per-client token buckets (e.g. link creations per minute)."""

    def __init__(self, per_minute: float, burst: float | None = None):
        self.rate = per_minute / 60.0
        self.burst = burst if burst is not None else max(1.0, per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if len(self.buckets) > 10_000:  # forget clients whose buckets are full again
                full = now - self.burst / max(self.rate, 1e-9)
                self.buckets = {k: v for k, v in self.buckets.items() if v[1] > full}
            tokens, stamp = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            ok = tokens >= 1
            self.buckets[key] = (tokens - 1 if ok else tokens, now)
            return ok
