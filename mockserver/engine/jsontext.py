"""JSON encoding for values that came from clients: orjson, with the standard library as the fallback
for integers beyond 64 bits (which JSON allows and orjson refuses, or reads as floats)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Text written by the fallback starts with a space (valid JSON whitespace), so that `loads` knows at
# once which parser keeps it exact.
_EXACT = " "
_LONG_INTEGER = re.compile(rb"[:\[,]\s*-?\d{20}")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes of ``value``; non-string keys become strings."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    return (_EXACT + json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)).encode()


def loads(text: str | bytes) -> Any:
    """Parse JSON written by :func:`dumps`, keeping integers beyond 64 bits exact."""
    if text[:1] in (_EXACT, b" "):
        return json.loads(text)
    return orjson.loads(text)


def may_hold_long_integers(raw: bytes) -> bool:
    """Whether a client's JSON may hold an integer beyond 64 bits, which orjson would read as a float.
    (A false positive, such digits inside a string, only costs the slower parser.)"""
    return bool(_LONG_INTEGER.search(raw))
