"""The embedded store: short links and class records in one SQLite file in the data
folder. WAL mode with a busy timeout, so concurrent requests and restarts lose nothing;
writers serialise on `BEGIN IMMEDIATE`."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from errorwave.server.stores.sql import SQLStore


class SQLiteStore(SQLStore):
    total_size = "total(size)"
    upsert_class = ("INSERT OR REPLACE INTO classes (code, server, title, created, closed) "
                    "VALUES (?,?,?,?,NULL)")

    def __init__(self, folder: str | Path, **limits: Any):
        super().__init__(**limits)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "links.sqlite3"
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
        con.execute("CREATE TABLE IF NOT EXISTS classes (code TEXT PRIMARY KEY, server TEXT NOT NULL, "
                    "title TEXT NOT NULL, created REAL NOT NULL, closed REAL)")

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            con.execute("PRAGMA busy_timeout=10000")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._con().execute(sql, params)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
