"""The parsed form of a search ``q``, shared by entity search and catalog search, and its rendering
back to query text (``render(parse(render(tree))) == render(tree)``; the tests prove it on random trees).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class QueryError(ValueError):
    """A query or sort that cannot be answered; ``position`` is the 0-based offset of the problem."""

    def __init__(self, problem: str, position: int | None = None) -> None:
        self.problem = problem
        self.position = position
        super().__init__(problem if position is None else f"{problem} at position {position}")


@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class Term:
    """``field:value`` (``field`` None: every string attribute).

    ``value`` is the unescaped text, except for ``wildcard`` terms, where it is the pattern: ``*`` and
    ``?`` are wildcards and a backslash escapes the reserved characters."""

    field: str | None
    value: str
    phrase: bool = False
    prefix: bool = False  # value* (value without the star)
    exists: bool = False  # field:* or _exists_:field
    wildcard: bool = False
    fuzzy: int | None = None  # value~N: at most N edits


@dataclass(frozen=True)
class Range:
    field: str
    low: str | None  # None: open
    high: str | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = MatchAll | Term | Range | And | Or | Not

RESERVED = frozenset('\\+-=&|><!(){}[]^"~*?:/\'')  # Elasticsearch's, and ' (luqum's lexer)
KEYWORDS = frozenset({"AND", "OR", "NOT", "TO"})
_SPACE = re.compile(r"\s")


def escape(text: str) -> str:
    """``text`` as one literal query word."""
    out = "".join("\\" + c if c in RESERVED or _SPACE.match(c) else c for c in text)
    return "\\" + out if out in KEYWORDS else out


def _phrase(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(term: Term) -> str:
    if term.phrase:
        return _phrase(term.value)
    if term.wildcard:
        return term.value
    text = escape(term.value)
    if term.prefix:
        return text + "*"
    if term.fuzzy is not None:
        return f"{text}~{term.fuzzy}"
    return text


def _bound(value: str | None) -> str:
    return "*" if value is None else escape(value)


def render(node: Node) -> str:
    """The query text of ``node`` (explicit operators, parentheses around every compound operand)."""
    if isinstance(node, MatchAll):
        return "*"
    if isinstance(node, Term):
        if node.exists:
            return f"_exists_:{node.field}"
        return _value(node) if node.field is None else f"{node.field}:{_value(node)}"
    if isinstance(node, Range):
        return (f"{node.field}:{'[' if node.include_low else '{'}{_bound(node.low)} TO {_bound(node.high)}"
                f"{']' if node.include_high else '}'}")
    if isinstance(node, Not):
        return f"NOT {_operand(node.child)}"
    glue = " AND " if isinstance(node, And) else " OR "
    return glue.join(_operand(child) for child in node.children)


def _operand(node: Node) -> str:
    return f"({render(node)})" if isinstance(node, And | Or | Not) else render(node)
