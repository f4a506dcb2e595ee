"""Entity API behaviours: entities of the organization's schemas, for an organization token.

This module holds the entity CRUD (create, get, replace, patch, upsert, delete to the trash,
restore, reindex, validate); the other parts of the API register on the same behaviour set from
their own modules (schemas, search, relations, changesets, activities, views, taxonomies, jobs).
Schemas come from the store (`entity_schema_store`): an entity of a deleted or unknown schema is
refused with 404, one of a custom schema made with ``putSchema`` is welcome.
"""

from __future__ import annotations

import re
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import BehaviourSet
from .. import common as c
from . import schema_store as schemas
from . import trash
from .activity import operation_context
from .validation import all_attributes, v1_errors, validate

behaviours = BehaviourSet("entity")
PII_TYPES = frozenset({"email", "phone", "address", "payment"})
PII_NAMES = frozenset({"first_name", "last_name", "birthdate", "full_name", "billing_first_name", "billing_last_name",
                       "billing_email", "billing_phone", "iban", "email"})


# -- shared helpers (used by the sibling modules) ------------------------------------------------

def schema_of(call: Call, slug: str | None = None) -> dict[str, Any]:
    """The current schema of the path's ``slug`` (404 when it is unknown or deleted)."""
    return schemas.require(c.store(call), slug or call.params["slug"])


def load_entity(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema, entity) of the path's ``slug`` and ``id``: 404 when either is missing or they disagree."""
    schema = schema_of(call)
    entity = c.store(call).get(call.params["id"])
    if entity is None or entity.get("_schema") != schema["slug"]:
        raise Reject("not_found", f"Entity {call.params['id']} of schema {schema['slug']} not found")
    return schema, entity


def caller(call: Call) -> dict[str, Any]:
    p = call.principal
    token = {"sub": p.subject, "org_id": str((p.claims or {}).get("org_id") or c.world(call).org_id)}
    if p.name:
        token["name"] = p.name
    return {"EpilotAuth": {"token": token}}


def caller_org(call: Call) -> str:
    return str((call.principal.claims or {}).get("org_id") or c.world(call).org_id)


def changing(call: Call, operation: str | None = None, **extra: Any) -> Any:
    """Context for a change: its activity (``activity_id``), operation name and caller."""
    return operation_context(activity_id=call.params.get("activity_id"), operation=operation,
                             caller=caller(call), **extra)


def anonymized(entity: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """A copy with personal data masked: attributes classified ``pii``, names, emails, phones, addresses."""
    pii = set(PII_NAMES)
    for attr in (schema or {}).get("attributes") or []:
        if attr.get("data_classification") == "pii" or attr.get("type") in PII_TYPES:
            pii.add(attr["name"])
    return {k: (_mask(v) if k in pii else v) for k, v in entity.items()}


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return "***" if value else value
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k.startswith("_") else _mask(v)) for k, v in value.items()}
    return value


