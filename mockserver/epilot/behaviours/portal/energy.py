"""Consumption, costs and prices of a customer's meter, per interval, and reading lists.

Consumption comes from the meter's readings: the change between two readings is spread evenly over
the time between them and summed per interval (PT15M, PT1H, P1D, P1M, UTC). Costs and prices come
from the tariff the customer bought: the line items of the orders of the meter's contract, the
per-unit (energy) price per kWh/m³ and the monthly base price spread over the month.

The meter is ``meter_id`` (deprecated), else the first meter among ``context_entities`` (a meter, or
a contract's meter), else the customer's first meter.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .meta import context_entities, render_all
from .metering import counters_of, iso, parse_time, readings_of

MAX_POINTS = 10_000
STEPS = {"PT15M": timedelta(minutes=15), "PT1H": timedelta(hours=1), "P1D": timedelta(days=1)}
TIME_UNITS = ("month", "year", "day", "week", "")


def target_meter(call: Call) -> dict[str, Any]:
    p = call.params
    if p.get("meter_id"):
        return c.load(call, p["meter_id"], "meter")
    for entity in context_entities(call):
        if entity["_schema"] == "meter":
            return entity
        meters = c.related(call, entity, "meter")
        if meters:
            return meters[0]
    meters = c.visible_of_schema(call, "meter", limit=1)
    if not meters:
        raise Reject("not_found", "no meter: give context_entities with a meter or contract of this customer")
    return meters[0]


def buckets(start: datetime, end: datetime, interval: str) -> list[tuple[datetime, datetime]]:
    """Interval boundaries from ``start`` (aligned down to the interval) until ``end``."""
    out: list[tuple[datetime, datetime]] = []
    if interval == "P1M":
        cur = start.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while cur < end and len(out) < MAX_POINTS:
            days = calendar.monthrange(cur.year, cur.month)[1]
            nxt = cur + timedelta(days=days)
            out.append((cur, nxt))
            cur = nxt
        return out
    step = STEPS.get(interval, STEPS["P1D"])
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    cur = epoch + ((start - epoch) // step) * step
    while cur < end and len(out) < MAX_POINTS:
        out.append((cur, cur + step))
        cur += step
    return out


def series(call: Call, meter: dict[str, Any], start: datetime, end: datetime,
           interval: str) -> list[tuple[dict[str, Any] | None, datetime, float]]:
    """(counter, interval start, consumption) for every interval with readings around it."""
    out: list[tuple[dict[str, Any] | None, datetime, float]] = []
    spans = buckets(start, end, interval)
    counters: list[dict[str, Any] | None] = list(counters_of(call, meter)) or [None]
    for counter in counters:
        readings = [r for r in readings_of(call, meter["_id"], counter["_id"] if counter else None)
                    if r.get("timestamp")]
        pairs = []
        for prev, cur in itertools.pairwise(readings):
            t0, t1 = parse_time(prev["timestamp"]), parse_time(cur["timestamp"])
            if t1 > t0:
                pairs.append((t0, t1, (float(cur["value"]) - float(prev["value"])) / (t1 - t0).total_seconds()))
        if not pairs:
            continue
        for b0, b1 in spans:
            total, covered = 0.0, False
            for t0, t1, rate in pairs:
                overlap = (min(b1, t1) - max(b0, t0)).total_seconds()
                if overlap > 0:
                    total += rate * overlap
                    covered = True
            if covered:
                out.append((counter, b0, round(total, 3)))
    return out


def _range(call: Call) -> tuple[datetime, datetime]:
    return parse_time(call.params["from"]), parse_time(call.params["to"])


@behaviours("getConsumption")
def get_consumption(call: Call) -> Any:
    meter = target_meter(call)
    start, end = _range(call)
    points = []
    for counter, at, value in series(call, meter, start, end, call.params["interval"]):
        point: dict[str, Any] = {"timestamp": iso(at), "value": value}
        tariff = (counter or {}).get("tariff_type")
        if tariff in ("ht", "nt"):
            point["type"] = tariff
        if (counter or {}).get("unit"):
            point["unit"] = counter["unit"]  # type: ignore[index]
        points.append(point)
    points.sort(key=lambda x: x["timestamp"])
    return call.json({"consumptions": points})


def tariff(call: Call, meter: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(energy line item, base-price line item) of the tariff on the meter's contract; a composite
    price's are among its components."""
    for contract in c.related(call, meter, "contract"):
        for order in c.related(call, contract, "order"):
            items: list[dict[str, Any]] = []
            for item in order.get("line_items") or []:
                components = item.get("item_components") if isinstance(item, dict) else None
                items.extend(i for i in (components if isinstance(components, list) else [item]) if isinstance(i, dict))
            energy = next((i for i in items if str((i.get("_price") or {}).get("unit", "")).lower()
                           not in TIME_UNITS), None)
            base = next((i for i in items if (i.get("_price") or {}).get("unit") == "month"), None)
            if energy is not None:
                return energy, base
    return None, None


