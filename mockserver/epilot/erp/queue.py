"""The outbound poll queue of an integration: events for mappings with ``delivery.type: poll`` wait
here until the ERP middleware polls, leases and acknowledges them.

- A poll leases at most one message per ordering group (the entity an event is about), oldest
  first, for the visibility timeout (30 s, or the integration environment's
  ``OUTBOUND_VISIBILITY_TIMEOUT_SECONDS``). A lease that runs out makes the message deliverable again.
- A message leased ``max_delivery_attempts`` times (default 5) without an ACK is poison: with
  ``poison_policy: dead_letter`` (the default) it moves to the dead-letter queue at the next poll and
  its group goes on; with ``block`` it stops the whole stream until it is unblocked.
- An ACK needs the lease token of the message's current lease (``stale_lease`` otherwise), and a
  message behind an unacknowledged older one of its group is ``out_of_order``.
- Dead letters (also webhook deliveries that failed every retry) are listed and redriven: a message
  goes to the end of the queue with its attempts reset.

Records: ``erp_outbound_message`` (parent: integration), ``erp_outbound_stream`` (id: integration).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

MESSAGE_KIND = "erp_outbound_message"
STREAM_KIND = "erp_outbound_stream"
DEFAULT_VISIBILITY = 30
DEFAULT_ATTEMPTS = 5
DEFAULT_RETENTION_DAYS = 14
VISIBILITY_VARIABLE = "OUTBOUND_VISIBILITY_TIMEOUT_SECONDS"
OPEN = ("ready", "leased")


def plus_days(iso: str, days: int) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) + timedelta(days=days)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def visibility_timeout(store: Any, integration_id: str) -> int:
    values = store.record_get("erp_environment", integration_id) or {}
    try:
        return max(0, int(str(values.get(VISIBILITY_VARIABLE, DEFAULT_VISIBILITY))))
    except ValueError:
        return DEFAULT_VISIBILITY


def enqueue(world: Any, integration_id: str, use_case: dict[str, Any], mapping: dict[str, Any],
            core: dict[str, Any], payload: Any) -> dict[str, Any]:
    delivery = mapping.get("delivery") or {}
    subject = core.get("entity") or core.get("meter") or {}
    message = {
        "id": world.new_id(), "integration_id": integration_id, "use_case_id": use_case["id"],
        "mapping_id": mapping.get("id"), "event_id": core["event_id"], "event_name": core["event_name"],
        "group": str(subject.get("_id") or core["event_id"]),
        "payload": payload if isinstance(payload, dict) else {"value": payload},
        "enqueued_at": world.now(), "state": "ready", "delivery_attempts": 0, "lease_token": None,
        "leased_until": 0.0, "max_delivery_attempts": _positive(delivery.get("max_delivery_attempts"),
                                                                DEFAULT_ATTEMPTS),
        "poison_policy": delivery.get("poison_policy") or "dead_letter",
        "retention_days": _positive(delivery.get("retention_days"), DEFAULT_RETENTION_DAYS),
    }
    world.store.record_put(MESSAGE_KIND, message["id"], message, parent=integration_id)
    return message


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def stream(store: Any, integration_id: str) -> dict[str, Any]:
    return store.record_get(STREAM_KIND, integration_id) or {"integration_id": integration_id, "blocked_by": None,
                                                             "last_poll_at": None, "last_ack_at": None}


def _save_stream(store: Any, state: dict[str, Any]) -> None:
    store.record_put(STREAM_KIND, state["integration_id"], state)


def messages(store: Any, integration_id: str) -> list[dict[str, Any]]:
    return store.record_list(MESSAGE_KIND, parent=integration_id)


def dead_letter(world: Any, message: dict[str, Any], reason: str) -> dict[str, Any]:
    now = world.now()
    message.update({"state": "dead", "dead_lettered_at": now, "reason": reason, "lease_token": None,
                    "expires_at": plus_days(now, message.get("retention_days", DEFAULT_RETENTION_DAYS))})
    world.store.record_put(MESSAGE_KIND, message["id"], message, parent=message["integration_id"])
    return message


def poll(world: Any, integration_id: str, limit: int) -> dict[str, Any]:
    """Lease up to ``limit`` messages; see the module docstring for the rules."""
    store = world.store
    state = stream(store, integration_id)
    state["last_poll_at"] = world.now()
    visibility = visibility_timeout(store, integration_id)
    leased: list[dict[str, Any]] = []
    more = False
    now = world.clock.time()
    busy: set[str] = set()
    for message in messages(store, integration_id):
        if state["blocked_by"] is not None:
            break
        if message["state"] not in OPEN or message["group"] in busy:
            continue
        busy.add(message["group"])  # only the oldest open message of a group is deliverable
        if message["state"] == "leased" and message["leased_until"] > now:
            continue
        if message["delivery_attempts"] >= message["max_delivery_attempts"]:
            if message["poison_policy"] == "block":
                state["blocked_by"] = message["id"]
                break
            dead_letter(world, message, f"not acknowledged after {message['delivery_attempts']} deliveries")
            busy.discard(message["group"])  # the next message of the group may go
            continue
        if len(leased) >= limit:
            more = True
            break
        message.update({"state": "leased", "delivery_attempts": message["delivery_attempts"] + 1,
                        "lease_token": world.new_id(), "leased_until": now + visibility})
        store.record_put(MESSAGE_KIND, message["id"], message, parent=integration_id)
        leased.append(message)
    _save_stream(store, state)
    return {"messages": [_public(m) for m in leased], "visibility_timeout_seconds": visibility, "has_more": more}


def _public(message: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "lease_token", "use_case_id", "event_name", "event_id", "group", "payload", "enqueued_at",
            "delivery_attempts")
    return {k: message[k] for k in keys}


def ack(world: Any, integration_id: str, acks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    store = world.store
    state = stream(store, integration_id)
    results = []
    for item in acks:
        message = store.record_get(MESSAGE_KIND, item["id"])
        if message is None or message["integration_id"] != integration_id or message["state"] == "dead":
            results.append({"id": item["id"], "status": "rejected", "reason": "not_found"})
            continue
        if message.get("lease_token") != item["lease_token"] or message["state"] == "ready":
            results.append({"id": item["id"], "status": "rejected", "reason": "stale_lease"})
            continue
        if message["state"] == "acked":
            results.append({"id": item["id"], "status": "accepted"})  # the same ACK again
            continue
        if _waits_behind(store, message):
            results.append({"id": item["id"], "status": "rejected", "reason": "out_of_order"})
            continue
        message.update({"state": "acked", "acked_at": world.now(), "leased_until": 0.0})
        store.record_put(MESSAGE_KIND, message["id"], message, parent=integration_id)
        state["last_ack_at"] = message["acked_at"]
        results.append({"id": item["id"], "status": "accepted"})
    _save_stream(store, state)
    return results


def _waits_behind(store: Any, message: dict[str, Any]) -> bool:
    """Whether an older message of the same group is still open (queue order)."""
    for other in messages(store, message["integration_id"]):
        if other["id"] == message["id"]:
            return False
        if other["group"] == message["group"] and other["state"] in OPEN:
            return True
    return False


def unblock(world: Any, integration_id: str, reason: str | None) -> dict[str, Any]:
    store = world.store
    state = stream(store, integration_id)
    blocking = store.record_get(MESSAGE_KIND, state["blocked_by"]) if state["blocked_by"] else None
    if blocking is None:
        state["blocked_by"] = None
        _save_stream(store, state)
        return {"unblocked": False}
    dead_letter(world, blocking, f"unblocked by hand: {reason}" if reason else "unblocked by hand")
    state["blocked_by"] = None
    _save_stream(store, state)
    return {"unblocked": True, "dead_lettered_id": blocking["id"]}


def redrive_message(world: Any, message: dict[str, Any]) -> None:
    """Back to the end of the queue, attempts reset."""
    store = world.store
    store.record_delete(MESSAGE_KIND, message["id"])  # a new sequence number: the end of the queue
    for key in ("dead_lettered_at", "reason", "expires_at"):
        message.pop(key, None)
    message.update({"state": "ready", "delivery_attempts": 0, "lease_token": None, "leased_until": 0.0,
                    "redriven_at": world.now()})
    store.record_put(MESSAGE_KIND, message["id"], message, parent=message["integration_id"])


def status(store: Any, integration_id: str, use_case_id: str, now: datetime) -> dict[str, Any]:
    """The poll part of a use case's outbound status (ages as of ``now``)."""
    state = stream(store, integration_id)
    own = [m for m in messages(store, integration_id) if m["use_case_id"] == use_case_id]
    waiting = [m for m in own if m["state"] in OPEN]
    oldest = None
    if waiting:
        enqueued = datetime.fromisoformat(waiting[0]["enqueued_at"].replace("Z", "+00:00"))
        oldest = max(0, int((now - enqueued).total_seconds()))
    return {"queue_depth": len(waiting), "oldest_unconsumed_age_seconds": oldest,
            "last_poll_at": state["last_poll_at"], "last_ack_at": state["last_ack_at"],
            "blocked": state["blocked_by"] is not None and any(m["id"] == state["blocked_by"] for m in own),
            "dlq_count": sum(1 for m in own if m["state"] == "dead")}
