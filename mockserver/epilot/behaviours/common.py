"""What the epilot behaviours share: the world, who is asking and what they may see, paging, patches.

Generic entity handling is written once here and parameterised by schema; the per-API modules
only say which schema an operation reads and how the response is wrapped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.store.base import Query, iter_relations, relation_items

from ..world.extension import WorldServices

if TYPE_CHECKING:
    from ..erp.sandbox import JsonataSandbox

# Entities every customer may reference (the catalog and org-level content): visible, not expanded.
SHARED_SCHEMAS = frozenset({"product", "price", "tax", "coupon", "journey", "email_template", "campaign",
                            "target", "product_recommendation", "partner"})
# People: the start contact is expanded; others are never reached through shared entities.
PEOPLE_SCHEMAS = frozenset({"contact", "account", "portal_user"})
PROTECTED_ATTRIBUTES = frozenset({"_id", "_schema", "_org", "_created_at"})
MAX_DEPTH = 4


def world(call: Call) -> WorldServices:
    w = call.services.find(WorldServices)
    if w is None:
        raise Reject("server_error", "no world is loaded")
    return w


def store(call: Call) -> Any:
    return world(call).store


def sandbox(call: Call) -> JsonataSandbox:
    """The app's JSONata sandbox: every evaluation runs there, with its time and memory limits."""
    return world(call).jsonata


def contact_id(call: Call) -> str | None:
    return (call.principal.claims or {}).get("contact_id")


def portal_user_id(call: Call) -> str | None:
    return call.principal.subject if call.principal.kind == "portal_user" else None


def relation_ids(value: Any) -> list[str]:
    return [item["entity_id"] for item in relation_items(value)]


def visible_ids(call: Call) -> frozenset[str] | None:
    """Ids the caller may see: everything (None) for an org token; for a portal user, their contact
    and what is related to it (contracts, meters, billing accounts, orders...), plus shared entities.

    The set is cached per user until the store changes (in any worker)."""
    if call.principal.kind != "portal_user":
        return None
    cached = call.extras.get("visible")
    if cached is not None:
        return cached
    start, user_id = contact_id(call), portal_user_id(call)
    st = store(call)
    version = store_version(call)
    cache = world(call).visible_cache
    hit = cache.get((start, user_id))
    if hit is not None and hit[0] == version:
        seen = hit[1]
    else:
        seen = frozenset(_reachable(st, start, user_id) if start else ())
        if len(cache) > 1000:
            cache.clear()
        cache[(start, user_id)] = (version, seen)
    call.extras["visible"] = seen
    return seen


def store_version(call: Call) -> Any:
    """The store's version, read once per request (a round trip with a database) unless the request
    writes: a write moves it, and the caches must see that."""
    if call.op.writes:
        return store(call).version()
    version = call.extras.get("store_version")
    if version is None:
        version = call.extras["store_version"] = store(call).version()
    return version


def _reachable(st: Any, start: str, user_id: str | None) -> set[str]:
    seen = {start} | ({user_id} if user_id else set())
    frontier = [start]
    for _ in range(MAX_DEPTH):
        schemas = st.schemas_of(frontier)
        # Shared entities (products, portals) and other people are reached but not walked through.
        expand = [i for i in frontier if i == start or schemas.get(i) not in SHARED_SCHEMAS | PEOPLE_SCHEMAS]
        nxt: list[str] = []
        for source, target in st.links(expand) if expand else []:
            for other in (source, target):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        if not nxt:
            break
        frontier = nxt
    # Other people reached through a shared entity are not this customer's.
    direct = {other for pair in st.links([start]) for other in pair}
    for entity_id, schema in st.schemas_of(list(seen)).items():
        if schema in PEOPLE_SCHEMAS and entity_id not in (start, user_id) and entity_id not in direct:
            seen.discard(entity_id)
    return seen


def load(call: Call, entity_id: str, schema: str | None = None, *, kind: str = "forbidden") -> dict[str, Any]:
    """The entity, if it exists (404) and the caller may see it (``kind``: 403 where documented, else 404)."""
    entity = store(call).get(entity_id)
    if entity is None or entity.get("_deleted_at") or (schema and entity.get("_schema") != schema):
        raise Reject("not_found", f"{schema or 'entity'} {entity_id} not found")
    visible = visible_ids(call)
    if visible is not None and entity_id not in visible:
        raise Reject(kind, f"{schema or 'entity'} {entity_id} is not accessible to this user")
    return entity


NEWEST_FIRST = (("_created_at", True),)


def visible_of_schema(call: Call, schema: str, *, limit: int | None = None, offset: int = 0,
                      sort: tuple[tuple[str, bool], ...] = NEWEST_FIRST) -> list[dict[str, Any]]:
    """The caller's entities of ``schema``, newest first, one page of them.

    Pages are cached per caller until the store changes (a front end polls the same lists)."""
    visible = visible_ids(call)
    st = store(call)
    key = (contact_id(call) if visible is not None else None, schema, limit, offset, sort)
    version = store_version(call)
    cache = world(call).page_cache
    hit = cache.get(key)
    if hit is None or hit[0] != version:
        query = Query(schemas=(schema,), ids=tuple(sorted(visible)) if visible is not None else None, sort=sort,
                      offset=offset, limit=limit if limit is not None else 10_000, count=False)
        if len(cache) > 2000:
            cache.clear()
        hit = cache[key] = (version, st.query(query).items)
    return [dict(e) for e in hit[1]]  # callers may add or change top-level fields of their copy


