"""External links and extensions, from the portal configuration.

A portal's ``external_links`` carry ``{{contact.attribute}}`` variables and optional rules (shown only
when one of the contact's entities has ``attribute == attribute_value``); its ``extensions`` and
``extension_hooks`` name installed extension apps (``portal_extension`` records) whose hooks deliver
consumption, costs and prices, and whose seamless links open the provider's portal.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urlencode

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .config import check_org, portal_by_id, portal_of_call

_VAR = re.compile(r"\{\{\s*([A-Za-z_]+)\.([A-Za-z0-9_.]+)\s*\}\}")
CAPABILITIES = ("consumptionDataRetrieval", "priceDataRetrieval", "costDataRetrieval")


# -- context ---------------------------------------------------------------------------------------

def contact_of(call: Call, contact_id: str | None = None) -> dict[str, Any] | None:
    """The contact whose data fills links: the portal user's own, or ``contactId`` for an epilot user."""
    if call.principal.kind == "portal_user":
        own = c.contact_id(call)
        return c.store(call).get(own) if own else None
    if contact_id:
        return c.load(call, contact_id, "contact", kind="not_found")
    return None


def fill(text: str, context: dict[str, dict[str, Any]]) -> str:
    """``{{schema.attribute}}`` replaced from the context entities (unknown variables become empty)."""
    def value(m: re.Match[str]) -> str:
        entity: Any = context.get(m.group(1)) or {}
        for part in m.group(2).split("."):
            entity = entity.get(part) if isinstance(entity, dict) else None
        if isinstance(entity, list):
            entity = next((x.get("email") or x.get("phone") or x for x in entity if isinstance(x, dict)), "")
        return "" if entity is None or isinstance(entity, dict) else str(entity)
    return _VAR.sub(value, text)


def _rules_hold(call: Call, link: dict[str, Any], contact: dict[str, Any]) -> bool:
    for rule in link.get("rules") or []:
        if not isinstance(rule, dict) or not rule.get("entity"):
            continue
        related = c.related(call, contact, rule["entity"])
        attribute = str(rule.get("attribute"))
        if not any(str(e.get(attribute, "")) == str(rule.get("attribute_value")) for e in related):
            return False
    return True


def resolve(call: Call, link: dict[str, Any], contact: dict[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(link)
    if contact is not None:
        out["link"] = fill(str(out.get("link", "")), {"contact": contact})
    return out


def _links(call: Call, portal: dict[str, Any]) -> list[dict[str, Any]]:
    contact = contact_of(call, call.params.get("contactId"))
    links = [link for link in portal.get("external_links") or [] if isinstance(link, dict)]
    if contact is not None:
        links = [link for link in links if _rules_hold(call, link, contact)]
    return [resolve(call, link, contact) for link in links]


@behaviours("getExternalLinks")
def get_external_links(call: Call) -> Any:
    return call.json(_links(call, portal_of_call(call)))


@behaviours("getExternalLinksV3")
def get_external_links_v3(call: Call) -> Any:
    return call.json(_links(call, portal_of_call(call)))


def _one_link(call: Call) -> Any:
    portal = portal_of_call(call)
    for link in _links(call, portal):
        if link.get("id") == call.params["id"]:
            return call.json(link)
    raise Reject("not_found", f"external link {call.params['id']} not found (or hidden by its rules)")


@behaviours("getResolvedExternalLink")
def get_resolved_external_link(call: Call) -> Any:
    return _one_link(call)


@behaviours("getResolvedExternalLinkV3")
def get_resolved_external_link_v3(call: Call) -> Any:
    return _one_link(call)


# -- extensions ------------------------------------------------------------------------------------

def installed(call: Call, portal: dict[str, Any]) -> list[dict[str, Any]]:
    """Definitions of the extensions the portal has installed or enabled."""
    out = []
    for item in portal.get("extensions") or []:
        if isinstance(item, dict) and item.get("status") in ("installed", "enabled"):
            definition = c.store(call).record_get("portal_extension", str(item.get("id")))
            if definition is not None:
                out.append(definition)
    return out


def extension(call: Call, portal: dict[str, Any], extension_id: str, app_id: str | None = None) -> dict[str, Any]:
    for definition in installed(call, portal):
        if definition["id"] == extension_id and (not app_id or definition.get("app_id") == app_id):
            return definition
    raise Reject("not_found", f"extension {extension_id} is not installed in this portal")


@behaviours("getPortalExtensions")
def get_portal_extensions(call: Call) -> Any:
    return call.json(installed(call, portal_of_call(call)))


@behaviours("getPortalExtensionsV3")
def get_portal_extensions_v3(call: Call) -> Any:
    return call.json(installed(call, portal_by_id(call, call.params["portal_id"])))


def _capabilities(call: Call, portal: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: [] for name in CAPABILITIES}
    for definition in installed(call, portal):
        app_name = definition.get("app_name") or definition["name"]["en"]
        app = {"app_id": definition.get("app_id"), "name": {"en": app_name}}
        ext = {"id": definition["id"], "name": definition["name"]}
        for hook in definition.get("hooks") or []:
            if hook.get("type") in out:
                details = {"id": hook.get("id"), "name": hook.get("name") or {"en": hook.get("id", "")},
                           "intervals": hook.get("intervals") or []}
                out[hook["type"]].append({"app": app, "extension": ext, "hook": details})
    return out


@behaviours("getPublicPortalExtensionDetails")
def get_public_portal_extension_details(call: Call) -> Any:
    check_org(call)
    return call.json(_capabilities(call, portal_of_call(call)))


@behaviours("getPublicPortalExtensionDetailsV3")
def get_public_portal_extension_details_v3(call: Call) -> Any:
    check_org(call)
    return call.json(_capabilities(call, portal_of_call(call)))


@behaviours("getResolvedSeamlessLink")
def get_resolved_seamless_link(call: Call) -> Any:
    portal = portal_of_call(call)
    definition = extension(call, portal, call.params["extension_id"], call.params.get("app_id"))
    link = next((x for x in definition.get("links") or [] if x.get("id") == call.params["link_id"]), None)
    if link is None:
        raise Reject("not_found", f"extension {definition['id']} has no seamless link {call.params['link_id']}")
    contact = contact_of(call) or {}
    redirect = link.get("redirect") or {}
    context = {"Context": {"contact": contact}, "contact": contact}
    params = {k: fill(str(v).replace("Context.contact", "contact"), context) for k, v in
              (redirect.get("params") or {}).items()}
    params["token"] = f"seamless-{c.world(call).new_id()}"
    url = str(redirect.get("url") or "")
    return call.json({"link": url + ("&" if "?" in url else "?") + urlencode(params)})
