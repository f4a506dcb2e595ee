"""Converting values between billing periods (price mappings, cashbacks)."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from .numbers import q12

PER_YEAR = MappingProxyType({"yearly": 1, "every_6_months": 2, "every_quarter": 4, "monthly": 12, "weekly": 52})
RECURRING_PERIODS = tuple(PER_YEAR)


def period_ratio(source: str | None, target: str | None) -> tuple[int, int] | None:
    """(numerator, denominator) turning a value per ``source`` into one per ``target``.

    None when nothing converts: same or unknown periods, or a one-time side. A month counts as four
    weeks when converting between monthly and weekly (epilot's rule); otherwise the counts per year
    are used (52 weeks a year).
    """
    if source == target or source not in PER_YEAR or target not in PER_YEAR:
        return None
    if (source, target) == ("weekly", "monthly"):
        return 4, 1
    if (source, target) == ("monthly", "weekly"):
        return 1, 4
    return PER_YEAR[source], PER_YEAR[target]


def convert_period_value(value: Decimal, source: str | None, target: str | None) -> Decimal:
    """``value`` per ``source`` as a value per ``target``, rounded half-even at 12 places."""
    ratio = period_ratio(source, target)
    if ratio is None:
        return value
    numerator, denominator = ratio
    return q12(value * numerator / denominator)
