"""Assertions of scenario steps: a JSON path into a value, and checks on what it finds.

Paths: ``$`` (the whole value), ``.name``, ``["name"]``, ``[0]``, ``[-1]``, ``[*]`` (every element;
the result is a list) ``[?(@.key == 'value')]`` (elements whose key equals a literal) and ``[?(@.key)]`` (elements that
have a non-empty key); an index right after a filter picks that match (``[?(@.key)][0]``: the first).
Checks: equals, not_equals, contains, exists, matches, length, gt, gte, lt, lte, type.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

MISSING = object()
_TOKEN = re.compile(
    r"""\.([A-Za-z0-9_$@\-]+)|\[(-?\d+)\]|\[(\*)\]|\[["']([^"']+)["']\]"""
    r"""|\[\?\(@\.([\w.\-]+)(?:\s*==\s*(.+?))?\)\]""")
CHECKS = ("equals", "not_equals", "contains", "exists", "matches", "length", "gt", "gte", "lt", "lte", "type")


class PathError(ValueError):
    pass


def parse_path(path: str) -> list[tuple[str, Any]]:
    if not path.startswith("$"):
        raise PathError(f"a JSON path starts with '$': {path!r}")
    steps: list[tuple[str, Any]] = []
    pos = 1
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            raise PathError(f"cannot read JSON path {path!r} at position {pos}")
        key, index, star, quoted, f_key, f_value = m.groups()
        if key is not None or quoted is not None:
            steps.append(("key", key if key is not None else quoted))
        elif index is not None:
            steps.append(("index", int(index)))
        elif star:
            steps.append(("all", None))
        else:
            steps.append(("filter", (f_key, MISSING if f_value is None else json.loads(f_value.replace("'", '"')))))
        pos = m.end()
    return steps


def find(value: Any, path: str) -> Any:
    """The value at ``path``, or MISSING. A ``[*]`` or filter makes the result a list."""
    current: list[Any] = [value]
    many = False
    previous = None
    for kind, arg in parse_path(path):
        if kind == "index" and previous == "filter":
            # `[?(...)][N]` picks the Nth match, not the Nth item inside each match.
            current = [current[arg]] if -len(current) <= arg < len(current) else []
            many, previous = False, kind
            continue
        previous = kind
        nxt: list[Any] = []
        for item in current:
            by_key = kind == "key" and isinstance(item, dict) and arg in item
            by_index = kind == "index" and isinstance(item, list) and -len(item) <= arg < len(item)
            if by_key or by_index:
                nxt.append(item[arg])
            elif kind == "all" and isinstance(item, (list, dict)):
                nxt.extend(item if isinstance(item, list) else item.values())
                many = True
            elif kind == "filter" and isinstance(item, list):
                key, expected = arg
                nxt.extend(e for e in item if isinstance(e, dict) and _matches(_dig(e, key), expected))
                many = True
        current = nxt
    if many:
        return current
    return current[0] if current else MISSING


def _matches(found: Any, expected: Any) -> bool:
    """A filter's test: equal to the literal, or (``[?(@.key)]``, no literal) present and not empty."""
    if expected is MISSING:
        return found is not MISSING and found not in (None, "", [], {})
    return bool(found == expected)


def _dig(item: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(item, dict) or part not in item:
            return MISSING
        item = item[part]
    return item


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


_TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "array": list, "object": dict,
          "null": type(None)}


def check(assertion: dict[str, Any], value: Any) -> str | None:
    """None when ``assertion`` holds for ``value``; otherwise what went wrong, readably."""
    path = assertion.get("path", "$")
    actual = find(value, path)
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
