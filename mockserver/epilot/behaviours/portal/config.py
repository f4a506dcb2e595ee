"""Portal administration: configurations (v2 by origin, v3 by id), pages and blocks, email templates,
widgets. All are records in the store: ``portal_config``, ``portal_page`` (parent: portal),
``portal_block`` (parent: page), ``portal_widget`` (parent: portal), ``email_templates`` (parent: portal).
"""

from __future__ import annotations

import copy
from typing import Any

from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours

V3_ONLY = ("default_user_to_notify", "entity_actions", "extension_hooks", "extensions")


# -- lookups ------------------------------------------------------------------------------------

def portals(call: Any) -> list[dict[str, Any]]:
    return c.store(call).record_list("portal_config")


def portal_by_id(call: Any, portal_id: str) -> dict[str, Any]:
    doc = c.store(call).record_get("portal_config", portal_id)
    if doc is None:
        raise Reject("not_found", f"portal {portal_id} not found")
    return doc


def portal_by(call: Any, *, origin: str | None = None, domain: str | None = None) -> dict[str, Any]:
    for doc in portals(call):
        if origin is not None and doc.get("origin") == origin:
            return doc
        if domain is not None and domain in (doc.get("domain"), doc.get("epilot_domain")):
            return doc
    raise Reject("unknown_reference", f"no portal with {'origin ' + origin if origin else 'domain ' + str(domain)}")


def portal_of_call(call: Any) -> dict[str, Any]:
    """The portal a request is about: ``portal_id``/``origin``/``domain`` parameters, else the user's portal."""
    p = call.params
    if p.get("portal_id"):
        return portal_by_id(call, p["portal_id"])
    if p.get("origin"):
        return portal_by(call, origin=p["origin"])
    if p.get("domain"):
        return portal_by(call, domain=p["domain"])
    claims = call.principal.claims or {}
    if claims.get("portal_id"):
        return portal_by_id(call, claims["portal_id"])
    found = portals(call)
    if not found:
        raise Reject("not_found", "this organization has no portal")
    return found[0]


def as_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """A v3 configuration in the v2 shape: ``id`` and a free-form ``pages`` object."""
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k not in V3_ONLY}
    out["id"] = doc["portal_id"]
    out["pages"] = {}
    out.setdefault("domain", doc.get("epilot_domain") or f"{doc['portal_id']}.ecp.epilot.cloud")
    return out


def _write_config(call: Any, portal_id: str, changes: dict[str, Any], existing: dict[str, Any] | None) -> dict:
    doc = copy.deepcopy(existing) if existing else {"portal_id": portal_id, "organization_id": c.world(call).org_id}
    for key, value in changes.items():
        if key not in ("portal_id", "organization_id", "id"):
            doc[key] = value
    doc["portal_id"] = portal_id
    doc["portal_sk_v3"] = f"PORTAL_CONFIG#{portal_id}"
    doc["is_v3_item"] = True
    if isinstance(doc.get("pages"), dict):
        doc["pages"] = []
    c.store(call).record_put("portal_config", portal_id, doc)
    return doc


# -- v2 (origin) --------------------------------------------------------------------------------

@behaviours("getPortalConfig")
def get_portal_config(call: Any) -> Any:
    return call.json(as_v2(portal_by(call, origin=call.params["origin"])))


@behaviours("getOrgPortalConfig")
def get_org_portal_config(call: Any) -> Any:
    return call.json(as_v2(portal_by(call, origin=call.params["origin"])))


@behaviours("getPortalConfigByDomain")
def get_portal_config_by_domain(call: Any) -> Any:
    return call.json(as_v2(portal_by(call, domain=call.params["domain"])))


@behaviours("getPublicPortalConfig")
def get_public_portal_config(call: Any) -> Any:
    _check_org(call)
    return call.json(as_v2(portal_by(call, origin=call.params["origin"])))


@behaviours("getAllPortalConfigs")
def get_all_portal_configs(call: Any) -> Any:
    return call.json({"data": [as_v2(doc) for doc in portals(call)]})


@behaviours("upsertPortal")
def upsert_portal(call: Any) -> Any:
    origin = call.params["origin"]
    try:
        existing: dict[str, Any] | None = portal_by(call, origin=origin)
    except Reject:
        existing = None
    portal_id = call.params.get("portal_id") or (existing or {}).get("portal_id") or c.world(call).new_id()
    changes = {**call.body, "origin": origin}
    return call.json(as_v2(_write_config(call, portal_id, changes, existing)))


@behaviours("deletePortal")
def delete_portal(call: Any) -> Any:
    doc = portal_by(call, origin=call.params["origin"])
    _delete_portal(call, doc["portal_id"])
    return call.empty()


def _check_org(call: Any) -> None:
    org = call.params.get("org_id")
    if org is not None and org != c.world(call).org_id:
        raise Reject("not_found", f"organization {org} has no portal here")


# -- v3 (portal id) ------------------------------------------------------------------------------

@behaviours("createPortalConfig")
def create_portal_config(call: Any) -> Any:
    portal_id = c.world(call).new_id()
    return call.json(_write_config(call, portal_id, call.body or {}, None), status=201)


