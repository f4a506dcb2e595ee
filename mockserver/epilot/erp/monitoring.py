"""The monitoring log of the ERP Toolkit: one entry per processed inbound event, outbound delivery step,
managed call, secure proxy call and external span; queried with filters and cursors, summarised into
stats and time series, and grouped into traces by correlation id.

Times in requests are RFC 3339 date-times in any offset; they are compared as instants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

MONITORING_KIND = "erp_monitoring"
LEVELS = ("success", "error", "warning", "skipped")
INTERVALS = {"5m": timedelta(minutes=5), "10m": timedelta(minutes=10), "30m": timedelta(minutes=30),
             "1h": timedelta(hours=1), "3h": timedelta(hours=3), "1d": timedelta(days=1)}
MAX_CONTIGUOUS_BUCKETS = 2000
TRACE_LIMIT = 500


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime (UTC when it has no offset); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds (years below 1000 keep their four digits)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def in_range(stamp: Any, query: dict[str, Any]) -> bool:
    """Whether ``stamp`` lies in the query's ``from_date``..``to_date`` (either may be missing)."""
    moment = parse_time(stamp)
    start, end = parse_time(query.get("from_date")), parse_time(query.get("to_date"))
    if moment is None:
        return start is None and end is None
    return (start is None or moment >= start) and (end is None or moment <= end)


def record_monitoring(world: Any, *, integration_id: str, event_id: str, use_case_id: str | None,
                      use_case_type: str, level: str, code: str, message: str,
                      correlation_id: str | None = None, detail: dict[str, Any] | None = None,
                      created_at: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": world.new_id(), "org_id": world.org_id, "integration_id": integration_id,
                              "event_id": event_id, "use_case_type": use_case_type, "level": level, "code": code,
                              "message": message, "detail": detail, "created_at": created_at or world.now()}
    if use_case_id:
        record["use_case_id"] = use_case_id
    if correlation_id:
        record["correlation_id"] = correlation_id
    world.store.record_put(MONITORING_KIND, record["id"], record, parent=integration_id)
    return record


def log(store: Any, integration_id: str, *, newest_first: bool = False) -> list[dict[str, Any]]:
    return store.record_list(MONITORING_KIND, parent=integration_id, newest_first=newest_first)


def _matches(record: dict[str, Any], query: dict[str, Any]) -> bool:
    for key in ("use_case_id", "use_case_type", "level", "code", "event_id", "correlation_id"):
        if query.get(key) is not None and record.get(key) != query[key]:
            return False
    types = query.get("use_case_types")
    if types and record.get("use_case_type") not in types:
        return False
    return in_range(record["created_at"], query)


def page_limit(value: Any, default: int = 50, maximum: int = 500) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return default
    return min(value, maximum)


def query_monitoring(store: Any, integration_id: str, query: dict[str, Any]) -> dict[str, Any]:
    """Newest first; ``cursor`` is the ``next_cursor`` of the previous page."""
    records = [r for r in log(store, integration_id, newest_first=True) if _matches(r, query)]
    cursor = query.get("cursor") or {}
    if cursor.get("id"):
        ids = [r["id"] for r in records]
        if cursor["id"] in ids:
            records = records[ids.index(cursor["id"]) + 1:]
    limit = page_limit(query.get("limit"))
    page, more = records[:limit], len(records) > limit
    next_cursor = {"created_at": page[-1]["created_at"], "id": page[-1]["id"]} if more and page else None
    return {"data": page, "next_cursor": next_cursor, "has_more": more}


def percentage(part: int, total: int) -> float:
    return round(100.0 * part / total, 2) if total else 0.0