def _tax(item: dict[str, Any]) -> tuple[str, int]:
    rate = 0
    for tax in item.get("taxes") or []:
        try:
            rate = int(Decimal(str(tax.get("rate") or (tax.get("tax") or {}).get("rate") or 0)))
        except ArithmeticError:
            rate = 0
        break
    return ("inclusive" if item.get("is_tax_inclusive", True) else "exclusive"), rate


def _money(amount: Decimal, currency: str, tax_behavior: str, tax_rate: int, at: datetime) -> dict[str, Any]:
    cents = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {"timestamp": iso(at), "unit_amount": cents, "unit_amount_currency": currency,
            "unit_amount_decimal": str(amount.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
                                       if amount else Decimal(0)),
            "tax_behavior": tax_behavior, "tax_rate": tax_rate}


def _priced(call: Call) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    meter = target_meter(call)
    energy, base = tariff(call, meter)
    if energy is None:
        raise Reject("not_found", f"meter {meter['_id']} has no contract with a tariff")
    return meter, energy, base


@behaviours("getCosts")
def get_costs(call: Call) -> Any:
    meter, energy, base = _priced(call)
    start, end = _range(call)
    interval = call.params["interval"]
    unit_price = Decimal(str(energy.get("unit_amount_decimal") or "0"))
    monthly = Decimal(str((base or {}).get("unit_amount_decimal") or "0"))
    tax_behavior, tax_rate = _tax(energy)
    currency = energy.get("currency", "EUR")
    spans = dict(buckets(start, end, interval))
    costs = []
    for _counter, at, value in series(call, meter, start, end, interval):
        month_seconds = Decimal(calendar.monthrange(at.year, at.month)[1] * 86400)
        share = Decimal(int((spans.get(at, at) - at).total_seconds())) / month_seconds
        amount = Decimal(str(value)) * unit_price + monthly * share
        costs.append(_money(amount, currency, tax_behavior, tax_rate, at))
    costs.sort(key=lambda x: x["timestamp"])
    return call.json({"costs": costs})


@behaviours("getPrices")
def get_prices(call: Call) -> Any:
    _meter, energy, _base = _priced(call)
    start, end = _range(call)
    unit_price = Decimal(str(energy.get("unit_amount_decimal") or "0"))
    tax_behavior, tax_rate = _tax(energy)
    currency = energy.get("currency", "EUR")
    prices = [_money(unit_price, currency, tax_behavior, tax_rate, b0)
              for b0, _b1 in buckets(start, end, call.params["interval"])]
    return call.json({"prices": prices})


@behaviours("getMeterReadings", reads_only=True)
def get_meter_readings(call: Call) -> Any:
    body = call.body
    meter = c.load(call, body["meter_id"], "meter")
    counter = next((k for k in counters_of(call, meter) if k["_id"] == body["counter_id"]), None)
    if counter is None:
        raise Reject("forbidden", f"counter {body['counter_id']} is not a counter of meter {meter['_id']}")
    readings = readings_of(call, meter["_id"], counter["_id"])
    if body.get("sort", "desc") == "desc":
        readings = list(reversed(readings))
    offset = max(0, int(body.get("from") or 0))
    size = max(0, int(body["size"])) if body.get("size") is not None else 25
    results = []
    for reading in readings[offset:offset + size]:
        item = dict(reading)
        if body.get("templates"):
            item["templates_output"] = render_all(body["templates"], {"reading": reading, "meter": meter,
                                                                      "meter_counter": counter})
        results.append(item)
    out: dict[str, Any] = {"results": results, "hits": len(readings)}
    if body.get("counter_templates"):
        out["counter_templates_output"] = render_all(body["counter_templates"], {"meter_counter": counter,
                                                                                 "meter": meter})
    return call.json(out)
