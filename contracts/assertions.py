"""Assertions of scenario steps: a JSON path into a value, and checks on what it finds.

Paths are RFC 9535 JSONPath (python-jsonpath): names, indexes, slices, wildcards, recursive descent,
filters with ``&&``/``||``/``!`` and the functions ``length``, ``count``, ``match``, ``search`` and
``value``. Three extensions keep older scenarios working:

- an index right after a filter picks that match (``$.a[?@.k == 'v'][0]``: the first match), where
  RFC 9535 would index into each match;
- ``[?(@.k)]``, the parenthesised bare test, holds for a non-empty ``k`` (not null, ``""``, ``[]`` or
  ``{}``); the standard ``[?@.k]`` tests existence;
- names with ``$``, ``@`` or ``-`` may follow a dot (``$.order.customer.$relation``).

A path whose result is one node (a singular query) finds that value; any other finds the list of values.
Checks: equals, not_equals, contains, exists, matches, length, gt, gte, lt, lte, type.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import jsonpath

MISSING = object()
CHECKS = ("equals", "not_equals", "contains", "exists", "matches", "length", "gt", "gte", "lt", "lte", "type")
_ENV = jsonpath.JSONPathEnvironment(strict=True)
_NAME_CHAR = re.compile(r"[\w$@\-]")
_RFC_NAME = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_LEGACY_EXISTS = re.compile(r"\[\?\(\s*(@(?:\.[\w$@\-]+|\[[^\]]*\])+)\s*\)\]")


class PathError(ValueError):
    pass


@dataclass(frozen=True)
class _Stage:
    query: Any  # a compiled JSONPath, relative to the stage's root
    pick: int | None  # an index applied to the whole list of matches


class _Text:
    """Output text with, for each character, its offset in the path as written (for error positions)."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.origin: list[int] = []

    def add(self, text: str, at: int) -> None:
        self.chars.extend(text)
        self.origin.extend([at] * len(text))

    def value(self) -> str:
        return "".join(self.chars)


def _quoted(name: str) -> str:
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _string_end(path: str, i: int) -> int:
    quote, i = path[i], i + 1
    while i < len(path):
        if path[i] == "\\":
            i += 2
        elif path[i] == quote:
            return i + 1
        else:
            i += 1
    raise PathError(f"cannot read JSON path {path!r} at position {i}: unterminated string")


def _bracket_end(path: str, i: int) -> int:
    depth = 0
    while i < len(path):
        char = path[i]
        if char in "'\"":
            i = _string_end(path, i)
            continue
        depth += char == "["
        depth -= char == "]"
        i += 1
        if depth == 0:
            return i
    raise PathError(f"cannot read JSON path {path!r} at position {len(path)}: unbalanced '['")


def _segments(path: str, start: int, out: _Text) -> int:
    """Copy the segments of a path from ``start`` (after ``$`` or ``@``) to ``out``, normalised;
    returns where the path ends."""
    i = start
    while i < len(path):
        if path.startswith("..", i) or path[i] == ".":
            dots = ".." if path.startswith("..", i) else "."
            j = i + len(dots)
            if j < len(path) and path[j] in "*[":
                out.add(dots, i)
                i = j
                continue
            end = j
            while end < len(path) and (_NAME_CHAR.match(path[end]) or ord(path[end]) >= 0x80):
                end += 1
            name = path[j:end]
            if not name:
                return i
            out.add(dots + name if _RFC_NAME.fullmatch(name) else dots.removesuffix(".") + _quoted(name), i)
            i = end
        elif path[i] == "[":
            end = _bracket_end(path, i)
            legacy = _LEGACY_EXISTS.fullmatch(path, i, end)
            if legacy:
                inner = _Text()
                _segments(legacy.group(1), 1, inner)
                test = "@" + inner.value()
                out.add(f"[?({test} && {test} != null && length({test}) != 0)]", i)
            else:
                out.add("[", i)
                _inner(path, i + 1, end - 1, out)
                out.add("]", end - 1)
            i = end
        else:
            return i
    return i


def _inner(path: str, i: int, end: int, out: _Text) -> None:
    """The inside of brackets: relative and absolute paths normalised, strings copied as written."""
    while i < end:
        char = path[i]
        if char in "'\"":
            close = _string_end(path, i)
            for k in range(i, close):
                out.add(path[k], k)
            i = close
        elif char in "@$" and (i == 0 or not _NAME_CHAR.match(path[i - 1])):
            out.add(char, i)
            i = _segments(path, i + 1, out)
        else:
            out.add(char, i)
            i += 1


