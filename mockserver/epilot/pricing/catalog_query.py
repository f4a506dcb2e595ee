"""Catalog search ``q`` (Elasticsearch ``query_string`` syntax) matched against catalog entities, and
``sort``.

A thin adapter over :mod:`mockserver.epilot.query`: terms side by side are ORed (Lucene's default, as
the catalog search has always done); the match semantics are the entity search's (case-insensitive
words or whole values, dotted paths into nested objects and arrays, numbers as numbers).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, cast

from mockserver.engine.store.text import values_at

from ..query import And, MatchAll, Node, Not, Or, QueryError, Range, Term, matches, parse

CatalogQueryError = QueryError  # one error type for every search; the old name stays for callers

__all__ = ["And", "CatalogQueryError", "MatchAll", "Node", "Not", "Or", "Range", "Term", "matches",
           "parse_catalog_query", "parse_sort", "sort_entities"]


def parse_catalog_query(q: str | None) -> Node:
    """Parse a catalog ``q``; raises :class:`CatalogQueryError` naming the position and the problem."""
    if q is None:
        return MatchAll()
    if not isinstance(q, str):
        raise CatalogQueryError("the query must be a string")
    return _parse(q)


@functools.lru_cache(maxsize=512)
def _parse(q: str) -> Node:
    return parse(q, default_operator="OR")


def parse_sort(sort: str | None) -> list[tuple[str, bool]]:
    """``"description ASC, _created_at DESC"`` as ``[(field, descending), ...]``; ASC when no direction."""
    if sort is None or not sort.strip():
        return []
    keys = []
    offset = 0
    for part in sort.split(","):
        words = part.split()
        position = offset + len(part) - len(part.lstrip())
        offset += len(part) + 1
        if not words:
            raise CatalogQueryError("empty sort key", position)
        if len(words) > 2:
            raise CatalogQueryError(f"unexpected {words[2]!r} in sort key {part.strip()!r}", position)
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise CatalogQueryError(f"unknown sort direction {words[1]!r} (use ASC or DESC)", position)
        keys.append((words[0], direction == "DESC"))
    return keys


def _sort_value(entity: dict[str, Any], field: str) -> tuple[int, Any] | None:
    values = [v for v in values_at(entity, field.split(".")) if v is not None]
    if not values:
        return None
    value = values[0]
    if isinstance(value, bool):
        return (0, Decimal(int(value)))
    if isinstance(value, int | float):
        return (0, Decimal(repr(value)))
    return (1, str(value).casefold())


def sort_entities(entities: list[dict[str, Any]], keys: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """``entities`` ordered by ``keys`` from :func:`parse_sort`: case-insensitive, numbers before text,
    entities without the field last in either direction, ties in their original order."""
    ordered = list(entities)
    for field, descending in reversed(keys):
        keyed = [(_sort_value(e, field), e) for e in ordered]
        present = sorted((pair for pair in keyed if pair[0] is not None), key=lambda pair: cast(Any, pair[0]),
                         reverse=descending)
        ordered = [e for _, e in present] + [e for key, e in keyed if key is None]
    return ordered
