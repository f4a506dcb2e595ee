"""ERP Integration API behaviours: integrations and use cases, inbound events that change the world,
mapping simulation, event query and replay, monitoring, and ACKs of outbound deliveries.

Records: ``erp_integration``, ``erp_use_case`` (parent: integration), ``erp_event`` (parent:
integration), ``erp_dedup`` (integration + deduplication id), ``erp_monitoring``, ``erp_delivery``.
"""

from __future__ import annotations

import copy
from typing import Any

from mockserver.engine.errors import Reject

from ..erp import MappingError, PayloadError, compile_mapping, map_event
from ..erp.inbound import ApplyError, apply_result
from ..erp.monitoring import monitoring_stats, query_monitoring, record_monitoring
from . import BehaviourSet
from . import common as c

behaviours = BehaviourSet("erp-integration")
USE_CASE_FIELDS = ("name", "slug", "type", "enabled", "change_description", "configuration")


def _integration(call: Any) -> dict[str, Any]:
    record = c.store(call).record_get("erp_integration", call.params["integrationId"])
    if record is None:
        raise Reject("not_found", f"integration {call.params['integrationId']} not found")
    return record


def _use_cases(call: Any, integration_id: str) -> list[dict[str, Any]]:
    return c.store(call).record_list("erp_use_case", parent=integration_id)


def _with_use_cases(call: Any, integration: dict[str, Any]) -> dict[str, Any]:
    return {**integration, "use_cases": _use_cases(call, integration["id"])}


def _check_use_case(use_case: dict[str, Any], where: str) -> None:
    """Validation the schema cannot express: mappings must compile, outbound webhooks need a URL."""
    config = use_case.get("configuration") or {}
    if use_case.get("type") == "inbound":
        try:
            compile_mapping({"entities": config.get("entities") or [], "meter_readings": config.get("meter_readings")
                             or []})
        except MappingError as exc:
            raise Reject("bad_request", f"{where}.configuration: {exc}") from None
    if use_case.get("type") == "outbound":
        for i, mapping in enumerate(config.get("mappings") or []):
            delivery = mapping.get("delivery") or {}
            if delivery.get("type") == "webhook" and not str(delivery.get("webhook_url", "")).startswith(
                    ("http://", "https://")):
                raise Reject("bad_request", f"{where}.configuration.mappings[{i}].delivery.webhook_url: "
                                            "a webhook delivery needs an http(s) URL")


def _store_use_case(call: Any, integration_id: str, body: dict[str, Any], existing: dict[str, Any] | None,
                    where: str) -> dict[str, Any]:
    w = c.world(call)
    now = w.now()
    use_case = copy.deepcopy(existing) if existing else {"id": body.get("id") or w.new_id(), "created_at": now}
    for key in USE_CASE_FIELDS:
        if key in body:
            use_case[key] = body[key]
    use_case.update({"integrationId": integration_id, "updated_at": now, "changed_by": call.principal.subject})
    use_case.setdefault("slug", str(use_case.get("name", "")).lower().replace(" ", "-"))
    _check_use_case(use_case, where)
    c.store(call).record_put("erp_use_case", use_case["id"], use_case, parent=integration_id)
    return use_case


