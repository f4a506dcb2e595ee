"""What both store backends need to filter and search entities the same way: the base columns,
safe attribute names, the equality term index (``terms``) and the analysed-text search operators,
decided row by row with `text.py`'s matchers (SQLite calls them as SQL functions, PostgreSQL after
its SQL has narrowed the rows)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..jsontext import dumps, loads
from . import text
from .base import Entity, Filter

value_key = text.value_key

COLUMNS = {"_id": "id", "_schema": "schema", "_title": "title", "_created_at": "created_at",
           "_updated_at": "updated_at"}
SAFE_ATTR = re.compile(r"^[A-Za-z0-9_$@.\-]+$")
TERM_MAX_LENGTH = 512


def filters(clauses: Any) -> Iterator[Filter]:
    for clause in clauses:
        if isinstance(clause, Filter):
            yield clause
        elif clause[0] == "not":
            yield from filters([clause[1]])
        else:
            yield from filters(clause[1])


def term_eligible(f: Filter) -> bool:
    return (f.op == "eq" and isinstance(f.value, str) and f.attribute not in COLUMNS and f.attribute != "*"
            and len(f.value) <= TERM_MAX_LENGTH and bool(SAFE_ATTR.match(f.attribute)))


def string_terms(entity: Entity, attribute: str) -> set[str]:
    """The strings an equality on ``attribute`` matches: the value, or items of a multi-value attribute
    (and the value key inside object items, e.g. ``email[].email``), as SQLite's json_each sees them."""
    value = entity.get(attribute)
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
    key = value_key(attribute)
    out = set()
    for item in items:
        if isinstance(item, dict):
            item = item.get(key)
        if isinstance(item, str) and len(item) <= TERM_MAX_LENGTH:
            out.add(item)
    return out


SEARCH_OPS = ("match", "wildcard", "fuzzy", "range", "present")


def token_indexed(f: Filter) -> bool:
    return f.op in ("match", "wildcard", "fuzzy") and f.attribute != "*" and bool(SAFE_ATTR.match(f.attribute))


def like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def literal_hint(f: Filter) -> str | None:
    """A word that every match's document text contains (for a LIKE pre-filter), if there is one."""
    if f.op == "match":
        found = text.words(str(f.value))
        return max(found, key=len) if found else None
    if f.op == "wildcard":
        found = text.words(text.wildcard_prefix(str(f.value)))
        return found[0] if len(found) == 1 and text.wildcard_prefix(str(f.value)) == found[0] else None
    return None


def values_at_path(value_json: str, path: str) -> list[Any]:
    """The values at a dotted ``path`` given the JSON of its first attribute (``doc -> '$."first"'``)."""
    parts = path.split(".")
    return text.values_at({parts[0]: loads(value_json)}, parts)


def qmatch(value_json: str | None, path: str, op: str, spec_json: str) -> int:
    if value_json is None:
        return 0
    spec = loads(spec_json)
    values: Any = text.strings(loads(value_json)) if path == "*" else values_at_path(value_json, path)
    if op == "present":
        return int(any(v is not None for v in values))
    if op == "match":
        return int(any(text.match_term(spec, v) for v in values))
    if op == "wildcard":
        return int(any(text.match_wildcard(spec, v) for v in values))
    if op == "fuzzy":
        return int(any(text.match_fuzzy(spec[0], spec[1], v) for v in values))
    if op == "range":
        low, high, include_low, include_high = spec
        return int(any(text.in_range(low, high, include_low, include_high, v) for v in values))
    return 0


def qtokens(value_json: str | None, path: str) -> str:
    if value_json is None:
        return "[]"
    values = values_at_path(value_json, path)
    return dumps(sorted({t for v in values for t in text.tokens(v)})).decode()


def tokens_at(entity: Entity, attribute: str) -> set[str]:
    return {t for v in text.values_at(entity, attribute.split(".")) for t in text.tokens(v)}