def page_params(call: Call, default_size: int = 25) -> tuple[int, int]:
    offset = int(call.params.get("from") or 0)
    size = call.params.get("size")
    return max(0, offset), default_size if size is None else max(0, int(size))


def related(call: Call, entity: dict[str, Any], schema: str | None = None, attribute: str | None = None,
            *, reverse: bool = True) -> list[dict[str, Any]]:
    """Entities related to ``entity`` (both directions unless ``reverse`` is False), optionally of a schema."""
    st = store(call)
    ids: list[str] = []
    for rel in st.relations(entity["_id"]):
        if attribute is None or rel.attribute == attribute:
            ids.append(rel.target)
    if reverse:
        ids += [rel.source for rel in st.relations(entity["_id"], reverse=True)]
    found = st.get_many(list(dict.fromkeys(ids)))
    visible = visible_ids(call)
    out = []
    for entity_id in dict.fromkeys(ids):
        other = found.get(entity_id)
        if other is None or (schema and other["_schema"] != schema):
            continue
        if visible is not None and entity_id not in visible:
            continue
        out.append(other)
    return out


def apply_patch(call: Call, entity: dict[str, Any], changes: dict[str, Any], *,
                replace: bool = False) -> dict[str, Any]:
    """A changed copy of ``entity``: attributes set (or, ``replace``, all attributes replaced). The id,
    schema, organisation and creation time are the store's: values for them in ``changes`` are ignored."""
    base = {k: v for k, v in entity.items() if k.startswith("_")} if replace else dict(entity)
    for key, value in changes.items():
        if key in PROTECTED_ATTRIBUTES:
            continue
        base[key] = value
    base["_updated_at"] = world(call).now()
    if not base.get("_title"):
        base["_title"] = entity.get("_title") or title_for(base)
    return base


TITLE_ATTRIBUTES = ("_title", "name", "contract_name", "full_name", "meter_number", "order_number",
                    "billing_account_number", "subject", "filename", "email", "title", "obis_number", "code")


def title_for(entity: dict[str, Any]) -> str:
    for key in TITLE_ATTRIBUTES:
        value = entity.get(key)
        if isinstance(value, str) and value:
            return value
    first, last = entity.get("first_name"), entity.get("last_name")
    if first or last:
        return " ".join(str(x) for x in (first, last) if x)
    return f"{entity.get('_schema', 'entity')} {entity.get('_id', '')[:8]}"


def save(call: Call, entity: dict[str, Any], *, change: str = "updated") -> dict[str, Any]:
    """Store an entity and tell the listeners (ERP outbound events) what changed."""
    w = world(call)
    w.store.put(entity)
    call.extras.pop("visible", None)
    w.emit({"type": f"entity.{change}", "schema": entity["_schema"], "entity": entity,
            "source": call.op.api.name, "operation": call.op.id})
    return entity


def new_entity(call: Call, schema: str, attributes: dict[str, Any], *, entity_id: str | None = None) -> dict[str, Any]:
    """A new entity of ``schema`` with ``attributes`` (not stored)."""
    w = world(call)
    now = w.now()
    entity = {k: v for k, v in attributes.items() if k not in PROTECTED_ATTRIBUTES}
    entity.update({"_id": entity_id or w.new_id(), "_schema": schema, "_org": w.org_id, "_created_at": now,
                   "_updated_at": now})
    if not isinstance(entity.get("_tags"), list):
        entity["_tags"] = []
    if not entity.get("_title"):
        entity["_title"] = title_for(entity)
    return entity


def create_entity(call: Call, schema: str, attributes: dict[str, Any], *,
                  entity_id: str | None = None) -> dict[str, Any]:
    return save(call, new_entity(call, schema, attributes, entity_id=entity_id), change="created")


def add_relation(entity: dict[str, Any], attribute: str, target: dict[str, Any], tags: list[str] | None = None) -> None:
    items = entity.setdefault(attribute, {"$relation": []})
    if not isinstance(items, dict) or not isinstance(items.get("$relation"), list):
        entity[attribute] = items = {"$relation": []}
    if any(i.get("entity_id") == target["_id"] for i in items["$relation"]):
        return
    item: dict[str, Any] = {"entity_id": target["_id"], "_schema": target["_schema"]}
    if tags:
        item["_tags"] = tags
    items["$relation"].append(item)


def remove_relation(entity: dict[str, Any], target_id: str) -> bool:
    changed = False
    for value in entity.values():
        if any(i["entity_id"] == target_id for i in relation_items(value)):
            value["$relation"] = [i for i in value["$relation"] if i.get("entity_id") != target_id]
            changed = True
    return changed


def with_schema(entity: dict[str, Any]) -> dict[str, Any]:
    return entity if "_schema" in entity else {**entity, "_schema": "entity"}


__all__ = ["Reject", "iter_relations"]