@behaviours("getPortalConfigV3")
def get_portal_config_v3(call: Any) -> Any:
    return call.json(portal_by_id(call, call.params["portal_id"]))


@behaviours("getPublicPortalConfigV3")
def get_public_portal_config_v3(call: Any) -> Any:
    _check_org(call)
    return call.json(as_v2(portal_by_id(call, call.params["portal_id"])))


@behaviours("getOrgPortalConfigV3")
def get_org_portal_config_v3(call: Any) -> Any:
    return call.json(as_v2(portal_by_id(call, call.params["portal_id"])))


@behaviours("putPortalConfig")
def put_portal_config(call: Any) -> Any:
    existing = portal_by_id(call, call.params["portal_id"])
    return call.json(_write_config(call, existing["portal_id"], call.body or {}, existing))


@behaviours("deletePortalConfig")
def delete_portal_config(call: Any) -> Any:
    portal_by_id(call, call.params["portal_id"])
    _delete_portal(call, call.params["portal_id"])
    return call.empty()


@behaviours("listAllPortalConfigs")
def list_all_portal_configs(call: Any) -> Any:
    return call.json({"data": portals(call)})


@behaviours("swapPortalConfig")
def swap_portal_config(call: Any) -> Any:
    body = call.body
    source, target = portal_by_id(call, body["source_portal_id"]), portal_by_id(call, body["target_portal_id"])
    keys = body.get("items_to_swap") or ["pages", "design_id", "feature_settings", "images"]
    for key in keys:
        source[key], target[key] = target.get(key), source.get(key)
        for doc in (source, target):
            if doc[key] is None:
                doc.pop(key)
    st = c.store(call)
    st.record_put("portal_config", source["portal_id"], source)
    st.record_put("portal_config", target["portal_id"], target)
    return call.json({"message": f"swapped {', '.join(keys)} between the two portals"})


def _delete_portal(call: Any, portal_id: str) -> None:
    st = c.store(call)
    with st.transaction():
        for page in st.record_list("portal_page", parent=portal_id):
            for block in st.record_list("portal_block", parent=page["id"]):
                st.record_delete("portal_block", block["id"])
            st.record_delete("portal_page", page["id"])
        for widget in st.record_list("portal_widget", parent=portal_id):
            st.record_delete("portal_widget", widget["id"])
        st.record_delete("email_templates", portal_id)
        st.record_delete("portal_config", portal_id)


# -- pages and blocks -----------------------------------------------------------------------------

def _page(call: Any, page_id: str) -> dict[str, Any]:
    page = c.store(call).record_get("portal_page", page_id)
    if page is None or page.get("is_deleted"):
        raise Reject("not_found", f"page {page_id} not found")
    return page


def _with_blocks(call: Any, page: dict[str, Any]) -> dict[str, Any]:
    blocks = c.store(call).record_list("portal_block", parent=page["id"])
    return {**page, "blocks": {b["id"]: b for b in blocks}}


def _pages_of(call: Any, portal_id: str, *, public_only: bool = False) -> list[dict[str, Any]]:
    pages = [p for p in c.store(call).record_list("portal_page", parent=portal_id) if not p.get("is_deleted")]
    if public_only:
        pages = [p for p in pages if p.get("is_public")]
    return sorted((_with_blocks(call, p) for p in pages), key=lambda p: p.get("order", 0))


@behaviours("getPortalPages")
def get_portal_pages(call: Any) -> Any:
    return call.json(_pages_of(call, portal_of_call(call)["portal_id"]))


@behaviours("getPublicPages")
def get_public_pages(call: Any) -> Any:
    return call.json(_pages_of(call, portal_by(call, domain=call.params["domain"])["portal_id"], public_only=True))


@behaviours("getDefaultPages")
def get_default_pages(call: Any) -> Any:
    found = portals(call)
    if not found:
        return call.json([])
    return call.json([p for p in _pages_of(call, found[0]["portal_id"]) if p.get("is_system")])


@behaviours("getPortalPage")
def get_portal_page(call: Any) -> Any:
    return call.json(_with_blocks(call, _page(call, call.params["id"])))


@behaviours("createPortalPage")
def create_portal_page(call: Any) -> Any:
    portal = portal_by(call, domain=call.params["domain"])
    w = c.world(call)
    page_id = w.new_id()
    page = {k: v for k, v in call.body.items() if k != "blocks"}
    page.update({"id": page_id, "last_modified_at": w.now()})
    c.store(call).record_put("portal_page", page_id, page, parent=portal["portal_id"])
    for block in (call.body.get("blocks") or {}).values():
        _put_block(call, page_id, block)
    return call.json(_with_blocks(call, page), status=200)


@behaviours("updatePortalPage")
def update_portal_page(call: Any) -> Any:
    page = _page(call, call.params["id"])
    parent = _page_parent(call, page["id"])
    updated = {**{k: v for k, v in call.body.items() if k != "blocks"}, "id": page["id"],
               "last_modified_at": c.world(call).now()}
    c.store(call).record_put("portal_page", page["id"], updated, parent=parent)
    return call.json(_with_blocks(call, updated))


