"""Fixed-point money arithmetic: amounts are exact decimals at 12 places, cents only at the end.

Every multiplication and division rounds half-to-even at 12 places; the final conversion to cents
rounds half away from zero (``ROUND_HALF_UP`` in ``decimal`` terms). Inputs that arrive as JSON
floats are converted through their shortest repr (the digits JavaScript would print), never
through the binary value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, FloatOperation, localcontext
from typing import cast

from .errors import PricingInputError

PLACES = Decimal("1e-12")
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
# Inputs beyond this magnitude are rejected so that products stay exact within the context precision.
MAX_MAGNITUDE = Decimal("1e18")
_NUMERIC = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


@contextmanager
def pricing_context() -> Iterator[None]:
    """A decimal context wide enough for exact products of 12-place amounts; float mixing is an error.

    It copies the caller's context, so traps the caller set stay set.
    """
    with localcontext() as ctx:
        ctx.prec = 90
        ctx.rounding = ROUND_HALF_EVEN
        ctx.traps[FloatOperation] = True
        yield


def q12(value: Decimal) -> Decimal:
    """Round half-to-even at 12 decimal places."""
    return value.quantize(PLACES, ROUND_HALF_EVEN)  # positional: keyword arguments cost ~3x here


def mul(a: Decimal, b: Decimal) -> Decimal:
    return (a * b).quantize(PLACES, ROUND_HALF_EVEN)


def div(a: Decimal, b: Decimal) -> Decimal:
    return (a / b).quantize(PLACES, ROUND_HALF_EVEN)


def truncate12(value: Decimal) -> Decimal:
    """Cut (not round) past 12 decimal places, as epilot does for ``unit_amount_decimal``."""
    return value.quantize(PLACES, ROUND_DOWN)


def to_cents(value: Decimal) -> int:
    """Major units to integer cents, half away from zero: 0.125 -> 13, -0.125 -> -13."""
    return int((value * HUNDRED).quantize(ONE, ROUND_HALF_UP))


def is_number(value: object) -> bool:
    """Whether ``value`` is a JSON number or a numeric string (booleans are not numbers)."""
    kind = type(value)  # fast paths for what JSON bodies hold; bool is not int here
    if kind is str:
        return bool(_NUMERIC.match(cast(str, value)))
    if kind is int:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | Decimal):
        return not isinstance(value, Decimal) or value.is_finite()
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and bool(_NUMERIC.match(value))


def is_json_number(value: object) -> bool:
    """Whether ``value`` is what a JSON number parses to (an int or a finite float, not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_decimal(value: object, where: str) -> Decimal:
    """A JSON number or numeric string as an exact Decimal, or PricingInputError naming ``where``."""
    if not is_number(value):
        raise PricingInputError(f"{where}: {value!r} is not a number")
    kind = type(value)
    if kind is str:
        try:
            result = Decimal(cast(str, value).strip())
        except ArithmeticError:  # decimal.InvalidOperation: digits Python's int() takes but Decimal does not
            raise PricingInputError(f"{where}: {value!r} is not a number") from None
    elif kind is int:
        result = Decimal(cast(int, value))
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        result = Decimal(str(value).strip())
    try:
        too_large = not result.is_finite() or abs(result) >= MAX_MAGNITUDE
    except ArithmeticError:  # an exponent beyond the context's range (decimal.Overflow)
        too_large = True
    if too_large:
        raise PricingInputError(f"{where}: {value!r} is too large")
    return result


def parse_quantity(value: object, where: str) -> Decimal:
    """A line quantity: a non-numeric one counts as 1 (epilot's rule), a negative one is an error."""
    if not is_number(value):
        return ONE
    quantity = parse_decimal(value, where)
    if quantity < ZERO:
        raise PricingInputError(f"{where}: quantity must not be negative, got {value!r}")
    return quantity
