"""Where short links and class codes live: SQLite in the data folder (one server, the
default), or PostgreSQL when `ERRORWAVE_DATABASE_URL` is a postgresql:// URL (several
servers behind one proxy share links and know which server holds which class).

Both stores share one implementation of their logic (`sql.SQLStore`: links with their
expiry and eviction rules, and the class records) and differ only in connection,
write transaction and dialect.
"""

from __future__ import annotations

from typing import Any, Protocol

from errorwave.server.limits import Settings
from errorwave.server.links import DAY


class Store(Protocol):
    def put(self, doc: dict[str, Any] | str) -> tuple[str, bool]: ...
    def get(self, link_id: str) -> tuple[str, float] | None: ...
    def get_doc(self, link_id: str) -> dict[str, Any] | None: ...
    def sweep(self) -> int: ...
    def open_class(self, code: str, server: str, title: str) -> None: ...
    def close_class(self, code: str) -> None: ...
    def find_class(self, code: str) -> dict[str, Any] | None: ...


def open_store(settings: Settings) -> Store:
    """The store the settings name (PostgreSQL for a postgresql:// URL, else SQLite)."""
    args: dict[str, Any] = {"max_links": settings.max_links,
                            "max_bytes": settings.max_link_store_bytes,
                            "ttl_s": settings.link_ttl_days * DAY,
                            "unused_s": settings.link_unused_days * DAY}
    url = settings.database_url.strip()
    if url.startswith(("postgresql://", "postgres://")):
        from errorwave.server.stores.postgres import PostgresStore

        return PostgresStore(url, **args)
    if url:
        raise ValueError("ERRORWAVE_DATABASE_URL must be a postgresql:// URL (or empty for "
                         "SQLite in the data folder)")
    from errorwave.server.stores.sqlite import SQLiteStore

    return SQLiteStore(settings.data_dir, **args)
