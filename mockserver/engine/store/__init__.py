"""The one store of an app, behind the `Store` interface (`base.py`); `open_store` picks the backend."""

from __future__ import annotations

from .base import Store, StoreOpenError


def open_store(location: str | None) -> Store:
    """The store at ``location``: None for memory, a ``postgresql://`` URL for PostgreSQL (shared by
    every process that opens it), or a SQLite file path."""
    from .postgres import PostgresStore, is_postgres_url

    if is_postgres_url(location):
        assert location is not None
        return PostgresStore(location)
    import sqlite3

    from .sqlite import SQLiteStore

    try:
        return SQLiteStore(location)
    except sqlite3.Error as exc:
        raise StoreOpenError(f"{location}: {exc}") from None


__all__ = ["Store", "StoreOpenError", "open_store"]
