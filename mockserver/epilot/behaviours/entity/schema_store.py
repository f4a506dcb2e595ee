"""The organization's entity schemas, kept in the store as records so that changes persist.

- ``entity_schema`` (id = slug): the current version of each schema;
- ``entity_schema_version`` (parent = slug): every version and draft ever saved;
- ``entity_schema_deleted`` (id = slug): schemas deleted (their entities are refused);
- ``entity_schema_meta/installed``: the 25 core schemas (`entity_catalogue`) were installed.

The core schemas are installed on first use; ``POST /__admin/reset`` goes back to before, so they
are installed afresh. Other behaviours read schemas through `list_schemas` and `get_schema`
(the Customer Portal's ``getSchemas`` among them).
"""

from __future__ import annotations

import copy
import time
import weakref
from typing import Any

from mockserver.engine.errors import Reject

from .catalogue import blueprints, schema_id

KIND = "entity_schema"
VERSIONS = "entity_schema_version"
DELETED = "entity_schema_deleted"
META = "entity_schema_meta"
# Derived read caches, per store (weakly: a store that is gone takes its entry along):
# (store version, {slug: schema}, deleted slugs).
_CACHE: weakref.WeakKeyDictionary[Any, tuple[Any, dict[str, dict[str, Any]], frozenset[str]]] = \
    weakref.WeakKeyDictionary()


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _invalidate(store: Any) -> None:
    # Inside a request's transaction the store's version only moves at commit: drop the cache now.
    _CACHE.pop(store, None)


def ensure_installed(store: Any) -> None:
    """Install the core schemas into an organization that has none yet (once)."""
    if store.record_get(META, "installed") is not None:
        return
    _invalidate(store)
    with store.transaction():
        if store.record_get(META, "installed") is not None:  # another worker was first
            return
        for schema in blueprints():
            schema.update(latest=True, frozen=False)
            store.record_put(KIND, schema["slug"], schema)
            store.record_put(VERSIONS, schema["id"], schema, parent=schema["slug"])
        store.record_put(META, "installed", {"core_schemas": len(blueprints())})


def _state(store: Any) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    version = store.version()
    hit = _CACHE.get(store)
    if hit is not None and hit[0] == version:
        return hit[1], hit[2]
    ensure_installed(store)
    schemas = {doc["slug"]: doc for doc in store.record_list(KIND)}
    deleted = frozenset(d["slug"] for d in store.record_list(DELETED)) - set(schemas)
    _CACHE[store] = (store.version(), schemas, deleted)
    return schemas, deleted


def list_schemas(store: Any, slugs: list[str] | None = None) -> list[dict[str, Any]]:
    """The organization's current schemas (copies), by slug order of creation; only ``slugs`` if given."""
    schemas = _state(store)[0]
    if slugs is not None:
        return [copy.deepcopy(schemas[s]) for s in slugs if s in schemas]
    return [copy.deepcopy(s) for s in schemas.values()]


def get_schema(store: Any, slug: str) -> dict[str, Any] | None:
    """The current version of schema ``slug`` (a copy), or None when there is none (or it was deleted)."""
    found = _state(store)[0].get(slug)
    return copy.deepcopy(found) if found is not None else None


def schema_exists(store: Any, slug: str) -> bool:
    return slug in _state(store)[0]


def deleted_slugs(store: Any) -> frozenset[str]:
    """Schemas that were deleted (their entities are kept, but refused)."""
    return _state(store)[1]


def require(store: Any, slug: str) -> dict[str, Any]:
    schema = get_schema(store, slug)
    if schema is None:
        raise Reject("not_found", f"Schema {slug} not found")
    return schema


def check_unfrozen(schema: dict[str, Any]) -> None:
    if schema.get("frozen"):
        raise Reject("conflict", f"Schema {schema['slug']} is frozen; unfreeze it first")


def versions(store: Any, slug: str) -> list[dict[str, Any]]:
    """Every saved version and draft of ``slug``, newest first."""
    items = store.record_list(VERSIONS, parent=slug, newest_first=True)
    return sorted(items, key=lambda v: (int(v.get("version") or 0), v.get("updated_at") or ""), reverse=True)


def save(store: Any, schema: dict[str, Any], *, comment: str, draft: bool = False,
         now: str | None = None) -> dict[str, Any]:
    """Store ``schema`` as the next version of its slug (or, ``draft``, as a draft beside the current
    version). Returns the stored version."""
    slug = schema["slug"]
    previous = get_schema(store, slug)
    history = versions(store, slug)
    number = max([int(v.get("version") or 0) for v in history] + [0]) + 1
    stamp = now or _now()
    item = copy.deepcopy(schema)
    for key in ("latest", "_summary"):
        item.pop(key, None)
    item.update(id=schema_id(slug, number), version=number, updated_at=stamp, comment=comment,
                created_at=(previous or {}).get("created_at") or (history[-1]["created_at"] if history else stamp),
                draft=draft, published=not draft and item.get("published", True) is not False)
    item.setdefault("capabilities", [])
    item.setdefault("attributes", [])
    for attr in [*item["attributes"], *(a for cap in item["capabilities"] for a in cap.get("attributes") or [])]:
        complete_attribute(attr)
    item["frozen"] = bool((previous or {}).get("frozen")) and not draft
    _invalidate(store)
    with store.transaction():
        if draft:
            store.record_put(VERSIONS, item["id"], {**item, "latest": False}, parent=slug)
            return {**item, "latest": False}
        item["latest"] = True
        for old in history:
            if old.get("latest"):
                store.record_put(VERSIONS, old["id"], {**old, "latest": False}, parent=slug)
        store.record_put(VERSIONS, item["id"], item, parent=slug)
        store.record_put(KIND, slug, item)
        store.record_delete(DELETED, slug)
    return item


def complete_attribute(attr: dict[str, Any]) -> dict[str, Any]:
    """Fields the published contract requires of some attribute kinds, where a client left them out."""
    kind = attr.get("type")
    if kind == "currency":
        attr.setdefault("currency", [])
    elif kind == "consent":
        attr.setdefault("topic", str(attr.get("name") or "").upper())
    elif kind == "computed":
        attr.setdefault("value_formatter", "")
    return attr


def set_frozen(store: Any, slug: str, frozen: bool, version_id: str | None = None) -> dict[str, Any]:
    """Freeze (at ``version_id``, the current version by default) or unfreeze a schema."""
    schema = require(store, slug)
    if frozen and version_id and not any(v["id"] == version_id for v in versions(store, slug)):
        raise Reject("not_found", f"Schema {slug} has no version {version_id}")
    schema["frozen"] = frozen
    if frozen:
        schema["frozen_version"] = version_id or schema["id"]
    else:
        schema.pop("frozen_version", None)
    _invalidate(store)
    store.record_put(KIND, slug, schema)
    return schema


def delete(store: Any, slug: str) -> None:
    schema = require(store, slug)
    check_unfrozen(schema)
    _invalidate(store)
    with store.transaction():
        store.record_delete(KIND, slug)
        store.record_put(DELETED, slug, {"slug": slug, "deleted_at": _now(), "version": schema.get("version")})


def summary(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema without its attributes and capabilities (what `listSchemasV2` lists by default)."""
    out = {k: v for k, v in schema.items() if k not in ("attributes", "capabilities", "group_settings",
                                                         "group_headlines", "ui_config")}
    out.update(attributes=[], capabilities=[], _summary=True)
    return out
