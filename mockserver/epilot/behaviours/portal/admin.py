"""Portal administration beyond the configuration itself: schemas and settings the portal offers,
domains, template variables, triggered journeys, cloning, mobile app settings, email template
references, automation checks and entity access events.
"""

from __future__ import annotations

import copy
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from ..entity.schema_store import list_schemas
from . import behaviours
from .activity import activity_by_id, record_activity
from .config import as_v2, check_org, portal_by, portal_by_id, portal_of_call, portals, write_config

ACCESS_KIND = "entity_access_event"  # records: entity access events of portal users
MOBILE_KIND = "portal_mobile_config"
# Schemas the portal shows (the world's portal-facing entity schemas); the public part shows fewer.
PUBLIC_SCHEMAS = ("contact", "contract", "product", "price", "journey")
EXTRA_PERMISSION_ATTRIBUTES = {
    "contact": [("customer_number", "Customer number", "Contact")],
    "contract": [("contract_number", "Contract number", "Contract"), ("installment_amount", "Installment", "Billing")],
    "order": [("order_number", "Order number", "Order")],
    "opportunity": [("opportunity_number", "Opportunity number", "Opportunity")],
    "meter": [("meter_number", "Meter number", "Meter"), ("ma_lo_id", "Market location", "Meter")],
    "meter_counter": [("obis_number", "OBIS number", "Counter")],
}


# -- schemas and settings ----------------------------------------------------------------------

def portal_schemas(call: Call, public: bool = False) -> list[dict[str, str]]:
    """The entity schemas of the world (as the Entity API has them: added, changed or deleted there)
    that portal users can see (by the portal's grants)."""
    existing = {s["slug"] for s in list_schemas(c.store(call))}
    if public:
        return [{"slug": s} for s in PUBLIC_SCHEMAS if s in existing]
    try:
        portal = portal_of_call(call)
    except Reject:  # the user's portal was deleted: only what every portal shows
        portal = {}
    granted = {str(g.get("resource", "")).split(":")[2] for g in portal.get("grants") or []
               if isinstance(g, dict) and str(g.get("resource", "")).count(":") >= 3}
    return [{"slug": s} for s in sorted(existing) if s in granted or s in PUBLIC_SCHEMAS]


@behaviours("getSchemas")
def get_schemas(call: Call) -> Any:
    return call.json({"schemas": portal_schemas(call)})


@behaviours("getSchemasByDomain")
def get_schemas_by_domain(call: Call) -> Any:
    portal_by(call, domain=call.params["domain"])
    return call.json({"schemas": portal_schemas(call, public=True)})


@behaviours("getPublicSchemasV3")
def get_public_schemas_v3(call: Call) -> Any:
    check_org(call)
    portal_of_call(call)
    return call.json({"schemas": portal_schemas(call, public=True)})


def org_settings(call: Call) -> dict[str, Any]:
    found = portals(call)
    origins = {p.get("origin") for p in found if p.get("enabled", True)}
    sso = any(p.get("identity_providers") for p in found)
    on = {"end_customer_portal": "END_CUSTOMER_PORTAL" in origins, "installer_portal": "INSTALLER_PORTAL" in origins,
          "sso": sso, "partnering": "INSTALLER_PORTAL" in origins, "double_opt_in": True,
          "contracts_preview_setting": True, "new_navigation": True}
    return {key: {"enabled": value} for key, value in on.items()}


@behaviours("getOrganizationSettingsByDomain")
def get_organization_settings_by_domain(call: Call) -> Any:
    portal_by(call, domain=call.params["domain"])
    return call.json({"data": org_settings(call)})


@behaviours("getOrganizationSettings")
def get_organization_settings(call: Call) -> Any:
    return call.json({"data": org_settings(call)})


@behaviours("extraPermissionAttributes")
def extra_permission_attributes(call: Call) -> Any:
    return call.json({"data": {schema: [{"name": n, "label": label, "group": group} for n, label, group in attrs]
                               for schema, attrs in EXTRA_PERMISSION_ATTRIBUTES.items()}})


