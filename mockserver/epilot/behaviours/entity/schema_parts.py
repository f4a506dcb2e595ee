"""Schema parts addressed by composite id ``<schema slug>:<part id>``: attributes, capabilities,
attribute groups and group headlines. Every change stores a new version of the schema, so it shows
at once in validation, JSON Schema, search and the portal's schema list.

A part is found by its ``id`` or, for attributes, capabilities and headlines, its ``name``.
"""

from __future__ import annotations

import re
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import schema_store as store_
from .catalogue import part_id
from .core import behaviours

# part kind -> (schema key, what it is called, keys that identify a part)
PARTS = {
    "attribute": ("attributes", "Attribute", ("id", "name")),
    "capability": ("capabilities", "Capability", ("id", "name")),
    "group": ("group_settings", "Group", ("id",)),
    "headline": ("group_headlines", "Headline", ("id", "name")),
}


def split(composite_id: str) -> tuple[str, str]:
    slug, sep, ident = composite_id.partition(":")
    if not sep or not slug or not ident:
        raise Reject("not_found", f"composite id '{composite_id}' is not '<schema>:<id>'")
    return slug, ident


def _find(items: list[dict[str, Any]], ident: str, keys: tuple[str, ...]) -> int | None:
    for i, item in enumerate(items):
        if any(item.get(k) == ident for k in keys):
            return i
    return None


def _with_id(kind: str, slug: str, part: dict[str, Any]) -> dict[str, Any]:
    out = dict(part)
    out.pop("composite_id", None)
    out.pop("schema", None)
    if not out.get("id"):
        if kind == "group":
            out["id"] = re.sub(r"[^a-z0-9]+", "_", str(out.get("label") or "group").lower()).strip("_") or "group"
        elif kind == "headline":
            out["id"] = part_id(slug, f"headline:{out.get('name')}")
        else:
            out["id"] = part_id(slug, str(out.get("name")))
    return out


def _complete(kind: str, part: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The fields a part of this kind must have, filled in where the request left them out."""
    name = str(part.get("name") or part.get("id") or kind)
    if kind in ("attribute", "capability", "headline"):
        part.setdefault("name", name)
    if kind in ("attribute", "group", "headline"):
        part.setdefault("label", name.replace("_", " ").capitalize())
    if kind == "headline":
        groups = [g.get("id") for g in schema.get("group_settings") or [] if g.get("id")]
        part.setdefault("group", groups[0] if groups else "default")
        part["type"] = "headline"
    return part


def _public(slug: str, part: dict[str, Any]) -> dict[str, Any]:
    return {**part, "composite_id": f"{slug}:{part['id']}", "schema": slug}


def _store(call: Call, schema: dict[str, Any], comment: str) -> None:
    store_.save(c.store(call), schema, comment=comment, now=c.world(call).now())


def _put(call: Call, kind: str, slug: str, ident: str | None, *, created: bool) -> Any:
    key, label, keys = PARTS[kind]
    schema = store_.require(c.store(call), slug)
    store_.check_unfrozen(schema)
    body = dict(call.body) if isinstance(call.body, dict) else {}
    if ident is not None and not any(body.get(k) for k in keys):
        body["id" if kind == "group" else "name"] = ident
    part = _with_id(kind, slug, _complete(kind, body, schema))
    if kind == "attribute":
        store_.complete_attribute(part)
    items = list(schema.get(key) or [])
    at = _find(items, ident, keys) if ident is not None else None
    if at is None:
        at = next((_find(items, part[k], keys) for k in keys if part.get(k)), None)
    if at is None:
        items.append(part)
        verb = "added"
    else:
        part["id"] = items[at].get("id") or part["id"]
        items[at] = part
        verb = "replaced"
    schema[key] = items
    _store(call, schema, f"{label.lower()} {part.get('name') or part['id']} {verb}")
    return call.json(_public(slug, part), status=201 if created else 200)


def _target_slug(call: Call) -> str:
    body = call.body if isinstance(call.body, dict) else {}
    if body.get("schema"):
        return str(body["schema"])
    if body.get("composite_id"):
        return split(str(body["composite_id"]))[0]
    raise Reject("not_found", "give the part's 'schema' or 'composite_id' (<schema>:<id>): no schema to add it to")


def _create(kind: str) -> Any:
    def handler(call: Call) -> Any:
        body = call.body if isinstance(call.body, dict) else {}
        ident = split(str(body["composite_id"]))[1] if body.get("composite_id") else None
        return _put(call, kind, _target_slug(call), ident, created=True)
    return handler


def _get(kind: str) -> Any:
    def handler(call: Call) -> Any:
        key, label, keys = PARTS[kind]
        slug, ident = split(call.params["composite_id"])
        schema = store_.require(c.store(call), slug)
        items = schema.get(key) or []
        at = _find(items, ident, keys)
        if at is None:
            raise Reject("not_found", f"{label} {call.params['composite_id']} not found")
        return call.json(_public(slug, _with_id(kind, slug, items[at])))
    return handler


def _replace(kind: str) -> Any:
    def handler(call: Call) -> Any:
        slug, ident = split(call.params["composite_id"])
        return _put(call, kind, slug, ident, created=False)
    return handler


def _delete(kind: str) -> Any:
    def handler(call: Call) -> Any:
        key, label, keys = PARTS[kind]
        slug, ident = split(call.params["composite_id"])
        schema = store_.require(c.store(call), slug)
        items = list(schema.get(key) or [])
        at = _find(items, ident, keys)
        if at is None:
            raise Reject("not_found", f"{label} {call.params['composite_id']} not found")
        store_.check_unfrozen(schema)
        removed = items.pop(at)
        schema[key] = items
        _store(call, schema, f"{label.lower()} {removed.get('name') or removed.get('id')} removed")
        return call.json(_public(slug, _with_id(kind, slug, removed)))
    return handler


for _kind, _op in (("attribute", "SchemaAttribute"), ("capability", "SchemaCapability"), ("group", "SchemaGroup"),
                   ("headline", "SchemaGroupHeadline")):
    behaviours(f"create{_op}")(_create(_kind))
    behaviours(f"get{_op}")(_get(_kind))
    behaviours(f"put{_op}")(_replace(_kind))
    behaviours(f"delete{_op}")(_delete(_kind))
