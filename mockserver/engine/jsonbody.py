"""JSON bodies from clients: parsed fast, within bounds, or refused with a reason.

- orjson first; the standard library for integers beyond 64 bits (kept exact), as JSON allows.
- Nesting deeper than :data:`MAX_DEPTH` is refused (validators and encoders recurse).
- Numbers beyond the range of an IEEE double (``1e400``, a 400-digit integer) are refused rather
  than read as infinity or carried into code that converts them.
- Lone UTF-16 surrogates (valid JSON escapes, invalid Unicode) become U+FFFD.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

from .jsontext import may_hold_long_integers

MAX_DEPTH: Final = 100
_DOUBLE_LIMIT: Final = 2**1024  # the smallest magnitude an IEEE double cannot hold
_MAX_DIGITS: Final = 309  # more decimal digits are always beyond it


class _OutOfRange(ValueError):
    pass


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    """The JSON value of ``raw``, or (None, the reason it is refused)."""
    if not may_hold_long_integers(raw):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library says why (or reads what orjson refuses)
        else:
            return _bounded(raw, value)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"request body is not valid UTF-8 (byte {exc.start})"
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except _OutOfRange as exc:
        return None, f"a number in the request body is out of range: {exc}"
    except RecursionError:
        return None, f"the request body is nested more than {MAX_DEPTH} levels deep"
    except ValueError as exc:
        return None, f"malformed JSON body: {exc}"
    value, problem = _bounded(raw, value)
    return (_scrub_surrogates(value), None) if problem is None else (None, problem)


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _bounded(raw: bytes, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, (dict, list)) and raw.count(b"[") + raw.count(b"{") > MAX_DEPTH \
            and depth_exceeds(value):
        return None, f"the request body is nested more than {MAX_DEPTH} levels deep"
    return value, None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _OutOfRange(_preview(text))
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _OutOfRange(_preview(text))
    value = int(text)
    if abs(value) >= _DOUBLE_LIMIT:
        raise _OutOfRange(_preview(text))
    return value


def _preview(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} characters)"


def _scrub(text: str) -> str:
    # JSON may escape lone UTF-16 surrogates (JavaScript strings allow them); Unicode does not.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _scrub_surrogates(value: Any) -> Any:
    """Replace lone surrogates with U+FFFD, as a JS server would keep the string: the value stays
    accepted and can be stored and echoed."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return _scrub(value)
    if isinstance(value, list):
        return [_scrub_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_scrub_surrogates(k): _scrub_surrogates(v) for k, v in value.items()}
    return value
