"""Taxonomies classify entities: an entity carries the ids of its classifications in ``_purpose``.
Taxonomies, classifications and bulk jobs are records (``entity_taxonomy``,
``entity_taxonomy_classification`` with the taxonomy as parent, ``entity_taxonomy_job``); the
system taxonomy ``purpose`` and a ``product_category`` taxonomy are installed on first use.

Bulk jobs (move, merge, delete) run when they are started and change the entities they concern
(through the store, so every API and the activity feed see it); they are COMPLETED when read.
"""

from __future__ import annotations

import re
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.store.base import Filter, Query

from .. import common as c
from .core import behaviours, changing
from .trash import wildcard

TAXONOMY = "entity_taxonomy"
CLASSIFICATION = "entity_taxonomy_classification"
JOB = "entity_taxonomy_job"
META = "entity_taxonomy_meta"
SEEDED: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {
    "purpose": ({"name": "Purpose", "plural": "Purposes", "kind": "system", "type": "entity", "icon": "purpose",
                 "color": "#1a73e8"},
                [("strom", "Strom"), ("gas", "Gas"), ("waermepumpe", "Wärmepumpe"), ("photovoltaik", "Photovoltaik"),
                 ("e_mobilitaet", "E-Mobilität"), ("privatkunden", "Privatkunden"),
                 ("gewerbekunden", "Gewerbekunden")]),
    "product_category": ({"name": "Product category", "plural": "Product categories", "kind": "user_defined",
                          "type": "entity", "enabled_locations": ["product", "price"]},
                         [("tarife", "Tarife"), ("hardware", "Hardware"), ("dienstleistungen", "Dienstleistungen")]),
}
SEEDED_AT = "2024-03-04T09:12:44.000Z"


def ensure_installed(store: Any) -> None:
    if store.record_get(META, "installed") is not None:
        return
    with store.transaction():
        if store.record_get(META, "installed") is not None:
            return
        for order, (slug, (taxonomy, classes)) in enumerate(SEEDED.items()):
            store.record_put(TAXONOMY, slug, {"slug": slug, **taxonomy, "enabled": True, "order": order,
                                              "created_at": SEEDED_AT, "updated_at": SEEDED_AT,
                                              "created_by": "system"})
            for cls_id, name in classes:
                store.record_put(CLASSIFICATION, cls_id, {"id": cls_id, "slug": cls_id, "name": name,
                                                          "taxonomy": slug, "parents": [], "archived": False,
                                                          "created_at": SEEDED_AT, "updated_at": SEEDED_AT},
                                 parent=slug)
        store.record_put(META, "installed", {"taxonomies": len(SEEDED)})


def _store(call: Call) -> Any:
    st = c.store(call)
    ensure_installed(st)
    return st


def taxonomy(call: Call, slug: str, *, deleted: bool = False) -> dict[str, Any]:
    found = _store(call).record_get(TAXONOMY, slug)
    if found is None or (found.get("deleted_at") and not deleted):
        raise Reject("not_found", f"Taxonomy {slug} not found")
    return found


def classification(call: Call, ident: str) -> dict[str, Any]:
    st = _store(call)
    found = st.record_get(CLASSIFICATION, ident)
    if found is None:
        found = next((x for x in st.record_list(CLASSIFICATION) if x.get("slug") == ident), None)
    if found is None:
        raise Reject("not_found", f"Classification {ident} not found")
    return found


def classifications(call: Call, taxonomy_slug: str | None = None) -> list[dict[str, Any]]:
    return _store(call).record_list(CLASSIFICATION, parent=taxonomy_slug)


def _slugify(text: str) -> str:
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "taxonomy"


# -- taxonomies -----------------------------------------------------------------------------------

@behaviours("listTaxonomies")
def list_taxonomies(call: Call) -> Any:
    p = call.params
    items = _store(call).record_list(TAXONOMY)
    if not p.get("include_disabled"):
        items = [t for t in items if t.get("enabled", True) and not t.get("deleted_at")]
    if p.get("type"):
        items = [t for t in items if t.get("type", "entity") == p["type"]]
    return call.json({"results": items})


def _taxonomy_fields(body: Any) -> dict[str, Any]:
    return {k: v for k, v in (body if isinstance(body, dict) else {}).items()
            if k not in ("slug", "created_at", "updated_at", "deleted_at", "created_by")}


