"""Short links: configurations stored in SQLite, content-addressed, behind unguessable ids.

The same content (canonical JSON: sorted keys, no spaces) always gets the same id, found
by its sha256; a new content gets `secrets.token_urlsafe(12)` (96 random bits), so ids
reveal nothing and cannot be enumerated. Ids are matched against a strict pattern before
any lookup. The store is capped in rows and bytes; the database runs in WAL mode with a
busy timeout, so concurrent requests and restarts lose nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

LINK_ID = r"^[A-Za-z0-9_-]{16}$"


class StoreFull(RuntimeError):
    pass


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


class LinkStore:
    def __init__(self, folder: str | Path, max_links: int, max_bytes: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "links.sqlite3"
        self.max_links = max_links
        self.max_bytes = max_bytes
        self._local = threading.local()
        con = self._con()
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY, sha256 TEXT UNIQUE "
                    "NOT NULL, body TEXT NOT NULL, size INTEGER NOT NULL, created REAL NOT NULL)")

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            con.execute("PRAGMA busy_timeout=10000")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    def put(self, doc: dict[str, Any]) -> tuple[str, bool]:
        """The id for this content, and whether it was new."""
        body = canonical(doc)
        digest = hashlib.sha256(body.encode()).hexdigest()
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            row = con.execute("SELECT id FROM links WHERE sha256 = ?", (digest,)).fetchone()
            if row is not None:
                con.execute("COMMIT")
                return row[0], False
            count, total = con.execute("SELECT count(*), total(size) FROM links").fetchone()
            if count >= self.max_links or total + len(body) > self.max_bytes:
                raise StoreFull("the link store is full")
            while True:
                link_id = secrets.token_urlsafe(12)
                if con.execute("SELECT 1 FROM links WHERE id = ?", (link_id,)).fetchone() is None:
                    break
            con.execute("INSERT INTO links (id, sha256, body, size, created) VALUES (?,?,?,?,?)",
                        (link_id, digest, body, len(body), time.time()))
            con.execute("COMMIT")
            return link_id, True
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def get(self, link_id: str) -> dict[str, Any] | None:
        row = self._con().execute("SELECT body, created FROM links WHERE id = ?",
                                  (link_id,)).fetchone()
        if row is None:
            return None
        doc = json.loads(row[0])
        doc["created"] = row[1]
        return doc


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
