"""The one store of an app, behind the `Store` interface (`base.py`); `open_store` picks the backend."""

from __future__ import annotations

from .base import Store


def open_store(location: str | None) -> Store:
    """The store at ``location``: None for memory, or a SQLite file path."""
    from .sqlite import SQLiteStore

    return SQLiteStore(location)


__all__ = ["Store", "open_store"]
