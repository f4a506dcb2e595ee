"""The trash: entities deleted without ``purge`` (or wiped) leave the store's entities for records of
kind ``entity_trash`` (parent = schema), so no other API sees them, and come back with their
relations when restored. Searches with ``include_deleted`` read them through `matches`.
"""

from __future__ import annotations

import re
from typing import Any

from mockserver.engine.store.base import Filter

KIND = "entity_trash"


def move_to_trash(store: Any, entity: dict[str, Any], deleted_at: str) -> dict[str, Any]:
    trashed = {**entity, "_deleted_at": deleted_at}
    with store.transaction():
        store.delete(entity["_id"])
        store.record_put(KIND, entity["_id"], trashed, parent=entity["_schema"])
    return trashed


def get(store: Any, entity_id: str) -> dict[str, Any] | None:
    return store.record_get(KIND, entity_id)


def take_out(store: Any, entity_id: str) -> dict[str, Any] | None:
    """The trashed entity, removed from the trash (the caller stores it again), or None."""
    entity = store.record_get(KIND, entity_id)
    if entity is None:
        return None
    store.record_delete(KIND, entity_id)
    entity.pop("_deleted_at", None)
    return entity


def trashed(store: Any, schemas: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if schemas:
        return [e for s in schemas for e in store.record_list(KIND, parent=s)]
    return store.record_list(KIND)


def values_at(entity: dict[str, Any], attribute: str) -> list[Any]:
    value: Any = entity
    parts = attribute.split(".")
    values = [value]
    for part in parts:
        nxt = []
        for v in values:
            if isinstance(v, dict) and part in v:
                nxt.append(v[part])
            elif isinstance(v, list):
                nxt += [i[part] for i in v if isinstance(i, dict) and part in i]
        values = nxt
    flat: list[Any] = []
    for v in values:
        flat += v if isinstance(v, list) else [v]
    return flat


def _text(entity: dict[str, Any]) -> str:
    return " ".join(str(v) for v in entity.values()).lower()


def _compare(op: str, have: Any, want: Any) -> bool:
    try:
        return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op]
    except TypeError:
        return False


def matches(entity: dict[str, Any], clause: Any) -> bool:
    """Whether ``entity`` satisfies a store clause (a Filter, or and/or/not of them)."""
    if clause is None:
        return True
    if isinstance(clause, Filter):
        f = clause
        if f.attribute == "*":
            return str(f.value).lower() in _text(entity)
        values = values_at(entity, f.attribute)
        if f.op == "exists":
            return any(v is not None for v in values)
        if f.op == "eq":
            return f.value in values
        if f.op == "ne":
            return f.value not in values
        if f.op == "in":
            return any(v in f.value for v in values)
        if f.op == "prefix":
            return any(isinstance(v, str) and v.lower().startswith(str(f.value).lower()) for v in values)
        if f.op == "contains":
            return any(str(f.value).lower() in str(v).lower() for v in values)
        return any(_compare(f.op, v, f.value) for v in values)
    kind, parts = clause[0], clause[1]
    if kind == "not":
        return not matches(entity, parts)
    if kind == "or":
        return any(matches(entity, p) for p in parts)
    return all(matches(entity, p) for p in parts)


def wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.IGNORECASE)