@behaviours("deletePortalPage")
def delete_portal_page(call: Any) -> Any:
    page = _page(call, call.params["id"])
    st = c.store(call)
    for block in st.record_list("portal_block", parent=page["id"]):
        st.record_delete("portal_block", block["id"])
    st.record_delete("portal_page", page["id"])
    return call.empty()


def _page_parent(call: Any, page_id: str) -> str | None:
    for portal in portals(call):
        if any(p["id"] == page_id for p in c.store(call).record_list("portal_page", parent=portal["portal_id"])):
            return str(portal["portal_id"])
    return None


def _put_block(call: Any, page_id: str, block: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    doc = {**block, "id": block_id or block.get("id") or c.world(call).new_id()}
    c.store(call).record_put("portal_block", doc["id"], doc, parent=page_id)
    return doc


def _block(call: Any) -> dict[str, Any]:
    page = _page(call, call.params["id"])
    block = c.store(call).record_get("portal_block", call.params["block_id"])
    if block is None or not any(b["id"] == block["id"] for b in
                                c.store(call).record_list("portal_block", parent=page["id"])):
        raise Reject("not_found", f"block {call.params['block_id']} not found on page {page['id']}")
    return block


@behaviours("getPortalPageBlocks")
def get_portal_page_blocks(call: Any) -> Any:
    page = _page(call, call.params["id"])
    blocks = c.store(call).record_list("portal_block", parent=page["id"])
    return call.json(sorted(blocks, key=lambda b: b.get("order", 0)))


@behaviours("getPortalPageBlock")
def get_portal_page_block(call: Any) -> Any:
    return call.json(_block(call))


@behaviours("createPortalPageBlock")
def create_portal_page_block(call: Any) -> Any:
    page = _page(call, call.params["id"])
    block = {k: v for k, v in call.body.items() if k != "id"}
    return call.json(_put_block(call, page["id"], block, c.world(call).new_id()), status=200)


@behaviours("updatePortalPageBlock")
def update_portal_page_block(call: Any) -> Any:
    block = _block(call)
    return call.json(_put_block(call, call.params["id"], {k: v for k, v in call.body.items() if k != "id"},
                                block["id"]))


@behaviours("deletePortalPageBlock")
def delete_portal_page_block(call: Any) -> Any:
    block = _block(call)
    c.store(call).record_delete("portal_block", block["id"])
    return call.empty()


# -- email templates and widgets ------------------------------------------------------------------

def _templates(call: Any, portal_id: str) -> dict[str, Any]:
    return c.store(call).record_get("email_templates", portal_id) or {}


def _upsert_templates(call: Any, portal_id: str) -> Any:
    merged = {**_templates(call, portal_id), **call.body}
    c.store(call).record_put("email_templates", portal_id, merged, parent=portal_id)
    return call.json({"message": "Email templates updated", "emailTemplates": merged})


@behaviours("getEmailTemplates")
def get_email_templates(call: Any) -> Any:
    return call.json(_templates(call, portal_by(call, origin=call.params["origin"])["portal_id"]))


@behaviours("upsertEmailTemplates")
def upsert_email_templates(call: Any) -> Any:
    return _upsert_templates(call, portal_by(call, origin=call.params["origin"])["portal_id"])


@behaviours("getEmailTemplatesByPortalId")
def get_email_templates_by_portal_id(call: Any) -> Any:
    return call.json(_templates(call, portal_by_id(call, call.params["portal_id"])["portal_id"]))


@behaviours("upsertEmailTemplatesByPortalId")
def upsert_email_templates_by_portal_id(call: Any) -> Any:
    return _upsert_templates(call, portal_by_id(call, call.params["portal_id"])["portal_id"])


def _widgets(call: Any, portal_id: str) -> list[dict[str, Any]]:
    items = c.store(call).record_list("portal_widget", parent=portal_id)
    return sorted(items, key=lambda w: w.get("listIndex", 0))


@behaviours("getPortalWidgets")
def get_portal_widgets(call: Any) -> Any:
    return call.json({"widgets": _widgets(call, portal_by(call, origin=call.params["origin"])["portal_id"])})


@behaviours("getPublicPortalWidgets")
def get_public_portal_widgets(call: Any) -> Any:
    _check_org(call)
    return call.json({"widgets": _widgets(call, portal_by(call, origin=call.params["origin"])["portal_id"])})


@behaviours("upsertPortalWidget")
def upsert_portal_widget(call: Any) -> Any:
    portal_id = portal_by(call, origin=call.params["origin"])["portal_id"]
    st = c.store(call)
    with st.transaction():
        for old in st.record_list("portal_widget", parent=portal_id):
            st.record_delete("portal_widget", old["id"])
        for index, widget in enumerate(call.body["widgets"]):
            doc = {**widget, "id": widget.get("id") or c.world(call).new_id()}
            doc.setdefault("listIndex", index)
            st.record_put("portal_widget", doc["id"], doc, parent=portal_id)
    return call.json({"widgets": _widgets(call, portal_id)})
