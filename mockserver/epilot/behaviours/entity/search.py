"""Finding entities: the Lucene search (``entity:search``), structured filters (``entity:list``) and
value autocompletion. Entities of deleted schemas are left out; ``include_deleted`` adds (or, with
``only``, returns only) entities from the trash.
"""

from __future__ import annotations

import csv
import functools
import io
import uuid
from collections import Counter
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.response import MockResponse
from mockserver.engine.store.base import Filter, Query

from .. import common as c
from ..entity_query import QueryError, parse_query, parse_sort
from . import schema_store as schemas_
from . import trash
from .core import anonymized, behaviours, hydrated, select_fields

MAX_SCAN = 10_000
DEFAULT_SIZE = 10


def run_search(call: Call, body: dict[str, Any], extra: tuple[Any, ...] = (), *,
               schemas: tuple[str, ...] = ()) -> tuple[int, list[dict[str, Any]]]:
    """(hits, page) for a search body (q or filters already turned into ``extra`` clauses)."""
    try:
        named, clause = parse_query(body.get("q")) if body.get("q") is not None else ((), None)
        sort = parse_sort(body.get("sort"))
    except QueryError as exc:
        raise Reject("bad_request", f"invalid query: {exc}") from None
    st = c.store(call)
    deleted = schemas_.deleted_slugs(st)
    wanted = tuple(dict.fromkeys(named + schemas))
    clauses = (*((clause,) if clause else ()), *extra)
    if wanted:
        wanted = tuple(s for s in wanted if s not in deleted)
        if not wanted:
            return 0, []
    elif deleted:
        clauses = (*clauses, ("not", Filter("_schema", "in", tuple(sorted(deleted)))))
    offset = max(0, int(body.get("from") or 0))
    size = DEFAULT_SIZE if body.get("size") is None else max(0, int(body["size"]))
    include_deleted = str(body.get("include_deleted") or "false")
    after = body.get("search_after")
    if include_deleted != "false" or after or body.get("aggs"):
        items = [] if include_deleted == "only" else _query(st, wanted, clauses, sort, 0, MAX_SCAN)[1]
        if include_deleted != "false":
            whole = ("and", clauses)
            items += [e for e in trash.trashed(st, wanted) if trash.matches(e, whole) and e["_schema"] not in deleted]
            for attribute, descending in reversed(sort):  # stable sorts, last key first
                items.sort(key=functools.partial(_sort_key, attribute=attribute), reverse=descending)
        if after:
            last = next((i for i, e in enumerate(items) if e.get("_id") == after[-1]), None)
            items = items[last + 1:] if last is not None else items
        call.extras["all_matches"] = items
        return len(items), items[offset:offset + size]
    return _query(st, wanted, clauses, sort, offset, size)


def _sort_key(entity: dict[str, Any], attribute: str) -> tuple[int, Any]:
    value = entity.get(attribute)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (0, "") if value is None else (2, str(value))


def _query(st: Any, schemas: tuple[str, ...], clauses: tuple[Any, ...], sort: Any, offset: int,
           size: int) -> tuple[int, list[dict[str, Any]]]:
    try:
        page = st.query(Query(schemas=schemas, all_of=clauses, sort=sort, offset=offset, limit=min(size, 1000)))
    except ValueError as exc:
        raise Reject("bad_request", str(exc)) from None
    return page.total, page.items


def respond(call: Call, body: dict[str, Any], hits: int, items: list[dict[str, Any]]) -> Any:
    """The search response: JSON (with aggregations, stable id and sort_end) or CSV."""
    sort = parse_sort(body.get("sort"))
    if body.get("hydrate"):
        items = [hydrated(call, e) for e in items]
    if body.get("anonymize"):
        items = [anonymized(e, schemas_.get_schema(c.store(call), e.get("_schema", ""))) for e in items]
    fields = body.get("fields")
    if fields:
        items = [select_fields(e, fields) for e in items]
    if body.get("include_scores"):
        items = [{**e, "_score": 1.0} for e in items]
    if "text/csv" in (call.headers.get("accept") or ""):
        return MockResponse(200, to_csv(items, fields).encode(), "text/csv")
    out: dict[str, Any] = {"hits": hits, "results": items}
    if items:
        last = items[-1]
        end = [last.get(attribute) for attribute, _ in sort] + [last.get("_id")]
        if all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in end):
            out["sort_end"] = end  # never null: null would match both branches of the published type
    if body.get("stable_for") or body.get("stable_query_id"):
        out["stable_query_id"] = str(body.get("stable_query_id") or uuid.uuid4())
    if isinstance(body.get("aggs"), dict) and body["aggs"]:
        out["aggregations"] = aggregations(body["aggs"], call.extras.get("all_matches") or items)
    return call.json(out)


