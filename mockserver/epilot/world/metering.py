"""Meters, their counters, and a reading history of monthly readings with seasonal consumption.

A reading is taken at the end of every month of the 24 months before ``WORLD_NOW`` while the
contract supplies (plus a first reading on its start date and a last one on its end date). The
consumption between two readings follows a monthly profile (gas and heat pumps use far more in
winter, solar feed-in peaks in summer), so each counter's values only ever increase.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .context import WorldContext, link, relation
from .model import Entity
from .timeline import WORLD_NOW, add_months, at, between, iso, month_end, office_hours

_PROFILES_RAW = {
    "power": (10.0, 9.0, 8.8, 7.8, 7.3, 6.8, 6.9, 7.0, 7.3, 8.3, 9.3, 10.3),
    "heat_pump": (16.0, 14.0, 11.5, 7.5, 4.5, 3.0, 2.5, 2.5, 3.5, 7.0, 11.5, 16.5),
    "gas": (17.0, 15.0, 12.5, 8.0, 4.5, 2.5, 2.0, 2.0, 3.5, 7.5, 11.5, 14.0),
    "feed_in": (2.0, 4.0, 7.5, 11.0, 13.0, 13.5, 13.5, 12.0, 9.0, 6.0, 3.0, 1.5),
}
PROFILES = {kind: tuple(w / sum(weights) for w in weights) for kind, weights in _PROFILES_RAW.items()}
"""Share of the yearly consumption per calendar month (January first); each sums to 1."""

HISTORY_MONTHS = 24
GAS_KWH_PER_M3 = 10.3  # calorific value x state number of natural gas (H-gas)

_POWER_MAKERS = (("EasyMeter", "ESY"), ("EMH metering", "EMH"), ("Iskraemeco", "ISK"), ("Landis+Gyr", "LGZ"),
                 ("Itron", "ITR"))
_GAS_MAKERS = (("Elster", "ELS"), ("Itron", "ITR"), ("Pipersberg", "PIP"))
_POWER_TYPES = (("modern-metering-system", 55), ("electronic-meter", 15), ("three-phase-meter", 20),
                ("smart-meter", 10))
_GAS_TYPES = (("bellow-gas-meter", 85), ("ultrasonic-gas-meter", 10), ("rotary-piston-meter", 5))
_OPERATORS = ("100521", "101234", "102785", "104517", "106338", "107901")


@dataclass(frozen=True)
class Supply:
    """What one contract supplies and how much: drives the meter, its counters and the readings."""

    kind: str  # power, gas, heat_pump
    annual_kwh: int
    high_tariff_share: float | None = None  # set for dual-tariff (HT/NT) metering
    feed_in_kwh: int | None = None  # set for customers with a solar installation

    @property
    def sector(self) -> str:
        return "gas" if self.kind == "gas" else "power"


def ma_lo_id(rng: random.Random) -> str:
    """An 11-digit market location id with its check digit (odd positions + 2 x even positions)."""
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(9)]
    total = sum(digits[0::2]) + 2 * sum(digits[1::2])
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def ma_lo_id_is_valid(value: str) -> bool:
    if len(value) != 11 or not value.isdigit() or value[0] == "0":
        return False
    digits = [int(c) for c in value[:10]]
    return (10 - (sum(digits[0::2]) + 2 * sum(digits[1::2])) % 10) % 10 == int(value[10])


def me_lo_id(rng: random.Random, postal_code: str) -> str:
    """A 33-character metering location id: DE, grid operator, postal code, 20-character point number."""
    point = "".join(rng.choice(string.digits + string.ascii_uppercase) for _ in range(20))
    return f"DE{rng.choice(_OPERATORS)}{postal_code}{point}"


def _consumption(profile: tuple[float, ...], annual: float, start: date, end: date) -> float:
    """Consumption over the days after ``start`` up to and including ``end``; each month's share of
    ``annual`` is spread evenly over its days."""
    total = 0.0
    cursor = start
    while cursor < end:
        last = month_end(cursor + _ONE_DAY)
        stop = min(last, end)
        total += annual * profile[last.month - 1] * (stop - cursor).days / last.day
        cursor = stop
    return total


_ONE_DAY = timedelta(days=1)
_TODAY = WORLD_NOW.date()
_WINDOW_START = add_months(_TODAY.replace(day=1), -HISTORY_MONTHS)
_MONTH_ENDS = tuple(month_end(add_months(_WINDOW_START, n)) for n in range(HISTORY_MONTHS))


def reading_dates(start: date, end: date | None) -> list[tuple[date, str]]:
    """Dates and reasons of the readings of a supply from ``start`` to ``end`` (or ongoing): the
    ends of the months of the history window, plus a first and a last reading on the supply's
    start and end when they fall inside it."""
    yesterday = _TODAY - _ONE_DAY
    last_day = min(end, yesterday) if end else yesterday
    out: list[tuple[date, str]] = []
    if start > last_day or last_day < _WINDOW_START:
        return out
    if start >= _WINDOW_START:
        out.append((start, "first"))
    out.extend((day, "regular") for day in _MONTH_ENDS if start < day <= last_day)
    if end and end <= last_day:
        if out and out[-1][0] == end:
            out[-1] = (end, "last")
        else:
            out.append((end, "last"))
    return out


class MeterFactory:
    """Creates meters and counters, and the meter_reading records of their history."""

    def __init__(self, ctx: WorldContext, staff: list[str]) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.staff = staff

    def meter(self, supply: Supply, contract: Entity, contact: Entity, location: dict[str, Any], start: date,
              end: date | None, status: str) -> Entity:
        rng = self.rng
        if supply.kind == "gas":
            maker, code = rng.choice(_GAS_MAKERS)
            meter_type = _weighted(rng, _GAS_TYPES)
            number = f"7{code}{rng.randint(10 ** 9, 10 ** 10 - 1)}"
            used_for = "heating"
        else:
            maker, code = rng.choice(_POWER_MAKERS)
            smart = supply.kind == "heat_pump" or supply.feed_in_kwh is not None or supply.annual_kwh > 6000
            meter_type = "intelligent-measuring-system" if smart else _weighted(rng, _POWER_TYPES)
            number = f"1{code}{rng.randint(10 ** 9, 10 ** 10 - 1)}"
            used_for = "heat_pump" if supply.kind == "heat_pump" else "household"
        installed = min(start, date(2026, 6, 30)) - timedelta(days=rng.randint(0, 2500))
        created = min(between(rng, at(start - timedelta(days=40), 7), at(start - timedelta(days=1), 17)), WORLD_NOW)
        updated = between(rng, created, WORLD_NOW)
        location = dict(location, _tags=["Zählerplatz"], additional_info=rng.choice(("Keller", "Hausanschlussraum",
                                                                                     "Treppenhaus", "Garage")))
        meter = self.ctx.entity(
            "meter", number, created, updated, [_SECTOR_TAG[supply.sector]],
            meter_number=number, meter_type=meter_type, sector=supply.sector, ma_lo_id=ma_lo_id(rng),
            me_lo_id=me_lo_id(rng, location["postal_code"]),
            tariff_type="dual_tariff" if supply.high_tariff_share is not None else "single_tariff",
            used_for=used_for, manufacturer=maker,
            calibration_date=date(max(installed.year + 8, 2027), 12, 31).isoformat(),
            location=[location], status=status, customer=relation(contact), counters={"$relation": []},
        )
        link(meter, "contract", contract)
        link(contract, "meters", meter)
        for counter_spec in _counter_specs(supply):
            self._counter(meter, contact, supply, counter_spec, (created, updated), (start, end))
        return meter

    def _counter(self, meter: Entity, contact: Entity, supply: Supply, spec: dict[str, Any],
                 stamps: tuple[datetime, datetime], period: tuple[date, date | None]) -> Entity:
        unit = "m3" if supply.kind == "gas" else "kWh"
        attributes: dict[str, Any] = {"obis_number": spec["obis"], "direction": spec["direction"]}
        if spec.get("tariff_type"):
            attributes["tariff_type"] = spec["tariff_type"]
        attributes.update(unit=unit, conversion_factor=GAS_KWH_PER_M3 if unit == "m3" else 1, transformer_ratio=1)
        counter = self.ctx.entity("meter_counter", spec["title"], *stamps, [spec["tag"]], **attributes)
        counter["meter"] = relation(meter)
        link(meter, "counters", counter, [spec["tag"]])
        annual = spec["annual_kwh"] / GAS_KWH_PER_M3 if unit == "m3" else spec["annual_kwh"]
        summary = self._readings(meter, counter, contact, PROFILES[spec["profile"]], annual, *period,
                                 decimals=2 if unit == "m3" else 1)
        if summary is not None:
            counter["last_reading"], counter["last_reading_date"], counter["current_consumption"] = summary
        return counter

    def _readings(self, meter: Entity, counter: Entity, contact: Entity, profile: tuple[float, ...], annual: float,
                  start: date, end: date | None, decimals: int) -> tuple[float, str, float] | None:
        """Record the readings of one counter; returns its last value and time and the consumption
        since the last yearly settlement (the end of the previous year, or the first reading)."""
        rng = self.rng
        dates = reading_dates(start, end)
        if not dates:
            return None
        step = 10 ** -decimals
        value = round(annual * rng.uniform(0.5, 9.0) + rng.uniform(0, 900), decimals)
        settlement_day = date(WORLD_NOW.year - 1, 12, 31)
        settlement_value = value
        customer = f"{contact['first_name']} {contact['last_name']}"
        previous: date | None = None
        timestamp = ""
        for when, reason in dates:
            if previous is not None:
                used = _consumption(profile, annual * rng.uniform(0.88, 1.12), previous, when)
                value = round(value + max(used, step), decimals)
            previous = when
            if when <= settlement_day:
                settlement_value = value
            source = "ERP" if reason != "regular" else rng.choices(("ERP", "ECP", "360"), (75, 20, 5))[0]
            timestamp = iso(office_hours(rng, when))
            doc: dict[str, Any] = {
                "value": value,
                "read_by": {"ERP": "Messstellenbetreiber", "ECP": customer}.get(source) or rng.choice(self.staff),
                "reason": reason,
                "meter_id": meter["_id"],
                "counter_id": counter["_id"],
                "direction": counter["direction"],
                "timestamp": timestamp,
                "source": source,
                "status": "valid",
            }
            if source == "ERP":
                doc["external_id"] = f"MR-{rng.randint(10 ** 9, 10 ** 10 - 1)}"
            self.ctx.record("meter_reading", self.ctx.uuid(), meter["_id"], doc)
        return value, timestamp, round(value - settlement_value, decimals)


_SECTOR_TAG = {"power": "Strom", "gas": "Gas"}


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]


def _counter_specs(supply: Supply) -> list[dict[str, Any]]:
    consumption = {"profile": "heat_pump" if supply.kind == "heat_pump" else supply.sector,
                   "direction": "feed-out"}
    if supply.kind == "gas":
        specs = [{**consumption, "obis": "7-0:3.0.0", "title": "7-0:3.0.0 Gas", "tag": "Gas",
                  "annual_kwh": supply.annual_kwh}]
    elif supply.high_tariff_share is not None:
        high = round(supply.annual_kwh * supply.high_tariff_share)
        specs = [
            {**consumption, "obis": "1-0:1.8.1", "title": "1-0:1.8.1 HT", "tag": "HT", "tariff_type": "ht",
             "annual_kwh": high},
            {**consumption, "obis": "1-0:1.8.2", "title": "1-0:1.8.2 NT", "tag": "NT", "tariff_type": "nt",
             "annual_kwh": supply.annual_kwh - high},
        ]
    else:
        specs = [{**consumption, "obis": "1-0:1.8.0", "title": "1-0:1.8.0 Bezug", "tag": "Bezug",
                  "annual_kwh": supply.annual_kwh}]
    if supply.feed_in_kwh is not None:
        specs.append({"profile": "feed_in", "direction": "feed-in", "obis": "1-0:2.8.0",
                      "title": "1-0:2.8.0 Einspeisung", "tag": "Einspeisung", "annual_kwh": supply.feed_in_kwh})
    return specs


def consumption_between(kind: str, annual: float, start: date, end: date) -> float:
    """Expected consumption of a supply between two days (no noise), for callers and tests."""
    return _consumption(PROFILES[kind], annual, start, end)

