"""Monitoring (v1) of an integration's traffic, computed from what the mock has seen: its inbound events
(``erp_event``), its outbound webhook deliveries (``erp_delivery``) and poll messages, and the access
log of the API calls made for it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from .monitoring import buckets, in_range, page_limit, parse_time, percentage
from .queue import MESSAGE_KIND

EVENT_KIND = "erp_event"
DELIVERY_KIND = "erp_delivery"
ACCESS_LOG_KIND = "erp_access_log"
_INBOUND_STATUS = {"success": "success", "error": "error", "skipped": "skipped", "ignored": "skipped"}
_DELIVERY_STATUS = {"delivered": "succeeded", "processed": "succeeded", "acknowledged": "succeeded",
                    "failed": "failed", "pending": "pending", "retrying": "pending"}
_MESSAGE_STATUS = {"acked": "succeeded", "dead": "failed", "ready": "pending", "leased": "pending"}


def _page(items: list[dict[str, Any]], cursor_key: str, cursor: dict[str, Any], query: dict[str, Any],
          time_key: str) -> dict[str, Any]:
    """Newest first; the cursor names the last item of the previous page by ``cursor_key``."""
    if cursor.get(cursor_key):
        ids = [item[cursor_key] for item in items]
        if cursor[cursor_key] in ids:
            items = items[ids.index(cursor[cursor_key]) + 1:]
    limit = page_limit(query.get("limit"))
    page, more = items[:limit], len(items) > limit
    next_cursor = {time_key: page[-1][time_key], cursor_key: page[-1][cursor_key]} if more else None
    return {"data": page, "next_cursor": next_cursor, "has_more": more}


# -- inbound ----------------------------------------------------------------------------------------

def inbound_event(event: dict[str, Any], org_id: str) -> dict[str, Any]:
    """An ``erp_event`` record as an InboundMonitoringEvent."""
    status = "warning" if event.get("level") == "warning" else _INBOUND_STATUS.get(str(event.get("status")), "error")
    out: dict[str, Any] = {
        "org_id": org_id, "event_id": event["event_id"], "correlation_id": event.get("correlation_id"),
        "integration_id": event.get("integration_id"), "use_case_id": event.get("use_case_id"),
        "object_type": str(event.get("object_type") or event.get("event_name") or ""),
        "sync_type": event.get("sync_type") or "entity", "status": status,
        "error_code": event.get("error_code"), "error_message": event.get("message") if status == "error" else None,
        "processing_duration_ms": event.get("processing_duration_ms"), "received_at": event["received_at"],
        "completed_at": event.get("completed_at") or event["received_at"]}
    if event.get("event_type") in ("CREATE", "UPDATE", "DELETE", "TRIGGER"):
        out["event_type"] = event["event_type"]
    if event.get("error_category"):
        out["error_category"] = event["error_category"]
    return out


def inbound_events(store: Any, integration_id: str, org_id: str) -> list[dict[str, Any]]:
    return [inbound_event(e, org_id) for e in store.record_list(EVENT_KIND, parent=integration_id, newest_first=True)]


def query_inbound(store: Any, integration_id: str, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
    items = inbound_events(store, integration_id, org_id)
    for key in ("use_case_id", "event_type", "sync_type", "status", "error_category", "correlation_id",
                "object_type", "event_id"):
        if query.get(key) is not None:
            items = [i for i in items if i.get(key) == query[key]]
    if query.get("event_name"):
        items = [i for i in items if i["object_type"] == query["event_name"]]
    items = [i for i in items if in_range(i["completed_at"], query)]
    return _page(items, "event_id", query.get("cursor") or {}, query, "completed_at")


# -- outbound ---------------------------------------------------------------------------------------

def outbound_events(store: Any, integration_id: str, org_id: str) -> list[dict[str, Any]]:
    """Webhook deliveries and poll messages as OutboundMonitoringEvents, newest first."""
    items = []
    for d in store.record_list(DELIVERY_KIND, parent=integration_id):
        last = (d.get("attempts") or [{}])[-1]
        response = {k: last[k] for k in ("status_code", "error") if k in last}
        item = {"org_id": org_id, "event_id": d["event_id"], "event_name": d["event_name"],
                "status": _DELIVERY_STATUS.get(d["status"], "pending"), "url": d["url"], "http_method": "POST",
                "http_response": response,
                "metadata": {"delivery_id": d["id"], "use_case_id": d["use_case_id"], "ack_id": d["ack_id"],
                             "attempts": len(d.get("attempts") or []), "delivery": "webhook",
                             "acknowledged_at": d.get("acknowledged_at")},
                "payload": d["payload"] if isinstance(d.get("payload"), dict) else {"value": d.get("payload")},
                "created_at": d["created_at"], "updated_at": last.get("at") or d["created_at"]}
        if d.get("webhook_id"):
            item["webhook_config_id"] = d["webhook_id"]
        items.append(item)
    for m in store.record_list(MESSAGE_KIND, parent=integration_id):
        items.append({"org_id": org_id, "event_id": m["event_id"], "event_name": m["event_name"],
                      "status": _MESSAGE_STATUS[m["state"]],
                      "metadata": {"message_id": m["id"], "use_case_id": m["use_case_id"], "delivery": "poll",
                                   "delivery_attempts": m["delivery_attempts"], "group": m["group"]},
                      "payload": m["payload"], "created_at": m["enqueued_at"],
                      "updated_at": m.get("acked_at") or m.get("dead_lettered_at") or m["enqueued_at"]})
    items.sort(key=lambda i: i["created_at"], reverse=True)
    return items


def query_outbound(store: Any, integration_id: str, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
    items = outbound_events(store, integration_id, org_id)
    for key in ("event_name", "status", "webhook_config_id"):
        if query.get(key) is not None:
            items = [i for i in items if i.get(key) == query[key]]
    items = [i for i in items if in_range(i["created_at"], query)]
    return _page(items, "event_id", query.get("cursor") or {}, query, "created_at")


# -- stats and time series ----------------------------------------------------------------------------

def _breakdown(items: list[dict[str, Any]], dimensions: list[str], time_key: str, counts: Any,
               fields: dict[str, str] | None = None) -> list[dict[str, Any]]:
    fields = fields or {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in items:
        key = tuple(str(item.get(time_key, ""))[:10] if d == "date" else str(item.get(fields.get(d, d)) or "")
                    for d in dimensions)
        groups.setdefault(key, []).append(item)
    return [{**dict(zip(dimensions, key, strict=True)), **counts(group)} for key, group in sorted(groups.items())]


def _inbound_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    c = Counter(i["status"] for i in items)
    return {"total_events": len(items), "success_count": c["success"], "error_count": c["error"],
            "skipped_count": c["skipped"], "warning_count": c["warning"]}


def _outbound_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    c = Counter(i["status"] for i in items)
    return {"total_events": len(items), "success_count": c["succeeded"], "error_count": c["failed"],
            "pending_count": c["pending"]}


def stats(store: Any, integration_id: str, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
    inbound = [i for i in inbound_events(store, integration_id, org_id) if in_range(i["completed_at"], query)]
    outbound = [o for o in outbound_events(store, integration_id, org_id) if in_range(o["created_at"], query)]
    counts_in = _inbound_counts(inbound)
    errors_in = [i["completed_at"] for i in inbound if i["status"] == "error"]
    inbound_stats: dict[str, Any] = {
        **counts_in, "total_correlations": len({i["correlation_id"] for i in inbound if i.get("correlation_id")}),
        "success_rate": percentage(counts_in["success_count"], len(inbound)),
        "last_error_at": max(errors_in) if errors_in else None}
    counts_out = _outbound_counts(outbound)
    errors_out = [o["updated_at"] for o in outbound if o["status"] == "failed"]
    outbound_stats: dict[str, Any] = {
        **counts_out, "success_rate": percentage(counts_out["success_count"], len(outbound)),
        "last_error_at": max(errors_out) if errors_out else None}
    if query.get("inbound_group_by"):
        inbound_stats["breakdown"] = _breakdown(inbound, list(query["inbound_group_by"]), "completed_at",
                                                _inbound_counts, {"event_name": "object_type"})
    if query.get("outbound_group_by"):
        outbound_stats["breakdown"] = _breakdown(outbound, list(query["outbound_group_by"]), "created_at",
                                                 _outbound_counts)
    return {"inbound": inbound_stats, "outbound": outbound_stats}


def time_series(store: Any, integration_id: str, org_id: str, query: dict[str, Any], now: datetime) -> dict[str, Any]:
    direction = query.get("direction") or "both"
    items: list[tuple[datetime, tuple[str, str]]] = []
    if direction in ("inbound", "both"):
        for i in inbound_events(store, integration_id, org_id):
            if (moment := parse_time(i["completed_at"])) is not None:
                items.append((moment, ("inbound", i["status"])))
    if direction in ("outbound", "both"):
        for o in outbound_events(store, integration_id, org_id):
            if (moment := parse_time(o["created_at"])) is not None:
                items.append((moment, ("outbound", o["status"])))

    def summarise(group: list[tuple[str, str]]) -> dict[str, Any]:
        inbound = Counter(status for side, status in group if side == "inbound")
        outbound = Counter(status for side, status in group if side == "outbound")
        bucket: dict[str, Any] = {"inbound": None, "outbound": None}
        if direction in ("inbound", "both"):
            bucket["inbound"] = {"success_count": inbound["success"], "error_count": inbound["error"],
                                 "warning_count": inbound["warning"], "skipped_count": inbound["skipped"],
                                 "total_count": sum(inbound.values())}
        if direction in ("outbound", "both"):
            bucket["outbound"] = {"success_count": outbound["succeeded"], "error_count": outbound["failed"],
                                  "pending_count": outbound["pending"], "total_count": sum(outbound.values())}
        return bucket

    return buckets(query, items, now, summarise)


# -- access logs ------------------------------------------------------------------------------------

def query_access_logs(store: Any, integration_id: str, query: dict[str, Any]) -> dict[str, Any]:
    items = store.record_list(ACCESS_LOG_KIND, parent=integration_id, newest_first=True)
    for key in ("token_id", "service", "method", "status"):
        if query.get(key) is not None:
            items = [i for i in items if i.get(key) == query[key]]
    path = query.get("path")
    if path:
        items = [i for i in items if (i["path"].startswith(path[:-1]) if path.endswith("*") else i["path"] == path)]
    items = [i for i in items if in_range(i["timestamp"], query)]
    public = [{k: v for k, v in i.items() if k != "operation_id"} for i in items]
    return _page(public, "request_id", query.get("cursor") or {}, query, "timestamp")