def aggregations(aggs: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """``terms`` (and ``value_count``/``cardinality``) aggregations over the matching entities."""
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        if not isinstance(spec, dict):
            continue
        kind, params = next(iter(spec.items()), (None, None))
        field = str((params or {}).get("field") or "").removesuffix(".keyword") if isinstance(params, dict) else ""
        values = [v for e in items for v in trash.values_at(e, field)] if field else []
        values = [v for v in values if isinstance(v, str | int | float | bool)]
        if kind == "terms":
            size = int((params or {}).get("size") or 10) if str((params or {}).get("size") or "").isdigit() else 10
            counts = Counter(values).most_common(size)
            out[name] = {"buckets": [{"key": k, "doc_count": n} for k, n in counts]}
        elif kind in ("value_count", "cardinality"):
            out[name] = {"value": len(values) if kind == "value_count" else len(set(values))}
    return out


def to_csv(items: list[dict[str, Any]], fields: list[str] | None) -> str:
    columns = [f for f in (fields or []) if not f.startswith("!") and "*" not in f] or \
        ["_id", "_schema", "_title", "_created_at", "_updated_at"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(item.get(col)) for col in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    import orjson

    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


@behaviours("searchEntities", reads_only=True)
def search_entities(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {"q": "*"}
    hits, items = run_search(call, body)
    return respond(call, body, hits, items)


# -- entity:list ----------------------------------------------------------------------------------

def filter_clauses(filters: Any, schemas: list[str]) -> list[Any]:
    """Store clauses for a list of SearchFilter items; ``_schema`` terms are collected in ``schemas``."""
    out: list[Any] = []
    for item in filters if isinstance(filters, list) else []:
        if not isinstance(item, dict):
            continue
        for attr, value in (item.get("term") or {}).items():
            if attr == "_schema" and isinstance(value, str):
                schemas.append(value)
            elif value is None:
                out.append(("not", Filter(attr, "exists")))
            else:
                out.append(_eq(attr, value))
        for attr, values in (item.get("terms") or {}).items():
            values = [v for v in values or [] if v is not None]
            if attr == "_schema":
                schemas.extend(str(v) for v in values)
            else:
                out.append(("or", tuple(_eq(attr, v) for v in values)))
        ids = (item.get("ids") or {}).get("values")
        if isinstance(ids, list):
            out.append(Filter("_id", "in", tuple(str(i) for i in ids)))
        for attr, bounds in (item.get("range") or {}).items():
            if isinstance(bounds, dict):
                parts = [Filter(attr, op, v) for op, v in bounds.items()
                         if op in ("gt", "gte", "lt", "lte") and isinstance(v, str | int | float)]
                if parts:
                    out.append(("and", tuple(parts)))
        exists = item.get("exists")
        if isinstance(exists, dict) and exists.get("field"):
            out.append(Filter(str(exists["field"]), "exists"))
        for key, kind in (("$and", "and"), ("$or", "or"), ("$not", "not")):
            if key in item:
                nested_schemas: list[str] = []
                nested = filter_clauses(item[key], nested_schemas)
                if kind == "not":
                    out.append(("not", ("and", tuple(nested))))
                elif kind == "or":
                    out.append(("or", tuple(nested)))
                else:
                    out.extend(nested)
                    schemas.extend(nested_schemas)
    return out


def _eq(attr: str, value: Any) -> Filter:
    return Filter(attr, "eq", value)


@behaviours("listEntities", reads_only=True)
def list_entities(call: Call) -> Any:
    body = dict(call.body) if isinstance(call.body, dict) else {}
    slugs: list[str] = []
    clauses = filter_clauses(body.get("filter"), slugs)
    query = ((body.get("query") or {}).get("query_string") or {}).get("query")
    body["q"] = query if isinstance(query, str) else None
    hits, items = run_search(call, body, tuple(clauses), schemas=tuple(slugs))
    return respond(call, body, hits, items)


# -- autocomplete --------------------------------------------------------------------------------

@behaviours("autocomplete")
def autocomplete(call: Call) -> Any:
    p = call.params
    st = c.store(call)
    slug = p.get("slug")
    if slug and not schemas_.schema_exists(st, slug):
        return call.json({"hits": 0, "results": []})
    prefix = str(p.get("input") or "").lower()
    counts: Counter[Any] = Counter()
    seen = 0
    for schema in ([slug] if slug else [s["slug"] for s in schemas_.list_schemas(st)]):
        for entity in st.iter_schema(schema):
            seen += 1
            for value in trash.values_at(entity, p["attribute"]):
                if isinstance(value, str | bool) and str(value).lower().startswith(prefix):
                    counts[value] += 1
            if seen >= MAX_SCAN:
                break
    size = 10 if p.get("size") is None else max(0, int(p["size"]))
    values = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))][:size]
    if p.get("anonymize"):
        values = ["***" if isinstance(v, str) else v for v in values]
    return call.json({"hits": len(counts), "results": values})
