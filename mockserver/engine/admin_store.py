"""The world browser's admin routes, over the `Store` interface (any plugin's entities):

- ``GET /__admin/store/schemas``: entity counts by schema;
- ``GET /__admin/store/entities?schema=&q=&limit=&offset=``: entities, newest first, optionally of one
  schema and containing a text;
- ``GET /__admin/store/entities/{id}``: one entity with its relations both ways (schema and title of
  each related entity).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .response import MockResponse
from .services import AdminInputError, Services
from .store.base import Filter, Query, Store

MAX_LIMIT = 500


def _store(services: Services) -> Store | None:
    return services.store


def _no_store() -> MockResponse:
    return MockResponse(404, {"message": "no store: no stateful plugin is installed for the mounted APIs"})


def schemas(request: Request, services: Services) -> Any:
    store = _store(services)
    if store is None:
        return _no_store()
    counts = store.counts_by_schema()
    return {"schemas": [{"schema": s, "count": n} for s, n in counts.items()], "total": sum(counts.values())}


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise AdminInputError(f"query parameter '{name}' must be a non-negative integer")
    return int(value)


def entities(request: Request, services: Services) -> Any:
    store = _store(services)
    if store is None:
        return _no_store()
    q = request.query_params
    limit, offset = min(_int(request, "limit", 50), MAX_LIMIT), _int(request, "offset", 0)
    schema = q.get("schema") or None
    text = (q.get("q") or "").strip()
    page = store.query(Query(schemas=(schema,) if schema else (), offset=offset, limit=limit,
                             all_of=(Filter("*", "contains", text),) if text else (),
                             sort=(("_created_at", True),)))
    return {"entities": page.items, "total": page.total, "offset": offset, "limit": limit}


def entity(request: Request, services: Services) -> Any:
    entity_id = request.path_params["id"]
    store = _store(services)
    if store is None:
        return _no_store()
    found = store.get(entity_id)
    if found is None:
        return MockResponse(404, {"message": f"no entity {entity_id}"})
    out_edges = store.relations(entity_id)
    in_edges = store.relations(entity_id, reverse=True)
    others = store.get_many(sorted({r.target for r in out_edges} | {r.source for r in in_edges}))

    def describe(other_id: str) -> dict[str, Any]:
        other = others.get(other_id) or {}
        return {"id": other_id, "schema": other.get("_schema"), "title": other.get("_title"),
                "exists": other_id in others}

    return {
        "entity": found,
        "relations": [{"attribute": r.attribute, "tags": list(r.tags), **describe(r.target)} for r in out_edges],
        "related_from": [{"attribute": r.attribute, "tags": list(r.tags), **describe(r.source)} for r in in_edges],
    }
