"""Activities: what happened to entities, as the activity feed shows it.

Every change of an entity through any API (the world's change events: ``entity.created``,
``entity.updated``, ``entity.deleted`` and ``meter_reading.created``) is recorded as an activity
attached to the entities it concerns. A behaviour of the Entity API can group its changes under an
existing activity (``activity_id``) with `operation_context`.

Records: ``entity_activity`` (id = ULID) holds the activity; ``entity_activity_operation`` and
``entity_activity_entity`` (parent = activity id) its operations and the entities it is attached
to; ``entity_activity_link`` (parent = entity id) lists the activities of each entity. Each change
adds records of constant size, however many operations an activity groups.
`feed` is the public read used by the Entity API and the Customer Portal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

KIND = "entity_activity"
LINK = "entity_activity_link"
OPERATION = "entity_activity_operation"
ATTACHED = "entity_activity_entity"
FEED_OPERATIONS = 10  # operations shown per activity in a feed (getActivity pages through all)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SOURCES = {"customer-portal": "portal", "erp-inbound": "erp", "erp-integration": "erp", "entity": "api",
           "pricing": "api", "scenario": "api"}
OPERATIONS = {"created": "createEntity", "updated": "updateEntity", "deleted": "softDeleteEntity"}
# Set by Entity API behaviours around a change: {"activity_id", "operation", "caller", "diff"}.
_context: ContextVar[dict[str, Any] | None] = ContextVar("entity_activity_context", default=None)


@contextmanager
def operation_context(**values: Any) -> Iterator[None]:
    """Changes made inside are recorded with these values (``activity_id``, ``operation``, ``caller``)."""
    token = _context.set({k: v for k, v in values.items() if v not in (None, "")})
    try:
        yield
    finally:
        _context.reset(token)


def new_ulid(world: Any) -> str:
    """A ULID: milliseconds since the epoch, then 80 bits from the world's (seeded) id source."""
    millis = int(world.clock.time() * 1000)
    bits = (millis << 80) | (int(world.new_id().replace("-", ""), 16) & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(bits >> shift) & 31] for shift in range(125, -1, -5))


def _timestamp(world: Any) -> str:
    return world.now()


def create(store: Any, world: Any, *, activity_type: str, title: str, message: str,
           payload: dict[str, Any] | None = None, entities: list[str] | tuple[str, ...] = (),
           caller: dict[str, Any] | None = None,
           source: str = "entity", pending: bool = False) -> dict[str, Any]:
    activity: dict[str, Any] = {"_id": new_ulid(world), "timestamp": _timestamp(world), "type": activity_type,
                                "title": title, "message": message, "payload": payload or {}, "source": source}
    if pending:
        activity["pending"] = True
    if caller:
        activity["caller"] = caller
    store.record_put(KIND, activity["_id"], activity)
    attach(store, activity, list(entities))
    return activity


def get(store: Any, activity_id: str) -> dict[str, Any] | None:
    return store.record_get(KIND, activity_id)


def attach(store: Any, activity: dict[str, Any], entity_ids: list[str]) -> dict[str, Any]:
    """Add the activity to the feeds of ``entity_ids``."""
    for entity_id in entity_ids:
        key = f"{activity['_id']}:{entity_id}"
        if store.record_get(ATTACHED, key) is None:
            store.record_put(ATTACHED, key, {"entity_id": entity_id}, parent=activity["_id"])
            store.record_put(LINK, f"{entity_id}:{activity['_id']}",
                             {"entity_id": entity_id, "activity_id": activity["_id"],
                              "timestamp": activity["timestamp"]}, parent=entity_id)
    return activity


def add_operation(store: Any, activity: dict[str, Any], operation: dict[str, Any]) -> None:
    count = int(activity.get("_operations") or 0)
    store.record_put(OPERATION, f"{activity['_id']}:{count:08d}", operation, parent=activity["_id"])
    activity["_operations"] = count + 1
    store.record_put(KIND, activity["_id"], activity)


def public(store: Any, activity: dict[str, Any], *,
           operations: tuple[int, int | None] | None = None) -> dict[str, Any]:
    """The activity as the API answers it (with the entities it is attached to): without operations
    (``None``), or a page of them."""
    out = {k: v for k, v in activity.items() if not k.startswith("_") or k == "_id"}
    out["entities"] = [r["entity_id"] for r in store.record_list(ATTACHED, parent=activity["_id"])]
    if operations is not None:
        start, size = operations
        total = int(activity.get("_operations") or 0)
        ops = store.record_list(OPERATION, parent=activity["_id"], limit=None if size is None else start + size)
        out["operations_total"] = total
        out["operations"] = ops[start:]
    return out


