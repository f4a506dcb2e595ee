"""What the end-customer portal is connected to: an SSO identity provider, external links and an
installed extension app (consumption, costs and prices from an energy-data service, a seamless link).

Ids are derived from the portal id (uuid5), so adding these draws nothing from the world's RNG and
every other id of the world stays as it was.
"""

from __future__ import annotations

import uuid
from typing import Any

SSO_SLUG = "stadtwerke-login"
EXTENSION_APP_ID = "energy-data-app"
EXTENSION_ID = "energy-data"
ENERGY_API = "https://api.energiedaten-example.de"


def _id(portal_id: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(portal_id), name))


def identity_providers(portal_id: str, domain: str) -> list[dict[str, Any]]:
    return [{
        "slug": SSO_SLUG, "display_name": "Stadtwerke Login", "provider_type": "OIDC",
        "oidc_config": {"type": "authorization_code", "oidc_issuer": "https://login.stadtwerke-musterstadt.de",
                        "client_id": "kundenportal", "scope": "openid profile email",
                        "redirect_uri": f"https://{domain}/login/sso"},
        "attribute_mappings": {"contact": {"email": "email", "first_name": "given_name", "last_name": "family_name"}},
        "entity_matching": {"contact": {"email": "email"}, "auto_create_cognito_user": True},
    }]


def external_links(portal_id: str, journeys: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": _id(portal_id, "link:tariff"), "type": "link",
         "label": {"de": "Tarifrechner", "en": "Tariff calculator"},
         "link": "https://www.stadtwerke-musterstadt.de/tarifrechner?kunde={{contact.customer_number}}",
         "icon": {"name": "calculate", "color": "#004B87", "size": 24}},
        {"id": _id(portal_id, "link:solar"), "type": "journey",
         "label": {"de": "Solaranlage anfragen", "en": "Request a solar system"},
         "link": journeys["solar"]["journey_url"] + "&contactId={{contact._id}}",
         "rules": [{"entity": "contract", "attribute": "status", "attribute_value": "active"}]},
        {"id": _id(portal_id, "link:smart-meter"), "type": "seamless",
         "label": {"de": "Smart-Meter-Portal", "en": "Smart meter portal"},
         "link": f"{ENERGY_API}/portal", "extension_link_id": [EXTENSION_ID, "smart-meter-portal"]},
    ]


def extension_config() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The portal's installed extensions and which extension hook serves each capability."""
    hooks = {name: {"app_id": EXTENSION_APP_ID, "extension_id": EXTENSION_ID, "hook_id": hook}
             for name, hook in (("consumptionDataRetrieval", "consumption"), ("costDataRetrieval", "costs"),
                                ("priceDataRetrieval", "prices"), ("visualizationMetadata", "visualization"))}
    return [{"id": EXTENSION_ID, "status": "enabled", "options": {"tenant": "stadtwerke-musterstadt"}}], hooks


def extension_definition() -> dict[str, Any]:
    """The installed app's extension (what ``GET /v2/portal/extensions`` lists)."""
    def call(path: str) -> dict[str, Any]:
        return {"method": "GET", "url": f"{ENERGY_API}{path}",
                "params": {"meter": "{{Context.meter.ma_lo_id}}", "from": "{{Context.from}}", "to": "{{Context.to}}"}}
    return {
        "id": EXTENSION_ID, "app_id": EXTENSION_APP_ID, "app_name": "Energiedaten",
        "name": {"en": "Energy data", "de": "Energiedaten"},
        "description": {"en": "Consumption, costs and prices from the metering service provider.",
                        "de": "Verbrauch, Kosten und Preise vom Messstellenbetreiber."},
        "version": "1.2.0",
        "options": [{"id": "tenant", "name": {"en": "Tenant"}, "type": "text", "required": True}],
        "links": [{"id": "smart-meter-portal", "type": "seamless",
                   "name": {"en": "Smart meter portal", "de": "Smart-Meter-Portal"},
                   "redirect": {"url": f"{ENERGY_API}/portal",
                                "params": {"customer": "{{Context.contact.customer_number}}"}}}],
        "hooks": [
            {"id": "consumption", "type": "consumptionDataRetrieval", "name": {"en": "Consumption"},
             "intervals": ["PT15M", "PT1H", "P1D", "P1M"], "call": call("/consumption")},
            {"id": "costs", "type": "costDataRetrieval", "name": {"en": "Costs"},
             "intervals": ["P1D", "P1M"], "call": call("/costs")},
            {"id": "prices", "type": "priceDataRetrieval", "name": {"en": "Prices"},
             "intervals": ["PT1H", "P1D"], "call": call("/prices")},
        ],
    }


def enrich(doc: dict[str, Any], journeys: dict[str, Any]) -> None:
    """Connect an end-customer portal configuration to its identity provider, links and extension."""
    portal_id, domain = doc["portal_id"], doc["domain"]
    doc["identity_providers"] = identity_providers(portal_id, domain)
    doc["external_links"] = external_links(portal_id, journeys)
    doc["extensions"], doc["extension_hooks"] = extension_config()
    doc["auth_settings"]["preferred_sso_providers"] = [SSO_SLUG]
