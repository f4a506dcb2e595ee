"""The organization's portals as records: an end-customer portal and an installer portal, each
with its configuration (``PortalConfigV3``), pages and their blocks, widgets and email templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from . import portal_apps
from .context import WorldContext
from .organization import BRAND_DOMAIN, PORTAL_TEMPLATES, Organization
from .timeline import at, between, iso

END_CUSTOMER_PORTAL = "END_CUSTOMER_PORTAL"
INSTALLER_PORTAL = "INSTALLER_PORTAL"


@dataclass(frozen=True)
class Portals:
    end_customer_id: str
    installer_id: str


# slug, path, German title, English title, icon, schemas, flags
_CUSTOMER_PAGES: tuple[tuple[str, str, str, str, str, list[str], dict[str, Any]], ...] = (
    ("dashboard", "/dashboard", "Übersicht", "Overview", "home", [], {"is_entry_route": True, "is_system": True}),
    ("contracts", "/contracts", "Verträge", "Contracts", "contract", ["contract"], {"is_system": True}),
    ("contract-detail", "/contracts/:id", "Vertragsdetails", "Contract details", "contract", ["contract"],
     {"is_detail": True, "detail_schema": "contract", "parent": "contracts"}),
    ("meters", "/meters", "Zähler & Verbrauch", "Meters & consumption", "meter", ["meter"], {}),
    ("meter-detail", "/meters/:id", "Zählerdetails", "Meter details", "meter", ["meter", "meter_counter"],
     {"is_detail": True, "detail_schema": "meter", "parent": "meters"}),
    ("billing", "/billing", "Abrechnung", "Billing", "payments", ["billing_account", "billing_event"], {}),
    ("documents", "/documents", "Dokumente", "Documents", "file", ["file"], {"is_system": True}),
    ("orders", "/orders", "Aufträge", "Orders", "order", ["order"], {}),
    ("requests", "/requests", "Anfragen", "Requests", "support", ["opportunity", "ticket"], {}),
    ("account", "/account", "Mein Konto", "My account", "person", ["contact"], {"is_system": True}),
    ("help", "/help", "Hilfe & Kontakt", "Help & contact", "help", [], {"is_public": True}),
)
_INSTALLER_PAGES: tuple[tuple[str, str, str, str, str, list[str], dict[str, Any]], ...] = (
    ("dashboard", "/dashboard", "Übersicht", "Overview", "home", [], {"is_entry_route": True, "is_system": True}),
    ("opportunities", "/opportunities", "Anfragen", "Opportunities", "opportunity", ["opportunity"], {}),
    ("opportunity-detail", "/opportunities/:id", "Anfragedetails", "Opportunity details", "opportunity",
     ["opportunity"], {"is_detail": True, "detail_schema": "opportunity", "parent": "opportunities"}),
    ("orders", "/orders", "Aufträge", "Orders", "order", ["order"], {}),
    ("documents", "/documents", "Dokumente", "Documents", "file", ["file"], {"is_system": True}),
    ("account", "/account", "Mein Konto", "My account", "person", ["contact"], {"is_system": True}),
)


class _PortalBuilder:
    def __init__(self, ctx: WorldContext, org: Organization) -> None:
        self.ctx = ctx
        self.org = org
        self.modified = iso(between(ctx.rng, at(date(2025, 9, 1), 8), at(date(2026, 9, 30), 17)))

    def config(self, portal_id: str, origin: str, name: str, subdomain: str) -> dict[str, Any]:
        ctx, journeys = self.ctx, self.org.journeys
        customer = origin == END_CUSTOMER_PORTAL
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
        pool = "eu-central-1_" + "".join(ctx.rng.choice(letters) for _ in range(9))
        templates = self.template_ids()
        doc: dict[str, Any] = {
            "portal_id": portal_id,
            "portal_sk_v3": f"PORTAL_CONFIG#{portal_id}",
            "is_v3_item": True,
            "origin": origin,
            "name": name,
            "enabled": True,
            "domain": f"{subdomain}.{BRAND_DOMAIN}",
            "is_epilot_domain": False,
            "epilot_domain": f"stadtwerke-musterstadt-{subdomain}-{ctx.org_id}.ecp.epilot.cloud",
            "domain_settings": {"is_custom_domain_enabled": True, "is_epilot_domain_enabled": True,
                                "is_redirection_enabled": True},
            "design_id": ctx.uuid(),
            "self_registration_setting": "ALLOW_WITH_CONTACT_CREATION" if customer else "DENY",
            "user_account_self_management": customer,
            "feature_settings": {"start_page": True, "billing": customer, "change_due_date": customer,
                                 "new_design": True},
            "advanced_mfa": {"enabled": not customer},
            "auth_settings": {"passwordless_login": {"enabled": customer}, "entry_point": "PASSWORD"},
            "cognito_details": {
                "cognito_user_pool_client_id": "".join(ctx.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                                       for _ in range(26)),
                "cognito_user_pool_arn": f"arn:aws:cognito-idp:eu-central-1:{ctx.rng.randint(10 ** 11, 10 ** 12 - 1)}"
                                         f":userpool/{pool}",
                "cognito_user_pool_id": pool,
                "password_policy": {"minimum_length": 8, "maximum_length": 256, "require_lowercase": True,
                                    "require_uppercase": True, "require_numbers": True, "require_symbols": False},
            },
            "contact_identifiers": ["email", "last_name"],
            "approval_state_attributes": {"contact": ["address"], "contract": ["installment_amount"]},
            "email_templates": templates,
            "entity_identifiers": {"type": {"isEnabled": True, "attributes": ["contract_number"]}},
            "contract_identifiers": [{"name": "contract_number", "schema": "contract"},
                                     {"name": "last_name", "schema": "contact"}],
            "contract_selector_config": {"show_inactive": False, "title_path": "contract_number"},
            "registration_identifiers": [{"name": "customer_number", "schema": "contact"},
                                         {"name": "contract_number", "schema": "contract"}],
            "triggered_journeys": [],
            "entity_edit_rules": [
                {"slug": "contract", "attribute": "installment_amount", "rule_type": "relative_to_current_value",
                 "allowed_increment": "50%", "allowed_decrement": "20%"},
                {"slug": "contract", "attribute": "installment_amount", "rule_type": "cadence",
                 "cadence_period_type": "months", "cadence_period": 1, "changes_allowed": 2},
            ] if customer else [],
            "allowed_file_extensions": {"document": ["pdf", "docx"], "image": ["jpg", "jpeg", "png"],
                                        "spreadsheet": ["xls", "xlsx", "csv"]},
            "prevent_search_engine_indexing": True,
            "meter_reading_grace_period": 14,
            "inactive_contract_cutoff_years": 3,
            "is_dummy": False,
            "entity_actions": [
                {"journey_id": journeys["installment"]["journey_id"], "slug": "contract",
                 "action_Label": {"en": "Change installment", "de": "Abschlag ändern"}},
                {"journey_id": journeys["move"]["journey_id"], "slug": "contract",
                 "action_Label": {"en": "Report a move", "de": "Umzug melden"}},
            ] if customer else [],
            "extensions": [],
            "organization_id": ctx.org_id,
            "org_settings": {"canary": {"enabled": False}, "notracking": {"enabled": False}},
            "feature_flags": {},
            "grants": self.grants(customer),
            "identity_providers": [],
        }
        if customer:
            doc["triggered_journeys"] = [{"trigger_name": "FIRST_LOGIN",
                                          "journey_id": journeys["meter_reading"]["journey_id"]}]
            portal_apps.enrich(doc, journeys)
        return doc

    def template_ids(self) -> dict[str, str]:
        return {key: self.org.email_templates[key]["_id"] for key in PORTAL_TEMPLATES}

    def grants(self, customer: bool) -> list[dict[str, Any]]:
        schemas = (["contact", "contract", "meter", "meter_counter", "billing_account", "billing_event", "order",
                    "opportunity", "ticket", "file"] if customer else ["contact", "opportunity", "order", "file"])
        grants = [{"action": "entity-read", "resource": f"entity:{self.ctx.org_id}:{s}:*", "effect": "allow"}
                  for s in schemas]
        grants.append({"action": "entity-edit", "resource": f"entity:{self.ctx.org_id}:contact:*", "effect": "allow"})
        return grants

    def pages(self, portal_id: str, specs: tuple[tuple[str, str, str, str, str, list[str], dict[str, Any]], ...]
              ) -> None:
        ids: dict[str, str] = {}
        for order, (slug, path, title_de, title_en, icon, schemas, flags) in enumerate(specs, start=1):
            page_id = self.ctx.uuid()
            ids[slug] = page_id
            page: dict[str, Any] = {
                "id": page_id, "slug": slug, "path": path, "schema": schemas, "visibility": {},
                "content": {"title": {"de": title_de, "en": title_en}, "icon": icon}, "design": {},
                "order": order, "is_system": flags.get("is_system", False), "is_detail": flags.get("is_detail", False),
                "is_public": flags.get("is_public", False), "is_entry_route": flags.get("is_entry_route", False),
                "is_deleted": False, "last_modified_at": self.modified,
            }
            if "detail_schema" in flags:
                page["detail_schema"] = flags["detail_schema"]
            if "parent" in flags:
                page["parentId"] = ids[flags["parent"]]
            self.ctx.record("portal_page", page_id, portal_id, page)
            self.blocks(page_id, slug, schemas, flags)

    def blocks(self, page_id: str, slug: str, schemas: list[str], flags: dict[str, Any]) -> None:
        """A small block tree per page: a header, then a list (or tabs with groups on detail pages)."""
        def block(kind: str, order: int, parent: str, content: dict[str, Any]) -> str:
            block_id = self.ctx.uuid()
            self.ctx.record("portal_block", block_id, page_id, {
                "id": block_id, "type": kind, "order": order, "parentId": parent,
                "props": {"content": content, "visibility": {}, "design": {}},
            })
            return block_id

        block("header", 1, "", {"headline": {"de": slug.replace("-", " ").title()}})
        if flags.get("is_detail"):
            tabs = block("tabs", 2, "", {})
            details = block("tab", 1, tabs, {"label": {"de": "Details", "en": "Details"}})
            group = block("group", 1, details, {"label": {"de": "Stammdaten", "en": "Master data"}})
            for n, attribute in enumerate(_DETAIL_ATTRIBUTES.get(flags["detail_schema"], ("_title",)), start=1):
                block("attribute", n, group, {"attribute": attribute, "schema": flags["detail_schema"]})
            block("tab", 2, tabs, {"label": {"de": "Dokumente", "en": "Documents"}, "schema": "file"})
        elif schemas:
            for n, schema in enumerate(schemas, start=2):
                block("entity-list", n, "", {"schema": schema, "page_size": 10})
        else:
            block("widgets", 2, "", {"source": "portal_widgets"})

    def widgets(self, portal_id: str, customer: bool) -> None:
        ctx, journeys = self.ctx, self.org.journeys

        def text(de: str, en: str) -> dict[str, str]:
            return {"de": de, "en": en}

        def action(key: str, de: str, en: str, rule: bool = False) -> dict[str, Any]:
            item: dict[str, Any] = {"_id": ctx.uuid(), "type": "journey", "label": text(de, en),
                                    "url": journeys[key]["journey_url"]}
            if rule:
                item["rules"] = [{"entity": "contract", "attribute": "status", "attribute_value": "active"}]
            return item

        if customer:
            widgets: list[dict[str, Any]] = [
                {"type": "ACTION_WIDGET", "headline": text("Schnellzugriff", "Quick actions"),
                 "actions": [action("meter_reading", "Zählerstand melden", "Report meter reading"),
                             action("installment", "Abschlag ändern", "Change installment", rule=True),
                             action("move", "Umzug melden", "Report a move", rule=True)]},
                {"type": "ENTITY_WIDGET", "headline": text("Meine Verträge", "My contracts"), "schema": "contract"},
                {"type": "METER_READING_WIDGET", "headline": text("Zählerstand erfassen", "Submit a reading"),
                 "schema": "meter"},
                {"type": "METER_CHART_WIDGET", "headline": text("Mein Verbrauch", "My consumption"),
                 "schema": "meter"},
                {"type": "PAYMENT_WIDGET", "headline": text("Abschläge & Zahlungen", "Installments & payments")},
                {"type": "DOCUMENT_WIDGET", "headline": text("Neue Dokumente", "New documents")},
                {"type": "TEASER_WIDGET",
                 "headline": text("Sonnenstrom vom eigenen Dach", "Solar power from your roof"),
                 "imageUrl": f"https://epilot-prod-user-content.s3.eu-central-1.amazonaws.com/{ctx.org_id}/"
                             f"{ctx.uuid()}/pv-teaser.jpeg",
                 "button": {"label": text("Angebot anfordern", "Request an offer"),
                            "url": journeys["solar"]["journey_url"]}},
            ]
            if self.org.campaigns:
                widgets.append({"type": "CAMPAIGN_WIDGET", "headline": text("Aktuelle Aktion", "Current campaign"),
                                "campaign_id": self.org.campaigns[0]["_id"]})
        else:
            widgets = [
                {"type": "ENTITY_WIDGET", "headline": text("Offene Anfragen", "Open opportunities"),
                 "schema": "opportunity"},
                {"type": "ENTITY_WIDGET", "headline": text("Aufträge", "Orders"), "schema": "order"},
                {"type": "DOCUMENT_WIDGET", "headline": text("Dokumente", "Documents")},
                {"type": "CONTENT_WIDGET", "headline": text("Hinweise für Partner", "Notes for partners"),
                 "content": "Bitte laden Sie Inbetriebnahmeprotokolle innerhalb von 7 Tagen hoch."},
            ]
        for index, widget in enumerate(widgets):
            widget_id = ctx.uuid()
            ctx.record("portal_widget", widget_id, portal_id, {"id": widget_id, "listIndex": index, **widget})


_DETAIL_ATTRIBUTES = {
    "contract": ("contract_number", "contract_name", "status", "start_date", "installment_amount", "delivery_address"),
    "meter": ("meter_number", "meter_type", "ma_lo_id", "location"),
    "opportunity": ("opportunity_number", "title", "status", "dates"),
}


def build_portals(ctx: WorldContext, org: Organization) -> Portals:
    """Record both portals; returns their ids."""
    builder = _PortalBuilder(ctx, org)
    portals = Portals(ctx.uuid(), ctx.uuid())
    for portal_id, origin, name, subdomain, pages in (
        (portals.end_customer_id, END_CUSTOMER_PORTAL, "Kundenportal", "kundenportal", _CUSTOMER_PAGES),
        (portals.installer_id, INSTALLER_PORTAL, "Partnerportal", "partnerportal", _INSTALLER_PAGES),
    ):
        ctx.record("portal_config", portal_id, None, builder.config(portal_id, origin, name, subdomain))
        ctx.record("email_templates", portal_id, portal_id, builder.template_ids())
        builder.pages(portal_id, pages)
        builder.widgets(portal_id, origin == END_CUSTOMER_PORTAL)
    ext = portal_apps.extension_definition()
    ctx.record("portal_extension", ext["id"], None, ext)
    return portals

