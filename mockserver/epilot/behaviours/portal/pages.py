"""Portal pages and their blocks: ``portal_page`` records (parent: portal) and ``portal_block`` records
(parent: page)."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .config import portal_by, portal_of_call, portals
from .links import fill

# -- pages and blocks -----------------------------------------------------------------------------

def _page(call: Call, page_id: str) -> dict[str, Any]:
    page = c.store(call).record_get("portal_page", page_id)
    if page is None or page.get("is_deleted"):
        raise Reject("not_found", f"page {page_id} not found")
    return page


def _with_blocks(call: Call, page: dict[str, Any]) -> dict[str, Any]:
    blocks = c.store(call).record_list("portal_block", parent=page["id"])
    return {**page, "blocks": {b["id"]: b for b in blocks}}


def _pages_of(call: Call, portal_id: str, *, public_only: bool = False) -> list[dict[str, Any]]:
    pages = [p for p in c.store(call).record_list("portal_page", parent=portal_id) if not p.get("is_deleted")]
    if public_only:
        pages = [p for p in pages if p.get("is_public")]
    return sorted((_with_blocks(call, p) for p in pages), key=lambda p: p.get("order", 0))


@behaviours("getPortalPages")
def get_portal_pages(call: Call) -> Any:
    return call.json(_pages_of(call, portal_of_call(call)["portal_id"]))


@behaviours("getPublicPages")
def get_public_pages(call: Call) -> Any:
    return call.json(_pages_of(call, portal_by(call, domain=call.params["domain"])["portal_id"], public_only=True))


@behaviours("getDefaultPages")
def get_default_pages(call: Call) -> Any:
    found = portals(call)
    if not found:
        return call.json([])
    return call.json([p for p in _pages_of(call, found[0]["portal_id"]) if p.get("is_system")])


@behaviours("getPortalPage")
def get_portal_page(call: Call) -> Any:
    return call.json(_with_blocks(call, _page(call, call.params["id"])))


@behaviours("createPortalPage")
def create_portal_page(call: Call) -> Any:
    portal = portal_by(call, domain=call.params["domain"])
    w = c.world(call)
    page_id = w.new_id()
    page = {k: v for k, v in call.body.items() if k != "blocks"}
    page.update({"id": page_id, "last_modified_at": w.now(), "is_deleted": False})
    c.store(call).record_put("portal_page", page_id, page, parent=portal["portal_id"])
    for block in (call.body.get("blocks") or {}).values():
        _put_block(call, page_id, block)
    return call.json(_with_blocks(call, page), status=200)


@behaviours("updatePortalPage")
def update_portal_page(call: Call) -> Any:
    page = _page(call, call.params["id"])
    parent = _page_parent(call, page["id"])
    updated = {**{k: v for k, v in call.body.items() if k != "blocks"}, "id": page["id"],
               "last_modified_at": c.world(call).now()}
    c.store(call).record_put("portal_page", page["id"], updated, parent=parent)
    return call.json(_with_blocks(call, updated))


@behaviours("deletePortalPage")
def delete_portal_page(call: Call) -> Any:
    page = _page(call, call.params["id"])
    st = c.store(call)
    for block in st.record_list("portal_block", parent=page["id"]):
        st.record_delete("portal_block", block["id"])
    st.record_delete("portal_page", page["id"])
    return call.empty()


def _page_parent(call: Call, page_id: str) -> str | None:
    for portal in portals(call):
        if any(p["id"] == page_id for p in c.store(call).record_list("portal_page", parent=portal["portal_id"])):
            return str(portal["portal_id"])
    return None


def _put_block(call: Call, page_id: str, block: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    doc = {**block, "id": block_id or block.get("id") or c.world(call).new_id()}
    c.store(call).record_put("portal_block", doc["id"], doc, parent=page_id)
    return doc


def _block(call: Call) -> dict[str, Any]:
    page = _page(call, call.params["id"])
    block = c.store(call).record_get("portal_block", call.params["block_id"])
    if block is None or not any(b["id"] == block["id"] for b in
                                c.store(call).record_list("portal_block", parent=page["id"])):
        raise Reject("not_found", f"block {call.params['block_id']} not found on page {page['id']}")
    return block


@behaviours("getPortalPageBlocks")
def get_portal_page_blocks(call: Call) -> Any:
    page = _page(call, call.params["id"])
    blocks = c.store(call).record_list("portal_block", parent=page["id"])
    return call.json(sorted(blocks, key=lambda b: b.get("order", 0)))


@behaviours("getPortalPageBlock")
def get_portal_page_block(call: Call) -> Any:
    return call.json(_block(call))


@behaviours("createPortalPageBlock")
def create_portal_page_block(call: Call) -> Any:
    page = _page(call, call.params["id"])
    block = {k: v for k, v in call.body.items() if k != "id"}
    return call.json(_put_block(call, page["id"], block, c.world(call).new_id()), status=200)


@behaviours("updatePortalPageBlock")
def update_portal_page_block(call: Call) -> Any:
    block = _block(call)
    return call.json(_put_block(call, call.params["id"], {k: v for k, v in call.body.items() if k != "id"},
                                block["id"]))


@behaviours("deletePortalPageBlock")
def delete_portal_page_block(call: Call) -> Any:
    block = _block(call)
    c.store(call).record_delete("portal_block", block["id"])
    return call.empty()


# -- interpolation ----------------------------------------------------------------------------------

def _context(call: Call, refs: list[Any]) -> dict[str, dict[str, Any]]:
    """Entities for ``{{schema.attribute}}`` variables: the portal user's contact, then the given ones."""
    context: dict[str, dict[str, Any]] = {}
    own = c.contact_id(call)
    if own:
        contact = c.store(call).get(own)
        if contact is not None:
            context["contact"] = contact
    for ref in refs:
        if isinstance(ref, dict) and ref.get("entity_id"):
            try:
                entity = c.load(call, str(ref["entity_id"]), kind="forbidden")
            except Reject:
                continue  # an entity the caller cannot see fills no variables
            context[str(ref.get("entity_schema") or entity["_schema"])] = entity
    return context


def _interpolate(value: Any, context: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, str):
        return fill(value, context)
    if isinstance(value, list):
        return [_interpolate(v, context) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v, context) for k, v in value.items()}
    return value


def _hidden(page: dict[str, Any], now: str) -> bool:
    visibility = page.get("visibility") or {}
    if visibility.get("is_hidden"):
        return True
    start, end = visibility.get("start_date"), visibility.get("end_date")
    return bool((start and now < start) or (end and now > end))


@behaviours("interpolatePortalPages", reads_only=True)
def interpolate_portal_pages(call: Call) -> Any:
    body = call.body
    context = _context(call, body.get("context_entities") or [])
    pages = [p for p in body["pages"] if isinstance(p, dict)]
    if body.get("evaluate_targeting"):
        now = c.world(call).now()
        pages = [p for p in pages if not _hidden(p, now)]
    return call.json([{**p, "content": _interpolate(p.get("content"), context)} if "content" in p else p
                      for p in pages])
