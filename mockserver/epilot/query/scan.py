"""One linear pass over a query before it is parsed: the limits (length, terms, depth) in one place, and
the structural mistakes people make (unbalanced parentheses and quotes, dangling operators, a field
without a value), each named with its position.

Nothing here recurses, so a hostile query (50,000 characters, 20,000 ORs, 5,000 nested parentheses or
NOTs) is a fast 400 naming the limit, and the parser only ever sees a query of bounded size and depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .nodes import QueryError

MAX_LENGTH = 32_768  # characters in q
MAX_TERMS = 1_024  # terms, phrases and range bounds (Elasticsearch's classic max_clause_count)
MAX_DEPTH = 32  # nested parentheses and prefix operators (NOT, !, -, +)
MAX_TERM_LENGTH = 1_024  # characters in one term or phrase

FIELD = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@.\-]*|\*")
_BINARY = ("AND", "OR", "&&", "||")
_UNARY = ("NOT", "!", "-", "+")
_COMPARISON = re.compile(r"(?:>=|<=|>|<)-")
_SUFFIX = re.compile(r"[~^][0-9.]*")
_TIME = re.compile(r"T\d{2}:\d{2}(?::\d{2})?")


@dataclass
class _Token:
    kind: str  # "(" ")" "phrase" "range" "word" "field" (a word ending in ':') "binary" "unary" "suffix"
    text: str
    position: int


def check(q: str) -> tuple[str, list[int]]:
    """Raise :class:`QueryError` for a query over the limits or malformed; otherwise the text for the
    parser and the positions where it inserted a character (to map the parser's positions back)."""
    if len(q) > MAX_LENGTH:
        raise QueryError(f"query too long: {len(q)} characters (the limit is {MAX_LENGTH})")
    inserted: list[int] = []
    tokens = _tokens(q, inserted)
    _grammar(tokens)
    if not inserted:
        return q, []
    out, last = [], 0
    for position in inserted:
        out.append(q[last:position])
        out.append("\\")
        last = position
    out.append(q[last:])
    return "".join(out), inserted


def _tokens(q: str, inserted: list[int]) -> list[_Token]:
    tokens: list[_Token] = []
    terms = 0
    i, n = 0, len(q)
    while i < n:
        char = q[i]
        if char.isspace():
            i += 1
            continue
        start = i
        if char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
            continue
        if char == '"':
            i = _phrase_end(q, i)
            if i - start - 2 > MAX_TERM_LENGTH:
                raise QueryError(f"phrase too long: {i - start - 2} characters (the limit is {MAX_TERM_LENGTH})",
                                 start)
            tokens.append(_Token("phrase", q[start:i], start))
            terms += 1
        elif char in "[{":
            while i < n and q[i] not in "]}":
                i = _phrase_end(q, i) if q[i] == '"' else i + (2 if q[i] == "\\" else 1)
            if i >= n:
                raise QueryError("unterminated range", start)
            i += 1
            tokens.append(_Token("range", q[start:i], start))
            terms += 2
        elif char in "^~":  # a boost or fuzziness after a phrase, group or range: not a term
            suffix = _SUFFIX.match(q, i)
            i = suffix.end() if suffix else i + 1
            tokens.append(_Token("suffix", q[start:i], start))
            continue
        else:  # a word; as for the parser, a quote inside a word is part of it
            while i < n and not q[i].isspace() and q[i] not in "()[{^~":
                if q[i] == ":" and i + 1 < n and q[i + 1] == '"':  # field:"phrase"
                    i += 1
                    break
                i += 2 if q[i] == "\\" else 1
            suffix = _SUFFIX.match(q, i) if i < n else None
            if suffix:  # term^2, term~1
                i = suffix.end()
            i = min(i, n)
            word = q[start:i]
            token = _word(word, start, inserted)
            tokens.append(token)
            if token.kind == "word":
                value = len(word) - (_colons(word) or [-1])[0] - 1  # without the field name
                if value > MAX_TERM_LENGTH:
                    raise QueryError(f"term too long: {value} characters (the limit is {MAX_TERM_LENGTH})", start)
                terms += 1
        if terms > MAX_TERMS:
            raise QueryError(f"query too complex: more than {MAX_TERMS} terms (the limit is {MAX_TERMS})", start)
    return tokens


def _phrase_end(q: str, start: int) -> int:
    i = start + 1
    while i < len(q):
        if q[i] == "\\":
            i += 2
        elif q[i] == '"':
            return i + 1
        else:
            i += 1
    raise QueryError("unterminated quote", start)


def _colons(word: str) -> list[int]:
    found, i = [], 0
    while i < len(word):
        if word[i] == "\\":
            i += 2
            continue
        if word[i] == ":" and not (_TIME.match(word, max(0, i - 3)) or _TIME.match(word, max(0, i - 6))):
            # (2024-01-01T10:00:00 is one value, as for the parser)
            found.append(i)
        i += 1
    return found


def _word(word: str, start: int, inserted: list[int]) -> _Token:
    if word in _BINARY:
        return _Token("binary", word, start)
    if word in _UNARY:
        return _Token("unary", word, start)
    colons = _colons(word)
    if not colons:
        return _Token("word", word, start)
    if colons[0] == 0:
        raise QueryError("missing field name before ':'", start)
    field = word[:colons[0]]
    if not FIELD.fullmatch(field.lstrip("+-!")):
        raise QueryError(f"invalid field name {field!r}", start)
    if len(colons) > 1:
        raise QueryError(f"unexpected ':' in the value of field {field!r}", start + colons[0] + 1)
    value = word[colons[0] + 1:]
    if not value:
        return _Token("field", field, start)
    comparison = _COMPARISON.match(value)
    if comparison:  # `amount:>=-5`: the parser takes the '-' for an operator unless it is escaped
        inserted.append(start + colons[0] + comparison.end())  # before the '-'
    return _Token("word", word, start)


def _grammar(tokens: list[_Token]) -> None:
    """Operands and operators alternate, parentheses balance, fields get values; nesting stays bounded."""
    opened: list[tuple[int, int]] = []  # (position of '(', prefix operators in front of it)
    pending: _Token | None = None  # the operator still waiting for its operand
    expect_operand = True
    field: _Token | None = None  # a field still waiting for its value
    prefixes = 0  # prefix operators in a row in front of the next operand
    depth_outside = 0  # prefix operators applying to the enclosing groups
    for index, token in enumerate(tokens):
        if field is not None and token.kind in ("binary", ")", "unary"):
            raise QueryError(f"missing value for field {field.text!r}", field.position)
        if field is not None and token.kind == "field":
            raise QueryError(f"unexpected ':' in the value of field {field.text!r}", token.position)
        if token.kind == "suffix":
            continue
        if token.kind == "binary":
            if expect_operand:
                culprit = pending or token
                raise QueryError(f"dangling operator {culprit.text!r}", culprit.position)
            pending, expect_operand = token, True
            continue
        if token.kind == "unary":
            pending, expect_operand = token, True
            prefixes += 1
            _depth(len(opened) + depth_outside + prefixes, token.position)
            continue
        if token.kind == "(":
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and following.kind == ")":
                raise QueryError("empty parentheses", token.position)
            opened.append((token.position, prefixes))
            depth_outside += prefixes
            prefixes, field, pending, expect_operand = 0, None, None, True
            _depth(len(opened) + depth_outside, token.position)
            continue
        if token.kind == ")":
            if not opened:
                raise QueryError("unbalanced parenthesis", token.position)
            if expect_operand and pending is not None:
                raise QueryError(f"dangling operator {pending.text!r}", pending.position)
            _, outside = opened.pop()
            depth_outside -= outside
            pending, expect_operand, prefixes = None, False, 0
            continue
        if token.kind == "field":
            field = token
            continue
        # an operand: a word, phrase or range (the value of a pending field, if any)
        lead = len(token.text) - len(token.text.lstrip("!+-")) if token.kind == "word" else 0
        _depth(len(opened) + depth_outside + prefixes + lead, token.position)
        field, pending, expect_operand, prefixes = None, None, False, 0
    if field is not None:
        raise QueryError(f"missing value for field {field.text!r}", field.position)
    if pending is not None and expect_operand:
        raise QueryError(f"dangling operator {pending.text!r}", pending.position)
    if opened:
        raise QueryError("unbalanced parenthesis", opened[0][0])


def _depth(depth: int, position: int) -> None:
    if depth > MAX_DEPTH:
        raise QueryError(f"query nested too deeply: more than {MAX_DEPTH} levels of parentheses and prefix "
                         f"operators (the limit is {MAX_DEPTH})", position)
