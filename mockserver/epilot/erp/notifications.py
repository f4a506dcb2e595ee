"""Alert rules of an integration (``settings.notifications``), evaluated against its monitoring log.

Each rule looks at the log entries of its ``window`` (default 1h) for the monitored use cases and
codes: ``critical_error`` alerts on any error, ``error_threshold`` / ``warning_threshold`` when the
count reaches ``threshold`` (``auto``: the learned baseline, else ``fallbackThreshold``, else 5),
``success_rate_drop`` when the success rate (%) falls below ``threshold`` (default 90) with at
least ``minSampleSize`` entries, ``silence`` when an integration that had traffic has none in the
window; ``recovery`` never alerts. A rule that starts alerting is recorded in the history (and
notified unless muted or within its ``quietPeriod``); one that stops is ``recovered``.

Records: ``erp_notification`` (history, parent: integration), ``erp_notification_state`` (id: integration).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from .monitoring import iso, log, parse_time

HISTORY_KIND = "erp_notification"
STATE_KIND = "erp_notification_state"
DEFAULT_WINDOW = timedelta(hours=1)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: Any, default: timedelta = DEFAULT_WINDOW) -> timedelta:
    """``30m``, ``1h``, ``2d`` (or ISO 8601 ``PT1H``) as a timedelta; ``default`` when unreadable."""
    if not isinstance(text, str):
        return default
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text.lower())
    if match:
        return timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text.upper())
    if match and any(match.groups()):
        d, h, m, s = (int(g or 0) for g in match.groups())
        return timedelta(days=d, hours=h, minutes=m, seconds=s)
    return default


def config_of(integration: dict[str, Any]) -> dict[str, Any] | None:
    config = (integration.get("settings") or {}).get("notifications")
    return config if isinstance(config, dict) else None


def recipients(integration: dict[str, Any]) -> list[str]:
    return [r["user_id"] for r in (config_of(integration) or {}).get("recipients") or [] if r.get("user_id")]


def muted(config: dict[str, Any] | None, now: datetime) -> bool:
    if config is None:
        return False
    until = parse_time(config.get("muteUntil"))
    return not config.get("enabled", False) or (until is not None and until > now)


def baseline(records: list[dict[str, Any]], level: str, now: datetime, fallback: float) -> dict[str, Any]:
    """Hourly counts of ``level`` entries: their median and MAD per weekday and hour, and overall."""
    hourly: Counter[tuple[int, int, str]] = Counter()
    hours: dict[tuple[int, int], set[str]] = {}
    first = None
    for record in records:
        moment = parse_time(record["created_at"])
        if moment is None:
            continue
        first = moment if first is None or moment < first else first
        slot = ((moment.weekday() + 1) % 7, moment.hour)  # 0 = Sunday
        day = moment.date().isoformat()
        hours.setdefault(slot, set()).add(day)
        if record["level"] == level:
            hourly[(*slot, day)] += 1
    series = {slot: [hourly[(*slot, day)] for day in sorted(days)] for slot, days in hours.items()}
    values = [v for counts in series.values() for v in counts]
    median: float | None = None
    mad: float | None = None
    upper = fallback
    if values:
        median = statistics.median(values)
        mad = statistics.median([abs(v - median) for v in values])
        upper = max(fallback, median + 3 * mad)
    return {"is_mature": first is not None and now - first >= timedelta(days=7), "computed_at": iso(now),
            "median": median, "mad": mad, "upper": upper,
            "buckets": [{"dow": dow, "hour": hour, "median": statistics.median(counts),
                         "mad": statistics.median([abs(v - statistics.median(counts)) for v in counts])}
                        for (dow, hour), counts in sorted(series.items())]}


def _alerting(rule: dict[str, Any], recent: list[dict[str, Any]], everything: list[dict[str, Any]],
              learned: dict[str, Any] | None) -> tuple[bool, dict[str, Any]]:
    counts = Counter(r["level"] for r in recent)
    kind = rule.get("type")
    threshold = rule.get("threshold")
    if threshold == "auto" or not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        threshold = learned["upper"] if learned else rule.get("fallbackThreshold", 5)
    context: dict[str, Any] = {"error_count": counts["error"], "warning_count": counts["warning"],
                               "total_count": len(recent)}
    if kind == "critical_error":
        return counts["error"] > 0, context
    if kind == "error_threshold":
        return counts["error"] >= threshold, {**context, "threshold": threshold}
    if kind == "warning_threshold":
        return counts["warning"] >= threshold, {**context, "threshold": threshold}
    if kind == "success_rate_drop":
        limit = float(rule["threshold"]) if isinstance(rule.get("threshold"), (int, float)) else 90.0
        enough = len(recent) >= max(1, int(rule.get("minSampleSize") or 1))
        rate = 100.0 * counts["success"] / len(recent) if recent else 100.0
        return enough and rate < limit, {**context, "success_rate": round(rate, 2), "threshold": limit}
    if kind == "silence":
        return bool(everything) and not recent, context
    return False, context


def evaluate(world: Any, integration: dict[str, Any], now: datetime, *, with_baseline: bool) -> dict[str, Any]:
    """Evaluate every rule, record transitions, and return the NotificationStatusResponse."""
    store = world.store
    config = config_of(integration)
    state = store.record_get(STATE_KIND, integration["id"]) or {"rules": {}}
    rules_out = []
    everything = _monitored(log(store, integration["id"]), config)
    for index, rule in enumerate((config or {}).get("rules") or []):
        rule_id = str(rule.get("id") or f"rule-{index + 1}")
        current = state["rules"].get(rule_id) or {"state": "ok", "last_fired_at": None, "last_cleared_at": None}
        learned = None
        if rule.get("threshold") == "auto" or with_baseline:
            level = "warning" if rule.get("type") == "warning_threshold" else "error"
            learned = baseline(everything, level, now, float(rule.get("fallbackThreshold") or 5))
        if rule.get("enabled", True):
            start = now - duration(rule.get("window"))
            codes = set(rule.get("codes") or [])
            recent = [r for r in everything if (m := parse_time(r["created_at"])) is not None and start <= m <= now
                      and (not codes or r.get("code") in codes)]
            alerting, context = _alerting(rule, recent, everything, learned)
            _transition(world, integration, config, rule, rule_id, current, alerting, context, now)
        state["rules"][rule_id] = current
        out = {"rule_id": rule_id, **current}
        if learned is not None:
            out["baseline"] = learned if with_baseline else {k: v for k, v in learned.items() if k != "buckets"}
        rules_out.append(out)
    state["evaluated_at"] = iso(now)
    store.record_put(STATE_KIND, integration["id"], state)
    health = "muted" if muted(config, now) else \
        "alerting" if any(r["state"] == "alerting" for r in rules_out) else "healthy"
    return {"health": health, "evaluated_at": state["evaluated_at"], "rules": rules_out}


def _monitored(records: list[dict[str, Any]], config: dict[str, Any] | None) -> list[dict[str, Any]]:
    use_case_ids = set((config or {}).get("monitoredUseCases") or [])
    codes = set((config or {}).get("monitoredCodes") or [])
    return [r for r in records if (not use_case_ids or r.get("use_case_id") in use_case_ids)
            and (not codes or r.get("code") in codes)]


def _transition(world: Any, integration: dict[str, Any], config: dict[str, Any] | None, rule: dict[str, Any],
                rule_id: str, current: dict[str, Any], alerting: bool, context: dict[str, Any], now: datetime) -> None:
    was = current["state"] == "alerting"
    if alerting == was:
        return
    stamp = iso(now)
    name = integration.get("name") or integration["id"]
    if alerting:
        fired = parse_time(current.get("last_fired_at"))
        quiet = duration(rule.get("quietPeriod"), timedelta(0))
        suppressed = "muted" if muted(config, now) else \
            "debounced" if fired is not None and now - fired < quiet else None
        current.update({"state": "alerting", "last_fired_at": stamp})
        record(world, integration, kind=str(rule.get("type")), transition="ok->alerting",
               severity="warning" if rule.get("type") in ("warning_threshold", "silence") else "error",
               title=f"{name}: {rule.get('name') or rule.get('type')} alerting",
               context={"rule_id": rule_id, "window": rule.get("window") or "1h", **context},
               suppressed=suppressed)
    else:
        current.update({"state": "recovered", "last_cleared_at": stamp})
        record(world, integration, kind=str(rule.get("type")), transition="alerting->recovered", severity="info",
               title=f"{name}: {rule.get('name') or rule.get('type')} recovered",
               context={"rule_id": rule_id, **context}, suppressed="muted" if muted(config, now) else None)


def record(world: Any, integration: dict[str, Any], *, kind: str, transition: str | None, severity: str, title: str,
           context: dict[str, Any], suppressed: str | None = None, to: list[str] | None = None) -> dict[str, Any]:
    now = world.now()
    item: dict[str, Any] = {"id": world.new_id(), "type": kind, "state_transition": transition, "severity": severity,
                            "title": title, "occurred_at": now, "notified": suppressed is None,
                            "recipients": to if to is not None else recipients(integration), "context": context,
                            "created_at": now}
    if suppressed:
        item["suppressed_reason"] = suppressed
    world.store.record_put(HISTORY_KIND, item["id"], item, parent=integration["id"])
    return item

