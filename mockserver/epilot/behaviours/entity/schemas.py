"""Entity API behaviours for schemas: listing, reading and writing whole schemas, their versions,
freezing, JSON Schema and examples, blueprints and capabilities. Parts addressed by composite id
(attributes, capabilities, groups, headlines) are in `entity_schema_parts`.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import schema_store as store_
from .catalogue import available_capabilities, blueprints
from .core import behaviours
from .validation import all_attributes, json_schema

SAMPLES = {"string": "Beispiel", "number": 42, "boolean": True, "date": "2025-01-01",
           "datetime": "2025-01-01T08:00:00.000Z", "email": [{"email": "max.mustermann@example.de"}],
           "phone": [{"phone": "+49 221 1234567"}], "tags": ["Beispiel"],
           "address": [{"street": "Hauptstraße", "street_number": "1", "postal_code": "50667", "city": "Köln",
                        "country": "DE"}]}


def _list(call: Call, *, full: bool = True) -> list[dict[str, Any]]:
    p = call.params
    items = store_.list_schemas(c.store(call))
    if p.get("include"):
        items = [s for s in items if s["slug"] in p["include"]]
    if p.get("exclude"):
        items = [s for s in items if s["slug"] not in p["exclude"]]
    return items if full else [store_.summary(s) for s in items]


@behaviours("listSchemas")
def list_schemas(call: Call) -> Any:
    return call.json({"results": _list(call)})


@behaviours("listSchemasV2")
def list_schemas_v2(call: Call) -> Any:
    return call.json({"results": _list(call, full=bool(call.params.get("full")))})


@behaviours("getSchema")
def get_schema(call: Call) -> Any:
    slug, p = call.params["slug"], call.params
    if p.get("id"):
        version = c.store(call).record_get(store_.VERSIONS, p["id"])
        if version is None or version.get("slug") != slug:
            raise Reject("not_found", f"Schema {slug} has no version {p['id']}")
        return call.json(version)
    if p.get("latest"):  # the newest version, drafts included
        history = store_.versions(c.store(call), slug)
        if history and store_.schema_exists(c.store(call), slug):
            return call.json(history[0])
    return call.json(store_.require(c.store(call), slug))


@behaviours("putSchema")
def put_schema(call: Call) -> Any:
    slug = call.params["slug"]
    st = c.store(call)
    current = store_.get_schema(st, slug)
    if current is not None:
        store_.check_unfrozen(current)
    body = dict(call.body) if isinstance(call.body, dict) else dict(current or {})
    body["slug"] = slug
    body.setdefault("name", (current or {}).get("name") or slug.replace("_", " ").title())
    body.setdefault("plural", (current or {}).get("plural") or body["name"] + "s")
    body.setdefault("capabilities", [])
    body.setdefault("attributes", [])
    for key in ("id", "created_at", "updated_at", "version", "latest", "_summary", "frozen", "frozen_version"):
        body.pop(key, None)
    draft = bool(call.params.get("draft") or body.get("draft"))
    comment = "draft saved" if draft else ("schema replaced" if current else "schema created")
    return call.json(store_.save(st, body, comment=str(body.pop("comment", None) or comment), draft=draft,
                                 now=c.world(call).now()))


@behaviours("deleteSchema")
def delete_schema(call: Call) -> Any:
    store_.delete(c.store(call), call.params["slug"])
    return call.empty(200)


@behaviours("getJsonSchema")
def get_json_schema(call: Call) -> Any:
    return call.json(json_schema(store_.require(c.store(call), call.params["slug"])))


def _sample(attr: dict[str, Any]) -> Any:
    kind = attr.get("type") or "string"
    if kind in ("select", "radio", "status", "multiselect", "checkbox"):
        options = [o["value"] if isinstance(o, dict) else o for o in attr.get("options") or [] if o]
        if options:
            return options[0] if kind in ("select", "radio", "status") else options[:1]
        return "Beispiel" if kind in ("select", "radio", "status") else []
    return SAMPLES.get(kind)


@behaviours("getSchemaExample")
def get_schema_example(call: Call) -> Any:
    schema = store_.require(c.store(call), call.params["slug"])
    stored = next(iter(c.store(call).iter_schema(schema["slug"], batch=1)), None)
    example: dict[str, Any] = {"_schema": schema["slug"]}
    for attr in all_attributes(schema):
        name = attr["name"]
        if stored is not None and stored.get(name) is not None:
            example[name] = stored[name]
        else:
            value = _sample(attr)
            if value is not None:
                example[name] = value
    return call.json(example)


def _page(items: list[dict[str, Any]], start: Any, size: Any) -> tuple[list[dict[str, Any]], bool]:
    first = max(0, int(start or 0))
    count = len(items) if size is None else max(0, int(size))
    return items[first:first + count], first + count < len(items)


REQUIRED_FIELDS = ("id", "slug", "name", "plural", "capabilities", "attributes")


@behaviours("getSchemaVersions")
def get_schema_versions(call: Call) -> Any:
    p = call.params
    slug = p["slug"]
    st = c.store(call)
    history = store_.versions(st, slug)
    current = store_.get_schema(st, slug)
    if not history or current is None:
        raise Reject("not_found", f"Schema {slug} not found")
    if p.get("fields"):
        keep = set(p["fields"]) | set(REQUIRED_FIELDS)
        history = [{k: v for k, v in item.items() if k in keep} for item in history]
    versions, more = _page([v for v in history if not v.get("draft")], p.get("versions_from"), p.get("versions_size"))
    drafts, drafts_more = _page([v for v in history if v.get("draft")], p.get("drafts_from"), p.get("drafts_size"))
    out: dict[str, Any] = {"versions": versions, "drafts": drafts, "versions_more": more, "drafts_more": drafts_more}
    if current.get("frozen_version"):
        out["frozen_version"] = current["frozen_version"]
    return call.json(out)


@behaviours("freezeSchema")
def freeze_schema(call: Call) -> Any:
    version_id = (call.body or {}).get("version_id") if isinstance(call.body, dict) else None
    return call.json(store_.set_frozen(c.store(call), call.params["slug"], True, version_id))


@behaviours("unfreezeSchema")
def unfreeze_schema(call: Call) -> Any:
    return call.json(store_.set_frozen(c.store(call), call.params["slug"], False))


@behaviours("listAvailableCapabilities")
def list_available_capabilities(call: Call) -> Any:
    schema = store_.require(c.store(call), call.params["slug"])
    have = {cap.get("name") for cap in schema.get("capabilities") or []}
    return call.json({"results": [cap for cap in available_capabilities() if cap["name"] not in have]})


@behaviours("listSchemaBlueprints")
def list_schema_blueprints(call: Call) -> Any:
    return call.json({"results": blueprints()})
