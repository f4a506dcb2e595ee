"""Applying a mapped inbound event to the world: upserts by unique ids, relations resolved to entity ids,
meter readings attached to their meter and counter, and prune scopes. The caller runs it in one
transaction per event.

Prune scopes (``upsert-prune-scope-*`` modes) delete what the ERP no longer sends: the entities of
the scope (related to the scope entity, or matching the scope query) whose unique ids the event did
not map, and the meter's readings (of the scope's source) that an inbound event wrote and whose
external ids the event did not map. Readings the mock's world seeded are never pruned.
"""

from __future__ import annotations

from typing import Any

from .mapping import MappingResult, reading_number, reading_problems

READING_KIND = "meter_reading"


class ApplyError(Exception):
    """The mapped event cannot be applied (for example a reading for an unknown meter)."""


def _find(store: Any, schema: str, unique_ids: dict[str, Any]) -> list[dict[str, Any]]:
    if not unique_ids:
        return []
    try:
        return store.find_by(schema, unique_ids)
    except ValueError as exc:
        raise ApplyError(f"{schema}: {exc}") from None


def _resolve_relation(store: Any, value: dict[str, Any], existing: Any, warnings: list[str],
                      attribute: str) -> dict[str, Any]:
    """``{"$relation": {"_set"|"_append"|"_append_all": [{_schema, _tags?, $entity_unique_ids}]}}`` ->
    the stored shape ``{"$relation": [{entity_id, _schema, _tags?}]}``."""
    ops = value["$relation"]
    current = list((existing or {}).get("$relation") or []) if isinstance(existing, dict) else []
    out = [] if "_set" in ops else current
    for op in ("_set", "_append", "_append_all"):
        for item in ops.get(op) or []:
            schema = item.get("_schema") or item.get("entity_schema")
            ids = item.get("$entity_unique_ids") or {}
            found = _find(store, schema, ids) if schema else []
            if not found:
                warnings.append(f"relation '{attribute}': no {schema} with {ids}; the item was left out")
                continue
            resolved: dict[str, Any] = {"entity_id": found[0]["_id"], "_schema": found[0]["_schema"]}
            if item.get("_tags"):
                resolved["_tags"] = item["_tags"]
            if op != "_append_all" and any(r.get("entity_id") == resolved["entity_id"] for r in out):
                continue
            out.append(resolved)
    return {"$relation": out}


def apply_result(result: MappingResult, *, store: Any, world: Any, source: str) -> dict[str, Any]:
    """Write a mapping result to the world; returns a summary ({created, updated, deleted, readings, warnings})."""
    summary: dict[str, Any] = {"created": [], "updated": [], "deleted": [], "readings": [], "readings_deleted": 0,
                               "warnings": []}
    for update in result.entity_updates:
        slug, unique_ids = update["entity_slug"], update.get("unique_identifiers") or {}
        matches = _find(store, slug, unique_ids)
        if update.get("mode") in ("delete", "purge"):
            for entity in matches:
                store.delete(entity["_id"])
                summary["deleted"].append(entity)
            continue
        base = matches[0] if matches else None
        attributes = dict(update.get("attributes") or {})
        for key, value in list(attributes.items()):
            if isinstance(value, dict) and isinstance(value.get("$relation"), dict):
                attributes[key] = _resolve_relation(store, value, (base or {}).get(key), summary["warnings"], key)
        now = world.now()
        if base is not None:
            entity = {**base, **{k: v for k, v in attributes.items() if not k.startswith("_") or k == "_tags"},
                      "_updated_at": now}
            summary["updated"].append(store.put(entity))
        else:
            entity = {**{k: v for k, v in unique_ids.items() if k not in attributes}, **attributes}
            entity = {k: v for k, v in entity.items() if k not in ("_id", "_org", "_schema", "_created_at")}
            entity.update({"_id": world.new_id(), "_schema": slug, "_org": world.org_id, "_created_at": now,
                           "_updated_at": now})
            entity.setdefault("_tags", [])
            entity.setdefault("_title", _title(entity))
            summary["created"].append(store.put(entity))
    for update in result.meter_readings_updates:
        meter_ids = (update.get("meter") or {}).get("$entity_unique_ids") or {}
        meters = _find(store, "meter", meter_ids)
        if not meters:
            raise ApplyError(f"meter reading: no meter with {meter_ids}")
        meter = meters[0]
        counter = None
        counter_ids = (update.get("meter_counter") or {}).get("$entity_unique_ids")
        if counter_ids:
            counters = _find(store, "meter_counter", counter_ids)
            if not counters:
                raise ApplyError(f"meter reading: no meter counter with {counter_ids}")
            counter = counters[0]
        attributes = dict(update.get("attributes") or {})
        if update.get("mode") == "delete":
            summary["readings_deleted"] += _delete_reading(store, meter["_id"], attributes)
            continue
        problems = reading_problems(attributes)
        if problems:
            raise ApplyError("meter reading " + "; ".join(problem for _, problem in problems))
        reading = {**attributes, "value": reading_number(attributes["value"])}
        reading.update({"meter_id": meter["_id"], "status": reading.get("status") or "valid"})
        if counter is not None:
            reading["counter_id"] = counter["_id"]
            reading.setdefault("direction", counter.get("direction", "feed-out"))
        store.record_put(READING_KIND, str(reading["external_id"]), reading, parent=meter["_id"])
        if counter is not None and str(reading.get("timestamp", "")) >= str(counter.get("last_reading_date") or ""):
            store.put({**counter, "last_reading": reading.get("value"), "last_reading_date": reading.get("timestamp"),
                       "_updated_at": world.now()})
        summary["readings"].append({"reading": reading, "meter": meter})
    for scope in result.prune_scope_updates:
        summary["deleted"] += _prune_entities(store, scope)
    for scope in result.meter_readings_prune_scope_updates:
        summary["readings_deleted"] += _prune_readings(store, scope)
    summary["warnings"] += [f"{w.get('entity_schema')} {w.get('field')}: {w.get('message')}" for w in result.warnings]
    return summary