def monitoring_stats(store: Any, integration_id: str, query: dict[str, Any]) -> dict[str, Any]:
    records = [r for r in log(store, integration_id) if _matches(r, query)]
    counts = Counter(r["level"] for r in records)
    total = len(records)
    errors = [r["created_at"] for r in records if r["level"] == "error"]
    stats: dict[str, Any] = {
        "total_events": total, "success_count": counts["success"], "error_count": counts["error"],
        "warning_count": counts["warning"], "skipped_count": counts["skipped"],
        "ack_timeout_count": sum(1 for r in records if r.get("code") == "ACK_TIMEOUT"),
        "success_rate": percentage(counts["success"], total),
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


# -- time series ------------------------------------------------------------------------------------

def buckets(query: dict[str, Any], items: Iterable[tuple[datetime, Any]], now: datetime,
            summarise: Callable[[list[Any]], dict[str, Any]]) -> dict[str, Any]:
    """Items counted per ``interval`` from ``from_date`` to ``to_date`` (default ``now``).

    Buckets start at ``from_date`` and are contiguous; beyond MAX_CONTIGUOUS_BUCKETS only the
    buckets that hold items are listed."""
    step = INTERVALS[query["interval"]]
    start = parse_time(query["from_date"]) or now
    end = parse_time(query.get("to_date")) or now
    grouped: dict[int, list[Any]] = {}
    for moment, item in items:
        if start <= moment <= end:
            grouped.setdefault(int((moment - start) / step), []).append(item)
    count = int((end - start) / step) + 1 if end >= start else 0
    indexes = range(count) if count <= MAX_CONTIGUOUS_BUCKETS else sorted(grouped)
    out = [{"timestamp": iso(start + step * i), **summarise(grouped.get(i, []))} for i in indexes]
    return {"interval": query["interval"], "from_date": iso(start), "to_date": iso(end), "buckets": out}


def level_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(r["level"] for r in records)
    return {"success_count": counts["success"], "error_count": counts["error"], "warning_count": counts["warning"],
            "skipped_count": counts["skipped"], "total_count": len(records)}


def time_series_v2(store: Any, integration_id: str, query: dict[str, Any], now: datetime) -> dict[str, Any]:
    wanted = query.get("use_case_type")
    records = [r for r in log(store, integration_id) if wanted is None or r.get("use_case_type") == wanted]
    group_by = query.get("group_by")

    def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
        bucket: dict[str, Any] = level_counts(items)
        if group_by:
            key = "use_case_type" if group_by == "use_case_type" else "use_case_id"
            groups: dict[str, list[dict[str, Any]]] = {}
            for item in items:
                groups.setdefault(str(item.get(key) or ""), []).append(item)
            bucket["breakdown"] = [{**({key: name} if name else {}), **level_counts(group)}
                                   for name, group in sorted(groups.items())]
        return bucket

    return buckets(query, ((m, r) for r in records if (m := parse_time(r["created_at"])) is not None), now,
                   summarise)


# -- traces, associated events, external spans -------------------------------------------------------

def trace(store: Any, integration_id: str, correlation_id: str) -> dict[str, Any] | None:
    spans = [r for r in log(store, integration_id) if r.get("correlation_id") == correlation_id]
    if not spans:
        return None
    spans.sort(key=lambda r: (parse_time(r["created_at"]) or datetime.min.replace(tzinfo=UTC)))
    levels = {r["level"] for r in spans}
    status = "error" if "error" in levels else "warning" if "warning" in levels else \
        "success" if "success" in levels else "info"
    return {"correlation_id": correlation_id, "status": status, "started_at": spans[0]["created_at"],
            "ended_at": spans[-1]["created_at"], "span_count": len(spans), "truncated": len(spans) > TRACE_LIMIT,
            "spans": spans[:TRACE_LIMIT]}


def associated(store: Any, integration_id: str, event_id: str) -> list[dict[str, Any]]:
    return [r for r in log(store, integration_id) if r.get("event_id") == event_id]


def ingest_external(world: Any, integration_id: str, spans: list[dict[str, Any]],
                    slugs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Record external spans; a span needs a known level and, if it names one, a use case of the integration."""
    results = []
    for index, span in enumerate(spans):
        reason = None
        if span.get("level") not in LEVELS:
            reason = f"level must be one of {', '.join(('success', 'error', 'skipped', 'warning'))}"
        elif span.get("use_case_slug") and span["use_case_slug"] not in slugs:
            reason = f"the integration has no use case {span['use_case_slug']}"
        elif span.get("occurred_at") is not None and parse_time(span["occurred_at"]) is None:
            reason = "occurred_at must be a date-time"
        if reason:
            results.append({"index": index, "status": "rejected", "reason": reason})
            continue
        use_case = slugs.get(span.get("use_case_slug") or "")
        occurred = parse_time(span.get("occurred_at"))
        record_monitoring(world, integration_id=integration_id, event_id=world.new_id(),
                          use_case_id=use_case["id"] if use_case else None,
                          use_case_type=use_case.get("type", "") if use_case else "", level=span["level"],
                          code="EXTERNAL", message=span.get("message") or "external span",
                          correlation_id=span.get("correlation_id"), detail=span.get("detail"),
                          created_at=iso(occurred) if occurred else None)
        results.append({"index": index, "status": "accepted"})
    accepted = sum(1 for r in results if r["status"] == "accepted")
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
