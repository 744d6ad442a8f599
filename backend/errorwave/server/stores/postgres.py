"""Short links and class records in PostgreSQL, shared by every server of a department.

The same logic as the SQLite store (stores/sql.py holds it once). Writers serialise on a
transaction-scoped advisory lock, as SQLite's `BEGIN IMMEDIATE` does, so two servers never
evict or count past each other. One connection per thread (the routes call the store
through `asyncio.to_thread`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from errorwave.server.stores.sql import SQLStore

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


class PostgresStore(SQLStore):
    placeholder = "%s"
    upsert_class = (
        "INSERT INTO classes (code, server, title, created, closed) VALUES (?,?,?,?,NULL) "
        "ON CONFLICT (code) DO UPDATE SET server = EXCLUDED.server, title = EXCLUDED.title, "
        "closed = NULL")

    def __init__(self, url: str, **limits: Any):
        super().__init__(**limits)
        self.url = url
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

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._con().execute(sql, params)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        con = self._con()
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield
