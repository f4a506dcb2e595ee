"""Deterministic day-ahead spot prices for ``$historicMarketPrices`` and ``$averageMarketPrice``.

Prices are made up but plausible: a monthly level (winter dearer than summer), a daily shape with
morning and evening peaks and a solar dip at noon, cheaper weekends, a daily level shift and
quarter-hour noise, and in spring and summer occasional solar-surplus days whose noon hours go
negative (mostly in DE-LU). Everything is integer arithmetic on hundredths of EUR/MWh, seeded per
(seed, bidding zone, local day), so the same instant always has the same price whatever the query.

Intervals: ``from``/``to`` are ISO 8601; a date (YYYY-MM-DD) or a date-time without offset is read
in the bidding zone's time zone. A series has one point per interval whose start lies in
[from, to): quarter-hours and hours on the clock, local days and local months, so a 23-hour DST day
has 23 PT1H and 92 PT15M points and a 25-hour day 25 and 100. A point's price is the mean of the
quarter-hour prices of its interval: exact for PT1H, rounded half-even to 12 decimals (EUR/kWh) for
P1D and P1M. The average of a period is the mean of its quarter-hour prices rounded the same way,
so it equals the mean of the PT15M series, and of the PT1H series when from/to are whole hours.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from .errors import PricingInputError
from .jsnum import js_number_string, json_number
from .numbers import pricing_context, q12

MARKETS = ("day_ahead",)
ZONES = MappingProxyType({"AT": ZoneInfo("Europe/Vienna"), "DE-LU": ZoneInfo("Europe/Berlin")})
FREQUENCIES = ("PT15M", "PT1H", "P1D", "P1M")
MAX_POINTS = 50_000
MAX_SPAN = timedelta(days=5 * 366)  # prices are generated from quarter-hours: bound the work
QUARTER = timedelta(minutes=15)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Levels in hundredths of EUR/MWh (8_500 = 85.00 EUR/MWh = 8.5 ct/kWh).
_MONTH_LEVEL = (10_500, 9_800, 8_600, 7_400, 6_600, 6_900, 7_800, 8_200, 8_900, 9_600, 10_400, 11_200)
_ZONE_OFFSET = MappingProxyType({"AT": 700, "DE-LU": 0})
_HOUR_SHAPE = (-1_900, -2_300, -2_600, -2_700, -2_400, -1_200, 900, 2_300, 2_600, 1_400, 0, -800,
               -1_300, -1_400, -900, 0, 1_300, 2_900, 3_900, 3_600, 2_400, 1_100, 200, -900)
# How strongly the sun flattens noon prices, in percent of the noon dip, per month.
_SOLAR = (25, 35, 55, 80, 100, 110, 110, 95, 70, 45, 25, 20)
_NOON_DIP = (0, 0, 0, 0, 0, 0, 0, -200, -900, -1_900, -2_900, -3_600, -4_000, -3_800, -3_000, -1_900, -800,
             -100, 0, 0, 0, 0, 0, 0)
# Chance in percent that a day of April..September is a solar-surplus day (noon prices below zero).
_SURPLUS_CHANCE = MappingProxyType({"AT": 4, "DE-LU": 14})
_WEEKEND = MappingProxyType({5: -1_400, 6: -2_200})
PRICE_FLOOR, PRICE_CAP = -50_000, 400_000  # the exchange's harmonised limits, -500 and 4000 EUR/MWh


def _check_choice(name: str, value: str, allowed: Collection[str]) -> None:
    if value not in allowed:
        raise PricingInputError(f"{name}: {value!r} is not supported (use one of {', '.join(allowed)})")


def parse_instant(value: str | datetime, zone: ZoneInfo, name: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; dates and naive times are local."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()), time(0))
        except ValueError as exc:
            raise PricingInputError(f"{name}: {value!r} is not a valid date") from exc
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise PricingInputError(f"{name}: {value!r} is not an ISO 8601 date or date-time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        raise PricingInputError(f"{name}: {value!r} is out of the range of dates") from None


def _iso(instant: datetime, millis: bool = True) -> str:
    text = instant.astimezone(UTC).isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass
class _Series:
    """Quarter-hour prices of one bidding zone and seed, generated per local day on demand."""

    zone_name: str
    seed: int | str
    days: dict[date, tuple[datetime, list[int]]] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZONES[self.zone_name]

    def day(self, day: date) -> tuple[datetime, list[int]]:
        """The UTC start of a local day and its quarter-hour prices (92, 96 or 100 of them)."""
        if day not in self.days:
            self.days[day] = self._generate(day)
        return self.days[day]

    def quarter(self, instant: datetime) -> int:
        local_day = instant.astimezone(self.zone).date()
        start, prices = self.day(local_day)
        return prices[(instant - start) // QUARTER]

    def _generate(self, day: date) -> tuple[datetime, list[int]]:
        start = _local_midnight(day, self.zone)
        count = (_local_midnight(day + timedelta(days=1), self.zone) - start) // QUARTER
        rng = random.Random(f"{self.seed}|{self.zone_name}|{day.isoformat()}")
        level = _MONTH_LEVEL[day.month - 1] + _ZONE_OFFSET[self.zone_name] + _WEEKEND.get(day.weekday(), 0)
        level += rng.randint(-2_500, 2_500)
        solar = _SOLAR[day.month - 1]
        surplus = 0
        if 4 <= day.month <= 9 and rng.randrange(100) < _SURPLUS_CHANCE[self.zone_name]:
            surplus = rng.randint(9_000, 16_000)
        prices = []
        for slot in range(count):
            hour = (start + slot * QUARTER).astimezone(self.zone).hour
            price = level + _HOUR_SHAPE[hour] + _NOON_DIP[hour] * solar // 100 + rng.randint(-700, 700)
            price += _NOON_DIP[hour] * surplus // 4_000
            prices.append(min(max(price, PRICE_FLOOR), PRICE_CAP))
        return start, prices


def _intervals(frequency: str, start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """(start, end) of every interval of ``frequency`` whose start lies in [start, end)."""
    intervals: list[tuple[datetime, datetime]] = []
    if frequency in ("PT15M", "PT1H"):
        step = QUARTER if frequency == "PT15M" else timedelta(hours=1)
        current = _EPOCH + _ceil_steps(start - _EPOCH, step) * step  # the first boundary at or after start
        if _ceil_steps(end - current, step) > MAX_POINTS:
            raise PricingInputError(f"interval too large: more than {MAX_POINTS} {frequency} points")
        while current < end:
            intervals.append((current, current + step))
            current += step
        return intervals
    local = start.astimezone(zone)
    day = local.date()
    if frequency == "P1M":
        day = day.replace(day=1)
    while True:
        begin = _local_midnight(day, zone)
        following = _next(day, frequency)
        if begin >= end:
            return intervals
        if begin >= start:
            intervals.append((begin, _local_midnight(following, zone)))
        day = following


def _next(day: date, frequency: str) -> date:
    if frequency == "P1D":
        return day + timedelta(days=1)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _validated(market: str, bidding_zone: str, start: str | datetime, end: str | datetime,
               ) -> tuple[ZoneInfo, datetime, datetime]:
    _check_choice("market", market, MARKETS)
    _check_choice("bidding_zone", bidding_zone, ZONES)
    zone = ZONES[bidding_zone]
    begin, finish = parse_instant(start, zone, "from"), parse_instant(end, zone, "to")
    if begin >= finish:
        raise PricingInputError(f"from ({_iso(begin)}) must be before to ({_iso(finish)})")
    if finish - begin > MAX_SPAN:
        raise PricingInputError("interval too large: at most 5 years of prices per request")
    return zone, begin, finish


def _point(eur_per_kwh: Decimal, instant: datetime) -> dict[str, Any]:
    return {
        "unit_amount": json_number(eur_per_kwh * 100),  # cents per kWh
        "unit_amount_decimal": js_number_string(eur_per_kwh),
        "unit_amount_currency": "EUR",
        "timestamp": _iso(instant),
    }


def _mean_eur_per_kwh(prices: list[int]) -> Decimal:
    """The mean of quarter-hour prices (hundredths of EUR/MWh) in EUR/kWh, half-even at 12 places."""
    return q12(Decimal(sum(prices)).scaleb(-5) / len(prices))


def _ceil_steps(offset: timedelta, step: timedelta) -> int:
    return -(-offset // step)


def _quarters(series: _Series, start: datetime, end: datetime) -> list[int]:
    """The quarter-hour prices whose start lies in [start, end)."""
    prices: list[int] = []
    day = start.astimezone(series.zone).date()
    while True:
        day_start, day_prices = series.day(day)
        if day_start >= end:
            return prices
        first = max(0, _ceil_steps(start - day_start, QUARTER))
        stop = min(len(day_prices), _ceil_steps(end - day_start, QUARTER))
        prices.extend(day_prices[first:stop])
        day += timedelta(days=1)


def historic_market_prices(*, market: str, bidding_zone: str, frequency: str, start: str | datetime,
                           end: str | datetime, seed: int | str = 0) -> list[dict[str, Any]]:
    """The price points (``MarketPricePoint``) of ``bidding_zone`` from ``start`` to ``end``.

    Raises :class:`PricingInputError` for an unknown market, zone or frequency, an unreadable or
    empty interval, or one with more than ``MAX_POINTS`` points or longer than five years.
    """
    with pricing_context():
        zone, begin, finish = _validated(market, bidding_zone, start, end)
        _check_choice("frequency", frequency, FREQUENCIES)
        intervals = _intervals(frequency, begin, finish, zone)
        if len(intervals) > MAX_POINTS:
            raise PricingInputError(f"interval too large: more than {MAX_POINTS} {frequency} points")
        series = _Series(bidding_zone, seed)
        points = []
        for interval_start, interval_end in intervals:
            if frequency == "PT15M":
                value = Decimal(series.quarter(interval_start)).scaleb(-5)
            elif frequency == "PT1H":
                value = Decimal(sum(_quarters(series, interval_start, interval_end))).scaleb(-5) / 4
            else:
                value = _mean_eur_per_kwh(_quarters(series, interval_start, interval_end))
            points.append(_point(value, interval_start))
        return points


def average_market_price(*, market: str, bidding_zone: str, start: str | datetime, end: str | datetime,
                         seed: int | str = 0) -> dict[str, Any]:
    """The average price of the period: the ``price`` object of ``AverageMarketPrice``.

    ``timestamp`` is the period as an ISO 8601 interval in UTC. Raises like
    :func:`historic_market_prices`, and when no quarter-hour starts in the period.
    """
    with pricing_context():
        _, begin, finish = _validated(market, bidding_zone, start, end)
        prices = _quarters(_Series(bidding_zone, seed), begin, finish)
        if not prices:
            raise PricingInputError("the interval contains no quarter-hour price")
        price = _point(_mean_eur_per_kwh(prices), begin)
        price["timestamp"] = f"{_iso(begin, millis=False)}/{_iso(finish, millis=False)}"
        return price
