"""The shared tree answered two ways, with the same text semantics (``mockserver/engine/store/text.py``):
in memory on one document (catalog search) and as the store's filter clauses (entity search)."""

from __future__ import annotations

from typing import Any

from mockserver.engine.store import text
from mockserver.engine.store.base import Filter

from .nodes import And, MatchAll, Node, Not, Or, Range, Term


def matches(node: Node, document: dict[str, Any]) -> bool:
    """Whether ``document`` satisfies ``node``."""
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, And):
        return all(matches(child, document) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, document) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, document)
    values: Any
    if isinstance(node, Range):
        values = text.values_at(document, node.field.split("."))
        return any(text.in_range(node.low, node.high, node.include_low, node.include_high, v) for v in values)
    values = text.strings(document) if node.field is None else text.values_at(document, node.field.split("."))
    if node.exists:
        return any(text.present(v) for v in values)
    if node.wildcard or node.prefix:
        pattern = _pattern_of(node)
        return any(text.match_wildcard(pattern, v) for v in values)
    if node.fuzzy is not None:
        return any(text.match_fuzzy(node.value, node.fuzzy, v) for v in values)
    return any(text.match_term(node.value, v) for v in values)


def _pattern_of(term: Term) -> str:
    if term.wildcard:
        return term.value
    return "".join("\\" + c if c in "\\*?" else c for c in term.value) + "*"


def to_clause(node: Node) -> Any:
    """``node`` as a store clause (a :class:`Filter` or ``("and"|"or", parts)`` / ``("not", part)``); long
    AND/OR lists become balanced trees, so the SQL stays far from SQLite's expression depth limit."""
    if isinstance(node, MatchAll):
        return ("and", ())
    if isinstance(node, And | Or):
        return _balanced("and" if isinstance(node, And) else "or", [to_clause(c) for c in node.children])
    if isinstance(node, Not):
        return ("not", to_clause(node.child))
    if isinstance(node, Range):
        return Filter(node.field, "range", (node.low, node.high, node.include_low, node.include_high))
    attribute = node.field or "*"
    if node.exists:
        return Filter(attribute, "present")
    if node.wildcard or node.prefix:
        return Filter(attribute, "wildcard", _pattern_of(node))
    if node.fuzzy is not None:
        return Filter(attribute, "fuzzy", (node.value, node.fuzzy))
    return Filter(attribute, "match", node.value)


def _balanced(kind: str, parts: list[Any]) -> Any:
    if len(parts) <= 4:
        return (kind, tuple(parts))
    middle = len(parts) // 2
    return (kind, (_balanced(kind, parts[:middle]), _balanced(kind, parts[middle:])))
