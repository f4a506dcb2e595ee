"""Entity search queries (the Lucene-like ``q`` of epilot's entity search) as store clauses.

Supported: ``field:value``, ``field:"a phrase"``, ``field:pre*``, ``field:(a OR b)``, ``field:[a TO b]``,
``_exists_:field``, ``AND`` / ``OR`` / ``NOT`` (AND binds tighter than OR, adjacent terms are ANDed),
parentheses, ``*`` for everything, and bare words (full-text on title and values). ``.keyword``
suffixes are accepted and ignored. ``_schema:x`` selects schemas.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from mockserver.engine.store.base import Filter

_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|(\[[^\]]*\])|([^\s()"\[\]]+))')


class QueryError(ValueError):
    pass


def _tokens(q: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(q):
        if q[pos:].strip() == "":
            break
        m = _TOKEN.match(q, pos)
        if not m or m.end() == pos:
            raise QueryError(f"unexpected character {q[pos:].strip()[:1]!r} at position {pos}")
        start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
        if m.group(1):
            out.append(("(", "(", start))
        elif m.group(2):
            out.append((")", ")", start))
        elif m.group(3):
            out.append(("phrase", m.group(3)[1:-1].replace('\\"', '"'), start))
        elif m.group(4):
            out.append(("range", m.group(4), start))
        else:
            word = m.group(5)
            if word.count('"') % 2:
                raise QueryError(f"unterminated quote at position {start}")
            out.append(("op" if word in ("AND", "OR", "NOT", "&&", "||") else "word", word, start))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, q: str) -> None:
        self.q = q
        self.toks = _tokens(q)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise QueryError("query ends unexpectedly")
        self.i += 1
        return tok

    def parse(self) -> Any:
        if not self.toks:
            return None
        node = self.expr()
        if self.peek() is not None:
            tok = self.peek()
            raise QueryError(f"unexpected {tok[1]!r} at position {tok[2]}")  # type: ignore[index]
        return node

    def expr(self) -> Any:
        parts = [self.term()]
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in ("OR", "||"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else ("or", tuple(parts))

    def term(self) -> Any:
        parts = [self.factor()]
        while (tok := self.peek()) and tok[0] != ")" and not (tok[0] == "op" and tok[1] in ("OR", "||")):
            if tok[0] == "op" and tok[1] in ("AND", "&&"):
                self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else ("and", tuple(parts))

    def factor(self) -> Any:
        tok = self.take()
        if tok[0] == "op" and tok[1] == "NOT":
            return ("not", self.factor())
        if tok[0] == "op":
            raise QueryError(f"operator {tok[1]} at position {tok[2]} needs a term before it")
        if tok[0] == "(":
            node = self.expr()
            close = self.take()
            if close[0] != ")":
                raise QueryError(f"unbalanced parenthesis at position {tok[2]}")
            return node
        if tok[0] == ")":
            raise QueryError(f"unbalanced parenthesis at position {tok[2]}")
        if tok[0] == "phrase":
            return Filter("*", "contains", tok[1])
        word = tok[1]
        if ":" in word and not word.startswith(":"):
            field, _, value = word.partition(":")
            field = field.removesuffix(".keyword")
            if value == "":
                nxt = self.take()
                if nxt[0] == "(":
                    values = []
                    while (inner := self.take())[0] != ")":
                        if inner[0] == "op":
                            continue
                        values.append(inner[1])
                    if not values:
                        raise QueryError(f"empty value list for '{field}' at position {tok[2]}")
                    return _field(field, None, values)
                if nxt[0] in ("phrase", "word"):
                    return _field(field, nxt[1])
                if nxt[0] == "range":
                    return _range(field, nxt[1], nxt[2])
                raise QueryError(f"missing value for '{field}' at position {tok[2]}")
            return _field(field, value)
        if word == "*":
            return ("and", ())
        return Filter("*", "contains", word.rstrip("*"))


def _field(field: str, value: str | None, values: list[str] | None = None) -> Any:
    if field == "_exists_":
        return Filter(str(value), "exists")
    if values is not None:
        return ("or", tuple(_field(field, v) for v in values))
    assert value is not None
    if value == "*":
        return Filter(field, "exists")
    if value.endswith("*") and len(value) > 1:
        return Filter(field, "prefix", value[:-1])
    return ("or", (Filter(field, "eq", value), Filter(field, "eq", _number(value)))) if _number(value) is not None \
        else Filter(field, "eq", value)


def _number(value: str) -> int | float | None:
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return None


def _range(field: str, text: str, pos: int) -> Any:
    m = re.fullmatch(r"\[\s*(\S+)\s+TO\s+(\S+)\s*\]", text)
    if not m:
        raise QueryError(f"malformed range {text!r} at position {pos} (expected [a TO b])")
    low, high = m.groups()
    parts = []
    if low != "*":
        parts.append(Filter(field, "gte", _number(low) if _number(low) is not None else low))
    if high != "*":
        parts.append(Filter(field, "lte", _number(high) if _number(high) is not None else high))
    return ("and", tuple(parts))


@functools.lru_cache(maxsize=512)
def parse_query(q: str | None) -> tuple[tuple[str, ...], Any]:
    """``(schemas, clause)``: the ``_schema:`` terms found at the top level, and the rest as a clause."""
    if q is None or not q.strip() or q.strip() == "*":
        return (), None
    node = _Parser(q).parse()
    schemas: list[str] = []

    def pull(n: Any) -> Any:
        if isinstance(n, Filter) and n.attribute == "_schema" and n.op == "eq":
            schemas.append(str(n.value))
            return None
        if isinstance(n, tuple) and n[0] == "and":
            rest = tuple(p for p in (pull(x) for x in n[1]) if p is not None)
            return ("and", rest) if rest else None
        if isinstance(n, tuple) and n[0] == "or" and all(isinstance(x, Filter) and x.attribute == "_schema"
                                                          for x in n[1]):
            schemas.extend(str(x.value) for x in n[1])
            return None
        return n

    rest = pull(node)
    return tuple(schemas), rest


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
