"""ERP events beside v2: v1 ingestion (the integration named by an app component mapping), v3
ingestion (routed by use case slug or event name), the v1 mapping simulation, and the automation
trigger that sends one entity to an outbound webhook."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call

from . import common as c
from .erp_common import behaviours, erp_operation, integration, simulate
from .erp_inbound import process_events
from .erp_integrations import mapped_integration


@erp_operation("processErpUpdatesEvents", reads_only=True)  # mapped in the sandbox, then written under the lock
async def process_erp_updates_events_v1(call: Call) -> Any:
    body = call.body
    if body is None:
        return call.json({"results": []})
    st = c.store(call)
    integration_id = mapped_integration(st, body["app_id"], body["component_id"])
    owner = st.record_get("erp_integration", integration_id) if integration_id else None
    correlation = (body.get("meta") or {}).get("correlation_id")
    if owner is None:
        w = c.world(call)
        message = (f"no integration is mapped to app {body['app_id']} component {body['component_id']} "
                   "(setIntegrationAppMapping)")
        return call.json({"results": [{"event_id": w.new_id(), "status": "ignored", "message": message}
                                      for _ in body["events"]]})
    return call.json({"results": await process_events(call, owner, body["events"], correlation)})


@erp_operation("processErpUpdatesEventsV3", reads_only=True)  # likewise
async def process_erp_updates_events_v3(call: Call) -> Any:
    body = call.body
    if body is None:
        return call.json({"results": []})
    owner = integration(call, body["integration_id"])
    results = []
    for event in body["events"]:
        name = event.get("event_name") or event.get("use_case_slug") or event.get("object_type") or ""
        as_v2 = {**event, "object_type": event.get("object_type") or name,
                 "event_type": event.get("event_type") or "UPDATE"}
        group = event.get("group_id") or body.get("group_id")
        if group:
            as_v2["group_id"] = group
        results.append(as_v2)
    return call.json({"results": await process_events(call, owner, results, body.get("correlation_id"))})


@erp_operation("simulateMapping", reads_only=True)
async def simulate_mapping_v1(call: Call) -> Any:
    body = call.body
    configuration = body["mapping_configuration"]
    mapping = configuration.get("mapping") or {}
    table = mapping.get("events") if configuration.get("version") == "2.0" else mapping.get("objects")
    if table is None:  # a 1.0 document with `events` or a 2.0 one with `objects`
        table = mapping.get("objects") if "objects" in mapping else mapping.get("events")
    object_type = body["object_type"]
    if not isinstance(table, dict) or object_type not in table:
        return call.json({"entity_updates": [], "meter_readings_updates": [], "warnings": [
            {"entity_schema": "", "field": "object_type",
             "message": f"the configuration has no mapping for '{object_type}'; nothing is mapped"}]})
    return call.json(await simulate(call, table[object_type], body["payload"], body["format"]))


@erp_operation("triggerErp", reads_only=True)  # no write lock while the webhook answers
async def trigger_erp(call: Call) -> Any:
    body = call.body
    st = c.store(call)
    found = _webhook_mapping(st, body["webhook_id"])
    entity = st.get(body["entity_id"])
    w = c.world(call)
    if found is None:
        return call.json(_failed(w, "WEBHOOK_NOT_FOUND", f"no outbound mapping has webhook {body['webhook_id']}"))
    if entity is None or entity.get("_deleted_at"):
        return call.json(_failed(w, "ENTITY_NOT_FOUND", f"entity {body['entity_id']} not found"))
    owner, use_case_record, mapping = found
    if not str((mapping.get("delivery") or {}).get("webhook_url", "")).startswith(("http://", "https://")):
        return call.json(_failed(w, "WEBHOOK_NOT_CONFIGURED", f"webhook {body['webhook_id']} has no URL"))
    from ..world.extension import outbound_dispatcher

    context = {k: body[k] for k in ("execution_id", "flow_id", "flow_name", "action_id", "flow_action_id",
                                    "activity_id", "created_at")}
    outcome = await outbound_dispatcher(call.services).trigger(owner, use_case_record, mapping, entity, context)
    return call.json(outcome)


def _webhook_mapping(store: Any, webhook_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    for owner in store.record_list("erp_integration"):
        for record in store.record_list("erp_use_case", parent=owner["id"]):
            if record.get("type") != "outbound":
                continue
            for mapping in (record.get("configuration") or {}).get("mappings") or []:
                delivery = mapping.get("delivery") or {}
                if delivery.get("type") == "webhook" and delivery.get("webhook_id") == webhook_id:
                    return owner, record, mapping
    return None


def _failed(world: Any, code: str, message: str) -> dict[str, Any]:
    now = world.now()
    return {"status": "failed", "code": code, "message": message, "start_date": now, "end_date": now,
            "event_id": world.new_id()}

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
