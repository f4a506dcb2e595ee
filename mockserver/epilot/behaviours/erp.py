"""ERP Integration API behaviours: integrations (v2) and use cases, inbound events (v2) that change the
world, the mapping simulation, event query and replay, monitoring (v2) and ACKs of webhook deliveries.

The other operations live beside this module (``erp_*.py``) and fill the same behaviour set.
"""

from __future__ import annotations

import copy
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from ..erp.monitoring import monitoring_stats, query_monitoring
from . import common as c
from .erp_common import (
    behaviours,
    delete_integration_records,
    erp_operation,
    integration,
    integration_fields,
    limit_of,
    page_after,
    simulate,
    store_use_case,
    use_case,
    use_cases,
    with_use_cases,
)
from .erp_inbound import EVENT_KIND, premap, process_event, process_events

__all__ = ["behaviours"]


def _write_integration(call: Call, existing: dict[str, Any] | None) -> dict[str, Any]:
    body = dict(call.body)
    w = c.world(call)
    now = w.now()
    st = c.store(call)
    record = copy.deepcopy(existing) if existing else {"id": w.new_id(), "orgId": w.org_id, "created_at": now}
    record.update(integration_fields(body))
    record["updated_at"] = now
    st.record_put("erp_integration", record["id"], record)
    if "use_cases" in body:
        current = {u["id"]: u for u in use_cases(call, record["id"])}
        kept = set()
        for i, item in enumerate(body["use_cases"]):
            previous = current.get(item.get("id")) if item.get("id") else None
            kept.add(store_use_case(call, record["id"], item, previous, f"use_cases[{i}]")["id"])
        for use_case_id in set(current) - kept:
            st.record_delete("erp_use_case", use_case_id)
    return with_use_cases(call, record)


# -- integrations (v2) and use cases (v1) ------------------------------------------------------------

@erp_operation("listIntegrationsV2")
def list_integrations(call: Call) -> Any:
    return call.json({"integrations": [with_use_cases(call, i) for i in c.store(call).record_list("erp_integration")]})


@erp_operation("createIntegrationV2")
def create_integration(call: Call) -> Any:
    return call.json(_write_integration(call, None), status=201)


@erp_operation("getIntegrationV2")
def get_integration(call: Call) -> Any:
    return call.json(with_use_cases(call, integration(call)))


@erp_operation("updateIntegrationV2")
def update_integration(call: Call) -> Any:
    return call.json(_write_integration(call, integration(call)))


@erp_operation("deleteIntegrationV2")
def delete_integration(call: Call) -> Any:
    record = integration(call)
    delete_integration_records(call, record["id"])
    return call.json({"message": f"Integration {record['id']} deleted"})


@erp_operation("listUseCases")
def list_use_cases(call: Call) -> Any:
    return call.json({"use_cases": use_cases(call, integration(call)["id"])})


@erp_operation("createUseCase")
def create_use_case(call: Call) -> Any:
    owner = integration(call)
    return call.json(store_use_case(call, owner["id"], call.body, None, "body"), status=201)


@erp_operation("getUseCase")
def get_use_case(call: Call) -> Any:
    return call.json(use_case(call))


@erp_operation("updateUseCase")
def update_use_case(call: Call) -> Any:
    existing = use_case(call)
    if call.body.get("type") not in (None, existing.get("type")):
        raise Reject("bad_request", f"type: a use case's type cannot change (it is '{existing.get('type')}')")
    return call.json(store_use_case(call, existing["integrationId"], call.body, existing, "body"))


@erp_operation("deleteUseCase")
def delete_use_case(call: Call) -> Any:
    record = use_case(call)
    c.store(call).record_delete("erp_use_case", record["id"])
    return call.json({"message": f"Use case {record['id']} deleted"})


# -- inbound events (v2) and the simulation ------------------------------------------------------------

@erp_operation("processErpUpdatesEventsV2", reads_only=True)  # mapped in the sandbox, then written under the lock
async def process_erp_updates_events(call: Call) -> Any:
    body = call.body
    if body is None:  # the body is optional: no events, nothing to do
        return call.json({"results": []})
    owner = integration(call, body["integration_id"])
    return call.json({"results": await process_events(call, owner, body["events"], body.get("correlation_id"))})


