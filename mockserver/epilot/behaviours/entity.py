"""Entity API behaviours: the core entities of the world, by schema slug, for an organization token.

Create, get, update (replace), patch (merge), upsert by unique keys, delete, search (Lucene-like
``q``), relations, and the schema catalogue (built from the core entity components the specs share).
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from typing import Any

from mockserver.engine.errors import Reject
from mockserver.engine.response import MockResponse
from mockserver.engine.store.base import Query

from . import BehaviourSet
from . import common as c
from .entity_query import QueryError, parse_query, parse_sort

behaviours = BehaviourSet("entity")

SLUGS = {"contact": "Contact", "account": "Account", "partner": "Partner", "ticket": "Ticket",
         "opportunity": "Opportunity", "order": "Order", "product": "Product", "price": "Price", "tax": "Tax",
         "coupon": "Coupon", "contract": "Contract", "billing_account": "BillingAccount",
         "billing_event": "BillingEvent", "meter": "Meter", "meter_counter": "MeterCounter", "journey": "Journey",
         "submission": "Submission", "message": "Message", "email_template": "EmailTemplate",
         "campaign": "Campaign", "target": "Target", "product_recommendation": "ProductRecommendation",
         "file": "File", "comment": "Comment", "portal_user": "PortalUser"}
CATEGORIES = {"contact": "customer_relations", "account": "customer_relations", "partner": "customer_relations",
              "ticket": "customer_relations", "opportunity": "sales", "order": "sales", "product": "product_hub",
              "price": "product_hub", "tax": "product_hub", "coupon": "product_hub", "contract": "contracts_billing",
              "billing_account": "contracts_billing", "billing_event": "contracts_billing", "meter": "metering",
              "meter_counter": "metering", "journey": "journeys", "submission": "journeys", "message": "messaging",
              "email_template": "messaging", "campaign": "marketing", "target": "marketing",
              "product_recommendation": "marketing", "file": "system", "comment": "system", "portal_user": "system"}


def _slug(call: Any) -> str:
    slug = call.params["slug"]
    if slug not in SLUGS:
        raise Reject("not_found", f"entity schema '{slug}' not found")
    return slug


# -- schemas ------------------------------------------------------------------------------------

def _attribute(ctx: Any, name: str, schema: Any) -> dict[str, Any]:
    resolved = ctx.resolve_schema(schema) or {}
    label = name.strip("_").replace("_", " ").capitalize() or name
    attribute: dict[str, Any] = {"name": name, "label": label}
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    items = ctx.resolve_schema(resolved.get("items")) if resolved.get("type") == "array" else None
    item_ref = (resolved.get("items") or {}).get("$ref", "") if resolved.get("type") == "array" else ""
    if ref.endswith("Relation") or "$relation" in (resolved.get("properties") or {}):
        attribute.update(type="relation", relation_type="has_many")
    elif item_ref.endswith("EmailAddress"):
        attribute["type"] = "email"
    elif item_ref.endswith("PhoneNumber"):
        attribute["type"] = "phone"
    elif item_ref.endswith("Address"):
        attribute["type"] = "address"
    elif isinstance(resolved.get("enum"), list):
        attribute.update(type="select", options=[{"value": str(v), "title": str(v)} for v in resolved["enum"]
                                                  if v is not None])
    elif resolved.get("type") == "boolean":
        attribute["type"] = "boolean"
    elif resolved.get("type") in ("number", "integer"):
        attribute["type"] = "number"
    elif resolved.get("format") == "date":
        attribute["type"] = "date"
    elif resolved.get("format") == "date-time":
        attribute["type"] = "datetime"
    elif resolved.get("type") == "array" and isinstance(items, dict) and items.get("type") == "string":
        attribute["type"] = "tags"
    else:
        attribute["type"] = "string"
    return attribute


@lru_cache(maxsize=8)
def _schema_catalogue(ctx: Any) -> tuple[dict[str, Any], ...]:
    out = []
    schemas = ctx.spec["components"]["schemas"]
    for slug, name in SLUGS.items():
        attrs_schema = ctx.resolve_schema(schemas.get(f"{name}Attributes", {})) or {}
        props: dict[str, Any] = {}
        for part in attrs_schema.get("allOf", [attrs_schema]):
            part = ctx.resolve_schema(part) or {}
            props.update(part.get("properties") or {})
        attributes = [_attribute(ctx, prop, sub) for prop, sub in props.items() if not prop.startswith("_")]
        plural = f"{name[:-1]}ies" if name.endswith("y") else f"{name}s"
        out.append({
            "id": _schema_id(slug),
            "slug": slug, "name": _words(name), "plural": _words(plural), "version": 1, "published": True,
            "draft": False, "category": CATEGORIES[slug], "latest": True, "frozen": False,
            "title_template": "{{_title}}", "description": attrs_schema.get("description", ""),
            "capabilities": [{"name": "relations", "title": "Relations"}, {"name": "notes", "title": "Notes"}],
            "attributes": attributes,
        })
    return tuple(out)


def _schema_id(slug: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"epilot-mock:schema:{slug}"))


def _words(name: str) -> str:
    out = ""
    for ch in name:
        out += (" " + ch) if ch.isupper() and out else ch
    return out


@behaviours("listSchemas")
def list_schemas(call: Any) -> Any:
    items = list(_schema_catalogue(call.op.api))
    include, exclude = call.params.get("include"), call.params.get("exclude")
    if include:
        items = [s for s in items if s["slug"] in include]
    if exclude:
        items = [s for s in items if s["slug"] not in exclude]
    return call.json({"results": items})


@behaviours("getSchema")
def get_schema(call: Any) -> Any:
    slug = _slug(call)
    return call.json(next(s for s in _schema_catalogue(call.op.api) if s["slug"] == slug))


# -- entities -----------------------------------------------------------------------------------

def _validate(call: Any, slug: str, attributes: dict[str, Any]) -> None:
    """With ``validate=true``, check the attributes against the slug's core schema (422 with the errors)."""
    if not call.params.get("validate"):
        return
    ctx = call.op.api
    validator = ctx.generator.validator({"$ref": f"#/components/schemas/{SLUGS[slug]}Attributes"})
    errors = []
    for error in validator.iter_errors({**attributes, "_schema": slug}):
        path = "/" + "/".join(str(p) for p in error.instance_path)
        errors.append({"keyword": str(error.kind.__class__.__name__).removeprefix("ValidationErrorKind_").lower(),
                       "instance_path": path, "schema_path": "/" + "/".join(str(p) for p in error.schema_path),
                       "params": {}, "message": error.message})
    if errors:
        raise _Invalid(errors)