@behaviours("getRegistrationIdentifiers")
def get_registration_identifiers(call: Call) -> Any:
    """Attributes that can identify a registering customer: those the portals use, per schema."""
    data: dict[str, list[dict[str, str]]] = {}
    for portal in portals(call):
        for ident in (portal.get("registration_identifiers") or []) + (portal.get("contract_identifiers") or []):
            if not isinstance(ident, dict) or not ident.get("schema") or not ident.get("name"):
                continue
            items = data.setdefault(ident["schema"], [])
            if all(i["name"] != ident["name"] for i in items):
                items.append({"name": ident["name"], "label": ident["name"].replace("_", " ").capitalize(),
                              "type": "string"})
    return call.json({"data": data})


# -- domains -----------------------------------------------------------------------------------

def _domain_check(portal: dict[str, Any]) -> tuple[bool, str]:
    custom = (portal.get("domain_settings") or {}).get("is_custom_domain_enabled")
    domain = portal.get("domain")
    if not domain or portal.get("is_epilot_domain"):
        return True, "the portal uses its epilot domain"
    if custom is False:
        return False, f"custom domain {domain} is not enabled"
    return True, f"{domain} points at {portal.get('epilot_domain') or 'the portal'}"


def _caa(call: Call, portal: dict[str, Any]) -> Any:
    ok, message = _domain_check(portal)
    return call.json({"retry": not ok, "message": message, "isDNSConfigured": ok})


@behaviours("validateCaaRecords")
def validate_caa_records(call: Call) -> Any:
    return _caa(call, portal_by(call, origin=call.params["origin"]))


@behaviours("validateCaaRecordsV3")
def validate_caa_records_v3(call: Call) -> Any:
    return _caa(call, portal_by_id(call, call.params["portal_id"]))


@behaviours("verifyDns")
def verify_dns(call: Call) -> Any:
    ok, message = _domain_check(portal_by_id(call, call.params["portal_id"]))
    return call.json({"domain_status": "SUCCEED" if ok else "PENDING", "message": message})


def _distribution(call: Call, portal: dict[str, Any]) -> Any:
    return call.json({"domainName": f"d{portal['portal_id'].replace('-', '')[:13]}.cloudfront.net"})


@behaviours("configureDistribution")
def configure_distribution(call: Call) -> Any:
    return _distribution(call, portal_by(call, origin=call.params["origin"]))


@behaviours("configureDistributionV3")
def configure_distribution_v3(call: Call) -> Any:
    return _distribution(call, portal_by_id(call, call.params["portal_id"]))


# -- templates and journeys --------------------------------------------------------------------

@behaviours("replaceECPTemplateVariables")
def replace_ecp_template_variables(call: Call) -> Any:
    """Portal links for an email about ``entity_context``: per kind of portal, the invitation, entity and
    document links, and the e-mails of the portal users who can see the entity."""
    body = call.body or {}
    entity_ref = body.get("entity_context") or {}
    entity = c.store(call).get(str(entity_ref.get("_id"))) if isinstance(entity_ref, dict) else None
    emails: list[str] = []
    if entity is not None:
        contacts = [entity] if entity["_schema"] == "contact" else c.related(call, entity, "contact")
        for contact in contacts:
            emails += [u["email"] for u in c.related(call, contact, "portal_user") if u.get("email")]
    out: dict[str, Any] = {}
    for key, origin in (("customerPortal", "END_CUSTOMER_PORTAL"), ("installerPortal", "INSTALLER_PORTAL")):
        try:
            portal = portal_by(call, origin=origin)
        except Reject:
            continue
        base = f"https://{portal.get('domain') or portal.get('epilot_domain')}"
        links = {"invitationLink": f"{base}/register", "newDocumentLink": f"{base}/documents",
                 "userEmailsOnEntity": sorted(set(emails))}
        if entity is not None:
            links["entityLink"] = f"{base}/{entity['_schema']}s/{entity['_id']}"
        out[key] = links
    if "customerPortal" in out:
        out["portalUser"] = dict(out["customerPortal"])
    return call.json(out)