@erp_operation("simulateMappingV2", reads_only=True)
async def simulate_mapping(call: Call) -> Any:
    body = call.body
    return call.json(await simulate(call, body["event_configuration"], body["payload"], body["format"]))


# -- events: query, replay, monitoring, ACK ------------------------------------------------------

_EVENT_FIELDS = ("event_type", "object_type", "timestamp", "format", "payload", "deduplication_id", "correlation_id",
                 "use_case_id", "event_id", "status", "message")


@erp_operation("queryEvents", reads_only=True)
def query_events(call: Call) -> Any:
    owner = integration(call)
    q = call.body or {}
    events = c.store(call).record_list(EVENT_KIND, parent=owner["id"], newest_first=True)
    for key in ("event_id", "event_type", "correlation_id", "object_type", "use_case_id"):
        if q.get(key) is not None:
            events = [e for e in events if e.get(key) == q[key]]
    if q.get("event_name"):
        events = [e for e in events if f"{e.get('object_type')}.{e.get('event_type')}" == q["event_name"]
                  or q["event_name"] in (e.get("object_type"), e.get("event_name"))]
    page, more = page_after(events, "event_id", (q.get("cursor") or {}).get("event_id"),
                            limit_of(q.get("limit"), 50, 500))
    data = [{k: e[k] for k in _EVENT_FIELDS if e.get(k) is not None} for e in page]
    next_cursor = {"event_time": page[-1]["received_at"], "event_id": page[-1]["event_id"]} if more else None
    return call.json({"data": data, "next_cursor": next_cursor, "has_more": more})


@erp_operation("replayEvents", reads_only=True)  # mapped in the sandbox, then written under the lock
async def replay_events(call: Call) -> Any:
    owner = integration(call)
    results: list[dict[str, Any]] = []
    known = {u["id"] for u in use_cases(call, owner["id"])}
    replays: list[tuple[int, str, dict[str, Any], str | None]] = []
    for event_id in call.body["event_ids"]:
        original = c.store(call).record_get(EVENT_KIND, event_id)
        if original is None or original.get("integration_id") != owner["id"]:
            results.append({"event_id": event_id, "status": "not_found", "message": "no such event"})
            continue
        event = {k: original[k] for k in ("event_type", "object_type", "event_name", "use_case_slug", "timestamp",
                                          "format", "payload", "deduplication_id", "use_case_id")
                 if original.get(k) is not None}
        if event.get("use_case_id") not in known:  # replaced since (an update without ids): route afresh
            event.pop("use_case_id", None)
        replays.append((len(results), event_id, event, original.get("correlation_id")))
        results.append({})
    mapped = await premap(call, owner, [event for _, _, event, _ in replays])
    async with call.services.atomic():
        for (slot, event_id, event, correlation), result in zip(replays, mapped, strict=True):
            outcome = process_event(call, owner, event, correlation, replay_of=event_id, mapped=result)
            item = {"event_id": event_id, "status": outcome["status"], "replay_event_id": outcome["event_id"]}
            if outcome.get("message"):
                item["message"] = outcome["message"]
            results[slot] = item
    replayed = sum(1 for r in results if r["status"] != "not_found")
    return call.json({"replayed": replayed, "results": results,
                      "event_ids": [r["replay_event_id"] for r in results if "replay_event_id" in r]})


@erp_operation("queryMonitoringEventsV2", reads_only=True)
def query_monitoring_events(call: Call) -> Any:
    return call.json(query_monitoring(c.store(call), integration(call)["id"], call.body or {}))


@erp_operation("getMonitoringStatsV2", reads_only=True)
def get_monitoring_stats(call: Call) -> Any:
    return call.json(monitoring_stats(c.store(call), integration(call)["id"], call.body or {}))


@erp_operation("acknowledgeTracking")
def acknowledge_tracking(call: Call) -> Any:
    from ..world.extension import outbound_dispatcher

    ack_id = (call.body or {}).get("ack_id")
    delivery = outbound_dispatcher(call.services).acknowledge(ack_id) if ack_id else None
    if delivery is None:
        raise Reject("not_found", f"unknown ack_id {ack_id}")
    return call.json({"message": f"Delivery {delivery['id']} acknowledged"})

