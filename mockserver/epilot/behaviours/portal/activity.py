"""Activity feeds, custom activities, entity access events, notifications and campaign block status.

An entity's feed is its history: activity records (kind ``activity``, parent = the entity id) that
behaviours write, plus what the entity itself tells (created, last updated) and, for meters, the
readings. ``feed_of`` is the one place that reads it. Notifications are feed items of the
customer's entities: their status (``read``/``important``) is kept per portal user in records of
kind ``notification_status`` and shown as ``payload.notification_status``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from ..entity.activity import feed as entity_feed
from . import behaviours
from .metering import READING_KIND, iso, parse_time

ACTIVITY_KIND = "activity"
NOTIFICATION_KIND = "notification_status"
CAMPAIGN_KIND = "campaign_block_status"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEFAULT_TITLES = {"PortalUserResetPassword": ("Password reset", "{{caller}} reset the portal password."),
                  "EntityAccessed": ("Viewed in the portal", "{{caller}} opened this entity in the portal."),
                  "EntityUpdated": ("Updated", "The entity was updated."),
                  "EntityCreated": ("Created", "The entity was created."),
                  "MeterReadingCreated": ("Meter reading", "A meter reading was recorded.")}


def ulid(timestamp: str, seed: str) -> str:
    """A ULID for an activity: the time in its first 48 bits, the rest from ``seed`` (deterministic)."""
    try:
        ms = int(parse_time(timestamp).timestamp() * 1000)
    except Reject:
        ms = 0
    value = (max(ms, 0) % (1 << 48)) << 80 | int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _item(entity: dict[str, Any], kind: str, timestamp: str, seed: str, **payload: Any) -> dict[str, Any]:
    title, message = DEFAULT_TITLES.get(kind, (kind, kind))
    return {"_id": ulid(timestamp, seed), "type": kind, "title": title, "message": message, "timestamp": timestamp,
            "payload": {"entity": {"id": entity["_id"], "schema": entity["_schema"]}, **payload}}


def _recorded(call: Call, entity: dict[str, Any]) -> list[dict[str, Any]]:
    """The activities the Entity API records for ``entity`` (every API's changes since the start), in
    the portal's ActivityItem shape: one feed, whichever API asks."""
    _total, found = entity_feed(c.store(call), [entity["_id"]], size=10_000)
    out = []
    for activity in found:
        payload = {k: v for k, v in (activity.get("payload") or {}).items() if k != "entity"}
        payload["entity"] = {"id": entity["_id"], "schema": entity["_schema"]}
        out.append({"_id": activity["_id"], "type": str(activity.get("type") or "Activity"),
                    "title": str(activity.get("title") or ""), "message": str(activity.get("message") or ""),
                    "timestamp": activity.get("timestamp"), "payload": payload})
    return out


def feed_of(call: Call, entity: dict[str, Any]) -> list[dict[str, Any]]:
    """Every activity of ``entity``, newest first: what the Entity API recorded, the portal's own
    (custom activities, access events), and the seeded history from before the mock started (its
    creation, last change and meter readings), unless a recorded activity already tells it."""
    st = c.store(call)
    recorded = _recorded(call, entity)
    items = [dict(r) for r in st.record_list(ACTIVITY_KIND, parent=entity["_id"])] + recorded
    kinds = {a["type"] for a in recorded}
    created = entity.get("_created_at")
    if created and "EntityCreated" not in kinds:
        items.append(_item(entity, "EntityCreated", created, f"{entity['_id']}:created"))
    updated = entity.get("_updated_at")
    if updated and updated != created and not recorded:
        items.append(_item(entity, "EntityUpdated", updated, f"{entity['_id']}:updated:{updated}"))
    if entity.get("_schema") == "meter":
        told = {a["payload"].get("external_id") for a in recorded if a["type"] == "MeterReadingAdded"}
        for reading in st.record_list(READING_KIND, parent=entity["_id"]):
            if reading.get("timestamp") and reading.get("external_id") not in told:
                items.append(_item(entity, "MeterReadingCreated", reading["timestamp"],
                                   f"{entity['_id']}:reading:{reading.get('external_id')}",
                                   reading={k: reading.get(k) for k in ("value", "counter_id", "source")}))
    items.sort(key=lambda a: (a.get("timestamp") or "", a["_id"]), reverse=True)
    return items


def record_activity(call: Call, entity: dict[str, Any], kind: str, **payload: Any) -> dict[str, Any]:
    """Store an activity on ``entity`` and return it."""
    now = c.world(call).now()
    item = _item(entity, kind, now, f"{entity['_id']}:{kind}:{c.world(call).new_id()}", **payload)
    if call.principal.kind == "portal_user":
        item["payload"]["caller"] = {"PortalAuth": {"token": {"portal_user_id": call.principal.subject}}}
    c.store(call).record_put(ACTIVITY_KIND, item["_id"], item, parent=entity["_id"])
    return item


def _with_status(call: Call, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    st = c.store(call)
    user = call.principal.subject
    out = []
    for item in items:
        status = st.record_get(NOTIFICATION_KIND, f"{user}:{item['_id']}")
        if status:
            item = {**item, "payload": {**item.get("payload", {}), "notification_status": status["status"]}}
        out.append(item)
    return out


@behaviours("getEntityActivityFeed")
def get_entity_activity_feed(call: Call) -> Any:
    p = call.params
    entity = c.load(call, p["id"], p["slug"])
    items = feed_of(call, entity)
    if p.get("include_relations"):
        for other in c.related(call, entity):
            if other["_schema"] not in c.SHARED_SCHEMAS:
                items += feed_of(call, other)
        items.sort(key=lambda a: (a.get("timestamp") or "", a["_id"]), reverse=True)
    if p.get("type"):
        items = [a for a in items if a.get("type") == p["type"]]
    if p.get("after"):
        after = parse_time(p["after"])
        items = [a for a in items if parse_time(a["timestamp"]) > after]
    if p.get("before"):
        before = parse_time(p["before"])
        items = [a for a in items if parse_time(a["timestamp"]) < before]
    offset, size = c.page_params(call)
    return call.json({"total": len(items), "results": _with_status(call, items[offset:offset + size])})


@behaviours("createCustomEntityActivity")
def create_custom_entity_activity(call: Call) -> Any:
    body = call.body or {}
    ids = call.params.get("entities") or []
    targets = [c.load(call, i) for i in dict.fromkeys(ids)]
    if not targets:
        contact_id = c.contact_id(call)
        if not contact_id:
            raise Reject("forbidden", "this portal user has no contact to record the activity on")
        targets = [c.load(call, contact_id, "contact")]
    items = [record_activity(call, t, body["type"], **(body.get("payload") or {})) for t in targets]
    first = items[0]
    for key in ("title", "message"):
        if body.get(key):
            first[key] = body[key]
            c.store(call).record_put(ACTIVITY_KIND, first["_id"], first, parent=targets[0]["_id"])
    return call.json(first, status=201)


def activity_by_id(call: Call, activity_id: str) -> dict[str, Any] | None:
    return c.store(call).record_get(ACTIVITY_KIND, activity_id)


@behaviours("getAutomationContext")
def get_automation_context(call: Call) -> Any:
    """The entities an automation activity is about: the activity's entity and its relations, by schema."""
    activity = activity_by_id(call, call.params["activity_id"])
    if activity is None:
        return call.json({})
    entity_ref = (activity.get("payload") or {}).get("entity") or {}
    entity = c.store(call).get(entity_ref.get("id", ""))
    if entity is None:
        return call.json({})
    context = {entity["_schema"]: entity}
    for other in c.related(call, entity):
        context.setdefault(other["_schema"], other)
    return call.json(context)


def _visible_activity(call: Call, activity_id: str) -> dict[str, Any] | None:
    """A notification of this customer: a feed item of one of the entities they may see."""
    stored = activity_by_id(call, activity_id)
    if stored is not None:
        entity_id = (stored.get("payload") or {}).get("entity", {}).get("id")
        visible = c.visible_ids(call)
        return stored if visible is None or entity_id in visible else None
    return None


@behaviours("updateNotificationsStatus")
def update_notifications_status(call: Call) -> Any:
    notes = call.body["notifications"]
    user = call.principal.subject
    own_feed: dict[str, dict[str, Any]] | None = None
    for note in notes:
        found = _visible_activity(call, note["id"])
        if found is None:
            if own_feed is None:  # derived items (created, updated, readings) of the customer's entities
                own_feed = {}
                for schema in ("contact", "contract", "meter", "order", "billing_account"):
                    for entity in c.visible_of_schema(call, schema):
                        own_feed.update({a["_id"]: a for a in feed_of(call, entity)})
            found = own_feed.get(note["id"])
        if found is None:
            raise Reject("not_found", f"notification {note['id']} not found")
    for note in notes:
        c.store(call).record_put(NOTIFICATION_KIND, f"{user}:{note['id']}",
                                 {"id": note["id"], "status": note["status"], "updated_at": c.world(call).now()},
                                 parent=user)
    return call.json({"message": f"{len(notes)} notification(s) updated"})


@behaviours("updateCampaignPortalBlockStatus")
def update_campaign_portal_block_status(call: Call) -> Any:
    campaign_id = call.params["campaign_id"]
    body = call.body
    visible = c.visible_ids(call)
    st = c.store(call)
    updated = failed = 0
    for ref in body["entity_refs"]:
        entity = st.get(ref["entity_id"])
        ok = (entity is not None and entity.get("_schema") == ref["entity_schema"]
              and (visible is None or entity["_id"] in visible))
        if not ok:
            failed += 1
            continue
        st.record_put(CAMPAIGN_KIND, f"{campaign_id}:{entity['_id']}",
                      {"campaign_id": campaign_id, "entity_id": entity["_id"], "status": body["status"],
                       "updated_at": iso(parse_time(c.world(call).now()))}, parent=campaign_id)
        updated += 1
    total = len(body["entity_refs"])
    return call.json({"success": failed == 0, "updated": updated, "failed": failed, "total": total})
