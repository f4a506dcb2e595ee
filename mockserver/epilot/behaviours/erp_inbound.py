"""One inbound ERP event, end to end: routed to an inbound use case, mapped, written in its own
transaction, recorded with its outcome, monitored, and announced to outbound subscribers.

v1, v2 and v3 events, replays and ERP import rows all go through :func:`process_event`.

Records: ``erp_event`` (parent: integration), ``erp_dedup`` (integration + deduplication id).
"""

from __future__ import annotations

import time
from typing import Any

from mockserver.engine.call import Call

from ..erp import MappingError, PayloadError, map_event
from ..erp.inbound import ApplyError, apply_result
from ..erp.monitoring import record_monitoring
from . import common as c
from .erp_common import use_cases

EVENT_KIND = "erp_event"
_LEVEL = {"success": "success", "error": "error", "skipped": "skipped", "ignored": "skipped"}
_CODE = {"success": "PROCESSED", "error": "MAPPING_ERROR", "skipped": "DUPLICATE", "ignored": "NO_USE_CASE"}


def route(call: Call, integration_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """The inbound use case of an event: by id, by slug, else by object type (or event name) against
    the use cases' slugs and names."""
    inbound = [u for u in use_cases(call, integration_id) if u.get("type") == "inbound"]
    if event.get("use_case_id"):
        return next((u for u in inbound if u["id"] == event["use_case_id"]), None)
    if event.get("use_case_slug"):
        return next((u for u in inbound if u.get("slug") == event["use_case_slug"]), None)
    for name in (event.get("object_type"), event.get("event_name")):
        wanted = str(name or "").lower()
        for use_case in inbound:
            if wanted and wanted in (str(use_case.get("slug", "")).lower(), str(use_case.get("name", "")).lower()):
                return use_case
    return None


async def premap(call: Call, integration: dict[str, Any], events: list[dict[str, Any]]) -> list[Any]:
    """Each event's mapping, computed in the JSONata sandbox before any write lock is taken (so a
    runaway expression holds up nobody): a MappingResult, the MappingError or PayloadError, or None
    for an event that no enabled use case takes. Hand each to :func:`process_event` as ``mapped``."""
    out: list[Any] = []
    for event in events:
        use_case = route(call, integration["id"], event)
        if use_case is None or not use_case.get("enabled", True):
            out.append(None)
            continue
        config = use_case.get("configuration") or {}
        try:
            out.append(await c.sandbox(call).map_event({"entities": config.get("entities") or [],
                                                       "meter_readings": config.get("meter_readings") or []},
                                                      event["payload"], format=event.get("format", "json")))
        except (MappingError, PayloadError) as exc:
            out.append(exc)
    return out


async def process_events(call: Call, integration: dict[str, Any], events: list[dict[str, Any]],
                         correlation_id: str | None, *, replay_of: list[str | None] | None = None,
                         source: str = "erp-inbound") -> list[dict[str, Any]]:
    """:func:`premap` the events, then process them under the write lock, one after the other."""
    mapped = await premap(call, integration, events)
    async with call.services.atomic():
        return [process_event(call, integration, event, correlation_id, source=source, mapped=result,
                              replay_of=replay_of[i] if replay_of else None)
                for i, (event, result) in enumerate(zip(events, mapped, strict=True))]


_UNMAPPED = object()


def process_event(call: Call, integration: dict[str, Any], event: dict[str, Any], correlation_id: str | None,
                  *, replay_of: str | None = None, source: str = "erp-inbound",
                  mapped: Any = _UNMAPPED) -> dict[str, Any]:
    """Route, map and apply one event in its own transaction; record it and its monitoring entry.
    ``mapped``: the event's mapping from :func:`premap` (without it, the mapping runs in-process).

    Returns the event's result: ``{event_id, status, message?}``."""
    w = c.world(call)
    st = c.store(call)
    started = time.perf_counter()
    received_at = w.now()
    event_id = w.new_id()
    correlation = event.get("correlation_id") or correlation_id
    use_case = route(call, integration["id"], event)
    dedup = event.get("deduplication_id")
    dedup_key = f"{integration['id']}:{dedup}" if dedup else None
    status, message, summary, category = "success", None, None, None
    if dedup_key and st.record_get("erp_dedup", dedup_key) is not None and replay_of is None:
        status, message = "skipped", f"duplicate of an event with deduplication_id {dedup}"
    elif use_case is None:
        name = event.get("use_case_slug") or event.get("object_type") or event.get("event_name")
        status, message, category = "ignored", f"no inbound use case for '{name}'", "configuration"
    elif not use_case.get("enabled", True):
        status, message, category = "ignored", f"use case {use_case['id']} is disabled", "configuration"
    else:
        config = use_case.get("configuration") or {}
        try:
            with st.transaction():
                if mapped is _UNMAPPED:
                    result = map_event({"entities": config.get("entities") or [],
                                        "meter_readings": config.get("meter_readings") or []},
                                       event["payload"], format=event.get("format", "json"))
                elif isinstance(mapped, Exception):
                    raise mapped
                else:
                    result = mapped
                if event.get("event_type") == "DELETE":
                    for update in result.entity_updates:
                        update["mode"] = "delete"
                summary = apply_result(result, store=st, world=w, source=source)
                if dedup_key:
                    st.record_put("erp_dedup", dedup_key, {"event_id": event_id})
        except (MappingError, PayloadError, ApplyError) as exc:
            status, message, category = "error", str(exc), "validation"
        else:
            changed = len(summary["created"]) + len(summary["updated"]) + len(summary["deleted"])
            message = (f"{changed} entities and {len(summary['readings'])} meter readings written"
                       + (f"; warnings: {'; '.join(summary['warnings'])}" if summary["warnings"] else ""))
            _announce(call, summary, integration["id"], source)
    level = _LEVEL[status]
    if status == "success" and summary and summary["warnings"]:
        level = "warning"
    record = {**event, "event_id": event_id, "integration_id": integration["id"], "status": status,
              "message": message, "received_at": received_at, "completed_at": w.now(),
              "processing_duration_ms": int((time.perf_counter() - started) * 1000),
              "use_case_id": use_case["id"] if use_case else None, "sync_type": _sync_type(use_case),
              "error_code": _CODE[status] if status in ("error", "ignored") else None, "error_category": category,
              "level": level}
    if correlation:
        record["correlation_id"] = correlation
    if replay_of:
        record["replay_of"] = replay_of
    st.record_put(EVENT_KIND, event_id, record, parent=integration["id"])
    record_monitoring(w, integration_id=integration["id"], event_id=event_id,
                      use_case_id=use_case["id"] if use_case else None, use_case_type="inbound", level=level,
                      code=_CODE[status], message=message or status, correlation_id=correlation,
                      detail={"object_type": event.get("object_type") or event.get("event_name"),
                              "event_type": event.get("event_type"), "source": source})
    result_item: dict[str, Any] = {"event_id": event_id, "status": status}
    if message:
        result_item["message"] = message
    return result_item


def _sync_type(use_case: dict[str, Any] | None) -> str:
    config = (use_case or {}).get("configuration") or {}
    return "meter_reading" if config.get("meter_readings") and not config.get("entities") else "entity"


def _announce(call: Call, summary: dict[str, Any], integration_id: str, source: str) -> None:
    """Outbound events for what an inbound event changed: other integrations may subscribe to them; the
    integration that sent the event does not get its own changes back."""
    w = c.world(call)
    origin = {"source": source, "operation": call.op.id, "integration_id": integration_id}
    for kind in ("created", "updated", "deleted"):
        for entity in summary[kind]:
            w.emit({"type": f"entity.{kind}", "schema": entity["_schema"], "entity": entity, **origin})
    for item in summary["readings"]:
        w.emit({"type": "meter_reading.created", "schema": "meter_reading", "reading": item["reading"],
                "meter": item["meter"], **origin})
