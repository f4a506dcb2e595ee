"""The core entity schemas as epilot ships them (the blueprints), built from the shared core entity
components (`specs/components/entities.yaml`), which describe the attributes the world generator
gives each entity.

Each property of ``<Name>Attributes`` becomes an attribute of the schema: relations (with the
schemas they point to, as the world relates them), repeatable email/phone/address/payment values,
selects from enums, dates, numbers, booleans and tags. The result is plain data; the store keeps
the organization's (changeable) copy, see `entity_schemas`.
"""

from __future__ import annotations

import copy
import re
import uuid
from functools import lru_cache
from typing import Any

import yaml

from mockserver.epilot.bundled import specs_dir

# slug -> (component name, category, plural, description)
CORE: dict[str, tuple[str, str, str, str]] = {
    "contact": ("Contact", "customer_relations", "Contacts",
                "People the organization deals with, usually its end customers."),
    "account": ("Account", "customer_relations", "Accounts",
                "Companies; contacts linked to an account make a business customer."),
    "partner": ("Partner", "customer_relations", "Partners",
                "Third parties the organization works with, such as installers and OEMs."),
    "ticket": ("Ticket", "customer_relations", "Tickets", "Support requests and help desk inquiries."),
    "opportunity": ("Opportunity", "sales", "Opportunities", "Sales leads and product inquiries, often from journeys."),
    "order": ("Order", "sales", "Orders", "Requested products with their prices, and orders placed by customers."),
    "product": ("Product", "product_hub", "Products", "Products and services the organization sells."),
    "price": ("Price", "product_hub", "Prices", "Pricing models of products."),
    "tax": ("Tax", "product_hub", "Taxes", "Tax rates applied to prices."),
    "coupon": ("Coupon", "product_hub", "Coupons", "Discounts and promotions applicable to products."),
    "contract": ("Contract", "contracts_billing", "Contracts",
                 "Service agreements and tariffs between customers and the organization."),
    "billing_account": ("BillingAccount", "contracts_billing", "Billing Accounts",
                        "Billing information and payment details of customers."),
    "billing_event": ("BillingEvent", "contracts_billing", "Billing Events",
                      "Financial transactions: installments, invoices, payments and credit notes."),
    "meter": ("Meter", "metering", "Meters", "Devices that meter power, gas, water or other consumption."),
    "meter_counter": ("MeterCounter", "metering", "Meter Counters",
                      "Counters of a meter, tracking e.g. peak and off-peak consumption separately."),
    "journey": ("Journey", "journeys", "Journeys", "Configurations of customer journeys that collect data."),
    "submission": ("Submission", "journeys", "Submissions", "Raw data from journeys and other outside sources."),
    "message": ("Message", "messaging", "Messages", "Emails sent and received through epilot."),
    "email_template": ("EmailTemplate", "messaging", "Email Templates", "Templates with variables for emails."),
    "campaign": ("Campaign", "marketing", "Campaigns", "Marketing campaigns and their configuration."),
    "target": ("Target", "marketing", "Targets", "Goals and milestones of sales and marketing."),
    "product_recommendation": ("ProductRecommendation", "marketing", "Product Recommendations",
                               "Products suggested to customers from their preferences and behaviour."),
    "file": ("File", "system", "Files", "Documents, images, templates and other uploaded files."),
    "comment": ("Comment", "system", "Comments", "Notes and discussions on entities."),
    "portal_user": ("PortalUser", "system", "Portal Users", "Users of end customer and installer portals."),
}
# Relation attributes whose target schema is not the singular of their name; [] = any schema.
RELATION_TARGETS: dict[tuple[str, str], list[str]] = {
    ("contract", "customer"): ["contact", "account"], ("order", "customer"): ["contact", "account"],
    ("meter", "customer"): ["contact", "account"], ("opportunity", "customer"): ["contact", "account"],
    ("ticket", "customer"): ["contact", "account"], ("billing_account", "contact"): ["contact", "account"],
    ("billing_account", "billing_contact"): ["contact"], ("order", "billing_contact"): ["contact"],
    ("meter", "counters"): ["meter_counter"], ("message", "attachments"): ["file"],
    ("product", "price_options"): ["price"], ("product", "product_downloads"): ["file"],
    ("price", "price_components"): ["price"], ("product_recommendation", "offers"): ["product"],
    ("product_recommendation", "source_product"): ["product"], ("product_recommendation", "source_price"): ["price"],
    ("comment", "entity"): [], ("message", "context"): [], ("submission", "entities"): [],
}
TITLE_ATTRIBUTES = ("name", "contract_name", "full_name", "meter_number", "order_number", "billing_account_number",
                    "ticket_number", "opportunity_number", "subject", "filename", "email", "title", "obis_number",
                    "code", "description", "type")