def feed(store: Any, entity_ids: list[str], *, types: list[str] | None = None, after: str | None = None,
         before: str | None = None, exclude_groups: list[str] | None = None, offset: int = 0,
         size: int = 25) -> tuple[int, list[dict[str, Any]]]:
    """The activities of ``entity_ids``, newest first: (total, one page). Times are ISO strings."""
    ids: dict[str, str] = {}
    for entity_id in entity_ids:
        for link in store.record_list(LINK, parent=entity_id):
            ids[link["activity_id"]] = link.get("timestamp") or ""
    items = []
    for activity_id in sorted(ids, key=lambda a: (ids[a], a), reverse=True):
        stamp = ids[activity_id]
        if (after and stamp <= after) or (before and stamp >= before):
            continue
        activity = store.record_get(KIND, activity_id)
        if activity is None:
            continue
        kind = str(activity.get("type") or "")
        if types and kind not in types:
            continue
        if exclude_groups and any(kind.startswith(g) for g in exclude_groups):
            continue
        items.append(activity)
    page = items[max(0, offset):max(0, offset) + max(0, size)]
    return len(items), [public(store, a, operations=(0, FEED_OPERATIONS)) for a in page]


def preset_bounds(preset: str, now: datetime | None = None) -> tuple[str, str]:
    """(after, before) of ``today``, ``this_week`` or ``last_week`` (UTC, weeks start on Monday)."""
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if preset == "today":
        start, end = day, day + timedelta(days=1)
    else:
        monday = day - timedelta(days=day.weekday())
        start = monday - timedelta(days=7) if preset == "last_week" else monday
        end = start + timedelta(days=7)
    fmt = "%Y-%m-%dT%H:%M:%S.000Z"
    return (start - timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.999Z"), end.strftime(fmt)


# -- recording the world's changes ------------------------------------------------------------------

def _operation(entity: dict[str, Any], name: str, activity: dict[str, Any], source: str,
               diff: dict[str, Any] | None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "entity": entity["_id"], "org": str(entity.get("_org") or ""), "activity_id": activity["_id"],
        "activity_type": activity["type"], "operation": name,
        "params": {"id": entity["_id"], "slug": entity.get("_schema", "")},
        "payload": {k: entity[k] for k in ("_id", "_schema", "_title") if k in entity},
        "source_context": {"source": SOURCES.get(source, "unknown"), "source_label": source,
                           "effective_at": activity["timestamp"]},
    }
    if diff:
        op["diff"] = diff
    return op


def _entity_change(store: Any, world: Any, event: dict[str, Any]) -> None:
    entity = event.get("entity")
    if not isinstance(entity, dict) or not isinstance(entity.get("_id"), str):
        return
    ctx = _context.get() or {}
    change = event["type"].split(".", 1)[1]
    name = ctx.get("operation") or OPERATIONS.get(change, "updateEntity")
    source = str(event.get("source") or "unknown")
    activity = get(store, ctx["activity_id"]) if ctx.get("activity_id") else None
    if activity is None:
        schema = str(entity.get("_schema") or "entity")
        label = schema.replace("_", " ")
        verb = {"createEntity": "created", "deleteEntity": "deleted", "softDeleteEntity": "deleted",
                "restoreEntity": "restored"}.get(name, "updated")
        if name.startswith("relations"):
            verb = "relations changed"
        kind = "Entity" + {"created": "Created", "deleted": "Deleted", "restored": "Restored"}.get(verb, "Updated")
        title = f"{label.capitalize()} {verb}"
        activity = create(store, world, activity_type=kind, title=title,
                          message=f"{{{{caller}}}} {verb} {label} {entity.get('_title') or entity['_id']}",
                          payload={"entity": {k: entity.get(k) for k in ("_id", "_schema", "_title")},
                                   "source": source, "operation": event.get("operation")},
                          caller=ctx.get("caller"), source=source)
    add_operation(store, activity, _operation(entity, name, activity, source, ctx.get("diff")))
    attach(store, activity, [entity["_id"]])


def _meter_reading(store: Any, world: Any, event: dict[str, Any]) -> None:
    reading, meter = event.get("reading") or {}, event.get("meter") or {}
    meter_id = reading.get("meter_id") or meter.get("_id")
    if not meter_id:
        return
    source = str(event.get("source") or "unknown")
    payload = {k: reading.get(k) for k in ("value", "timestamp", "counter_id", "source", "status", "reason",
                                           "direction", "external_id") if reading.get(k) is not None}
    payload["meter_id"] = meter_id
    if meter.get("meter_number"):
        payload["meter_number"] = meter["meter_number"]
    entities = [meter_id] + ([reading["counter_id"]] if reading.get("counter_id") else [])
    create(store, world, activity_type="MeterReadingAdded", title="Meter reading added",
           message="{{caller}} added a reading of {{payload.value}} to meter {{payload.meter_number}}",
           payload=payload, entities=entities, caller=(_context.get() or {}).get("caller"), source=source)


def subscribe(world: Any) -> None:
    """Record an activity for every change the world announces."""

    def on_change(event: dict[str, Any]) -> None:
        kind = str(event.get("type") or "")
        if kind in ("entity.created", "entity.updated", "entity.deleted"):
            _entity_change(world.store, world, event)
        elif kind == "meter_reading.created":
            _meter_reading(world.store, world, event)

    world.listeners.append(on_change)
