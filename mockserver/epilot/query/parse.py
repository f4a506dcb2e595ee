"""Elasticsearch ``query_string`` text to the shared tree: luqum parses, this module translates.

Beyond luqum's grammar: ``&&``, ``||`` and ``!`` as operators, ``field.keyword`` as ``field``, negative
numbers in comparisons (``amount:>=-5``) and ranges, and ``+``/``-`` as Lucene's must / must-not. Boosts
are accepted and ignored (a filter has no score). Regular expressions and proximity searches are a
:class:`QueryError` naming the construct.
"""

from __future__ import annotations

import re
from decimal import Decimal

from luqum import tree
from luqum.exceptions import ParseError
from luqum.thread import parse as luqum_parse

from mockserver.engine.store.text import fuzzy_limit

from . import scan
from .nodes import RESERVED, And, MatchAll, Node, Not, Or, QueryError, Range, Term

_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_LUQUM_POSITION = re.compile(r"at position (\d+)")
_MARKERS = ("&&", "||", "!")


def parse(q: str, default_operator: str = "OR") -> Node:
    """The tree of ``q``; terms side by side without an operator are joined by ``default_operator``."""
    if not q.strip() or q.strip() == "*":
        return MatchAll()
    text, inserted = scan.check(q)
    try:
        parsed = luqum_parse(text)
    except ParseError as exc:
        message = str(exc).removeprefix("Syntax error in input : ").rstrip("!")
        found = _LUQUM_POSITION.search(message)
        position = _original(int(found.group(1)), inserted) if found else None
        raise QueryError(_LUQUM_POSITION.sub("", message).replace("  ", " ").strip(), position) from None
    except ArithmeticError:  # luqum reads the number of a boost or fuzziness such as '^.'
        raise QueryError("malformed number after '^' or '~'") from None
    return _Translator(default_operator, inserted).node(parsed, None)


def _original(position: int, inserted: list[int]) -> int:
    return position - sum(1 for p in inserted if p + inserted.index(p) < position)


def _unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


def _wildcards(raw: str) -> list[int]:
    """Offsets of the unescaped ``*`` and ``?`` in a raw word."""
    found, i = [], 0
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] in "*?":
            found.append(i)
        i += 1
    return found


def _pattern(raw: str) -> str:
    """A wildcard word in canonical form: reserved characters escaped, nothing else."""
    out, i = [], 0
    while i < len(raw):
        char = raw[i]
        if char == "\\" and i + 1 < len(raw):
            literal = raw[i + 1]
            out.append("\\" + literal if literal in RESERVED or literal.isspace() else literal)
            i += 2
            continue
        out.append(char if char in "*?" or not (char in RESERVED or char.isspace()) else "\\" + char)
        i += 1
    return "".join(out)


