"""ERP Integration API: outbound messages as a real queue (poll, ack, dead letters, redrive, unblock),
and the outbound status of an integration's use cases. The rules are in :mod:`..erp.queue`."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call

from ..erp import queue
from ..erp.outbound import DELIVERY_KIND
from . import common as c
from .erp_common import behaviours, erp_operation, integration, limit_of, page_after, use_cases


@erp_operation("pollOutboundMessages", reads_only=True)  # waits for queued changes, then locks itself
async def poll_outbound_messages(call: Call) -> Any:
    owner = integration(call)
    world = c.world(call)
    if world.outbound is not None:
        await world.outbound.settle()  # the changes made before this poll are in the queue
    async with call.services.atomic():
        return call.json(queue.poll(world, owner["id"], limit_of((call.body or {}).get("limit"), 10, 100)))


@erp_operation("ackOutboundMessages")
def ack_outbound_messages(call: Call) -> Any:
    owner = integration(call)
    return call.json({"results": queue.ack(c.world(call), owner["id"], call.body["acks"])})


def _dead_letters(call: Call, integration_id: str) -> list[dict[str, Any]]:
    st = c.store(call)
    items = [m for m in queue.messages(st, integration_id) if m["state"] == "dead"]
    items += [d for d in st.record_list(DELIVERY_KIND, parent=integration_id) if d.get("dead_lettered_at")]
    items.sort(key=lambda item: (item["dead_lettered_at"], item["id"]), reverse=True)
    return items


def _dlq_item(item: dict[str, Any]) -> dict[str, Any]:
    attempts = item["delivery_attempts"] if "delivery_attempts" in item else len(item.get("attempts") or [])
    out = {"id": item["id"], "use_case_id": item["use_case_id"], "event_name": item["event_name"],
           "event_id": item["event_id"], "enqueued_at": item.get("enqueued_at") or item.get("created_at"),
           "dead_lettered_at": item["dead_lettered_at"], "delivery_attempts": attempts}
    for key in ("reason", "expires_at"):
        if item.get(key):
            out[key] = item[key]
    return out


@erp_operation("listOutboundDlqMessages")
def list_outbound_dlq_messages(call: Call) -> Any:
    owner = integration(call)
    page, more = page_after(_dead_letters(call, owner["id"]), "id", call.params.get("next_token"),
                            limit_of(call.params.get("limit"), 25, 100))
    body: dict[str, Any] = {"items": [_dlq_item(item) for item in page]}
    if more:
        body["next_token"] = page[-1]["id"]
    return call.json(body)


@erp_operation("redriveOutboundDlqMessages")
def redrive_outbound_dlq_messages(call: Call) -> Any:
    from ..world.extension import outbound_dispatcher

    owner = integration(call)
    st = c.store(call)
    w = c.world(call)
    results = []
    for item_id in call.body["ids"]:
        message = st.record_get(queue.MESSAGE_KIND, item_id)
        delivery = st.record_get(DELIVERY_KIND, item_id)
        if message is not None and message["integration_id"] == owner["id"] and message["state"] == "dead":
            queue.redrive_message(w, message)
        elif delivery is not None and delivery["integration_id"] == owner["id"] and delivery.get("dead_lettered_at"):
            outbound_dispatcher(call.services).redrive(delivery)
        else:
            results.append({"id": item_id, "status": "not_found"})
            continue
        results.append({"id": item_id, "status": "redriven"})
    return call.json({"results": results})


@erp_operation("unblockOutboundStream")
def unblock_outbound_stream(call: Call) -> Any:
    owner = integration(call)
    return call.json(queue.unblock(c.world(call), owner["id"], (call.body or {}).get("reason")))


@erp_operation("getOutboundStatus", reads_only=True)
def get_outbound_status(call: Call) -> Any:
    owner = integration(call)
    records = use_cases(call, owner["id"])
    by_slug = {str(u.get("slug")): u for u in records}
    return call.json({"useCases": [_status(call, owner, u, by_slug) for u in records if u.get("type") == "outbound"]})


def _status(call: Call, owner: dict[str, Any], record: dict[str, Any], by_slug: dict[str, Any]) -> dict[str, Any]:
    config = record.get("configuration") or {}
    mappings = config.get("mappings") or []
    enabled = bool(record.get("enabled", True))
    webhooks = [{"webhookId": m["delivery"].get("webhook_id", ""), "webhookName": m["delivery"].get("webhook_name")
                 or m.get("name", ""), "enabled": bool(m.get("enabled", True))}
                for m in mappings if (m.get("delivery") or {}).get("type") == "webhook"]
    conflicts = []
    if enabled and webhooks and not any(h["enabled"] for h in webhooks):
        conflicts.append({"type": "all_webhooks_disabled", "message": "every webhook of the use case is disabled"})
    if not enabled:
        conflicts += [{"type": "webhook_enabled_while_disabled", "webhookId": h["webhookId"],
                       "message": f"webhook {h['webhookId']} is enabled while the use case is disabled"}
                      for h in webhooks if h["enabled"]]
    out: dict[str, Any] = {"useCaseId": record["id"], "name": record.get("name", ""), "useCaseEnabled": enabled,
                           "eventEnabled": True if config.get("event_catalog_event") else None,
                           "webhooks": webhooks}
    if config.get("event_catalog_event"):
        out["eventCatalogEvent"] = config["event_catalog_event"]
    if any((m.get("delivery") or {}).get("type") == "poll" for m in mappings):
        poll = queue.status(c.store(call), owner["id"], record["id"], c.world(call).clock.now())
        out["poll"] = poll
        if poll["blocked"]:
            conflicts.append({"type": "stream_blocked", "message": "a poison message blocks the stream; unblock it"})
    dead = sum(1 for item in _dead_letters(call, owner["id"]) if item["use_case_id"] == record["id"])
    if dead:
        conflicts.append({"type": "dlq_items_present",
                          "message": f"{dead} message{'s are' if dead > 1 else ' is'} in the dead-letter queue"})
    targets = [_file_proxy_target(m, by_slug) for m in mappings
               if (m.get("delivery") or {}).get("type") == "file_proxy"]
    if targets:
        out["file_proxy"] = targets
    out["conflicts"] = conflicts
    out["status"] = "conflict" if conflicts else "ok" if enabled else "disabled"
    return out


def _file_proxy_target(mapping: dict[str, Any], by_slug: dict[str, Any]) -> dict[str, Any]:
    slug = mapping["delivery"].get("use_case_slug", "")
    target = by_slug.get(slug)
    out: dict[str, Any] = {"mapping_id": mapping.get("id") or mapping.get("name", ""), "use_case_slug": slug}
    reason = None
    if target is None:
        reason = "not_found"
    elif target.get("type") != "file_proxy":
        reason = "wrong_type"
    elif (target.get("configuration") or {}).get("direction", "download") != "upload":
        reason = "wrong_direction"
    elif not target.get("enabled", True):
        reason = "disabled"
    if target is not None:
        out.update({"target_use_case_id": target["id"], "target_enabled": bool(target.get("enabled", True)),
                    "target_updated_at": target["updated_at"]})
    out["resolved"] = reason is None
    if reason:
        out["unresolved_reason"] = reason
    return out

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