@functools.lru_cache(maxsize=1024)
def _plan(path: str) -> tuple[_Stage, ...]:
    if not path.startswith("$"):
        raise PathError(f"a JSON path starts with '$': {path!r}")
    text = _Text()
    end = _segments(path, 1, text)
    if end != len(path):
        raise PathError(f"cannot read JSON path {path!r} at position {end}: unexpected {path[end]!r}")
    normalised, origin = text.value(), text.origin
    # split after each filter that an index follows: that index picks from the filter's matches
    stages: list[_Stage] = []
    cut = 0
    for m in _INDEX.finditer(normalised):
        before = normalised[cut:m.start()]
        if not before.endswith("]") or "[?" not in before[before.rfind("[?"):] or not _closes_filter(before):
            continue
        stages.append(_Stage(_compile(path, "$" + before, origin[cut:m.start()]), int(m.group(1))))
        cut = m.end()
    stages.append(_Stage(_compile(path, "$" + normalised[cut:], origin[cut:]), None))
    return tuple(stages)


def _closes_filter(text: str) -> bool:
    """Whether ``text`` ends with a complete ``[?...]`` segment."""
    depth, i, last_open = 0, len(text) - 1, -1
    while i >= 0:
        depth += text[i] == "]"
        depth -= text[i] == "["
        if depth == 0:
            last_open = i
            break
        i -= 1
    return last_open >= 0 and text[last_open:last_open + 2] == "[?"


def _compile(path: str, query: str, origin: list[int]) -> Any:
    try:
        return _ENV.compile(query)
    except jsonpath.JSONPathError as exc:
        index = getattr(getattr(exc, "token", None), "index", None)
        position = origin[min(max(index - 1, 0), len(origin) - 1)] if isinstance(index, int) and origin else 0
        reason = str(exc.args[0]) if exc.args else str(exc)
        raise PathError(f"cannot read JSON path {path!r} at position {position}: {reason}") from None


def finds_many(path: str) -> bool:
    """Whether ``path`` finds a list of values (it is not a singular query, or not after its last pick)."""
    many = False
    for stage in _plan(path):
        many = (many or not stage.query.singular_query()) and stage.pick is None
    return many


def find(value: Any, path: str) -> Any:
    """The value at ``path``, or MISSING; the list of values when the path can match several."""
    nodes: list[Any] = [value]
    many = False
    for stage in _plan(path):
        nodes = [found for node in nodes for found in stage.query.findall(node)]
        many = many or not stage.query.singular_query()
        if stage.pick is not None:
            pick = stage.pick
            nodes = [nodes[pick]] if -len(nodes) <= pick < len(nodes) else []
            many = False
    if many:
        return nodes
    return nodes[0] if nodes else MISSING


def _text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _diff(expected: Any, actual: Any) -> str:
    lines = difflib.unified_diff(_text(expected).splitlines(), _text(actual).splitlines(), "expected", "actual",
                                 lineterm="")
    return "\n".join(lines)


def _compare(op: str, actual: Any, bound: Any) -> bool:
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    return {"gt": actual > bound, "gte": actual >= bound, "lt": actual < bound, "lte": actual <= bound,
            "eq": actual == bound}[op]


_TYPES: dict[str, Any] = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "array": list,
                          "object": dict, "null": type(None)}


def check(assertion: dict[str, Any], value: Any) -> str | None:
    """None when ``assertion`` holds for ``value``; otherwise what went wrong, readably."""
    path = assertion.get("path", "$")
    try:
        actual = find(value, path)
    except PathError as exc:
        return str(exc)
    shown = "nothing" if actual is MISSING else _text(actual)
    for name in CHECKS:
        if name not in assertion:
            continue
        expected = assertion[name]
        if name == "exists":
            if (actual is not MISSING) != bool(expected):
                return f"{path}: expected it {'to exist' if expected else 'not to exist'}, found {shown}"
            continue
        if actual is MISSING:
            return f"{path}: nothing there (expected {name} {_text(expected)})"
        if name == "equals" and actual != expected:
            return f"{path}: not equal\n{_diff(expected, actual)}"
        if name == "not_equals" and actual == expected:
            return f"{path}: expected anything but {_text(expected)}"
        if name == "contains":
            ok = (expected in actual) if isinstance(actual, (list, str)) else (
                isinstance(actual, dict) and isinstance(expected, dict)
                and all(actual.get(k) == v for k, v in expected.items()))
            if not ok:
                return f"{path}: {shown[:500]} does not contain {_text(expected)}"
        if name == "matches" and not (isinstance(actual, str) and re.search(str(expected), actual)):
            return f"{path}: {shown[:200]} does not match /{expected}/"
        if name == "length":
            if not isinstance(actual, (list, str, dict)):
                return f"{path}: {shown[:200]} has no length"
            bounds = expected if isinstance(expected, dict) else {"eq": expected}
            failed = [f"{op} {bound}" for op, bound in bounds.items() if not _compare(op, len(actual), bound)]
            if failed:
                return f"{path}: length {len(actual)} is not {' and '.join(failed)}"
        if name in ("gt", "gte", "lt", "lte") and not _compare(name, actual, expected):
            return f"{path}: {shown} is not {name} {expected}"
        if name == "type" and not (isinstance(actual, _TYPES.get(expected, ())) and not (
                expected in ("number", "integer") and isinstance(actual, bool))):
            return f"{path}: {shown[:200]} is not of type {expected}"
    return None
