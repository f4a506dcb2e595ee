"""Numbers printed the way JavaScript's ``String(number)`` prints them, from exact decimals.

epilot's ``*_decimal`` strings are JavaScript numbers turned into strings: no trailing zeros, no
exponent between 1e-7 and 1e21 ("10", "8.403361344538", "71.4"), and ``1e+21`` / ``1e-7`` outside
that range. The digits here are the exact decimal digits, so large amounts keep every cent that a
binary double would lose.
"""

from __future__ import annotations

from decimal import Decimal


def js_number_string(value: Decimal | int) -> str:
    """``String(x)`` of ECMAScript's Number::toString for a finite decimal ``x`` (negative zero is "0")."""
    if type(value) is Decimal:  # the hot path: money amounts
        number = value
    elif isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"expected an int or Decimal, got {type(value).__name__}")
    else:
        number = Decimal(value) if isinstance(value, int) else value
    if not number.is_finite():
        raise ValueError(f"{number} is not a finite number")
    if not number:
        return "0"
    n = number.adjusted() + 1  # the decimal point sits after the n-th significant digit
    if -6 < n <= 21:
        # Positional notation: the exact digits without trailing fractional zeros. str() is positional
        # whenever the exponent is <= 0 here (adjusted() >= -6); format "f" covers positive exponents.
        text = str(number)
        if "E" in text or "e" in text:
            text = format(number, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    sign, digit_tuple, _ = number.as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    e = n - 1
    mantissa = digits if len(digits) == 1 else f"{digits[0]}.{digits[1:]}"
    text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return "-" + text if sign else text


def json_number(value: Decimal) -> int | float:
    """A JSON ``number`` field that is not money (a rate, a percentage, a tier quantity, ct/kWh).

    An integral value stays an ``int``. JSON has no decimal type, so a fractional one becomes the
    float whose shortest repr is the exact decimal's JavaScript string; this is the only place a
    float is created, at the output edge, and no arithmetic happens on it.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(js_number_string(value))
