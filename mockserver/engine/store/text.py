"""Text analysis for searches: how a stored value is split into tokens, and how a search term, a
wildcard, a fuzzy term or a range matches a value.

The store's SQL (through functions registered on the connection, and the token index it keeps) and
in-memory matchers call the same functions here, so every backend gives the same answer.

A value's tokens are its lower-cased words (``\\w+``) and the whole lower-cased value, each at most
``TOKEN_MAX_LENGTH`` characters; a number's token is its canonical decimal text (``3249.50`` →
``3249.5``), a boolean's ``true`` or ``false``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

TOKEN_MAX_LENGTH = 512
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_VALUE_KEYS = {"emails": "email", "phones": "phone"}


def fold(text: str) -> str:
    return text.lower()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def value_key(attribute: str) -> str:
    """The key that holds the value inside items of a multi-value attribute (``email[].email``)."""
    return _VALUE_KEYS.get(attribute, attribute)


def canonical_number(text: str) -> str | None:
    """``"3249.50"`` → ``"3249.5"``; None for anything that is not a finite decimal number."""
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number.adjusted()) > 64:
        return None
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return canonical_number(repr(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    return None


@functools.lru_cache(maxsize=65536)
def _string_tokens(text: str) -> frozenset[str]:
    folded = fold(text)
    found = {w for w in _WORD.findall(folded) if len(w) <= TOKEN_MAX_LENGTH}
    if len(folded) <= TOKEN_MAX_LENGTH:
        found.add(folded)
    return frozenset(found)


def tokens(value: Any) -> frozenset[str]:
    """The tokens of one scalar value (none for objects, arrays and null)."""
    if isinstance(value, str):
        return _string_tokens(value)
    text = _scalar_text(value)
    return frozenset((text,)) if text is not None else frozenset()


def values_at(document: Any, path: list[str]) -> list[Any]:
    """Every value at a dotted path, walking into arrays; arrays at the end are flattened, and an object
    item of a multi-value attribute stands for its value key (``emails: [{email: ...}]``)."""
    values: list[Any] = [document]
    for part in path:
        nxt: list[Any] = []
        for value in values:
            for item in value if isinstance(value, list) else (value,):
                if isinstance(item, dict) and part in item:
                    nxt.append(item[part])
        values = nxt
    key = value_key(path[-1]) if path else ""
    flat: list[Any] = []
    for value in values:
        for item in value if isinstance(value, list) else (value,):
            flat.append(item[key] if isinstance(item, dict) and key in item else item)
    return flat


def strings(value: Any) -> Iterator[str]:
    """Every string value anywhere inside ``value`` (object keys excluded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# -- terms --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def term_plan(term: str) -> tuple[tuple[str, ...], bool]:
    """``(keys, exact)``: a value matches ``term`` only if one of its tokens is among ``keys``; when
    ``exact`` is False, a candidate must also pass :func:`match_term` (phrases spanning several words)."""
    number = canonical_number(term)
    folded = fold(term)
    if number is not None:
        return tuple(dict.fromkeys((number, folded))), True
    found = _WORD.findall(folded)
    if len(found) == 1 and found[0] == folded:
        return (folded,), True
    if not found:
        return (folded,), True
    return tuple(dict.fromkeys((folded, max(found, key=len)))), False


def match_term(term: str, value: Any) -> bool:
    """Whether a scalar ``value`` matches a term or phrase: one of its tokens, the whole value, or
    consecutive words of it (``"grüner strom"``); numbers compare as numbers."""
    keys, exact = term_plan(term)
    value_tokens = tokens(value)
    if exact:
        return any(k in value_tokens for k in keys)
    if not isinstance(value, str):
        return False
    if fold(term) in value_tokens:
        return True
    wanted, found = words(term), words(value)
    return any(found[i:i + len(wanted)] == wanted for i in range(len(found) - len(wanted) + 1))


# -- wildcards ------------------------------------------------------------------------------------

def wildcard_prefix(pattern: str) -> str:
    """The literal (lower-cased) text before the first wildcard of a pattern (``*``/``?``, ``\\`` escapes)."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char in "*?":
            break
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        out.append(char)
        i += 1
    return fold("".join(out))


@functools.lru_cache(maxsize=1024)
def _compile_wildcard(pattern: str) -> tuple[tuple[re.Pattern[str], ...], tuple[int, ...]]:
    """Split at ``*`` into fixed-width segments (``?`` is any one character), matched left to right:
    linear in the value, with no backtracking that a hostile pattern could exploit."""
    segments: list[list[str]] = [[]]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            segments[-1].append(re.escape(fold(pattern[i])))
        elif char == "*":
            segments.append([])
        elif char == "?":
            segments[-1].append(".")
        else:
            segments[-1].append(re.escape(fold(char)))
        i += 1
    return tuple(re.compile("".join(s), re.DOTALL) for s in segments), tuple(len(s) for s in segments)


def match_wildcard_token(pattern: str, token: str) -> bool:
    segments, widths = _compile_wildcard(pattern)
    if len(segments) == 1:
        return widths[0] == len(token) and segments[0].match(token) is not None
    if segments[0].match(token) is None:
        return False
    pos = widths[0]
    for segment in segments[1:-1]:
        found = segment.search(token, pos)
        if found is None:
            return False
        pos = found.end()
    start = len(token) - widths[-1]
    return start >= pos and segments[-1].match(token, start) is not None


def match_wildcard(pattern: str, value: Any) -> bool:
    return any(match_wildcard_token(pattern, t) for t in tokens(value))


# -- fuzzy ----------------------------------------------------------------------------------------

def edit_distance_within(a: str, b: str, limit: int) -> bool:
    """Whether ``a`` and ``b`` are at most ``limit`` edits apart (insertions, deletions, substitutions
    and transpositions of neighbours), computed in a band of width ``limit``: linear time."""
    if abs(len(a) - len(b)) > limit:
        return False
    if limit == 0:
        return a == b
    big = limit + 1
    previous2: dict[int, int] = {}
    previous = {j: j for j in range(min(len(b), limit) + 1)}
    for i in range(1, len(a) + 1):
        current: dict[int, int] = {}
        low, high = max(0, i - limit), min(len(b), i + limit)
        if low == 0:
            current[0] = i
        for j in range(max(1, low), high + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(previous.get(j, big) + 1, current.get(j - 1, big) + 1, previous.get(j - 1, big) + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2.get(j - 2, big) + 1)
            current[j] = best
        if min(current.values(), default=big) > limit:
            return False
        previous2, previous = previous, current
    return previous.get(len(b), big) <= limit


def fuzzy_limit(term: str, requested: int | None) -> int:
    """Elasticsearch's AUTO fuzziness when none is given (0 edits up to 2 characters, 1 up to 5, else 2);
    never more than 2."""
    if requested is None:
        return 0 if len(term) <= 2 else 1 if len(term) <= 5 else 2
    return max(0, min(2, requested))


def match_fuzzy(term: str, limit: int, value: Any) -> bool:
    folded = fold(term)
    return any(edit_distance_within(folded, t, limit) for t in tokens(value))


# -- ranges and presence ------------------------------------------------------------------------

def _number_of(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        text = canonical_number(repr(value) if isinstance(value, float) else str(value))
        return Decimal(text) if text is not None else None
    return None


def in_range(low: str | None, high: str | None, include_low: bool, include_high: bool, value: Any) -> bool:
    """Numbers (and numeric strings) compare as numbers when every given bound is a number; otherwise
    strings compare as text (ISO dates sort as text)."""
    bounds = [b for b in (low, high) if b is not None]
    numeric = all(canonical_number(b) is not None for b in bounds)
    if numeric:
        current: Any = _number_of(value)
        lo: Any = Decimal(canonical_number(low) or "0") if low is not None else None
        hi: Any = Decimal(canonical_number(high) or "0") if high is not None else None
    else:
        current, lo, hi = (value if isinstance(value, str) else None), low, high
    if current is None:
        return False
    if lo is not None and (current < lo or (current == lo and not include_low)):
        return False
    return not (hi is not None and (current > hi or (current == hi and not include_high)))


def present(value: Any) -> bool:
    return value is not None