def select_fields(entity: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Only ``fields`` (and the system fields) of an entity; ``!name`` leaves a field out."""
    if not fields:
        return entity
    keep = {f for f in fields if not f.startswith("!")}
    drop = {f[1:] for f in fields if f.startswith("!")}
    out = {}
    for key, value in entity.items():
        if key in drop:
            continue
        if key in ("_id", "_schema", "_title", "_org", "_created_at", "_updated_at") or not keep \
                or key in keep or any(f.endswith("*") and key.startswith(f[:-1]) for f in keep) \
                or any(f.startswith(key + ".") for f in keep):
            out[key] = value
    return out


def hydrated(call: Call, entity: dict[str, Any]) -> dict[str, Any]:
    """The entity with each ``$relation`` attribute replaced by the related entities."""
    st = c.store(call)
    out = dict(entity)
    for key, value in entity.items():
        if isinstance(value, dict) and isinstance(value.get("$relation"), list):
            ids = [i.get("entity_id") for i in value["$relation"] if isinstance(i, dict)]
            found = st.get_many([i for i in ids if isinstance(i, str)])
            out[key] = [found[i] for i in ids if i in found]
    return out


def _body(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    return {k: v for k, v in body.items() if k != "_schema"}


class Invalid(Reject):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("unprocessable", f"{len(errors)} validation error(s)")
        self.errors = errors


def check(call: Call, schema: dict[str, Any], attributes: dict[str, Any], *, partial: bool = False) -> None:
    """With ``validate=true``, the attributes must satisfy the schema (422 with the errors)."""
    if call.params.get("validate"):
        errors = validate(schema, attributes, partial=partial)
        if errors:
            raise Invalid(errors)


def invalid(call: Call, exc: Invalid) -> Any:
    return call.json({"status": "error", "errors": exc.errors}, status=422)


# -- changesets: writes to gated attributes are proposed, not made -------------------------------

GATED = ("approval", "external")


def divert_changes(call: Call, schema: dict[str, Any], entity: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the changes to gated attributes, which go to ``_changesets`` instead."""
    if call.params.get("direct"):
        return body
    gated = {a["name"]: a for a in all_attributes(schema) if a.get("edit_mode") in GATED}
    if not gated:
        return body
    out = dict(body)
    pending = dict(entity.get("_changesets") or {})
    now = c.world(call).now()
    for name, attr in gated.items():
        if name not in out or out[name] == entity.get(name):
            continue
        changeset: dict[str, Any] = {"proposed_value": out.pop(name), "previous_value": entity.get(name),
                                     "created_at": now, "edit_mode": attr["edit_mode"], "source": call.op.api.name,
                                     "created_by": {"type": "user", "id": call.principal.subject}}
        strategy = (attr.get("edit_mode_config") or {}).get("match_strategy")
        if strategy:
            changeset["match_strategy"] = strategy
        pending[name] = changeset
    if pending != (entity.get("_changesets") or {}):
        out["_changesets"] = pending
    return out


# -- entities -------------------------------------------------------------------------------------

@behaviours("createEntity")
def create_entity(call: Call) -> Any:
    schema = schema_of(call)
    body = _body(call)
    try:
        check(call, schema, body)
    except Invalid as exc:
        return invalid(call, exc)
    entity_id = body.get("_id")
    if entity_id is not None and (c.store(call).get(entity_id) is not None or trash.get(c.store(call), entity_id)):
        raise Reject("conflict", f"entity {entity_id} already exists")
    with changing(call, "createEntity"):
        return call.json(c.create_entity(call, schema["slug"], titled(schema, body), entity_id=entity_id), status=201)


@behaviours("getEntity")
def get_entity(call: Call) -> Any:
    schema, entity = load_entity(call)
    relations = [c.with_schema(e) for e in c.related(call, entity)]
    if call.params.get("hydrate"):
        entity = hydrated(call, entity)
    if call.params.get("anonymize"):
        entity = anonymized(entity, schema)
        relations = [anonymized(e, None) for e in relations]
    return call.json({"entity": entity, "relations": relations})


@behaviours("getEntityV2")
def get_entity_v2(call: Call) -> Any:
    schema, entity = load_entity(call)
    p = call.params
    if p.get("apply_changesets"):
        for attribute, changeset in (entity.get("_changesets") or {}).items():
            entity[attribute] = changeset.get("proposed_value")
    if p.get("hydrate"):
        entity = hydrated(call, entity)
    if p.get("anonymize"):
        entity = anonymized(entity, schema)
    return call.json(select_fields(entity, p.get("fields")))


def _write(call: Call, *, replace: bool) -> Any:
    schema, entity = load_entity(call)
    body = _body(call)
    try:
        check(call, schema, body, partial=not replace)
    except Invalid as exc:
        return invalid(call, exc)
    body = divert_changes(call, schema, entity, body)
    updated = c.apply_patch(call, entity, body, replace=replace)
    if call.params.get("dry_run"):
        return call.json(updated)
    diff = _diff(entity, updated)
    with changing(call, "updateEntity", diff=diff):
        return call.json(c.save(call, updated))


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    skip = {"_updated_at"}
    added = {k: v for k, v in new.items() if k not in old and k not in skip}
    updated = {k: v for k, v in new.items() if k in old and old[k] != v and k not in skip}
    deleted = {k: v for k, v in old.items() if k not in new}
    return {k: v for k, v in (("added", added), ("updated", updated), ("deleted", deleted)) if v}


@behaviours("updateEntity")
def update_entity(call: Call) -> Any:
    return _write(call, replace=True)


@behaviours("patchEntity")
def patch_entity(call: Call) -> Any:
    return _write(call, replace=False)


@behaviours("upsertEntity")
def upsert_entity(call: Call) -> Any:
    schema = schema_of(call)
    slug = schema["slug"]
    body = call.body if isinstance(call.body, dict) else {}
    unique_key = [k for k in body.get("unique_key") or [] if isinstance(k, str)]
    attributes = dict(body.get("entity") or {})
    attributes.pop("_schema", None)
    keys = {k: attributes[k] for k in unique_key if attributes.get(k) is not None}
    try:
        check(call, schema, attributes)
        # Without a value for every unique key nothing can match: the entity is created.
        matches = c.store(call).find_by(slug, keys) if len(keys) == len(unique_key) and keys else []
    except Invalid as exc:
        return invalid(call, exc)
    except ValueError as exc:
        raise Reject("bad_request", str(exc)) from None
    if len(matches) > 1:
        raise Reject("conflict", f"{len(matches)} {slug} entities match the unique key {unique_key}")
    if call.params.get("dry_run"):  # what would be stored, without storing it
        if matches:
            return call.json(c.apply_patch(call, matches[0], attributes), status=200)
        return call.json(c.new_entity(call, slug, attributes), status=201)
    if matches:
        with changing(call, "updateEntity", diff=_diff(matches[0], {**matches[0], **attributes})):
            return call.json(c.save(call, c.apply_patch(call, matches[0], attributes)), status=200)
    with changing(call, "createEntity"):
        return call.json(c.create_entity(call, slug, titled(schema, attributes)), status=201)


@behaviours("deleteEntity")
def delete_entity(call: Call) -> Any:
    _, entity = load_entity(call)
    st, w = c.store(call), c.world(call)
    purge = bool(call.params.get("purge"))
    if purge:
        st.delete(entity["_id"])
    else:
        entity = trash.move_to_trash(st, entity, w.now())
    with changing(call, "deleteEntity" if purge else "softDeleteEntity"):
        w.emit({"type": "entity.deleted", "schema": entity["_schema"], "entity": entity,
                "source": call.op.api.name, "operation": call.op.id})
    return call.empty(200)


@behaviours("restoreEntity")
def restore_entity(call: Call) -> Any:
    schema = schema_of(call)
    st = c.store(call)
    found = trash.get(st, call.params["id"])
    if found is None or found.get("_schema") != schema["slug"]:
        raise Reject("not_found", f"no {schema['slug']} {call.params['id']} in the trash")
    entity = trash.take_out(st, call.params["id"])
    assert entity is not None
    entity["_updated_at"] = c.world(call).now()
    with changing(call, "restoreEntity"):
        return call.json(c.save(call, entity, change="created"))


def render_title(template: str, entity: dict[str, Any]) -> str:
    """``{{attribute}}`` placeholders of a title template filled from the entity."""

    def value(m: re.Match[str]) -> str:
        v = entity.get(m.group(1).strip())
        return "" if v is None or isinstance(v, dict | list) else str(v)

    return " ".join(re.sub(r"\{\{\s*([^}]+?)\s*\}\}", value, template).split())


def titled(schema: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes with the ``_title`` the schema's title template gives them (unless they have one)."""
    if attributes.get("_title"):
        return attributes
    title = render_title(schema.get("title_template") or "", attributes)
    return {**attributes, "_title": title} if title else attributes


@behaviours("reindexEntity")
def reindex_entity(call: Call) -> Any:
    schema, entity = load_entity(call)
    title = render_title(schema.get("title_template") or "", entity)
    if title:
        entity["_title"] = title
    c.store(call).put(entity)  # indexes relations and search terms afresh; nothing changed, no event
    return call.json(entity)


def _validation(call: Call) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    schema = schema_of(call)
    return schema, validate(schema, _body(call))


@behaviours("validateEntity", reads_only=True)
def validate_entity(call: Call) -> Any:
    _, errors = _validation(call)
    if errors:
        return call.json({"status": "error", "errors": v1_errors(errors)}, status=422)
    return call.json({"status": "success", "errors": []})


@behaviours("validateEntityV2", reads_only=True)
def validate_entity_v2(call: Call) -> Any:
    _, errors = _validation(call)
    if errors:
        return call.json({"status": "error", "errors": errors}, status=422)
    return call.json({"status": "success", "errors": []})