def _write_integration(call: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    body = dict(call.body)
    w = c.world(call)
    now = w.now()
    st = c.store(call)
    with st.transaction():
        integration = copy.deepcopy(existing) if existing else {"id": w.new_id(), "orgId": w.org_id, "created_at": now}
        for key, value in body.items():
            if key != "use_cases":
                integration[key] = value
        integration["updated_at"] = now
        st.record_put("erp_integration", integration["id"], integration)
        if "use_cases" in body:
            current = {u["id"]: u for u in _use_cases(call, integration["id"])}
            kept = set()
            for i, item in enumerate(body["use_cases"]):
                previous = current.get(item.get("id")) if item.get("id") else None
                use_case = _store_use_case(call, integration["id"], item, previous, f"use_cases[{i}]")
                kept.add(use_case["id"])
            for use_case_id in set(current) - kept:
                st.record_delete("erp_use_case", use_case_id)
    return _with_use_cases(call, integration)


# -- integrations (v2) and use cases (v1) ------------------------------------------------------------

@behaviours("listIntegrationsV2")
def list_integrations(call: Any) -> Any:
    return call.json({"integrations": [_with_use_cases(call, i) for i in c.store(call).record_list("erp_integration")]})


@behaviours("createIntegrationV2")
def create_integration(call: Any) -> Any:
    return call.json(_write_integration(call, None), status=201)


@behaviours("getIntegrationV2")
def get_integration(call: Any) -> Any:
    return call.json(_with_use_cases(call, _integration(call)))


@behaviours("updateIntegrationV2")
def update_integration(call: Any) -> Any:
    return call.json(_write_integration(call, _integration(call)))


@behaviours("deleteIntegrationV2")
def delete_integration(call: Any) -> Any:
    integration = _integration(call)
    st = c.store(call)
    with st.transaction():
        for use_case in _use_cases(call, integration["id"]):
            st.record_delete("erp_use_case", use_case["id"])
        st.record_delete("erp_integration", integration["id"])
    return call.json({"message": f"Integration {integration['id']} deleted"})


@behaviours("listUseCases")
def list_use_cases(call: Any) -> Any:
    return call.json({"use_cases": _use_cases(call, _integration(call)["id"])})


@behaviours("createUseCase")
def create_use_case(call: Any) -> Any:
    integration = _integration(call)
    return call.json(_store_use_case(call, integration["id"], call.body, None, "body"), status=201)


def _use_case(call: Any) -> dict[str, Any]:
    integration = _integration(call)
    record = c.store(call).record_get("erp_use_case", call.params["useCaseId"])
    if record is None or record.get("integrationId") != integration["id"]:
        raise Reject("not_found", f"use case {call.params['useCaseId']} not found")
    return record


@behaviours("getUseCase")
def get_use_case(call: Any) -> Any:
    return call.json(_use_case(call))


@behaviours("updateUseCase")
def update_use_case(call: Any) -> Any:
    existing = _use_case(call)
    if call.body.get("type") not in (None, existing.get("type")):
        raise Reject("bad_request", f"type: a use case's type cannot change (it is '{existing.get('type')}')")
    return call.json(_store_use_case(call, existing["integrationId"], call.body, existing, "body"))


@behaviours("deleteUseCase")
def delete_use_case(call: Any) -> Any:
    use_case = _use_case(call)
    c.store(call).record_delete("erp_use_case", use_case["id"])
    return call.json({"message": f"Use case {use_case['id']} deleted"})


# -- inbound events ---------------------------------------------------------------------------------

def _route(call: Any, integration_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    inbound = [u for u in _use_cases(call, integration_id) if u.get("type") == "inbound"]
    if event.get("use_case_id"):
        return next((u for u in inbound if u["id"] == event["use_case_id"]), None)
    object_type = str(event.get("object_type", "")).lower()
    for use_case in inbound:
        if object_type in (str(use_case.get("slug", "")).lower(), str(use_case.get("name", "")).lower()):
            return use_case
    return None


def process_event(call: Any, integration: dict[str, Any], event: dict[str, Any], correlation_id: str | None,
                  *, replay_of: str | None = None) -> dict[str, Any]:
    """Route, map and apply one event in its own transaction; record it and its monitoring entry."""
    w = c.world(call)
    st = c.store(call)
    event_id = w.new_id()
    correlation = event.get("correlation_id") or correlation_id
    use_case = _route(call, integration["id"], event)
    dedup = event.get("deduplication_id")
    dedup_key = f"{integration['id']}:{dedup}" if dedup else None
    status, message, summary = "success", None, None
    if dedup_key and st.record_get("erp_dedup", dedup_key) is not None and replay_of is None:
        status, message = "skipped", f"duplicate of an event with deduplication_id {dedup}"
    elif use_case is None:
        status, message = "ignored", f"no inbound use case for object_type '{event.get('object_type')}'"
    elif not use_case.get("enabled", True):
        status, message = "ignored", f"use case {use_case['id']} is disabled"
    else:
        config = use_case.get("configuration") or {}
        try:
            with st.transaction():
                result = map_event({"entities": config.get("entities") or [],
                                    "meter_readings": config.get("meter_readings") or []},
                                   event["payload"], format=event.get("format", "json"))
                if event.get("event_type") == "DELETE":
                    for update in result.entity_updates:
                        update["mode"] = "delete"
                summary = apply_result(result, store=st, world=w, source="erp-inbound")
                if dedup_key:
                    st.record_put("erp_dedup", dedup_key, {"event_id": event_id})
        except (MappingError, PayloadError, ApplyError) as exc:
            status, message = "error", str(exc)
        else:
            changed = len(summary["created"]) + len(summary["updated"]) + len(summary["deleted"])
            message = (f"{changed} entities and {len(summary['readings'])} meter readings written"
                       + (f"; warnings: {'; '.join(summary['warnings'])}" if summary["warnings"] else ""))
            _announce(call, summary, integration["id"])
    record = {**event, "event_id": event_id, "integration_id": integration["id"], "status": status,
              "message": message, "received_at": w.now(), "use_case_id": use_case["id"] if use_case else None}
    if correlation:
        record["correlation_id"] = correlation
    if replay_of:
        record["replay_of"] = replay_of
    st.record_put("erp_event", event_id, record, parent=integration["id"])
    level = {"success": "success", "error": "error", "skipped": "skipped", "ignored": "skipped"}[status]
    if status == "success" and summary and summary["warnings"]:
        level = "warning"
    record_monitoring(w, integration_id=integration["id"], event_id=event_id,
                      use_case_id=use_case["id"] if use_case else None, use_case_type="inbound", level=level,
                      code={"success": "PROCESSED", "error": "MAPPING_ERROR", "skipped": "DUPLICATE",
                            "ignored": "NO_USE_CASE"}[status], message=message or status, correlation_id=correlation,
                      detail={"object_type": event.get("object_type"), "event_type": event.get("event_type")})
    result_item: dict[str, Any] = {"event_id": event_id, "status": status}
    if message:
        result_item["message"] = message
    return result_item


def _announce(call: Any, summary: dict[str, Any], integration_id: str) -> None:
    """Outbound events for what an inbound event changed: other integrations may subscribe to them; the
    integration that sent the event does not get its own changes back."""
    w = c.world(call)
    origin = {"source": "erp-inbound", "operation": call.op.id, "integration_id": integration_id}
    for kind in ("created", "updated", "deleted"):
        for entity in summary[kind]:
            w.emit({"type": f"entity.{kind}", "schema": entity["_schema"], "entity": entity, **origin})
    for item in summary["readings"]:
        w.emit({"type": "meter_reading.created", "schema": "meter_reading", "reading": item["reading"],
                "meter": item["meter"], **origin})


@behaviours("processErpUpdatesEventsV2")
def process_erp_updates_events(call: Any) -> Any:
    body = call.body
    if body is None:  # the body is optional: no events, nothing to do
        return call.json({"results": []})
    integration = c.store(call).record_get("erp_integration", body["integration_id"])
    if integration is None:
        raise Reject("not_found", f"integration {body['integration_id']} not found")
    results = [process_event(call, integration, event, body.get("correlation_id")) for event in body["events"]]
    return call.json({"results": results})


@behaviours("simulateMappingV2", reads_only=True)
def simulate_mapping(call: Any) -> Any:
    body = call.body
    try:
        result = map_event(body["event_configuration"], body["payload"], format=body["format"])
    except PayloadError as exc:
        raise Reject("bad_request", f"payload: {exc}") from None
    except MappingError as exc:
        raise Reject("unprocessable", str(exc)) from None
    return call.json(result.to_simulation_response())


# -- events: query, replay, monitoring, ACK ------------------------------------------------------

_EVENT_FIELDS = ("event_type", "object_type", "timestamp", "format", "payload", "deduplication_id", "correlation_id",
                 "use_case_id", "event_id", "status", "message")


@behaviours("queryEvents", reads_only=True)
def query_events(call: Any) -> Any:
    integration = _integration(call)
    q = call.body or {}
    events = c.store(call).record_list("erp_event", parent=integration["id"], newest_first=True)
    for key in ("event_id", "event_type", "correlation_id", "object_type", "use_case_id"):
        if q.get(key) is not None:
            events = [e for e in events if e.get(key) == q[key]]
    if q.get("event_name"):
        events = [e for e in events if f"{e.get('object_type')}.{e.get('event_type')}" == q["event_name"]
                  or e.get("object_type") == q["event_name"]]
    cursor = q.get("cursor") or {}
    if cursor.get("event_id"):
        ids = [e["event_id"] for e in events]
        if cursor["event_id"] in ids:
            events = events[ids.index(cursor["event_id"]) + 1:]
    limit = int(q.get("limit") or 50)
    page, more = events[:limit], len(events) > limit
    data = [{k: e[k] for k in _EVENT_FIELDS if e.get(k) is not None} for e in page]
    next_cursor = {"event_time": page[-1]["received_at"], "event_id": page[-1]["event_id"]} if more and page else None
    return call.json({"data": data, "next_cursor": next_cursor, "has_more": more})


@behaviours("replayEvents")
def replay_events(call: Any) -> Any:
    integration = _integration(call)
    results = []
    for event_id in call.body["event_ids"]:
        original = c.store(call).record_get("erp_event", event_id)
        if original is None or original.get("integration_id") != integration["id"]:
            results.append({"event_id": event_id, "status": "not_found", "message": "no such event"})
            continue
        event = {k: original[k] for k in ("event_type", "object_type", "timestamp", "format", "payload",
                                          "deduplication_id", "use_case_id") if original.get(k) is not None}
        known = {u["id"] for u in _use_cases(call, integration["id"])}
        if event.get("use_case_id") not in known:  # replaced since (an update without ids): route afresh
            event.pop("use_case_id", None)
        outcome = process_event(call, integration, event, original.get("correlation_id"), replay_of=event_id)
        item = {"event_id": event_id, "status": outcome["status"], "replay_event_id": outcome["event_id"]}
        if outcome.get("message"):
            item["message"] = outcome["message"]
        results.append(item)
    replayed = sum(1 for r in results if r["status"] != "not_found")
    return call.json({"replayed": replayed, "results": results,
                      "event_ids": [r["replay_event_id"] for r in results if "replay_event_id" in r]})


@behaviours("queryMonitoringEventsV2", reads_only=True)
def query_monitoring_events(call: Any) -> Any:
    return call.json(query_monitoring(c.store(call), _integration(call)["id"], call.body or {}))


@behaviours("getMonitoringStatsV2", reads_only=True)
def get_monitoring_stats(call: Any) -> Any:
    return call.json(monitoring_stats(c.store(call), _integration(call)["id"], call.body or {}))


@behaviours("acknowledgeTracking")
def acknowledge_tracking(call: Any) -> Any:
    from ..world.extension import outbound_dispatcher

    ack_id = (call.body or {}).get("ack_id")
    delivery = outbound_dispatcher(call.services).acknowledge(ack_id) if ack_id else None
    if delivery is None:
        raise Reject("not_found", f"unknown ack_id {ack_id}")
    return call.json({"message": f"Delivery {delivery['id']} acknowledged"})
