"""Converting values between billing periods (price mappings, cashbacks, external fees).

Per year: 1 yearly, 2 half-yearly, 4 quarterly, 12 monthly, 52 weekly, except monthly <-> weekly,
which uses 4 weeks a month. The factor is a JavaScript number (1/12 is 0.08333333333333333) and the
conversion is a Dinero.js multiplication by it, rounded half-to-even at 12 places.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .dinero import convert_precision, from_decimal, js_string, multiply, to_unit_string

PER_YEAR = MappingProxyType({"yearly": 1, "every_6_months": 2, "every_quarter": 4, "monthly": 12, "weekly": 52})
RECURRING_PERIODS = tuple(PER_YEAR)


def conversion_factor(source: Any, target: Any) -> float:
    """``getTimeFrequencyConversionFactor``: 1 when either side is unknown (one-time, missing)."""
    if source == "monthly" and target == "weekly":
        return 1 / 4
    if source == "weekly" and target == "monthly":
        return 4.0
    origin = PER_YEAR.get(source) if isinstance(source, str) else None
    goal = PER_YEAR.get(target) if isinstance(target, str) else None
    if not origin or not goal:
        return 1.0
    return origin / goal


def normalize_amount(amount: float, source: Any, target: Any) -> float:
    """A 12-place amount per ``source`` as one per ``target``."""
    return multiply(amount, conversion_factor(source, target))


def normalize_value(value: Any, source: Any, target: Any) -> float:
    """A number (a mapping value) per ``source`` as a 12-place amount per ``target``."""
    return normalize_amount(from_decimal(js_string(value)), source, target)


def normalize_decimal(value: str, source: Any, target: Any) -> str:
    """``normalizeValueToFrequencyUnit`` for a decimal string (external fees): the result as a string."""
    amount = normalize_value(value, _lower(source), _lower(target))
    return to_unit_string(convert_precision(amount, 12))


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value
