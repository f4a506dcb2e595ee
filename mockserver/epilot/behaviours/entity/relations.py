"""Relations: the store's relations between entities (the ``$relation`` attributes), read in v1/v2/v3
form, counted, added, retagged and removed, and walked as a graph (``entity:graph``). Portal users
see what their contact relates to, so a relation added here shows in the portal at once.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.store.base import Filter

from .. import common as c
from ..entity_query import QueryError, parse_query
from . import trash
from .core import anonymized, behaviours, changing, load_entity, select_fields


def _edges(call: Call, entity_id: str, *, forward: bool = True, reverse: bool = False) -> list[tuple[str, str,
                                                                                                       tuple, bool]]:
    st = c.store(call)
    out = []
    if forward:
        out += [(r.target, r.attribute, r.tags, False) for r in st.relations(entity_id)]
    if reverse:
        out += [(r.source, r.attribute, r.tags, True) for r in st.relations(entity_id, reverse=True)]
    return out


def _item(call: Call, other: dict[str, Any], attribute: str, tags: tuple, reverse: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"entity_id": other["_id"], "org_id": str(other.get("_org") or c.world(call).org_id),
                            "_schema": other["_schema"], "attribute": attribute, "reverse": reverse}
    if tags:
        item["_tags"] = list(tags)
    return item


def relations_of(call: Call, entity: dict[str, Any], *, forward: bool = True, reverse: bool = False,
                 include: list[str] | None = None, exclude: list[str] | None = None, deleted: str = "false",
                 clause: Any = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(relation item, related entity) pairs of ``entity``, filtered."""
    edges = _edges(call, entity["_id"], forward=forward, reverse=reverse)
    st = c.store(call)
    found = st.get_many([e[0] for e in edges]) if deleted != "only" else {}
    out = []
    for target, attribute, tags, is_reverse in edges:
        other = found.get(target)
        if other is None and deleted != "false":
            other = trash.get(st, target)
        elif other is not None and deleted == "only":
            other = None
        if other is None:
            continue
        if include and other["_schema"] not in include:
            continue
        if exclude and other["_schema"] in exclude:
            continue
        if clause is not None and not trash.matches(other, clause):
            continue
        out.append((_item(call, other, attribute, tags, is_reverse), other))
    return out


def _page(call: Call, items: list[Any]) -> list[Any]:
    p = call.params
    start = max(0, int(p.get("from") or 0))
    size = len(items) if p.get("size") is None else max(0, int(p["size"]))
    return items[start:start + size]


