"""Money arithmetic exactly as epilot's pricing library performs it (Dinero.js on JavaScript numbers).

epilot's library keeps every amount as an integer count of 10^-12 currency units (Dinero.js,
precision 12) inside a JavaScript number, i.e. an IEEE-754 double. Python floats are the same
doubles and + - * / round the same way, so repeating each Dinero.js operation step by step gives
bit-identical results, including the library's own rounding artefacts:

- a division by (1 + rate) is a double division, then rounded half-to-even: above ~40 € the last
  of the 12 decimals can differ from exact decimal arithmetic (net of 662.362368970907 at 19 % is
  662.362368970906 in the library);
- past 2^53 units (9,007.199254740992 €) a double no longer holds every 12-place integer:
  "12345.123456789012" becomes 12345.123456789011.

The differential test (tests/test_pricing_oracle.py) proves these agree with the library. Amounts
leave the engine either as cents (``to_cents``) or as ``*_decimal`` strings (``to_unit_string``),
never as floats.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from .errors import PricingInputError
from .jsnum import js_number_string

PRECISION = 12
SCALE = 1e12  # Math.pow(10, 12)
CENTS_DIVISOR = 1e10  # convertPrecision(2) from precision 12
_DECIMAL_LITERAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_JS_WHITESPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
                 "\u2028\u2029\u202f\u205f\u3000\ufeff"
_TWO_53 = 9007199254740992.0


# -- JavaScript number semantics -------------------------------------------------------------------

def is_js_number(value: object) -> bool:
    """``typeof value === "number"`` for a parsed JSON value (booleans are not numbers)."""
    kind = type(value)
    return kind is float or kind is int or (isinstance(value, int | float) and not isinstance(value, bool))


def js_truthy(value: object) -> bool:
    """JavaScript truthiness: empty arrays and objects are truthy, 0, NaN and "" are not."""
    kind = type(value)
    if kind is str:
        return value != ""
    if kind is dict or kind is list:
        return True
    if kind is float:
        return value == value and value != 0
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, dict | list):
        return True
    return bool(value)  # UNDEFINED is falsy


def number_from_string(text: str) -> float:
    """``Number(text)``: decimal literals, Infinity and 0x/0o/0b integers; anything else is NaN."""
    text = text.strip(_JS_WHITESPACE)
    if text == "":
        return 0.0
    if _DECIMAL_LITERAL.fullmatch(text):
        return float(text)
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    prefix = text[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    if base is not None and len(text) > 2:
        try:
            return float(int(text[2:], base))
        except ValueError:
            return math.nan
    return math.nan


def to_number(value: object) -> float:
    """``Number(value)`` for a parsed JSON value."""
    if value is UNDEFINED:
        return math.nan
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return number_from_string(value)
    if isinstance(value, list):
        if not value:
            return 0.0
        if len(value) == 1 and not isinstance(value[0], dict | list):
            return to_number(js_string(value[0]))
        return math.nan
    return math.nan


def is_integer(value: float) -> bool:
    """``Number.isInteger``."""
    if type(value) is float:
        return value.is_integer()
    return math.isfinite(value) and value == math.floor(value)


def js_round(value: float) -> float:
    """``Math.round``: the nearest integer, halves towards +infinity."""
    if not math.isfinite(value) or value == math.floor(value):
        return value
    floor = math.floor(value)
    return float(floor + 1) if value - floor >= 0.5 else float(floor)


def _is_half(value: float) -> bool:
    return math.fmod(abs(value), 1.0) == 0.5


def round_half_even(value: float) -> float:
    """Dinero.js' HALF_EVEN (its default for multiply and divide)."""
    rounded = js_round(value)
    if _is_half(value):
        return rounded if math.fmod(rounded, 2.0) == 0 else rounded - 1
    return rounded


def round_half_away(value: float) -> float:
    """Dinero.js' HALF_AWAY_FROM_ZERO (its default for convertPrecision)."""
    if _is_half(value):
        return math.copysign(math.ceil(abs(value)), value)
    return js_round(value)


def js_string(value: object) -> str:
    """``String(value)`` for a JSON scalar; numbers are printed as JavaScript prints them."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return number_string(float(value))
    return str(value)


def number_string(value: float) -> str:
    """ECMAScript Number::toString: shortest round-trip digits, exponent only past 1e21 / below 1e-6.

    Python's repr is the shortest round-trip representation too; only the layout differs."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value)) if abs(value) < _TWO_53 else js_number_string(Decimal(repr(value)))
    text = repr(value)
    if "e" not in text and abs(value) >= 1e-6:
        return text  # already positional with the shortest digits ("0.5", "12345.123456789011")
    return js_number_string(Decimal(text))