def _kept(entity: dict[str, Any], keep: list[dict[str, Any]]) -> bool:
    def same(value: Any, wanted: Any) -> bool:
        if value == wanted:
            return True
        values = value if isinstance(value, list) else [value]  # repeatable attributes: [{email: ...}]
        plain = {v for item in values if isinstance(item, dict) for v in item.values() if isinstance(v, str)}
        wanted_all = wanted if isinstance(wanted, list) else [wanted]
        return bool(plain) and all(w in plain for w in wanted_all)

    return any(all(same(entity.get(k), v) for k, v in ids.items()) for ids in keep)


def _prune_entities(store: Any, update: dict[str, Any]) -> list[dict[str, Any]]:
    scope = update.get("scope") or {}
    slug = update["entity_slug"]
    if scope.get("scope_mode") == "relations":
        owners = _find(store, scope.get("schema") or "", scope.get("unique_ids") or {}) if scope.get("schema") else []
        ids = {rel.target for owner in owners for rel in store.relations(owner["_id"])}
        ids |= {rel.source for owner in owners for rel in store.relations(owner["_id"], reverse=True)}
        candidates = [e for e in store.get_many(sorted(ids)).values() if e.get("_schema") == slug]
    else:
        candidates = _find(store, slug, scope.get("query") or {})
    deleted = []
    for entity in candidates:
        if not entity.get("_deleted_at") and not _kept(entity, update.get("keep_unique_ids") or []):
            store.delete(entity["_id"])
            deleted.append(entity)
    return deleted


def _prune_readings(store: Any, update: dict[str, Any]) -> int:
    meters = _find(store, "meter", (update.get("meter") or {}).get("$entity_unique_ids") or {})
    counter_ids = (update.get("meter_counter") or {}).get("$entity_unique_ids")
    counters = _find(store, "meter_counter", counter_ids) if counter_ids else []
    keep = set(update.get("keep_external_ids") or [])
    deleted = 0
    for meter in meters[:1]:
        for reading in store.record_list(READING_KIND, parent=meter["_id"]):
            external_id = reading.get("external_id")
            if external_id in keep or not isinstance(external_id, str):
                continue
            if update.get("source") and reading.get("source") != update["source"]:
                continue
            if counters and reading.get("counter_id") != counters[0]["_id"]:
                continue
            stored = store.record_get(READING_KIND, external_id)  # only readings an inbound event wrote
            if stored is not None and stored.get("meter_id") == meter["_id"]:
                deleted += int(store.record_delete(READING_KIND, external_id))
    return deleted


def _delete_reading(store: Any, meter_id: str, attributes: dict[str, Any]) -> int:
    """Delete the meter's reading that an inbound event wrote with this ``external_id``."""
    external_id = attributes.get("external_id")
    if not isinstance(external_id, str) or not external_id:
        raise ApplyError("meter reading delete: `external_id` must be a non-empty string")
    stored = store.record_get(READING_KIND, external_id)
    if stored is None or stored.get("meter_id") != meter_id:
        return 0
    return int(store.record_delete(READING_KIND, external_id))


def _title(entity: dict[str, Any]) -> str:
    for key in ("name", "contract_name", "contract_number", "meter_number", "obis_number", "customer_number",
                "billing_account_number", "order_number"):
        if isinstance(entity.get(key), str) and entity[key]:
            return entity[key]
    names = [entity.get("first_name"), entity.get("last_name")]
    if any(isinstance(n, str) and n for n in names):
        return " ".join(n for n in names if isinstance(n, str) and n)
    return f"{entity['_schema']} {entity['_id'][:8]}"