@behaviours("createTaxonomy")
def create_taxonomy(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    slug = str(body.get("slug") or _slugify(str(body.get("name") or "taxonomy")))
    st = _store(call)
    existing = st.record_get(TAXONOMY, slug)
    if existing is not None and not existing.get("deleted_at"):
        raise Reject("conflict", f"Taxonomy {slug} exists")
    now = c.world(call).now()
    doc = {"slug": slug, "name": slug, "kind": "user_defined", "type": "entity", "enabled": True,
           **_taxonomy_fields(body), "created_at": now, "updated_at": now, "created_by": call.principal.subject}
    st.record_put(TAXONOMY, slug, doc)
    return call.json(doc, status=201)


@behaviours("getTaxonomy")
def get_taxonomy(call: Call) -> Any:
    return call.json(taxonomy(call, call.params["taxonomySlug"]))


@behaviours("updateTaxonomy")
def update_taxonomy(call: Call) -> Any:
    current = taxonomy(call, call.params["taxonomySlug"])
    doc = {"slug": current["slug"], "created_at": current.get("created_at"), "created_by": current.get("created_by"),
           "kind": current.get("kind", "user_defined"), **_taxonomy_fields(call.body),
           "updated_at": c.world(call).now()}
    doc = {k: v for k, v in doc.items() if v is not None}
    _store(call).record_put(TAXONOMY, doc["slug"], doc)
    return call.json(doc)


@behaviours("deleteTaxonomy")
def delete_taxonomy(call: Call) -> Any:
    current = taxonomy(call, call.params["taxonomySlug"])
    st = _store(call)
    if call.params.get("permanent"):
        st.record_delete(TAXONOMY, current["slug"])
    else:
        st.record_put(TAXONOMY, current["slug"], {**current, "enabled": False, "deleted_at": c.world(call).now()})
    return call.empty(204)


# -- classifications ------------------------------------------------------------------------------

def _new_classification(call: Call, body: dict[str, Any], taxonomy_slug: str) -> dict[str, Any]:
    st = _store(call)
    slug = str(body["slug"])
    if st.record_get(CLASSIFICATION, str(body.get("id") or slug)) is not None or \
            any(x.get("slug") == slug for x in st.record_list(CLASSIFICATION)):
        raise Reject("conflict", f"Classification {slug} exists")
    now = c.world(call).now()
    doc = {"parents": [], "archived": False, **{k: v for k, v in body.items() if k not in ("created_at", "updated_at")},
           "id": str(body.get("id") or slug), "taxonomy": taxonomy_slug, "created_at": now, "updated_at": now}
    st.record_put(CLASSIFICATION, doc["id"], doc, parent=taxonomy_slug)
    return doc


def _taxonomy_for(call: Call, body: dict[str, Any]) -> str:
    if body.get("taxonomy"):
        return taxonomy(call, str(body["taxonomy"]))["slug"]
    prefix, sep, _ = str(body.get("slug") or "").partition(":")
    if sep and _store(call).record_get(TAXONOMY, prefix) is not None:
        return prefix
    return taxonomy(call, "purpose")["slug"]


@behaviours("createTaxonomyClassification")
def create_taxonomy_classification(call: Call) -> Any:
    body = dict(call.body) if isinstance(call.body, dict) else {}
    if not body.get("slug"):
        body["slug"] = _slugify(str(body.get("name") or "classification"))
    body.setdefault("name", body["slug"])
    return call.json(_new_classification(call, body, _taxonomy_for(call, body)), status=201)


@behaviours("getTaxonomyClassification")
def get_taxonomy_classification(call: Call) -> Any:
    return call.json(classification(call, call.params["classificationSlug"]))


def _replace(call: Call, current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    doc = {**{k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")},
           "id": current["id"], "taxonomy": current["taxonomy"], "created_at": current.get("created_at"),
           "updated_at": c.world(call).now()}
    doc.setdefault("slug", current["slug"])
    doc.setdefault("name", current["name"])
    _store(call).record_put(CLASSIFICATION, doc["id"], doc, parent=doc["taxonomy"])
    return doc


@behaviours("updateTaxonomyClassification")
def update_taxonomy_classification(call: Call) -> Any:
    current = classification(call, call.params["classificationSlug"])
    return call.json(_replace(call, current, dict(call.body) if isinstance(call.body, dict) else {}))


def unclassify(call: Call, ids: list[str], replacement: str | None = None) -> tuple[int, int]:
    """Remove ``ids`` from every entity's ``_purpose`` (putting ``replacement`` in their place):
    (entities concerned, entities changed)."""
    if not ids:
        return 0, 0
    st = c.store(call)
    page = st.query(Query(all_of=(("or", tuple(Filter("_purpose", "eq", i) for i in ids)),), limit=100_000,
                          count=False))
    changed = 0
    for entity in page.items:
        purposes = [p for p in entity.get("_purpose") or [] if p not in ids]
        if replacement and replacement not in purposes:
            purposes.append(replacement)
        if purposes != entity.get("_purpose"):
            with changing(call, "updateEntity", diff={"updated": {"_purpose": purposes}}):
                c.save(call, {**entity, "_purpose": purposes, "_updated_at": c.world(call).now()})
            changed += 1
    return len(page.items), changed


def _delete_classification(call: Call, doc: dict[str, Any]) -> None:
    _store(call).record_delete(CLASSIFICATION, doc["id"])
    unclassify(call, [doc["id"]])


@behaviours("deleteTaxonomyClassification")
def delete_taxonomy_classification(call: Call) -> Any:
    doc = classification(call, call.params["classificationSlug"])
    owner = _store(call).record_get(TAXONOMY, doc["taxonomy"]) or {}
    if owner.get("kind") == "system":
        raise Reject("forbidden", f"Classification {doc['slug']} belongs to the system taxonomy {doc['taxonomy']}")
    _delete_classification(call, doc)
    return call.json(doc)


def _existing_classification(call: Call, item: dict[str, Any]) -> dict[str, Any] | None:
    for ident in (item.get("id"), item.get("slug")):
        if ident:
            try:
                return classification(call, str(ident))
            except Reject:
                continue
    return None


@behaviours("updateClassificationsForTaxonomy")
def update_classifications_for_taxonomy(call: Call) -> Any:
    slug = taxonomy(call, call.params["taxonomySlug"])["slug"]
    body = call.body if isinstance(call.body, dict) else {}
    created, updated = [], []
    for item in body.get("create") or []:
        item = {**item, "slug": str(item.get("slug") or "") or _slugify(str(item.get("name") or "classification"))}
        existing = _existing_classification(call, item)
        if existing is None:
            created.append(_new_classification(call, dict(item), slug))
        else:  # creating what exists already changes it (the batch stays one request that succeeds)
            updated.append(_replace(call, existing, dict(item)))
    for item in body.get("update") or []:
        current = classification(call, str(item.get("id") or item["slug"]))
        updated.append(_replace(call, current, dict(item)))
    deleted = []
    for ident in body.get("delete") or []:
        doc = classification(call, str(ident))
        _delete_classification(call, doc)
        deleted.append(doc["id"])
    return call.json({"created": created, "updated": updated, "deleted": deleted})


def _matching(call: Call, query: str | None, docs: list[dict[str, Any]], size: Any) -> list[dict[str, Any]]:
    if query:
        docs = [d for d in docs if str(query).lower() in str(d.get("name") or "").lower()
                or str(query).lower() in str(d.get("slug") or "").lower()]
    return docs if size is None else docs[:max(0, int(size))]


@behaviours("taxonomyAutocomplete")
def taxonomy_autocomplete(call: Call) -> Any:
    slug = taxonomy(call, call.params["taxonomySlug"])["slug"]
    docs = [d for d in classifications(call, slug) if not d.get("archived")]
    return call.json({"results": _matching(call, call.params.get("query"), docs, call.params.get("size"))})


@behaviours("listTaxonomyClassificationsForSchema")
def list_taxonomy_classifications_for_schema(call: Call) -> Any:
    from . import schema_store as schemas

    slug = schemas.require(c.store(call), call.params["slug"])["slug"]
    tax = taxonomy(call, call.params["taxonomySlug"])["slug"]
    docs = classifications(call, tax)
    page = c.store(call).query(Query(schemas=(slug,), all_of=(Filter("_purpose", "exists"),), limit=10_000,
                                     count=False))
    used = {p for e in page.items for p in e.get("_purpose") or []}
    docs = [d for d in docs if d["id"] in used or slug in (d.get("enabled_locations") or [])
            or not d.get("enabled_locations")]
    return call.json({"results": _matching(call, call.params.get("query"), docs, call.params.get("size"))})


@behaviours("taxonomiesClassificationsSearch", reads_only=True)
def taxonomies_classifications_search(call: Call) -> Any:
    p = call.params
    st = _store(call)
    taxonomies = {t["slug"]: t for t in st.record_list(TAXONOMY)}
    docs = st.record_list(CLASSIFICATION)
    if p.get("taxonomySlug"):
        docs = [d for d in docs if d.get("taxonomy") in p["taxonomySlug"]]
    archived = str(p.get("include_archived") or ("only" if p.get("archived") else "false"))
    if archived == "false":
        docs = [d for d in docs if not d.get("archived")]
    elif archived == "only":
        docs = [d for d in docs if d.get("archived")]
    for excluded in p.get("exclude_types") or []:
        docs = [d for d in docs if not _of_type(taxonomies.get(d.get("taxonomy")) or {}, excluded)]
    wanted = (call.body or {}).get("classificationIds") if isinstance(call.body, dict) else None
    if wanted:
        ids = {w for w in wanted if isinstance(w, str)}
        patterns = [wildcard(str(w["pattern"])) for w in wanted if isinstance(w, dict) and "pattern" in w]
        docs = [d for d in docs if d["id"] in ids or d.get("slug") in ids
                or any(pat.match(str(d.get(k) or "")) for pat in patterns for k in ("id", "slug", "name"))]
    docs = _matching(call, p.get("query"), docs, None)
    return call.json({"results": docs, "hits": len(docs)})


def _of_type(tax: dict[str, Any], excluded: str) -> bool:
    if excluded == "system":
        return tax.get("kind") == "system"
    if excluded == "relation":
        return tax.get("type") == "relation"
    return tax.get("type") == "system"
