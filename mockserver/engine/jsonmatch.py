"""One JSONPath condition on a JSON document, as the journal's find/count and runtime overrides use
it: the path must select something; with ``equals``, some selected value must equal it (JSON
equality: 1 equals 1.0, but true is not 1); with ``matches``, some selected string must contain a
match of that regular expression."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jsonpath

MISSING: Any = object()  # no ``equals`` given (``None`` is a value: JSON null)


class ConditionError(ValueError):
    """A condition that cannot be compiled; ``str()`` names the place and the problem."""


@dataclass(frozen=True)
class JsonCondition:
    text: str  # the JSONPath as written
    query: Any  # compiled by python-jsonpath
    equals: Any = MISSING
    matches: re.Pattern[str] | None = None

    def holds(self, document: Any) -> bool:
        try:
            found = self.query.findall(document)
        except Exception:  # a filter comparing values of another type: no match, not an error
            return False
        if not found:
            return False
        if self.equals is not MISSING:
            return any(same(value, self.equals) for value in found)
        if self.matches is not None:
            pattern = self.matches
            return any(isinstance(value, str) and pattern.search(value) is not None for value in found)
        return True


def compile_condition(path: Any, where: str, *, equals: Any = MISSING, matches: Any = None) -> JsonCondition:
    """A condition from its parts; ``where`` names it in errors (``match.body[0]``)."""
    if not isinstance(path, str):
        raise ConditionError(f"{where}: the JSONPath must be a string")
    try:
        query = jsonpath.compile(path)
    except jsonpath.JSONPathError as exc:
        raise ConditionError(f"{where}: {path!r} is not a JSONPath: {str(exc).splitlines()[0]}") from None
    pattern = None
    if matches is not None:
        if not isinstance(matches, str):
            raise ConditionError(f"{where}.matches must be a regular expression (a string)")
        try:
            pattern = re.compile(matches)
        except re.error as exc:
            raise ConditionError(f"{where}.matches is not a regular expression: {exc}") from None
    return JsonCondition(path, query, equals, pattern)


def same(value: Any, expected: Any) -> bool:
    """JSON equality: 1 equals 1.0, but true is not 1."""
    if _number(value) and _number(expected):
        return bool(value == expected)
    return type(value) is type(expected) and bool(value == expected)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