@behaviours("getTriggeredJourney")
def get_triggered_journey(call: Call) -> Any:
    portal = portal_of_call(call)
    trigger = call.params["trigger_name"]
    for item in portal.get("triggered_journeys") or []:
        if isinstance(item, dict) and item.get("trigger_name") == trigger:
            params = [{"key": "contact_id", "value": c.contact_id(call) or ""},
                      {"key": "portal_user_id", "value": c.portal_user_id(call) or ""}]
            params += [{"key": str(p.get("key")), "value": str(p.get("value"))}
                       for p in item.get("context_params") or [] if isinstance(p, dict)]
            return call.json({"trigger_name": trigger, "journey_id": item["journey_id"], "context_params": params})
    raise Reject("not_found", f"no journey is configured for {trigger}")


@behaviours("canTriggerPortalFlow")
def can_trigger_portal_flow(call: Call) -> Any:
    """A flow may run when the portal exists and is enabled; file sharing needs the end-customer portal."""
    portal = portal_by_id(call, call.params["portal_id"])
    can = bool(portal.get("enabled", True))
    files = (((call.body or {}).get("ecp_config") or {}).get("file_config") or {})
    if files.get("shared_with_end_customer") and portal.get("origin") != "END_CUSTOMER_PORTAL":
        can = False
    activity_id = (call.body or {}).get("activity_id")
    if activity_id and activity_by_id(call, activity_id) is None:
        can = False  # an automation flow needs the activity that triggers it
    return call.json({"can_trigger": can})


# -- cloning and mobile app --------------------------------------------------------------------

@behaviours("clonePortalConfig")
def clone_portal_config(call: Call) -> Any:
    source = portal_by_id(call, call.body["source_portal_id"])
    st, w = c.store(call), c.world(call)
    new_id = w.new_id()
    doc = {k: copy.deepcopy(v) for k, v in source.items() if k not in ("domain", "epilot_domain", "cognito_details")}
    doc["name"] = call.body.get("name") or f"{source.get('name', 'Portal')} (Kopie)"
    doc["epilot_domain"] = f"portal-{new_id[:8]}.ecp.epilot.cloud"
    doc["is_epilot_domain"] = True
    cloned = write_config(call, new_id, doc, None)
    for page in st.record_list("portal_page", parent=source["portal_id"]):
        page_id = w.new_id()
        st.record_put("portal_page", page_id, {**page, "id": page_id}, parent=new_id)
        id_map: dict[str, str] = {}
        for block in sorted(st.record_list("portal_block", parent=page["id"]), key=lambda b: bool(b.get("parentId"))):
            block_id = id_map[block["id"]] = w.new_id()
            parent = id_map.get(block.get("parentId") or "", block.get("parentId") or "")
            st.record_put("portal_block", block_id, {**block, "id": block_id, "parentId": parent}, parent=page_id)
    for widget in st.record_list("portal_widget", parent=source["portal_id"]):
        widget_id = w.new_id()
        st.record_put("portal_widget", widget_id, {**widget, "id": widget_id}, parent=new_id)
    templates = st.record_get("email_templates", source["portal_id"])
    if templates is not None:
        st.record_put("email_templates", new_id, templates, parent=new_id)
    return call.json(cloned, status=201)


def _mobile(call: Call, portal: dict[str, Any], raw: bool = False) -> dict[str, Any]:
    stored = c.store(call).record_get(MOBILE_KIND, portal["portal_id"]) or {}
    if raw:
        return {"portal_id": portal["portal_id"], **stored}
    domain = portal.get("domain") or portal.get("epilot_domain") or "portal.epilot.cloud"
    out: dict[str, Any] = {"portal_id": portal["portal_id"], "enabled": False, "display_name": portal.get("name", ""),
                           "app_host": f"app.{domain}", "environment": "prod",
                           "ios": {"credentials_status": "not_configured"},
                           "android": {"credentials_status": "not_configured", "upload_key_status": "not_configured"},
                           "ota": {"enabled": False, "channel": "stable", "auto_update": True,
                                   "update_strategy": "next-launch"}}
    for key, value in stored.items():
        out[key] = {**out[key], **value} if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


