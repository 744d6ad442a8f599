"""The embedded store: short links (links.LinkStore) and class records in one SQLite file."""

from __future__ import annotations

from typing import Any

from errorwave.server.links import LinkStore


class SQLiteStore(LinkStore):
    def __init__(self, folder: Any, **kwargs: Any):
        super().__init__(folder, **kwargs)
        self._con().execute("CREATE TABLE IF NOT EXISTS classes (code TEXT PRIMARY KEY, "
                            "server TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, "
                            "closed REAL)")

    def open_class(self, code: str, server: str, title: str) -> None:
        self._con().execute("INSERT OR REPLACE INTO classes (code, server, title, created, closed) "
                            "VALUES (?,?,?,?,NULL)", (code, server, title, self.clock()))

    def close_class(self, code: str) -> None:
        self._con().execute("UPDATE classes SET closed = ? WHERE code = ?", (self.clock(), code))

    def find_class(self, code: str) -> dict[str, Any] | None:
        row = self._con().execute("SELECT server, title, created, closed FROM classes WHERE "
                                  "code = ?", (code,)).fetchone()
        if row is None:
            return None
        return {"code": code, "server": row[0], "title": row[1], "created": row[2],
                "closed": row[3]}

    def sweep(self) -> int:
        """Expired links (their count), and class records closed a day ago."""
        self._con().execute("DELETE FROM classes WHERE closed < ?", (self.clock() - 86400.0,))
        return super().sweep()