class _Invalid(Reject):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("unprocessable", f"{len(errors)} validation error(s)")
        self.errors = errors


def _invalid_response(call: Any, exc: _Invalid) -> Any:
    return call.json({"status": "error", "errors": exc.errors}, status=422)


def _entity(call: Any) -> tuple[str, dict[str, Any]]:
    slug = _slug(call)
    entity = c.store(call).get(call.params["id"])
    if entity is None or entity.get("_schema") != slug:
        raise Reject("not_found", f"{slug} {call.params['id']} not found")
    return slug, entity


def _body(call: Any) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    return {k: v for k, v in body.items() if k != "_schema"}


@behaviours("createEntity")
def create_entity(call: Any) -> Any:
    slug = _slug(call)
    body = _body(call)
    try:
        _validate(call, slug, body)
    except _Invalid as exc:
        return _invalid_response(call, exc)
    entity_id = body.get("_id")
    if entity_id is not None and c.store(call).get(entity_id) is not None:
        raise Reject("conflict", f"entity {entity_id} already exists")
    return call.json(c.create_entity(call, slug, body, entity_id=entity_id), status=201)


@behaviours("getEntity")
def get_entity(call: Any) -> Any:
    entity = _entity(call)[1]
    relations = c.related(call, entity)
    return call.json({"entity": entity, "relations": [c.with_schema(e) for e in relations]})


def _write(call: Any, *, replace: bool) -> Any:
    slug, entity = _entity(call)
    body = _body(call)
    try:
        _validate(call, slug, body)
    except _Invalid as exc:
        return _invalid_response(call, exc)
    updated = c.apply_patch(call, entity, body, replace=replace)
    if call.params.get("dry_run"):
        return call.json(updated)
    return call.json(c.save(call, updated))


@behaviours("updateEntity")
def update_entity(call: Any) -> Any:
    return _write(call, replace=True)


@behaviours("patchEntity")
def patch_entity(call: Any) -> Any:
    return _write(call, replace=False)


