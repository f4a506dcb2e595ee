"""Meter readings: submission with range and plausibility checks, the allowed range, consumption.

Readings are records of kind ``meter_reading`` whose parent is the meter. The allowed range of a
counter starts at its latest reading and allows up to three times the counter's average daily
consumption (at least a floor per unit) for each day since that reading; a reading outside it is
rejected as implausible unless ``override_plausibility=true``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours

READING_KIND = "meter_reading"
DAILY_FLOOR = {"kWh": 40.0, "Wh": 40_000.0, "MWh": 0.04, "m3": 12.0, "l": 1_000.0, "kW": 40.0}
PLAUSIBILITY_FACTOR = 3.0


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Reject("bad_request", f"'{text}' is not an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def counters_of(call: Call, meter: dict[str, Any]) -> list[dict[str, Any]]:
    return c.related(call, meter, "meter_counter")


def readings_of(call: Call, meter_id: str, counter_id: str | None) -> list[dict[str, Any]]:
    items = c.store(call).record_list(READING_KIND, parent=meter_id)
    items = [r for r in items if counter_id is None or r.get("counter_id") in (counter_id, None)]
    return sorted(items, key=lambda r: parse_time(r["timestamp"]) if r.get("timestamp") else datetime.min.replace(
        tzinfo=UTC))


def daily_limit(counter: dict[str, Any] | None, readings: list[dict[str, Any]]) -> float:
    unit = (counter or {}).get("unit", "kWh")
    floor = DAILY_FLOOR.get(unit, 40.0)
    timed = [r for r in readings if r.get("timestamp")]
    if len(timed) >= 2:
        days = (parse_time(timed[-1]["timestamp"]) - parse_time(timed[0]["timestamp"])).total_seconds() / 86400
        if days > 0:
            average = (float(timed[-1]["value"]) - float(timed[0]["value"])) / days
            return max(floor, PLAUSIBILITY_FACTOR * average)
    return floor


def allowed_range(counter: dict[str, Any] | None, readings: list[dict[str, Any]],
                  at: datetime) -> tuple[float, float | None, dict[str, Any] | None]:
    before = [r for r in readings if r.get("timestamp") and parse_time(r["timestamp"]) <= at]
    if not before:
        return 0.0, None, None
    previous = before[-1]
    days = max(1.0, (at - parse_time(previous["timestamp"])).total_seconds() / 86400)
    low = float(previous["value"])
    return low, round(low + daily_limit(counter, readings) * days, 3), previous


def _pick_counter(call: Call, meter: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    counters = counters_of(call, meter)
    if body.get("counter_id"):
        for counter in counters:
            if counter["_id"] == body["counter_id"]:
                return counter
        raise Reject("not_found", f"counter {body['counter_id']} is not a counter of meter {meter['_id']}")
    if body.get("direction"):
        counters = [k for k in counters if k.get("direction", "feed-out") == body["direction"]]
    if len(counters) > 1:
        ids = ", ".join(k["_id"] for k in counters)
        raise Reject("bad_request", f"meter {meter['_id']} has several counters; give counter_id (one of {ids})")
    return counters[0] if counters else None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


@behaviours("createMeterReading")
def create_meter_reading(call: Call) -> Any:
    body = dict(call.body)
    meter = c.load(call, body["meter_id"], "meter")
    counter = _pick_counter(call, meter, body)
    counter_id = counter["_id"] if counter else None
    now = c.world(call).clock.now()
    at = parse_time(body["timestamp"]) if body.get("timestamp") else now
    if at > now + timedelta(days=1):
        raise Reject("bad_request", f"the reading's timestamp {iso(at)} is in the future")
    readings = readings_of(call, meter["_id"], counter_id)
    value = float(body["value"])
    low, high, previous = allowed_range(counter, readings, at)
    after = [r for r in readings if r.get("timestamp") and parse_time(r["timestamp"]) > at]
    if previous is not None and value < low:
        raise Reject("bad_request", f"reading {_number(value)} is below the previous reading {_number(low)} "
                                    f"of {previous['timestamp'][:10]}")
    if after and value > float(after[0]["value"]):
        raise Reject("bad_request", f"reading {_number(value)} is above the later reading {after[0]['value']} "
                                    f"of {after[0]['timestamp'][:10]}")
    status = "valid"
    if high is not None and value > high:
        if not call.params.get("override_plausibility"):
            raise Reject("bad_request", f"implausible reading {_number(value)}: outside the allowed range "
                                        f"{_number(low)}..{_number(high)} for counter {counter_id or meter['_id']}")
        status = "in-validation"
    w = c.world(call)
    reading = {k: v for k, v in body.items() if v is not None}
    reading.update({"value": _number(value), "meter_id": meter["_id"], "timestamp": iso(at), "status": status})
    if counter_id:
        reading["counter_id"] = counter_id
        reading.setdefault("direction", counter.get("direction", "feed-out"))  # type: ignore[union-attr]
    reading.setdefault("external_id", w.new_id())
    c.store(call).record_put(READING_KIND, reading["external_id"], reading, parent=meter["_id"])
    if counter is not None and (not counter.get("last_reading_date") or counter["last_reading_date"] <= iso(at)):
        c.save(call, c.apply_patch(call, counter, {"last_reading": reading["value"], "last_reading_date": iso(at)}))
    w.emit({"type": "meter_reading.created", "schema": "meter_reading", "reading": reading, "meter": meter,
            "source": call.op.api.name, "operation": call.op.id})
    return call.json({"data": reading})


@behaviours("getAllowedMeterReadingRange")
def get_allowed_range(call: Call) -> Any:
    meter = c.load(call, call.params["meter_id"], "meter")
    at = parse_time(call.params["timestamp"]) if call.params.get("timestamp") else c.world(call).clock.now()
    ranges = []
    counters: list[dict[str, Any] | None] = list(counters_of(call, meter)) or [None]
    for counter in counters:
        counter_id = counter["_id"] if counter else None
        low, high, _ = allowed_range(counter, readings_of(call, meter["_id"], counter_id), at)
        item: dict[str, Any] = {"min_value": _number(low)}
        if counter_id:
            item["meter_counter_id"] = counter_id
        if high is not None:
            item["max_value"] = _number(high)
        ranges.append(item)
    return call.json({"data": ranges})


@behaviours("uploadMeterReadingPhoto")
def upload_meter_reading_photo(call: Call) -> Any:
    body = call.body
    meter = c.load(call, body["meter_id"], "meter")
    key = f"meter-photos/{meter['_id']}/{c.world(call).new_id()}-{body['filename']}"
    data: dict[str, Any] = {"filename": body["filename"], "s3ref": {"bucket": "epilot-mock-files", "key": key},
                            "meter_numbers": [meter["meter_number"]] if meter.get("meter_number") else []}
    if meter.get("sector"):
        data["sector"] = meter["sector"]
    return call.json({"data": data})