class _Translator:
    def __init__(self, default_operator: str, inserted: list[int]) -> None:
        self.default_and = default_operator.upper() == "AND"
        self.inserted = inserted

    def error(self, problem: str, item: tree.Item) -> QueryError:
        position = item.pos if isinstance(item.pos, int) else None
        return QueryError(problem, None if position is None else _original(position, self.inserted))

    def node(self, item: tree.Item, field: str | None) -> Node:
        if isinstance(item, tree.SearchField):
            return self.search_field(item, field)
        if isinstance(item, tree.Group | tree.FieldGroup):
            return self.node(item.expr, field)
        if isinstance(item, tree.Boost):
            return self.node(item.expr, field)
        if isinstance(item, tree.AndOperation | tree.OrOperation):
            kind = And if isinstance(item, tree.AndOperation) else Or
            return _flat(kind, [self.node(c, field) for c in item.children])
        if isinstance(item, tree.UnknownOperation):
            return self.implicit(list(item.children), field)
        if isinstance(item, tree.Not | tree.Prohibit):
            return Not(self.node(item.a, field))
        if isinstance(item, tree.Plus):
            return self.node(item.a, field)
        if isinstance(item, tree.Word):
            return self.word(item, field)
        if isinstance(item, tree.Phrase):
            return Term(field, _unescape(item.value[1:-1]), phrase=True)
        if isinstance(item, tree.Fuzzy):
            return self.fuzzy(item, field)
        if isinstance(item, tree.Range):
            return self.range(field, item, item.low, item.high, item.include_low, item.include_high)
        if isinstance(item, tree.From):
            return self.range(field, item, item.a, None, item.include, True)
        if isinstance(item, tree.To):
            return self.range(field, item, None, item.a, True, item.include)
        if isinstance(item, tree.Regex):
            raise self.error("regular expressions (/.../) are not supported", item)
        if isinstance(item, tree.Proximity):
            raise self.error('proximity searches ("..."~N) are not supported', item)
        raise self.error(f"unsupported query construct {type(item).__name__}", item)

    def search_field(self, item: tree.SearchField, outer: str | None) -> Node:
        if outer is not None:
            raise self.error(f"unexpected ':' in the value of field {outer!r}", item)
        name = item.name.removesuffix(".keyword")
        bangs = len(name) - len(name.lstrip("!"))
        if bangs:  # !field:value
            inner = self.search_field(tree.SearchField(name[bangs:], item.expr, pos=item.pos), outer)
            for _ in range(bangs):
                inner = Not(inner)
            return inner
        if name == "_exists_":
            target = item.expr
            if not isinstance(target, tree.Word) or not scan.FIELD.fullmatch(target.value) or target.value == "*":
                raise self.error("_exists_ needs a field name", item)
            return Term(target.value.removesuffix(".keyword"), "", exists=True)
        if name == "*":
            return self.node(item.expr, None)
        if not scan.FIELD.fullmatch(name):
            raise self.error(f"invalid field name {name!r}", item)
        return self.node(item.expr, name)

    def word(self, item: tree.Word, field: str | None) -> Node:
        raw = item.value
        if raw in _MARKERS:
            raise self.error(f"dangling operator {raw!r}", item)
        bangs = len(raw) - len(raw.lstrip("!"))
        if bangs:
            if bangs == len(raw):
                raise self.error("dangling operator '!'", item)
            inner = self.word(tree.Word(raw[bangs:], pos=item.pos), field)
            for _ in range(bangs):
                inner = Not(inner)
            return inner
        if raw == "*":
            return MatchAll() if field is None else Term(field, "", exists=True)
        stars = _wildcards(raw)
        if not stars:
            return Term(field, _unescape(raw))
        if stars == [len(raw) - 1] and raw.endswith("*"):
            return Term(field, _unescape(raw[:-1]), prefix=True)
        return Term(field, _pattern(raw), wildcard=True)

    def fuzzy(self, item: tree.Fuzzy, field: str | None) -> Node:
        if not isinstance(item.term, tree.Word) or _wildcards(item.term.value):
            raise self.error("fuzzy search (~) applies to a single word without wildcards", item)
        value = _unescape(item.term.value)
        degree = item.degree
        requested = int(degree) if isinstance(degree, int | Decimal) and degree == int(degree) else None
        return Term(field, value, fuzzy=fuzzy_limit(value, requested))

    def range(self, field: str | None, item: tree.Item, low: tree.Item | None, high: tree.Item | None,
              include_low: bool, include_high: bool) -> Node:
        if field is None:
            raise self.error("a range needs a field (field:[a TO b] or field:>=a)", item)
        return Range(field, self.bound(low), self.bound(high), bool(include_low), bool(include_high))

    def bound(self, item: tree.Item | None) -> str | None:
        if item is None:
            return None
        if isinstance(item, tree.Prohibit) and isinstance(item.a, tree.Word):  # [-5 TO 5]
            return "-" + _unescape(item.a.value)
        if isinstance(item, tree.Word):
            return None if item.value == "*" else _unescape(item.value)
        if isinstance(item, tree.Phrase):
            return _unescape(item.value[1:-1])
        raise self.error("a range bound must be a word, a number or a quoted phrase", item)

    def implicit(self, children: list[tree.Item], field: str | None) -> Node:
        """Operands side by side, with ``&&``, ``||`` and ``!`` (which luqum reads as words) and ``+``/``-``:
        ``||`` separates alternatives, ``&&`` joins neighbours, ``!`` negates what follows, the rest is
        joined by the default operator (``+`` must, ``-`` must not, as in Lucene)."""
        alternatives: list[Node] = []
        groups: list[list[tuple[str, Node]]] = []  # operands joined by &&, with their modifier
        join_next = False
        negate = 0
        last: tree.Item | None = None
        for child in children:
            if isinstance(child, tree.Word) and child.value in ("&&", "||"):
                if not groups or join_next or negate:
                    raise self.error(f"dangling operator {child.value!r}", child)
                if child.value == "||":
                    alternatives.append(self.combine(groups))
                    groups = []
                else:
                    join_next = True
                last = child
                continue
            if isinstance(child, tree.Word) and child.value == "!":
                negate += 1
                last = child
                continue
            modifier = "+" if isinstance(child, tree.Plus) else "-" if isinstance(child, tree.Prohibit) else ""
            operand = self.node(child.a if modifier else child, field)
            for _ in range(negate):
                operand = Not(operand)
            negate = 0
            if join_next:
                groups[-1].append((modifier, operand))
                join_next = False
            else:
                groups.append([(modifier, operand)])
            last = child
        if join_next or negate or not groups:
            raise self.error("dangling operator", last) if last is not None else QueryError("empty query")
        alternatives.append(self.combine(groups))
        return _flat(Or, alternatives)

    def combine(self, groups: list[list[tuple[str, Node]]]) -> Node:
        must: list[Node] = []
        should: list[Node] = []
        must_not: list[Node] = []
        for group in groups:
            if len(group) > 1:  # a && b: every operand required (a '-' operand negated)
                must.append(_flat(And, [Not(n) if m == "-" else n for m, n in group]))
                continue
            modifier, operand = group[0]
            if modifier == "-":
                must_not.append(operand)
            elif modifier == "+" or self.default_and:
                must.append(operand)
            else:
                should.append(operand)
        parts = list(must)
        if should and not must:
            parts.append(_flat(Or, should))
        parts.extend(Not(n) for n in must_not)
        return _flat(And, parts) if parts else MatchAll()


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))
