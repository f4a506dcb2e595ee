"""Entity API behaviours for activities: create, read, attach, and the activity feed of an entity
(which the other APIs' changes fill, see `entity_activity`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import activity as activities
from . import trash
from .core import anonymized, behaviours, caller, schema_of


def _existing(call: Call, ids: list[str] | None) -> list[str]:
    st = c.store(call)
    found = st.get_many([i for i in ids or [] if isinstance(i, str)])
    return [i for i in ids or [] if i in found or trash.get(st, i) is not None]


@behaviours("createActivity")
def create_activity(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    activity = activities.create(
        c.store(call), c.world(call), activity_type=str(body.get("type") or "Custom"),
        title=str(body.get("title") or body.get("type") or "Activity"), message=str(body.get("message") or ""),
        payload=body.get("payload") if isinstance(body.get("payload"), dict) else {},
        entities=_existing(call, call.params.get("entities")), caller=caller(call), source="entity",
        pending=bool(body.get("pending")))
    return call.json(activities.public(c.store(call), activity))


def _activity(call: Call) -> dict[str, Any]:
    activity = activities.get(c.store(call), call.params["id"])
    if activity is None:
        raise Reject("not_found", f"Activity {call.params['id']} not found")
    return activity


@behaviours("getActivity")
def get_activity(call: Call) -> Any:
    p = call.params
    activity = _activity(call)
    start = max(0, int(p.get("operations_from") or 0))
    size = None if p.get("operations_size") is None else max(0, int(p["operations_size"]))
    out = activities.public(c.store(call), activity, operations=(start, size))
    if p.get("anonymize"):
        out["operations"] = [{**op, "payload": anonymized(op.get("payload") or {}, None)} for op in out["operations"]]
        out["payload"] = anonymized(out.get("payload") or {}, None)
    return call.json(out)


@behaviours("attachActivity")
def attach_activity(call: Call) -> Any:
    activity = _activity(call)
    activities.attach(c.store(call), activity, _existing(call, call.params.get("entities")))
    return call.json(activities.public(c.store(call), activity))


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _later(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if a or b else None


def _earlier(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if a or b else None


@behaviours("getEntityActivityFeed")
def get_entity_activity_feed(call: Call) -> Any:
    p = call.params
    schema = schema_of(call)
    st = c.store(call)
    entity = st.get(p["id"]) or trash.get(st, p["id"])
    if entity is None or entity.get("_schema") != schema["slug"]:
        raise Reject("not_found", f"Entity {p['id']} of schema {schema['slug']} not found")
    ids = [entity["_id"]]
    if p.get("include_relations"):
        ids += [other for pair in st.links([entity["_id"]]) for other in pair if other != entity["_id"]]
    after = _later(_iso(p.get("after")), _iso(p.get("start_date")) and _shift(_iso(p.get("start_date")), -1))
    before = _earlier(_iso(p.get("before")), _iso(p.get("end_date")) and _shift(_iso(p.get("end_date")), 1))
    if p.get("preset_range"):
        low, high = activities.preset_bounds(p["preset_range"])
        after, before = _later(after, low), _earlier(before, high)
    groups = [g.strip() for g in str(p.get("exclude_activity_groups") or "").split(",") if g.strip()]
    start = max(0, int(p.get("from") or 0))
    size = 25 if p.get("size") is None else max(0, int(p["size"]))
    total, items = activities.feed(st, list(dict.fromkeys(ids)), types=p.get("type"), after=after, before=before,
                                   exclude_groups=groups, offset=start, size=size)
    if p.get("anonymize"):
        items = [{**a, "payload": anonymized(a.get("payload") or {}, None)} for a in items]
    return call.json({"total": total, "results": items})


def _shift(stamp: str | None, millis: int) -> str | None:
    """``stamp`` moved by ``millis`` milliseconds (inclusive bounds from exclusive ones)."""
    if stamp is None:
        return None
    at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    at = at.fromtimestamp(at.timestamp() + millis / 1000, tz=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
