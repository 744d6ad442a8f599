"""Short links and class records in PostgreSQL, shared by every server of a department.

The same rules as the SQLite store (links.py): content-addressed (sha256 of the canonical
text), unguessable ids, expiry after `ttl_s` unused, eviction of expired then never-opened
links when full, 507 past that. Writers serialise on a transaction-scoped advisory lock, as
SQLite's `BEGIN IMMEDIATE` does, so two servers never evict or count past each other. One
connection per thread (the routes call the store through `asyncio.to_thread`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from errorwave.server.links import DAY, StoreFull, canonical

SCHEMA_LOCK = 0x45570001  # advisory lock ids ("EW")
WRITE_LOCK = 0x45570002
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY, sha256 TEXT UNIQUE NOT NULL, "
    "body TEXT NOT NULL, size INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL, "
    "last_used DOUBLE PRECISION NOT NULL, opened INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS links_last_used ON links (last_used)",
    "CREATE TABLE IF NOT EXISTS classes (code TEXT PRIMARY KEY, server TEXT NOT NULL, "
    "title TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, closed DOUBLE PRECISION)",
)


class PostgresStore:
    def __init__(self, url: str, max_links: int, max_bytes: int, ttl_s: float = 400 * DAY,
                 unused_s: float = 7 * DAY, clock: Callable[[], float] = time.time):
        self.url = url
        self.max_links = max_links
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.unused_s = unused_s
        self.clock = clock
        self.touch_s = min(3600.0, ttl_s / 10)
        self._local = threading.local()
        with self._con().transaction():
            con = self._con()
            con.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in SCHEMA:
                con.execute(statement)

    def _con(self) -> psycopg.Connection[Any]:
        con: psycopg.Connection[Any] | None = getattr(self._local, "con", None)
        if con is None or con.closed:
            con = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            self._local.con = con
        return con

    # ----- links --------------------------------------------------------------------------
    def put(self, doc: dict[str, Any] | str) -> tuple[str, bool]:
        body = doc if isinstance(doc, str) else canonical(doc)
        data = body.encode()
        digest = hashlib.sha256(data).hexdigest()
        now = self.clock()
        con = self._con()
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            row = con.execute("SELECT id FROM links WHERE sha256 = %s", (digest,)).fetchone()
            if row is not None:
                con.execute("UPDATE links SET last_used = %s WHERE id = %s", (now, row[0]))
                return row[0], False
            self._make_room(con, len(data), now)
            while True:
                link_id = secrets.token_urlsafe(12)
                if con.execute("SELECT 1 FROM links WHERE id = %s", (link_id,)).fetchone() is None:
                    break
            con.execute("INSERT INTO links (id, sha256, body, size, created, last_used, opened) "
                        "VALUES (%s,%s,%s,%s,%s,%s,0)",
                        (link_id, digest, body, len(data), now, now))
            return link_id, True

    def _full(self, con: psycopg.Connection[Any], size: int) -> bool:
        row = con.execute("SELECT count(*), coalesce(sum(size), 0) FROM links").fetchone()
        assert row is not None
        return row[0] >= self.max_links or row[1] + size > self.max_bytes

    def _make_room(self, con: psycopg.Connection[Any], size: int, now: float) -> None:
        if not self._full(con, size):
            return
        con.execute("DELETE FROM links WHERE last_used < %s", (now - self.ttl_s,))
        while self._full(con, size):
            row = con.execute("SELECT id FROM links WHERE opened = 0 AND created < %s "
                              "ORDER BY created LIMIT 1", (now - self.unused_s,)).fetchone()
            if row is None:
                raise StoreFull("the link store is full; try again later")
            con.execute("DELETE FROM links WHERE id = %s", (row[0],))

    def get(self, link_id: str) -> tuple[str, float] | None:
        con = self._con()
        row = con.execute("SELECT body, created, last_used, opened FROM links WHERE id = %s",
                          (link_id,)).fetchone()
        if row is None:
            return None
        now = self.clock()
        if row[2] < now - self.ttl_s:
            return None  # expired, not swept yet
        if row[3] == 0 or row[2] < now - self.touch_s:
            con.execute("UPDATE links SET last_used = %s, opened = opened + 1 WHERE id = %s",
                        (now, link_id))
        return row[0], row[1]

    def get_doc(self, link_id: str) -> dict[str, Any] | None:
        found = self.get(link_id)
        if found is None:
            return None
        doc: dict[str, Any] = json.loads(found[0])
        doc["created"] = found[1]
        return doc

    def sweep(self) -> int:
        con = self._con()
        now = self.clock()
        con.execute("DELETE FROM classes WHERE closed < %s", (now - 86400.0,))
        return con.execute("DELETE FROM links WHERE last_used < %s", (now - self.ttl_s,)).rowcount

    # ----- classes ------------------------------------------------------------------------
    def open_class(self, code: str, server: str, title: str) -> None:
        self._con().execute(
            "INSERT INTO classes (code, server, title, created, closed) VALUES (%s,%s,%s,%s,NULL) "
            "ON CONFLICT (code) DO UPDATE SET server = EXCLUDED.server, title = EXCLUDED.title, "
            "closed = NULL", (code, server, title, self.clock()))

    def close_class(self, code: str) -> None:
        self._con().execute("UPDATE classes SET closed = %s WHERE code = %s", (self.clock(), code))

    def find_class(self, code: str) -> dict[str, Any] | None:
        row = self._con().execute("SELECT server, title, created, closed FROM classes WHERE "
                                  "code = %s", (code,)).fetchone()
        if row is None:
            return None
        return {"code": code, "server": row[0], "title": row[1], "created": row[2],
                "closed": row[3]}
