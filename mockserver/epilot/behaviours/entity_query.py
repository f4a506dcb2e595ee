"""Entity search ``q`` (Elasticsearch ``query_string`` syntax) as store clauses, and ``sort``.

A thin adapter over :mod:`mockserver.epilot.query`: terms side by side are ANDed (as the entity
search has always done), and top-level ``_schema:x`` terms select schemas.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from mockserver.engine.store.base import Filter

from ..query import And, Node, Or, QueryError, Term, parse, to_clause

__all__ = ["QueryError", "parse_query", "parse_sort", "parse_tree"]


@functools.lru_cache(maxsize=512)
def parse_tree(q: str) -> Node:
    """The shared tree of an entity search ``q`` (adjacent terms ANDed)."""
    return parse(q, default_operator="AND")


def parse_query(q: str | None) -> tuple[tuple[str, ...], Any]:
    """``(schemas, clause)``: the ``_schema:`` terms found at the top level, and the rest as a clause."""
    if q is None or (isinstance(q, str) and (not q.strip() or q.strip() == "*")):
        return (), None
    if not isinstance(q, str):
        raise QueryError("the query must be a string")
    return _parse_query(q)


@functools.lru_cache(maxsize=512)
def _parse_query(q: str) -> tuple[tuple[str, ...], Any]:
    node = parse_tree(q)
    schemas: list[str] = []

    def schema_of(n: Node) -> str | None:
        if isinstance(n, Term) and n.field == "_schema" and not (n.exists or n.prefix or n.wildcard or n.fuzzy):
            return n.value
        return None

    def pull(n: Node) -> Node | None:
        if schema_of(n) is not None:
            schemas.append(str(schema_of(n)))
            return None
        if isinstance(n, And):
            rest = [p for p in (pull(c) for c in n.children) if p is not None]
            return None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
        if isinstance(n, Or) and all(schema_of(c) is not None for c in n.children):
            schemas.extend(str(schema_of(c)) for c in n.children)
            return None
        return n

    rest = pull(node)
    clause: Filter | tuple[Any, ...] | None = to_clause(rest) if rest is not None else None
    return tuple(schemas), clause


def parse_sort(sort: Any) -> tuple[tuple[str, bool], ...]:
    """``"_created_at:desc"``, ``"name ASC"``, ``"-_updated_at"`` or a list of these."""
    if sort is None or sort == "":
        return (("_created_at", True),)
    items = sort if isinstance(sort, list) else str(sort).split(",")
    out = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        desc = False
        if item.startswith("-"):
            item, desc = item[1:], True
        m = re.fullmatch(r"([A-Za-z0-9_.$@-]+)(?:[:\s]+(asc|desc))?", item, flags=re.IGNORECASE)
        if not m:
            raise QueryError(f"malformed sort '{item}' (expected 'field' or 'field:asc|desc')")
        field, direction = m.groups()
        if direction:
            desc = direction.lower() == "desc"
        out.append((field.removesuffix(".keyword"), desc))
    return tuple(out) or (("_created_at", True),)
