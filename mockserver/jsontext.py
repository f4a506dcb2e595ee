"""JSON encoding for values that came from clients: orjson, with the standard library as the fallback
for integers beyond 64 bits (which JSON allows and orjson refuses)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Compact JSON bytes of ``value``; non-string keys become strings."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


_LONG_DIGITS = re.compile(r"\d{20}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{20}")


def may_hold_long_integers(text: str | bytes) -> bool:
    """Whether JSON text may hold an integer beyond 64 bits, which orjson would read as a float."""
    return bool((_LONG_DIGITS if isinstance(text, str) else _LONG_DIGITS_BYTES).search(text))


def loads(text: str | bytes) -> Any:
    """Parse JSON written by :func:`dumps`, keeping integers beyond 64 bits exact."""
    return json.loads(text) if may_hold_long_integers(text) else orjson.loads(text)
