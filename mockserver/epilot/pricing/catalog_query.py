"""The catalog search ``q`` language (a Lucene subset) and ``sort``: parse once, then match entities.

Grammar (``AND`` binds tighter than ``OR``; terms side by side without an operator are ORed, as in
Lucene's default; ``NOT`` binds tightest)::

    query   := "" | "*" | or
    or      := and (("OR" | <nothing>) and)*
    and     := unary ("AND" unary)*
    unary   := "NOT" unary | primary
    primary := "(" or ")" | FIELD ":" value | "*" | WORD | PHRASE
    value   := "(" or ")"   (bare terms inside take FIELD) | "*" | WORD | PHRASE

Matching is case-insensitive. ``field:value`` matches when the value equals the attribute or one of
its words; ``value*`` is a prefix match; ``field:*`` means the attribute is set; a quoted phrase
matches consecutive words. Arrays match when any element matches, dotted fields walk nested objects
(``_price.type:recurring``), and a bare term searches every string attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_WORD = re.compile(r"\w+")
_FIELD = re.compile(r"[A-Za-z_$@][\w.$@-]*")
_OPERATORS = ("AND", "OR", "NOT")
_SPECIAL = '():"'


class CatalogQueryError(ValueError):
    """A malformed query or sort; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, problem: str, position: int | None = None) -> None:
        self.problem = problem
        self.position = position
        super().__init__(problem if position is None else f"{problem} at position {position}")


@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class Term:
    field: str | None  # None: full-text over every string attribute
    value: str  # the value as written, without quotes or a trailing '*'
    phrase: bool = False
    prefix: bool = False
    exists: bool = False  # field:* (the attribute is set)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = MatchAll | Term | And | Or | Not


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" "AND" "OR" "NOT" "FIELD" "WORD" "PHRASE" "*"
    text: str
    position: int


def _tokenize(q: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(q):
        char = q[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            end, text = _read_phrase(q, i)
            tokens.append(_Token("PHRASE", text, i))
            i = end
        elif char == ":":
            raise CatalogQueryError("missing field name before ':'", i)
        else:
            start = i
            while i < len(q) and not q[i].isspace() and q[i] not in _SPECIAL:
                i += 2 if q[i] == "\\" and i + 1 < len(q) else 1
            word = q[start:i].replace("\\", "")
            if i < len(q) and q[i] == ":":
                if not _FIELD.fullmatch(word):
                    raise CatalogQueryError(f"invalid field name {word!r}", start)
                tokens.append(_Token("FIELD", word, start))
                i += 1
            elif word in _OPERATORS:
                tokens.append(_Token(word, word, start))
            elif word == "*":
                tokens.append(_Token("*", word, start))
            else:
                tokens.append(_Token("WORD", word, start))
    return tokens


def _read_phrase(q: str, start: int) -> tuple[int, str]:
    chars = []
    i = start + 1
    while i < len(q):
        if q[i] == "\\" and i + 1 < len(q):
            chars.append(q[i + 1])
            i += 2
        elif q[i] == '"':
            return i + 1, "".join(chars)
        else:
            chars.append(q[i])
            i += 1
    raise CatalogQueryError("unterminated quote", start)


class _Parser:
    def __init__(self, q: str) -> None:
        self.q = q
        self.tokens = _tokenize(q)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            return MatchAll()
        node = self.parse_or(None)
        token = self.peek()
        if token is not None:
            problem = "unbalanced parenthesis" if token.kind == ")" else f"unexpected {token.text!r}"
            raise CatalogQueryError(problem, token.position)
        return node

    def parse_or(self, field: str | None) -> Node:
        children = [self.parse_and(field)]
        while (token := self.peek()) is not None and token.kind != ")":
            if token.kind == "OR":
                self.take()
                self._operand_follows(token)
            children.append(self.parse_and(field))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, field: str | None) -> Node:
        children = [self.parse_unary(field)]
        while (token := self.peek()) is not None and token.kind == "AND":
            self.take()
            self._operand_follows(token)
            children.append(self.parse_unary(field))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, field: str | None) -> Node:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            self._operand_follows(token)
            return Not(self.parse_unary(field))
        return self.parse_primary(field)

    def _operand_follows(self, operator: _Token) -> None:
        following = self.peek()
        if following is None or following.kind in (")", "AND", "OR"):
            raise CatalogQueryError(f"dangling operator {operator.text!r}", operator.position)

    def parse_primary(self, field: str | None) -> Node:
        token = self.peek()
        if token is None:  # only reachable through a dangling operator, reported before
            raise CatalogQueryError("unexpected end of query", len(self.q))
        if token.kind in ("AND", "OR"):
            raise CatalogQueryError(f"dangling operator {token.text!r}", token.position)
        self.take()
        if token.kind == ")":
            raise CatalogQueryError("unbalanced parenthesis", token.position)
        if token.kind == "(":
            return self.parse_group(token, field)
        if token.kind == "FIELD":
            return self.parse_field_value(token)
        if token.kind == "*":
            return MatchAll() if field is None else Term(field, "", exists=True)
        return _term(field, token)

    def parse_group(self, opening: _Token, field: str | None) -> Node:
        following = self.peek()
        if following is not None and following.kind == ")":
            raise CatalogQueryError("empty parentheses", opening.position)
        if following is None:
            raise CatalogQueryError("unbalanced parenthesis", opening.position)
        node = self.parse_or(field)
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise CatalogQueryError("unbalanced parenthesis", opening.position)
        self.take()
        return node

    def parse_field_value(self, field_token: _Token) -> Node:
        value = self.peek()
        if value is None or value.kind in (")", "AND", "OR", "NOT"):
            raise CatalogQueryError(f"missing value for field {field_token.text!r}", field_token.position)
        if value.kind == "FIELD":
            raise CatalogQueryError(f"unexpected ':' in the value of field {field_token.text!r}", value.position)
        return self.parse_primary(field_token.text)