@behaviours("getMobileConfig")
def get_mobile_config(call: Call) -> Any:
    return call.json(_mobile(call, portal_by_id(call, call.params["portal_id"]), bool(call.params.get("raw"))))


@behaviours("putMobileConfig")
def put_mobile_config(call: Call) -> Any:
    portal = portal_by_id(call, call.params["portal_id"])
    st = c.store(call)
    stored = st.record_get(MOBILE_KIND, portal["portal_id"]) or {}
    for key, value in (call.body or {}).items():
        stored[key] = {**stored.get(key, {}), **value} if isinstance(value, dict) else value
    for platform in ("ios", "android"):
        if isinstance(stored.get(platform), dict):
            ident = stored[platform].get("bundle_id") or stored[platform].get("package_name")
            stored[platform]["credentials_status"] = "configured" if ident else "not_configured"
    st.record_put(MOBILE_KIND, portal["portal_id"], stored, parent=portal["portal_id"])
    return call.json(_mobile(call, portal))


# -- email template references -----------------------------------------------------------------

def _using(call: Call, template_id: str) -> list[dict[str, Any]]:
    st = c.store(call)
    def templates(p: dict[str, Any]) -> dict[str, Any]:
        return st.record_get("email_templates", p["portal_id"]) or p.get("email_templates") or {}
    return [p for p in portals(call) if template_id in templates(p).values()]


@behaviours("listEmailTemplateReferences", reads_only=True)
def list_email_template_references(call: Call) -> Any:
    return call.json({"portals": [{"id": p["portal_id"], "name": p.get("name")}
                                  for p in _using(call, call.body["template_id"])]})


@behaviours("migrateEmailTemplateReferences")
def migrate_email_template_references(call: Call) -> Any:
    source, target = call.body["source_template_id"], call.body["destination_template_id"]
    st, done = c.store(call), []
    for portal in _using(call, source):
        for holder in (st.record_get("email_templates", portal["portal_id"]), portal.get("email_templates")):
            if isinstance(holder, dict):
                for key, value in list(holder.items()):
                    if value == source:
                        holder[key] = target
        st.record_put("email_templates", portal["portal_id"], st.record_get("email_templates", portal["portal_id"])
                      or portal.get("email_templates") or {}, parent=portal["portal_id"])
        if isinstance(portal.get("email_templates"), dict):
            for key, value in list(portal["email_templates"].items()):
                if value == source:
                    portal["email_templates"][key] = target
        st.record_put("portal_config", portal["portal_id"], portal)
        done.append(portal["portal_id"])
    return call.json({"migrated_portal_count": len(done), "migrated_portal_ids": done, "failed_portal_ids": []})


# -- entity access events ----------------------------------------------------------------------

def _access(call: Call, portal: dict[str, Any]) -> Any:
    """Record an access event; with an entity, it is also an activity in the entity's feed (one id for
    both, so an automation can be started from it)."""
    schema, entity_id = call.params["schema"], call.params.get("entity_id")
    w = c.world(call)
    event_id = w.new_id()
    if entity_id:
        entity = c.load(call, entity_id, schema, kind="forbidden")
        event_id = record_activity(call, entity, "EntityAccessed", accessed_schema=schema,
                                   origin=portal["portal_id"])["_id"]
    event = {"id": event_id, "type": "EntityAccessed", "entity_schema": schema, "entity_id": entity_id,
             "portal_id": portal["portal_id"], "portal_user_id": c.portal_user_id(call),
             "contact_id": c.contact_id(call), "accessed_at": w.now()}
    c.store(call).record_put(ACCESS_KIND, event["id"], event, parent=entity_id or schema)
    w.emit({"type": "portal.entity_accessed", "schema": schema, "event": event, "source": call.op.api.name,
            "operation": call.op.id})
    return call.json({"eventId": event["id"]})


@behaviours("triggerEntityAccessEvent")
def trigger_entity_access_event(call: Call) -> Any:
    return _access(call, portal_by(call, origin=call.params["origin"]))


@behaviours("triggerEntityAccessEventV3")
def trigger_entity_access_event_v3(call: Call) -> Any:
    return _access(call, portal_of_call(call))


__all__ = ["as_v2"]