CAPABILITIES: dict[str, dict[str, Any]] = {
    "notes": {"name": "notes", "title": "Notes",
              "ui_hooks": [{"hook": "EntityDetailsV2:Tab", "title": "Notes", "order": 20, "route": "notes"}]},
    "messaging": {"name": "customer_messaging", "title": "Messages",
                  "ui_hooks": [{"hook": "EntityDetailsV2:Tab", "title": "Messages", "order": 10, "route": "messages"}]},
    "workflows": {"name": "workflows", "title": "Workflows",
                  "ui_hooks": [{"hook": "EntityDetailsV2:Tab", "title": "Workflows", "order": 30,
                                "route": "workflows"}]},
    "automation": {"name": "automation", "title": "Automations"},
    "files": {"name": "_files", "title": "Files",
              "attributes": [{"name": "_files", "label": "Files", "type": "relation", "relation_type": "has_many",
                              "allowedSchemas": ["file"]}]},
    "tasks": {"name": "tasks", "title": "Tasks"},
    "portal": {"name": "customer_portal", "title": "Customer Portal",
               "attributes": [{"name": "portal_users", "label": "Portal users", "type": "portal_access"}]},
    "installment": {"name": "adjust_installment", "title": "Adjust installment",
                    "adjust_installment": {"journey_id": "abschlag-anpassen"}},
    "consents": {"name": "consents", "title": "Consents"},
}
SCHEMA_CAPABILITIES = {
    "contact": ("notes", "messaging", "workflows", "automation", "files", "tasks", "portal", "consents"),
    "account": ("notes", "messaging", "workflows", "automation", "files"),
    "contract": ("notes", "messaging", "workflows", "automation", "files", "installment"),
    "order": ("notes", "messaging", "workflows", "automation", "files"),
    "opportunity": ("notes", "messaging", "workflows", "automation", "files", "tasks"),
    "ticket": ("notes", "messaging", "workflows", "automation", "files", "tasks"),
}
SCHEMAS_CREATED_AT = "2024-03-04T09:12:44.000Z"