def _term(field: str | None, token: _Token) -> Term:
    if token.kind == "PHRASE":
        return Term(field, token.text, phrase=True)
    if token.text.endswith("*") and len(token.text) > 1:
        return Term(field, token.text[:-1], prefix=True)
    return Term(field, token.text)


def parse_catalog_query(q: str | None) -> Node:
    """Parse a catalog ``q``; raises :class:`CatalogQueryError` naming the position and the problem."""
    if q is None:
        return MatchAll()
    if not isinstance(q, str):
        raise CatalogQueryError("the query must be a string")
    return _Parser(q).parse()


def _field_values(entity: Any, path: list[str]) -> list[Any]:
    """Every value at a dotted path, walking into arrays on the way; arrays at the end are flattened."""
    values: list[Any] = [entity]
    for part in path:
        nxt: list[Any] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and part in item:
                    nxt.append(item[part])
        values = nxt
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _same_number(text: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return Decimal(text) == Decimal(repr(value))
    except InvalidOperation:
        return False


def _value_matches(term: Term, value: Any) -> bool:
    if term.exists:
        return value is not None
    text = _as_text(value)
    if text is None:
        return False
    wanted = term.value.casefold()
    folded = text.casefold()
    if term.phrase:
        words, phrase = _WORD.findall(folded), _WORD.findall(wanted)
        if not phrase:
            return folded == wanted
        return any(words[i:i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))
    if term.prefix:
        return folded.startswith(wanted) or any(w.startswith(wanted) for w in _WORD.findall(folded))
    return folded == wanted or wanted in _WORD.findall(folded) or _same_number(term.value, value)


def matches(node: Node, entity: dict[str, Any]) -> bool:
    """Whether ``entity`` satisfies the parsed query ``node``."""
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, And):
        return all(matches(child, entity) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, entity) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, entity)
    values = _strings(entity) if node.field is None else _field_values(entity, node.field.split("."))
    return any(_value_matches(node, value) for value in values)


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
    values = [v for v in _field_values(entity, field.split(".")) if v is not None]
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
        present = sorted((pair for pair in keyed if pair[0] is not None), key=lambda pair: pair[0],
                         reverse=descending)
        ordered = [e for _, e in present] + [e for key, e in keyed if key is None]
    return ordered