def _render(call: Call, pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    p = call.params
    out = []
    for item, other in pairs:
        if not p.get("hydrate"):
            out.append(item)
            continue
        other = select_fields(other, p.get("fields"))
        if p.get("anonymize"):
            other = anonymized(other, None)
        out.append({**other, "$relation": item})
    return out


@behaviours("getRelations")
def get_relations(call: Call) -> Any:
    entity = load_entity(call)[1]
    p = call.params
    pairs = relations_of(call, entity, reverse=bool(p.get("include_reverse")), include=p.get("include_schemas"),
                         exclude=p.get("exclude_schemas"))
    return call.json(_render(call, _page(call, pairs)))


def _text_clause(query: str | None) -> Any:
    """A Lucene query as a clause; a query that does not parse is searched for as text."""
    if not query or not query.strip():
        return None
    try:
        schemas, clause = parse_query(query)
    except QueryError:
        return Filter("*", "contains", query)
    parts = [clause] if clause is not None else []
    if schemas:
        parts.append(Filter("_schema", "in", schemas))
    return ("and", tuple(parts)) if parts else None


@behaviours("getRelationsV2")
def get_relations_v2(call: Call) -> Any:
    entity = load_entity(call)[1]
    p = call.params
    pairs = relations_of(call, entity, reverse=bool(p.get("include_reverse")), clause=_text_clause(p.get("query")))
    return call.json({"hits": len(pairs), "relations": _render(call, _page(call, pairs))})


@behaviours("getRelationsV3")
def get_relations_v3(call: Call) -> Any:
    entity = load_entity(call)[1]
    p = call.params
    mode = p.get("mode") or ("both" if p.get("include_reverse") else "direct")
    pairs = relations_of(call, entity, forward=mode in ("direct", "both"), reverse=mode in ("reverse", "both"),
                         include=p.get("include_schemas"), exclude=p.get("exclude_schemas"),
                         deleted=str(p.get("include_deleted") or "false"))
    return call.json({"hits": len(pairs), "relations": _render(call, _page(call, pairs))})


@behaviours("getRelatedEntitiesCount")
def get_related_entities_count(call: Call) -> Any:
    entity = load_entity(call)[1]
    pairs = relations_of(call, entity, reverse=True, exclude=call.params.get("exclude_schemas"))
    return call.json({"hits": len({other["_id"] for _, other in pairs})})


@behaviours("addRelations")
def add_relations(call: Call) -> Any:
    entity = load_entity(call)[1]
    items = [i for i in (call.body or []) if isinstance(i, dict)] if isinstance(call.body, list) else []
    if not items:
        raise Reject("not_found", "no relation items given: nothing to add")
    st = c.store(call)
    first = None
    for item in items:
        target = st.get(item["entity_id"])
        if target is None:
            raise Reject("not_found", f"related entity {item['entity_id']} not found")
        c.add_relation(entity, item["attribute"], target, item.get("_tags"))
        first = first or _item(call, target, item["attribute"], tuple(item.get("_tags") or ()), False)
    with changing(call, "relationsAdded"):
        c.save(call, c.apply_patch(call, entity, {}))
    return call.json(first)


def _relation_at(entity: dict[str, Any], attribute: str, target_id: str) -> dict[str, Any] | None:
    value = entity.get(attribute)
    if isinstance(value, dict) and isinstance(value.get("$relation"), list):
        return next((i for i in value["$relation"] if isinstance(i, dict) and i.get("entity_id") == target_id), None)
    return None


@behaviours("updateRelation")
def update_relation(call: Call) -> Any:
    entity = load_entity(call)[1]
    attribute, target_id = call.params["attribute"], call.params["entity_id"]
    item = _relation_at(entity, attribute, target_id)
    if item is None:
        raise Reject("not_found", f"entity {entity['_id']} has no relation {attribute} to {target_id}")
    tags = (call.body or {}).get("_tags") if isinstance(call.body, dict) else None
    item["_tags"] = [t for t in tags or [] if isinstance(t, str)]
    with changing(call, "updateEntity"):
        c.save(call, c.apply_patch(call, entity, {}))
    other = c.store(call).get(target_id) or trash.get(c.store(call), target_id) or \
        {"_id": target_id, "_schema": item.get("_schema") or "entity"}
    return call.json(_item(call, other, attribute, tuple(item["_tags"]), False))


@behaviours("deleteRelation")
def delete_relation(call: Call) -> Any:
    entity = load_entity(call)[1]
    attribute, target_id = call.params["attribute"], call.params["entity_id"]
    if _relation_at(entity, attribute, target_id) is None:
        raise Reject("not_found", f"entity {entity['_id']} has no relation {attribute} to {target_id}")
    entity[attribute]["$relation"] = [i for i in entity[attribute]["$relation"] if i.get("entity_id") != target_id]
    with changing(call, "relationsRemoved"):
        c.save(call, c.apply_patch(call, entity, {}))
    return call.empty(204)


@behaviours("removeRelations")
def remove_relations(call: Call) -> Any:
    entity = load_entity(call)[1]
    items = [i for i in call.body if isinstance(i, dict)] if isinstance(call.body, list) else []
    changed = False
    for item in items:
        attributes = [item["attribute"]] if item.get("attribute") in entity else []
        for attribute in attributes:
            if _relation_at(entity, attribute, item["entity_id"]) is not None:
                entity[attribute]["$relation"] = [i for i in entity[attribute]["$relation"]
                                                  if i.get("entity_id") != item["entity_id"]]
                changed = True
    if changed:
        with changing(call, "relationsRemoved"):
            c.save(call, c.apply_patch(call, entity, {}))
    return call.empty(204)


# -- entity:graph ---------------------------------------------------------------------------------

@behaviours("queryEntityGraph", reads_only=True)
def query_entity_graph(call: Call) -> Any:
    body = call.body
    st = c.store(call)
    seed = st.get(body["seed"]["entity_id"])
    if seed is None:
        raise Reject("not_found", f"seed entity {body['seed']['entity_id']} not found")
    graph = body["graph"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    seed_node = body["seed"]["node_id"]
    nodes.setdefault(seed_node, {"id": seed_node, "schema": seed["_schema"]})
    reached: dict[str, list[str]] = {seed_node: [seed["_id"]]}
    entities: dict[str, dict[str, Any]] = {seed["_id"]: seed}
    edges = [e for e in graph["edges"] if e["from"] in nodes and e["to"] in nodes]
    for _ in range(len(edges) + 1):  # edges may be listed in any order
        grew = False
        for edge in edges:
            if edge["from"] not in reached:
                continue
            schema = nodes[edge["to"]]["schema"]
            ids = list(reached.get(edge["to"], []))
            for source in reached[edge["from"]]:
                for a, b in st.links([source]):
                    other = b if a == source else a
                    if other not in ids:
                        ids.append(other)
            found = st.get_many(ids)
            ids = [i for i in ids if i in found and found[i]["_schema"] == schema]
            entities.update({i: found[i] for i in ids})
            if ids != reached.get(edge["to"]):
                reached[edge["to"]] = ids
                grew = True
        if not grew:
            break
    out: dict[str, Any] = {"nodes": reached, "edges": graph["edges"]}
    if body.get("hydrate"):
        out["entityNodes"] = {}
        for node_id, ids in reached.items():
            node = nodes[node_id]
            docs = [select_fields(entities[i], node.get("fields")) for i in ids]
            if node.get("cardinality") == "one":
                if docs:
                    out["entityNodes"][node_id] = docs[0]
            else:
                out["entityNodes"][node_id] = docs
    return call.json(out)

