"""Amounts: integer cents, and the decimal strings epilot prints next to them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
_TWELVE_PLACES = Decimal("1e-12")


def major(value_in_cents: Decimal | int) -> str:
    """Cents as a major-unit decimal string with up to 12 places and no trailing zeros, the way the
    pricing API prints ``*_decimal`` fields: 1000 -> "10", 840.3361 -> "8.403361"."""
    value = (Decimal(value_in_cents) / HUNDRED).quantize(_TWELVE_PLACES, rounding=ROUND_HALF_UP)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def two_places(value_in_cents: int) -> str:
    """Cents as a major-unit string with exactly two places ("89.90"), as billing entities carry them."""
    sign = "-" if value_in_cents < 0 else ""
    whole, rest = divmod(abs(value_in_cents), 100)
    return f"{sign}{whole}.{rest:02d}"