def schema_id(slug: str, version: int = 1) -> str:
    """The id of version ``version`` of schema ``slug`` (deterministic)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"epilot-mock:schema:{slug}:{version}"))


def part_id(slug: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"epilot-mock:schema-part:{slug}:{name}"))


@lru_cache(maxsize=1)
def _components() -> dict[str, Any]:
    path = specs_dir() / "components" / "entities.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        node = _components().get(node["$ref"][2:], {})
    return node


def _ref_name(node: Any) -> str:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            return node["$ref"].rsplit("/", 1)[-1]
        for part in [*(node.get("allOf") or []), *(node.get("anyOf") or [])]:
            name = _ref_name(part)
            if name:
                return name
    return ""


def _label(name: str, prop: dict[str, Any]) -> str:
    text = str(prop.get("description") or "").strip()
    head = re.split(r"[,.(;:]| - ", text, maxsplit=1)[0].strip().strip("`")
    if head and len(head) <= 40:
        return head[0].upper() + head[1:]
    return name.replace("_", " ").capitalize()


def _title(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def attribute_for(slug: str, name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """The schema attribute for property ``name`` of the core entity component."""
    attr: dict[str, Any] = {"id": part_id(slug, name), "name": name, "label": _label(name, prop)}
    ref = _ref_name(prop)
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    item_ref = _ref_name(items)
    if ref == "Relation":
        targets = RELATION_TARGETS.get((slug, name))
        if targets is None:
            target = "meter_counter" if name == "counters" else _singular(name)
            targets = [target] if target in CORE else []
        attr.update(type="relation", relation_type="has_many" if name.endswith("s") else "has_one",
                    allowedSchemas=targets, enable_relation_picker=True)
    elif item_ref in ("EmailAddress", "PhoneNumber", "Address", "PaymentMethod"):
        kind = {"EmailAddress": "email", "PhoneNumber": "phone", "Address": "address", "PaymentMethod": "payment"}
        attr.update(type=kind[item_ref], repeatable=True, has_primary=True)
    elif ref == "ConsentStatus":
        attr.update(type="consent", topic=name.removeprefix("consent_").upper())
    elif isinstance(prop.get("enum"), list):
        attr.update(type="select", options=[{"value": str(v), "title": _title(str(v))} for v in prop["enum"]
                                            if v is not None])
    elif prop.get("type") == "boolean":
        attr["type"] = "boolean"
    elif prop.get("type") in ("number", "integer"):
        attr["type"] = "number"
    elif prop.get("type") == "string" and prop.get("format") == "date":
        attr["type"] = "date"
    elif prop.get("type") == "string" and prop.get("format") == "date-time":
        attr["type"] = "datetime"
    elif prop.get("type") == "string":
        attr["type"] = "string"
    elif prop.get("type") == "array" and _resolve(items).get("type") == "string":
        enum = _resolve(items).get("enum")
        if enum:
            attr.update(type="multiselect", options=[{"value": str(v)} for v in enum])
        else:
            attr["type"] = "tags"
    else:  # structured values (line items, dates, sources, S3 references...): kept as they are
        attr["type"] = "internal"
    attr["group"] = f"{slug}_relations" if attr["type"] == "relation" else f"{slug}_details"
    return attr


def _title_template(names: list[str]) -> str:
    if "first_name" in names and "last_name" in names:
        return "{{first_name}} {{last_name}}"
    for name in TITLE_ATTRIBUTES:
        if name in names:
            return "{{" + name + "}}"
    return "{{_id}}"


@lru_cache(maxsize=1)
def _blueprints() -> tuple[dict[str, Any], ...]:
    components = _components()
    out = []
    for slug, (component, category, plural, description) in CORE.items():
        attrs_schema = components[f"{component}Attributes"]
        props: dict[str, Any] = {}
        for part in attrs_schema.get("allOf", [attrs_schema]):
            props.update(_resolve(part).get("properties") or {})
        attributes = [attribute_for(slug, name, prop) for name, prop in props.items() if not name.startswith("_")]
        for order, attr in enumerate(attributes, start=1):
            attr["order"] = order * 10
        name = re.sub(r"(?<!^)([A-Z])", r" \1", component)
        capabilities = [copy.deepcopy(CAPABILITIES[c]) for c in SCHEMA_CAPABILITIES.get(slug, ("notes", "automation"))]
        for cap in capabilities:
            cap["id"] = part_id(slug, f"capability:{cap['name']}")
        out.append({
            "id": schema_id(slug), "slug": slug, "version": 1, "blueprint": part_id("blueprint", slug),
            "name": name, "plural": plural, "description": description, "category": category,
            "published": True, "draft": False, "icon": slug, "title_template": _title_template(list(props)),
            "docs_url": "https://docs.epilot.io/docs/entities/core-entities",
            "capabilities": capabilities,
            "group_settings": [
                {"id": f"{slug}_details", "label": f"{name} details", "order": 10, "expanded": True},
                {"id": f"{slug}_relations", "label": "Related entities", "order": 20, "expanded": False},
            ],
            "group_headlines": [],
            "attributes": attributes,
            "created_at": SCHEMAS_CREATED_AT, "updated_at": SCHEMAS_CREATED_AT,
            "source": {"id": part_id("blueprint", slug), "type": "blueprint"},
            "comment": "Core schema as epilot ships it",
        })
    return tuple(out)


def blueprints() -> list[dict[str, Any]]:
    """The 25 core schemas, fresh copies."""
    return copy.deepcopy(list(_blueprints()))


def available_capabilities() -> list[dict[str, Any]]:
    return copy.deepcopy(list(CAPABILITIES.values()))
