"""Spot market prices: interval semantics across DST, determinism, averages and the response shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mockserver.engine.loader import bundle
from mockserver.engine.oas_schema import SchemaCompiler, first_error
from mockserver.epilot.pricing import PricingInputError, average_market_price, historic_market_prices

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "pricing" / "openapi.yaml"
BERLIN = ZoneInfo("Europe/Berlin")


def series(frequency: str, start: str, end: str, zone: str = "DE-LU", seed: int = 0) -> list[dict[str, Any]]:
    return historic_market_prices(market="day_ahead", bidding_zone=zone, frequency=frequency, start=start,
                                  end=end, seed=seed)


def average(start: str, end: str, zone: str = "DE-LU", seed: int = 0) -> dict[str, Any]:
    return average_market_price(market="day_ahead", bidding_zone=zone, start=start, end=end, seed=seed)


def prices(points: list[dict[str, Any]]) -> list[Decimal]:
    return [Decimal(p["unit_amount_decimal"]) for p in points]


def mean12(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN)


@pytest.mark.parametrize("zone", ["DE-LU", "AT"])
@pytest.mark.parametrize(("frequency", "start", "end", "count"), [
    ("PT1H", "2025-03-30", "2025-03-31", 23),  # spring forward: a 23-hour day
    ("PT15M", "2025-03-30", "2025-03-31", 92),
    ("PT1H", "2025-10-26", "2025-10-27", 25),  # fall back: a 25-hour day
    ("PT15M", "2025-10-26", "2025-10-27", 100),
    ("PT1H", "2025-10-27", "2025-10-28", 24),
    ("PT15M", "2025-10-27", "2025-10-28", 96),
    ("P1D", "2025-03-27", "2025-04-03", 7),  # local days across the spring change
    ("P1D", "2025-10-23", "2025-10-30", 7),  # and across the autumn change
    ("P1M", "2025-01-01", "2026-01-01", 12),
    ("P1M", "2025-03-01", "2025-04-01", 1),
    ("P1M", "2025-10-01", "2025-11-01", 1),
])
def test_point_count_matches_the_interval(zone: str, frequency: str, start: str, end: str, count: int) -> None:
    assert len(series(frequency, start, end, zone)) == count


def test_hours_of_a_spring_forward_day() -> None:
    points = series("PT1H", "2025-03-30", "2025-03-31")
    stamps = [datetime.fromisoformat(p["timestamp"]) for p in points]
    # the day starts at local midnight (UTC+1) and ends before the next local midnight (UTC+2)
    assert points[0]["timestamp"] == "2025-03-29T23:00:00.000Z"
    assert points[-1]["timestamp"] == "2025-03-30T21:00:00.000Z"
    assert all((b - a).total_seconds() == 3600 for a, b in pairwise(stamps))
    local_hours = [s.astimezone(BERLIN).hour for s in stamps]
    assert 2 not in local_hours and local_hours == [0, 1, *range(3, 24)]


def test_local_days_and_months_start_at_local_midnight() -> None:
    days = series("P1D", "2025-03-29", "2025-04-01")
    assert [p["timestamp"] for p in days] == [
        "2025-03-28T23:00:00.000Z", "2025-03-29T23:00:00.000Z", "2025-03-30T22:00:00.000Z"]
    months = series("P1M", "2025-02-01", "2025-05-01", zone="AT")
    assert [p["timestamp"] for p in months] == [
        "2025-01-31T23:00:00.000Z", "2025-02-28T23:00:00.000Z", "2025-03-31T22:00:00.000Z"]


def test_date_only_is_local_and_explicit_offsets_are_honoured() -> None:
    local = series("PT1H", "2025-01-01", "2025-01-02")
    explicit = series("PT1H", "2025-01-01T00:00:00+01:00", "2025-01-01T23:00:00Z")
    assert local == explicit
    # a date-time without offset is read in the zone too
    assert series("PT1H", "2025-01-01T00:00:00", "2025-01-02T00:00:00") == local


def test_unaligned_start_begins_at_the_next_interval() -> None:
    points = series("PT15M", "2025-01-01T00:07:00Z", "2025-01-01T01:00:00Z")
    assert [p["timestamp"][11:16] for p in points] == ["00:15", "00:30", "00:45"]


def test_deterministic_per_seed_and_zone() -> None:
    week = ("PT1H", "2025-06-02", "2025-06-09")
    assert series(*week, seed=7) == series(*week, seed=7)
    assert prices(series(*week, seed=7)) != prices(series(*week, seed=8))
    assert prices(series(*week, zone="AT")) != prices(series(*week, zone="DE-LU"))


def test_an_instant_has_the_same_price_in_every_query() -> None:
    week = series("PT15M", "2025-06-02", "2025-06-09")
    day = series("PT15M", "2025-06-04", "2025-06-05")
    offset = next(i for i, p in enumerate(week) if p["timestamp"] == day[0]["timestamp"])
    assert week[offset:offset + len(day)] == day


def test_aggregates_are_means_of_quarter_hours() -> None:
    quarters = prices(series("PT15M", "2025-10-26", "2025-10-27"))
    hours = prices(series("PT1H", "2025-10-26", "2025-10-27"))
    # an hour is the exact mean of its four quarter-hours
    assert hours == [sum(quarters[i:i + 4], Decimal(0)) / 4 for i in range(0, 100, 4)]
    (day,) = prices(series("P1D", "2025-10-26", "2025-10-27"))
    # a day is the mean of its 100 quarter-hours, half-even at 12 places
    assert day == mean12(quarters)


@pytest.mark.parametrize(("start", "end"), [
    ("2025-01-01", "2025-02-01"),
    ("2025-03-29", "2025-04-02"),  # across a DST change
    ("2025-07-01T10:00:00Z", "2025-07-01T13:00:00Z"),
])
def test_average_is_the_mean_of_the_series(start: str, end: str) -> None:
    result = average(start, end, zone="AT")
    value = Decimal(result["unit_amount_decimal"])
    # the mean of the quarter-hour series and of the hourly series, both rounded half-even at 12 places
    assert value == mean12(prices(series("PT15M", start, end, zone="AT")))
    assert value == mean12(prices(series("PT1H", start, end, zone="AT")))
    assert Decimal(str(result["unit_amount"])) == value * 100  # cents per kWh


def test_average_timestamp_is_the_period() -> None:
    result = average("2025-01-01", "2025-01-31T23:59:59Z", zone="AT")
    assert result["timestamp"] == "2024-12-31T23:00:00Z/2025-01-31T23:59:59Z"
    assert result["unit_amount_currency"] == "EUR"


def test_prices_are_plausible() -> None:
    year = prices(series("PT1H", "2025-01-01", "2026-01-01"))
    mean_ct = sum(year, Decimal(0)) / len(year) * 100
    assert Decimal(4) < mean_ct < Decimal(20)
    summer = prices(series("PT1H", "2025-04-01", "2025-10-01"))
    negative = [p for p in summer if p < 0]
    # solar surplus pushes some DE-LU noon hours below zero, but only a few percent of them
    assert 0 < len(negative) < len(summer) // 10
    winter = prices(series("PT1H", "2025-01-01", "2025-03-01"))
    assert all(p > Decimal("-0.5") for p in year) and sum(winter) / len(winter) > sum(summer) / len(summer)


def test_responses_match_the_spec() -> None:
    spec, _ = bundle(str(SPEC_PATH))
    compiler = SchemaCompiler(spec, "response")
    historic = compiler.compile({"$ref": "#/components/schemas/HistoricMarketPrices"})
    averaged = compiler.compile({"$ref": "#/components/schemas/AverageMarketPrice"})
    for frequency in ("PT15M", "PT1H", "P1D", "P1M"):
        body = {"market": "day_ahead", "bidding_zone": "DE-LU",
                "prices": series(frequency, "2025-03-01", "2025-04-01")}
        assert first_error(historic, body) is None
    body = {"market": "day_ahead", "bidding_zone": "AT", "price": average("2025-03-01", "2025-04-01", zone="AT")}
    assert first_error(averaged, body) is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"start": "2025-01-02", "end": "2025-01-01"}, r"from \(2025-01-01T23:00:00.000Z\) must be before to"),
    ({"start": "2025-01-01", "end": "2025-01-01"}, "must be before"),
    ({"bidding_zone": "FR"}, "bidding_zone: 'FR' is not supported"),
    ({"frequency": "PT30M"}, "frequency: 'PT30M' is not supported"),
    ({"market": "intraday"}, "market: 'intraday' is not supported"),
    ({"start": "yesterday"}, "from: 'yesterday' is not an ISO 8601 date or date-time"),
    ({"end": "2025-02-30"}, "to: '2025-02-30' is not a valid date"),
    ({"frequency": "PT15M", "start": "2024-01-01", "end": "2025-07-01"}, "more than 50000 PT15M points"),
    ({"frequency": "P1M", "start": "2015-01-01", "end": "2025-01-01"}, "at most 5 years"),
])
def test_invalid_queries(kwargs: dict[str, str], message: str) -> None:
    query = {"market": "day_ahead", "bidding_zone": "DE-LU", "frequency": "PT1H", "start": "2025-01-01",
             "end": "2025-01-02", **kwargs}
    with pytest.raises(PricingInputError, match=message):
        historic_market_prices(**query)


def test_average_of_an_interval_without_a_quarter_hour() -> None:
    with pytest.raises(PricingInputError, match="no quarter-hour"):
        average("2025-01-01T10:01:00Z", "2025-01-01T10:14:00Z")


def test_timestamps_are_utc_with_milliseconds() -> None:
    (point,) = series("PT1H", "2025-07-01T12:00:00Z", "2025-07-01T13:00:00Z")
    assert point["timestamp"] == "2025-07-01T12:00:00.000Z"
    assert datetime.fromisoformat(point["timestamp"]).tzinfo == UTC