@behaviours("upsertEntity")
def upsert_entity(call: Any) -> Any:
    slug = _slug(call)
    unique_key, attributes = call.body["unique_key"], dict(call.body["entity"])
    attributes.pop("_schema", None)
    keys = {k: attributes[k] for k in unique_key if attributes.get(k) is not None}
    try:
        _validate(call, slug, attributes)
        # Without a value for every unique key nothing can match: the entity is created.
        matches = c.store(call).find_by(slug, keys) if len(keys) == len(unique_key) and keys else []
    except _Invalid as exc:
        return _invalid_response(call, exc)
    except ValueError as exc:
        raise Reject("bad_request", str(exc)) from None
    if len(matches) > 1:
        raise Reject("conflict", f"{len(matches)} {slug} entities match the unique key {unique_key}")
    if call.params.get("dry_run"):  # what would be stored, without storing it
        if matches:
            return call.json(c.apply_patch(call, matches[0], attributes), status=200)
        return call.json(c.new_entity(call, slug, attributes), status=201)
    if matches:
        return call.json(c.save(call, c.apply_patch(call, matches[0], attributes)), status=200)
    return call.json(c.create_entity(call, slug, attributes), status=201)


@behaviours("deleteEntity")
def delete_entity(call: Any) -> Any:
    entity = _entity(call)[1]
    c.store(call).delete(entity["_id"])
    c.world(call).emit({"type": "entity.deleted", "schema": entity["_schema"], "entity": entity,
                        "source": call.op.api.name, "operation": call.op.id})
    return call.empty(200)


# -- search ---------------------------------------------------------------------------------------

@behaviours("searchEntities", reads_only=True)
def search_entities(call: Any) -> Any:
    body = call.body or {}
    try:
        schemas, clause = parse_query(body.get("q"))
        sort = parse_sort(body.get("sort"))
    except QueryError as exc:
        raise Reject("bad_request", f"invalid query: {exc}") from None
    offset = int(body.get("from") or 0)
    size = int(body["size"]) if body.get("size") is not None else 10
    query = Query(schemas=schemas, all_of=(clause,) if clause else (), sort=sort, offset=offset, limit=min(size, 1000))
    try:
        page = c.store(call).query(query)
    except ValueError as exc:
        raise Reject("bad_request", str(exc)) from None
    fields = body.get("fields")
    items = page.items
    if fields:
        keep = set(fields) | {"_id", "_schema", "_title", "_org", "_created_at", "_updated_at"}
        items = [{k: v for k, v in e.items() if k in keep} for e in items]
    if "text/csv" in (call.headers.get("accept") or ""):
        return MockResponse(200, _csv(items, fields).encode(), "text/csv")
    return call.json({"hits": page.total, "results": items})


def _csv(items: list[dict[str, Any]], fields: list[str] | None) -> str:
    columns = list(fields or ["_id", "_schema", "_title", "_created_at", "_updated_at"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in items:
        writer.writerow(["" if item.get(col) is None else item.get(col) for col in columns])
    return out.getvalue()


# -- relations ------------------------------------------------------------------------------------

@behaviours("getRelations")
def get_relations(call: Any) -> Any:
    entity = _entity(call)[1]
    p = call.params
    st = c.store(call)
    edges = [(r.target, r.attribute, r.tags, False) for r in st.relations(entity["_id"])]
    if p.get("include_reverse"):
        edges += [(r.source, r.attribute, r.tags, True) for r in st.relations(entity["_id"], reverse=True)]
    found = st.get_many([e[0] for e in edges])
    org = c.world(call).org_id
    out: list[dict[str, Any]] = []
    for target, attribute, tags, reverse in edges:
        other = found.get(target)
        if other is None:
            continue
        if p.get("include_schemas") and other["_schema"] not in p["include_schemas"]:
            continue
        if p.get("exclude_schemas") and other["_schema"] in p["exclude_schemas"]:
            continue
        item: dict[str, Any] = {"entity_id": target, "org_id": org, "_schema": other["_schema"],
                                "attribute": attribute, "reverse": reverse}
        if tags:
            item["_tags"] = list(tags)
        out.append({**other, "$relation": item} if p.get("hydrate") else item)
    offset = int(p.get("from") or 0)
    size = int(p["size"]) if p.get("size") is not None else len(out)
    return call.json(out[offset:offset + size])


@behaviours("addRelations")
def add_relations(call: Any) -> Any:
    entity = _entity(call)[1]
    items = call.body or []
    if not items:
        raise Reject("bad_request", "give at least one relation item")
    st = c.store(call)
    first = None
    for item in items:
        target = st.get(item["entity_id"])
        if target is None:
            raise Reject("not_found", f"related entity {item['entity_id']} not found")
        c.add_relation(entity, item["attribute"], target, item.get("_tags"))
        result = {"entity_id": target["_id"], "org_id": c.world(call).org_id, "_schema": target["_schema"],
                  "attribute": item["attribute"]}
        if item.get("_tags"):
            result["_tags"] = item["_tags"]
        first = first or result
    c.save(call, c.apply_patch(call, entity, {}))
    return call.json(first)