def json_integer(value: float) -> int:
    """A double holding an integer as the JSON integer JavaScript would print (its shortest digits)."""
    if abs(value) < _TWO_53:
        return int(value)
    return int(Decimal(repr(value)))


# -- Dinero.js operations on 12-place integer amounts held in doubles -----------------------------

def _fraction_digits(value: float) -> int:
    text = number_string(value)
    if text.find("e-") > 0:
        return int(text.split("e-")[1])
    fraction = text.split(".")[1] if "." in text else ""
    return len(fraction)


def _is_float(value: float) -> bool:
    return math.isfinite(value) and not is_integer(value)


def _multiply(a: float, b: float) -> float:
    """Dinero.js' calculator multiply: a float operand is scaled to an integer first."""
    if _is_float(a) or _is_float(b):
        factor = max(10.0 ** _fraction_digits(a), 10.0 ** _fraction_digits(b))
        return js_round(a * factor) * js_round(b * factor) / (factor * factor)
    return a * b


def _checked(amount: float) -> float:
    if not is_integer(amount):
        raise PricingInputError("You must provide an integer.")
    return amount


def multiply(amount: float, factor: float) -> float:
    """``dinero.multiply(factor)`` (HALF_EVEN)."""
    return _checked(round_half_even(_multiply(amount, factor)))


def divide(amount: float, divisor: float) -> float:
    """``dinero.divide(divisor)`` (HALF_EVEN)."""
    return _checked(round_half_even(amount / divisor))


def from_decimal(text: Any) -> float:
    """``toDinero(unitAmountDecimal)``: the decimal string cut (not rounded) after 12 places, as an
    integer of 10^-12 units. A value that is not a decimal string fails as in the library."""
    if not js_truthy(text):
        text = "0"
    if not isinstance(text, str):
        raise PricingInputError(f"{js_string(text)!r} is not a decimal string")
    parts = text.split(".")
    integer = parts[0]
    fraction = parts[1] if len(parts) > 1 else "0"
    fraction = fraction[:PRECISION].ljust(PRECISION, "0")
    value = number_from_string(integer + fraction)
    if not is_integer(value):
        raise PricingInputError(f"{text!r} is not a decimal amount")
    return value


def to_unit(amount: float) -> float:
    """``dinero.toUnit()``: the amount in major units as a double."""
    return amount / SCALE


def to_unit_string(amount: float) -> str:
    """``dinero.toUnit().toString()``: a ``*_decimal`` string."""
    return number_string(amount / SCALE)


def to_cents(amount: float) -> int:
    """``dinero.convertPrecision(2).getAmount()`` (half away from zero)."""
    value = amount / CENTS_DIVISOR
    floor = math.floor(value)
    fraction = value - floor  # exact for doubles (and below 1 in magnitude the rounding is harmless)
    if fraction > 0.5 or (fraction == 0.5 and value > 0):
        floor += 1
    return floor if abs(floor) < _TWO_53 else int(Decimal(repr(float(floor))))


def convert_precision(amount: float, precision: int) -> float:
    """``dinero.convertPrecision(precision)`` from precision 12 (half away from zero)."""
    if precision >= PRECISION:
        return round_half_away(amount * 10.0 ** (precision - PRECISION))
    return round_half_away(amount / 10.0 ** (PRECISION - precision))


def js_number(value: float) -> int | float:
    """A computed number as JSON: integral values as integers, as JavaScript prints them."""
    return json_integer(value) if value.is_integer() else value


def safe_quantity(value: object) -> float:
    """``getSafeQuantity``: a number (not NaN) as it is, anything else 1."""
    if is_js_number(value) and value == value:
        return float(value)  # type: ignore[arg-type]
    return 1.0


def same_currency(a: str, b: str) -> None:
    """Dinero.js refuses to add, subtract or compare amounts of different currencies."""
    if a != b:
        raise PricingInputError(
            f"You must provide a Dinero instance with the same currency ({a} and {b}): a fixed coupon's "
            "fixed_value_currency must be the price's currency")


class _Undefined:
    """JavaScript's ``undefined``: a missing key, as opposed to a JSON ``null`` (None)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


def prop(obj: object, key: str) -> Any:
    """``obj?.[key]``: UNDEFINED when ``obj`` is not an object or has no such key."""
    if type(obj) is dict or isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def nullish(value: object) -> bool:
    """``value == null``: JSON null or a missing value."""
    return value is None or value is UNDEFINED


def strict_equal(a: object, b: object) -> bool:
    """``a === b`` for JSON values (objects only equal themselves)."""
    if a is UNDEFINED or b is UNDEFINED:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_js_number(a) and is_js_number(b):
        return a == b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return type(a) is type(b) and a == b
