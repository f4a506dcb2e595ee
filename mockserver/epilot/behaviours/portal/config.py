"""Portal administration: configurations (v2 by origin, v3 by id) and how a request finds its portal.
Configurations are ``portal_config`` records; pages and blocks are in ``pages.py``, widgets and email
templates in ``widgets.py``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours

V3_ONLY = ("default_user_to_notify", "entity_actions", "extension_hooks", "extensions")


# -- lookups ------------------------------------------------------------------------------------

def portals(call: Call) -> list[dict[str, Any]]:
    return c.store(call).record_list("portal_config")


def portal_by_id(call: Call, portal_id: str) -> dict[str, Any]:
    doc = c.store(call).record_get("portal_config", portal_id)
    if doc is None:
        raise Reject("not_found", f"portal {portal_id} not found")
    return doc


def portal_by(call: Call, *, origin: str | None = None, domain: str | None = None) -> dict[str, Any]:
    for doc in portals(call):
        if origin is not None and doc.get("origin") == origin:
            return doc
        if domain is not None and domain in (doc.get("domain"), doc.get("epilot_domain")):
            return doc
    raise Reject("unknown_reference", f"no portal with {'origin ' + origin if origin else 'domain ' + str(domain)}")


def portal_of_call(call: Call, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """The portal a request is about: ``portal_id``/``domain``/``origin`` (parameters, or ``source`` such
    as a body), else the logged-in portal user's portal, else the organization's first (end-customer) portal."""
    p = source if source is not None else call.params
    if p.get("portal_id"):
        return portal_by_id(call, p["portal_id"])
    if p.get("domain"):
        return portal_by(call, domain=p["domain"])
    if p.get("origin"):
        return portal_by(call, origin=p["origin"])
    claims = call.principal.claims or {}
    if claims.get("portal_id"):
        doc = c.store(call).record_get("portal_config", claims["portal_id"])
        if doc is None:  # the user's own portal was deleted: they may do nothing more in it
            raise Reject("forbidden", f"the portal {claims['portal_id']} of this user no longer exists")
        return doc
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


def write_config(call: Call, portal_id: str, changes: dict[str, Any], existing: dict[str, Any] | None) -> dict:
    doc: dict[str, Any] = copy.deepcopy(existing) if existing else {"portal_id": portal_id,
                                                                    "organization_id": c.world(call).org_id}
    for key, value in changes.items():
        if key not in ("portal_id", "organization_id", "id"):
            doc[key] = value
    doc["portal_id"] = portal_id
    doc["portal_sk_v3"] = f"PORTAL_CONFIG#{portal_id}"
    doc["is_v3_item"] = True
    if isinstance(doc.get("pages"), dict):
        doc["pages"] = []
    for provider in doc.get("identity_providers") or []:
        if isinstance(provider, dict) and not provider.get("slug"):  # the login page addresses providers by slug
            name = str(provider.get("display_name") or "sso")
            provider["slug"] = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "sso"
    c.store(call).record_put("portal_config", portal_id, doc)
    return doc


# -- v2 (origin) --------------------------------------------------------------------------------

@behaviours("getPortalConfig")
def get_portal_config(call: Call) -> Any:
    """An epilot user names the portal by origin; a portal user gets their own portal's configuration."""
    return call.json(as_v2(portal_of_call(call)))


@behaviours("getOrgPortalConfig")
def get_org_portal_config(call: Call) -> Any:
    return call.json(as_v2(portal_by(call, origin=call.params["origin"])))


@behaviours("getPortalConfigByDomain")
def get_portal_config_by_domain(call: Call) -> Any:
    return call.json(as_v2(portal_by(call, domain=call.params["domain"])))


@behaviours("getPublicPortalConfig")
def get_public_portal_config(call: Call) -> Any:
    check_org(call)
    return call.json(as_v2(portal_by(call, origin=call.params["origin"])))


@behaviours("getAllPortalConfigs")
def get_all_portal_configs(call: Call) -> Any:
    return call.json({"data": [as_v2(doc) for doc in portals(call)]})


@behaviours("upsertPortal")
def upsert_portal(call: Call) -> Any:
    origin = call.params["origin"]
    try:
        existing: dict[str, Any] | None = portal_by(call, origin=origin)
    except Reject:
        existing = None
    portal_id = call.params.get("portal_id") or (existing or {}).get("portal_id") or c.world(call).new_id()
    changes = {**call.body, "origin": origin}
    return call.json(as_v2(write_config(call, portal_id, changes, existing)))


@behaviours("deletePortal")
def delete_portal(call: Call) -> Any:
    doc = portal_by(call, origin=call.params["origin"])
    _delete_portal(call, doc["portal_id"])
    return call.empty()


def check_org(call: Call) -> None:
    org = call.params.get("org_id")
    if org is not None and org != c.world(call).org_id:
        raise Reject("not_found", f"organization {org} has no portal here")


# -- v3 (portal id) ------------------------------------------------------------------------------

@behaviours("createPortalConfig")
def create_portal_config(call: Call) -> Any:
    portal_id = c.world(call).new_id()
    return call.json(write_config(call, portal_id, call.body or {}, None), status=201)


@behaviours("getPortalConfigV3")
def get_portal_config_v3(call: Call) -> Any:
    doc = portal_by_id(call, call.params["portal_id"])
    own = (call.principal.claims or {}).get("portal_id") if call.principal.kind == "portal_user" else None
    if own and own != doc["portal_id"]:
        raise Reject("forbidden", "a portal user may read only their own portal's configuration")
    return call.json(doc)


@behaviours("getPublicPortalConfigV3")
def get_public_portal_config_v3(call: Call) -> Any:
    check_org(call)
    return call.json(as_v2(portal_by_id(call, call.params["portal_id"])))


@behaviours("getOrgPortalConfigV3")
def get_org_portal_config_v3(call: Call) -> Any:
    return call.json(as_v2(portal_by_id(call, call.params["portal_id"])))


@behaviours("putPortalConfig")
def put_portal_config(call: Call) -> Any:
    existing = portal_by_id(call, call.params["portal_id"])
    return call.json(write_config(call, existing["portal_id"], call.body or {}, existing))


@behaviours("deletePortalConfig")
def delete_portal_config(call: Call) -> Any:
    portal_by_id(call, call.params["portal_id"])
    _delete_portal(call, call.params["portal_id"])
    return call.empty()


@behaviours("listAllPortalConfigs")
def list_all_portal_configs(call: Call) -> Any:
    return call.json({"data": portals(call)})


@behaviours("swapPortalConfig")
def swap_portal_config(call: Call) -> Any:
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


def _delete_portal(call: Call, portal_id: str) -> None:
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
