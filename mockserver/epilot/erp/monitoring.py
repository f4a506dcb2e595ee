"""Monitoring records of the ERP Toolkit: one per processed inbound event and per outbound delivery step,
queried with filters and cursors, and summarised into stats."""

from __future__ import annotations

from collections import Counter
from typing import Any

MONITORING_KIND = "erp_monitoring"
LEVELS = ("success", "error", "warning", "skipped")


def record_monitoring(world: Any, *, integration_id: str, event_id: str, use_case_id: str | None,
                      use_case_type: str, level: str, code: str, message: str,
                      correlation_id: str | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": world.new_id(), "org_id": world.org_id, "integration_id": integration_id,
                              "event_id": event_id, "use_case_type": use_case_type, "level": level, "code": code,
                              "message": message, "detail": detail, "created_at": world.now()}
    if use_case_id:
        record["use_case_id"] = use_case_id
    if correlation_id:
        record["correlation_id"] = correlation_id
    world.store.record_put(MONITORING_KIND, record["id"], record, parent=integration_id)
    return record


def _matches(record: dict[str, Any], query: dict[str, Any]) -> bool:
    for key in ("use_case_id", "use_case_type", "level", "code", "event_id", "correlation_id"):
        if query.get(key) is not None and record.get(key) != query[key]:
            return False
    types = query.get("use_case_types")
    if types and record.get("use_case_type") not in types:
        return False
    if query.get("from_date") and record["created_at"] < query["from_date"]:
        return False
    return not (query.get("to_date") and record["created_at"] > query["to_date"])


def query_monitoring(store: Any, integration_id: str, query: dict[str, Any]) -> dict[str, Any]:
    """Newest first; ``cursor`` is the ``next_cursor`` of the previous page."""
    records = [r for r in store.record_list(MONITORING_KIND, parent=integration_id, newest_first=True)
               if _matches(r, query)]
    cursor = query.get("cursor") or {}
    if cursor.get("id"):
        ids = [r["id"] for r in records]
        if cursor["id"] in ids:
            records = records[ids.index(cursor["id"]) + 1:]
    limit = int(query.get("limit") or 50)
    page, more = records[:limit], len(records) > limit
    next_cursor = {"created_at": page[-1]["created_at"], "id": page[-1]["id"]} if more and page else None
    return {"data": page, "next_cursor": next_cursor, "has_more": more}


def monitoring_stats(store: Any, integration_id: str, query: dict[str, Any]) -> dict[str, Any]:
    records = [r for r in store.record_list(MONITORING_KIND, parent=integration_id) if _matches(r, query)]
    counts = Counter(r["level"] for r in records)
    total = len(records)
    errors = [r["created_at"] for r in records if r["level"] == "error"]
    stats: dict[str, Any] = {
        "total_events": total, "success_count": counts["success"], "error_count": counts["error"],
        "warning_count": counts["warning"], "skipped_count": counts["skipped"],
        "ack_timeout_count": sum(1 for r in records if r.get("code") == "ACK_TIMEOUT"),
        "success_rate": round(counts["success"] / total, 4) if total else 0.0,
        "last_error_at": max(errors) if errors else None,
    }
    group_by = query.get("group_by")
    if group_by:
        groups: dict[str, Counter[str]] = {}
        for record in records:
            key = record["created_at"][:10] if group_by == "date" else str(record.get(group_by) or "")
            groups.setdefault(key, Counter())[record["level"]] += 1
        stats["breakdown"] = [{"key": key, "total_events": sum(c.values()), "success_count": c["success"],
                               "error_count": c["error"], "warning_count": c["warning"],
                               "skipped_count": c["skipped"]} for key, c in sorted(groups.items())]
    return stats
