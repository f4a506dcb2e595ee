"""The store: one repository of state for every API. No HTTP types in here.

Two namespaces:

- **entities**: JSON documents with ``_id`` and ``_schema``, indexed by schema, id and the
  ``$relation`` attributes they carry (forward and reverse);
- **records**: other JSON documents grouped by kind (portal configs, ERP integrations, meter
  readings, events...), with an optional parent id for lookups such as "readings of meter X".

`SQLiteStore` is the embedded backend; `PostgresStore` the shared one (several replicas serving one
world). Nothing outside the store touches SQL.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]
SNAPSHOT_FORMAT = "epilot-mock-snapshot"
SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Filter:
    """``attribute op value`` on an entity's top-level attributes; op is eq, ne, in, prefix, contains,
    gt, gte, lt, lte or exists; ``text`` (attribute "*") searches title and all string values.

    Search operators work on analysed text (``store/text.py``: lower-cased words and whole values) at
    a dotted attribute path, arrays matching when any item does: ``match`` (value: a term or phrase),
    ``wildcard`` (value: a pattern with ``*``/``?``, ``\\`` escapes), ``fuzzy`` (value: ``(term,
    max_edits)``), ``range`` (value: ``(low, high, include_low, include_high)``, None for open) and
    ``present`` (a non-null value). ``match``, ``wildcard`` and ``fuzzy`` also take attribute "*":
    every string value of the entity."""

    attribute: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Query:
    schemas: tuple[str, ...] = ()
    all_of: tuple[Any, ...] = ()  # Filter, or ("or", (Filter|..., ...)) / ("and", ...) / ("not", x)
    ids: tuple[str, ...] | None = None
    sort: tuple[tuple[str, bool], ...] = (("_created_at", True),)  # (attribute, descending)
    offset: int = 0
    limit: int = 25
    count: bool = True  # False: skip counting all matches (Page.total is then -1)


@dataclass
class Page:
    items: list[Entity]
    total: int


@dataclass(frozen=True)
class Relation:
    source: str
    attribute: str
    target: str
    tags: tuple[str, ...] = field(default=())


class StoreOpenError(ValueError):
    """A store that cannot be opened (a bad location, a database that does not answer); one line."""


class Store(abc.ABC):
    shared: bool = False  # True when other processes may write the same state (a file, a database)

    # -- entities -----------------------------------------------------------------------------
    @abc.abstractmethod
    def get(self, entity_id: str) -> Entity | None: ...

    @abc.abstractmethod
    def put(self, entity: Entity) -> Entity:
        """Insert or replace an entity (``_id`` and ``_schema`` required) and index its relations."""

    @abc.abstractmethod
    def delete(self, entity_id: str) -> bool: ...

    @abc.abstractmethod
    def get_many(self, ids: list[str]) -> dict[str, Entity]:
        """The entities of ``ids`` that exist, by id."""

    @abc.abstractmethod
    def put_many(self, entities: list[Entity]) -> None: ...

    @abc.abstractmethod
    def counts_by_schema(self) -> dict[str, int]: ...

    def ensure_index(self, attribute: str) -> None:  # noqa: B027 - optional for backends
        """Make equality lookups on a top-level attribute fast (a hint; backends may ignore it)."""

    @abc.abstractmethod
    def query(self, query: Query) -> Page: ...

    @abc.abstractmethod
    def relations(self, entity_id: str, *, reverse: bool = False) -> list[Relation]:
        """Edges from ``entity_id`` (or, reverse, the edges pointing at it)."""

    @abc.abstractmethod
    def find_by(self, schema: str, attributes: dict[str, Any]) -> list[Entity]:
        """Entities of ``schema`` whose top-level attributes equal ``attributes`` (unique-id lookups)."""

    @abc.abstractmethod
    def count(self, schema: str | None = None) -> int: ...

    @abc.abstractmethod
    def schemas_of(self, ids: list[str]) -> dict[str, str]:
        """The schema of each of ``ids`` that exists (without loading the documents)."""

    @abc.abstractmethod
    def links(self, ids: list[str]) -> list[tuple[str, str]]:
        """(source, target) of every relation from or to one of ``ids``."""

    @abc.abstractmethod
    def version(self) -> Any:
        """A value that changes whenever any writer (this process or another) changes the state;
        caches of derived data key on it."""

    # -- records ------------------------------------------------------------------------------
    @abc.abstractmethod
    def record_get(self, kind: str, record_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def record_put(self, kind: str, record_id: str, doc: dict[str, Any], *, parent: str | None = None) -> None: ...

    @abc.abstractmethod
    def record_delete(self, kind: str, record_id: str) -> bool: ...

    @abc.abstractmethod
    def record_list(self, kind: str, *, parent: str | None = None, limit: int | None = None,
                    newest_first: bool = False) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def record_put_many(self, kind: str, items: list[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Many records of one kind: (id, parent, doc) each."""

    @abc.abstractmethod
    def record_count(self, kind: str) -> int: ...

    # -- metadata (what world a store holds, its organization...) -------------------------------
    @abc.abstractmethod
    def meta_get(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def meta_set(self, key: str, value: str) -> None: ...

    # -- whole state --------------------------------------------------------------------------
    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside happen or none do. Nested use is allowed."""

    @abc.abstractmethod
    def export(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def load(self, data: dict[str, Any]) -> dict[str, int]:
        """Replace the whole state with an export; returns counts. Raises ValueError on bad input."""

    @abc.abstractmethod
    def checkpoint(self) -> None:
        """Remember the current state as the one ``reset`` goes back to."""

    @abc.abstractmethod
    def reset(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def describe(self) -> str:
        """Where the state lives, for health and messages (no secrets)."""
        return "memory"

    def copy_from(self, path: str) -> None:
        """Replace the whole state with the SQLite database file at ``path`` (a world cache written
        by ``save_to``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot load a world cache")

    def save_to(self, path: str) -> None:
        """Write the whole state to a SQLite database file at ``path``, atomically."""
        raise NotImplementedError(f"{type(self).__name__} cannot write a world cache")

    def iter_schema(self, schema: str, batch: int = 500) -> Iterator[Entity]:
        offset = 0
        while True:
            page = self.query(Query(schemas=(schema,), offset=offset, limit=batch, sort=(("_created_at", False),)))
            yield from page.items
            if len(page.items) < batch:
                return
            offset += batch


def check_snapshot(data: Any) -> tuple[list[Entity], dict[str, list[dict[str, Any]]]]:
    """The entities and records of an export; ValueError (saying what is wrong) for anything else."""
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"not an {SNAPSHOT_FORMAT} document (missing 'format')")
    if data.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
    entities = data.get("entities")
    records = data.get("records") or {}
    if not isinstance(entities, list) or not isinstance(records, dict):
        raise ValueError("'entities' must be a list and 'records' an object")
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict) or not isinstance(entity.get("_id"), str) \
                or not isinstance(entity.get("_schema"), str):
            raise ValueError(f"entities[{i}] needs a string _id and _schema")
    for kind, items in records.items():
        if not isinstance(items, list) or not all(
                isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("doc"), dict)
                for r in items):
            raise ValueError(f"records['{kind}'] must be a list of {{id, parent, doc}}")
    return entities, records


def relation_items(value: Any) -> list[dict[str, Any]]:
    """The items of a ``{"$relation": [...]}`` attribute value (empty for anything else)."""
    if isinstance(value, dict):
        items = value.get("$relation")
        if isinstance(items, list):
            return [i for i in items if isinstance(i, dict) and isinstance(i.get("entity_id"), str)]
    return []


def iter_relations(entity: Entity) -> Iterator[Relation]:
    source = entity.get("_id")
    if not isinstance(source, str):
        return
    for attribute, value in entity.items():
        for item in relation_items(value):
            tags = item.get("_tags") or ()
            yield Relation(source, attribute, item["entity_id"], tuple(t for t in tags if isinstance(t, str)))
