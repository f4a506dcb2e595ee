"""The world generator: schema validity, relation integrity, determinism, metering history,
customer isolation, portal records and world sizes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.loader import bundle
from mockserver.engine.oas_schema import SchemaCompiler, first_error
from mockserver.epilot.world import (
    PRESETS,
    RECORD_KINDS,
    WORLD_NOW,
    World,
    WorldSize,
    generate_world,
    parse_world_size,
)
from mockserver.epilot.world.banking import german_iban, iban_is_valid
from mockserver.epilot.world.metering import PROFILES, consumption_between, ma_lo_id_is_valid, reading_dates
from mockserver.epilot.world.money import major, two_places
from tests.conftest import ORG

ROOT = Path(__file__).resolve().parent.parent
ENTITIES_YAML = ROOT / "specs" / "components" / "entities.yaml"

SCHEMA_NAMES = {
    "contact": "Contact", "account": "Account", "partner": "Partner", "ticket": "Ticket",
    "opportunity": "Opportunity", "order": "Order", "product": "Product", "price": "Price", "tax": "Tax",
    "coupon": "Coupon", "contract": "Contract", "billing_account": "BillingAccount",
    "billing_event": "BillingEvent", "meter": "Meter", "meter_counter": "MeterCounter", "journey": "Journey",
    "submission": "Submission", "message": "Message", "email_template": "EmailTemplate", "campaign": "Campaign",
    "target": "Target", "product_recommendation": "ProductRecommendation", "file": "File", "comment": "Comment",
    "portal_user": "PortalUser",
}
RECORD_SCHEMAS = {
    "portal_config": "PortalConfigV3", "portal_page": "Page", "portal_block": "Block",
    "portal_widget": "PortalWidget", "email_templates": "EmailTemplates", "meter_reading": "MeterReading",
}
# (schema, relation attribute) -> schemas the relation may point at
RELATION_TARGETS = {
    ("contact", "account"): {"account"}, ("contact", "opportunities"): {"opportunity"},
    ("contact", "orders"): {"order"}, ("contact", "contracts"): {"contract"}, ("contact", "tickets"): {"ticket"},
    ("contact", "billing_accounts"): {"billing_account"}, ("account", "contacts"): {"contact"},
    ("ticket", "customer"): {"contact", "account"}, ("ticket", "contract"): {"contract"},
    ("opportunity", "customer"): {"contact", "account"}, ("opportunity", "orders"): {"order"},
    ("order", "customer"): {"contact", "account"}, ("order", "billing_contact"): {"contact"},
    ("order", "products"): {"product"}, ("order", "opportunities"): {"opportunity"},
    ("product", "price_options"): {"price"}, ("product", "product_downloads"): {"file"},
    ("price", "tax"): {"tax"}, ("price", "price_components"): {"price"}, ("coupon", "prices"): {"price"},
    ("contract", "customer"): {"contact", "account"}, ("contract", "billing_account"): {"billing_account"},
    ("contract", "order"): {"order"}, ("contract", "meters"): {"meter"},
    ("billing_account", "billing_contact"): {"contact"}, ("billing_account", "contact"): {"contact"},
    ("billing_account", "billing_events"): {"billing_event"}, ("billing_account", "contracts"): {"contract"},
    ("billing_event", "contract"): {"contract"}, ("billing_event", "billing_account"): {"billing_account"},
    ("meter", "contract"): {"contract"}, ("meter", "customer"): {"contact", "account"},
    ("meter", "counters"): {"meter_counter"}, ("meter_counter", "meter"): {"meter"},
    ("journey", "products"): {"product"}, ("journey", "campaign"): {"campaign"},
    ("submission", "journey"): {"journey"}, ("submission", "entities"): set(SCHEMA_NAMES),
    ("message", "attachments"): {"file"}, ("message", "context"): set(SCHEMA_NAMES),
    ("campaign", "journeys"): {"journey"}, ("campaign", "targets"): {"target"}, ("target", "campaign"): {"campaign"},
    ("product_recommendation", "source_product"): {"product"},
    ("product_recommendation", "source_price"): {"price"}, ("product_recommendation", "offers"): {"product", "price"},
    ("comment", "entity"): set(SCHEMA_NAMES), ("portal_user", "contact"): {"contact"},
}
# Relations stored on both sides: (schema, attribute, other schema, other attribute)
BOTH_WAYS = [
    ("contact", "contracts", "contract", "customer"), ("contact", "orders", "order", "customer"),
    ("contact", "opportunities", "opportunity", "customer"), ("contact", "tickets", "ticket", "customer"),
    ("contact", "billing_accounts", "billing_account", "contact"), ("contact", "account", "account", "contacts"),
    ("contract", "billing_account", "billing_account", "contracts"), ("contract", "meters", "meter", "contract"),
    ("meter", "counters", "meter_counter", "meter"),
    ("billing_account", "billing_events", "billing_event", "billing_account"),
    ("opportunity", "orders", "order", "opportunities"), ("campaign", "journeys", "journey", "campaign"),
    ("campaign", "targets", "target", "campaign"),
]
SHARED_SCHEMAS = {"product", "price", "tax", "coupon", "journey", "campaign", "target", "partner", "email_template",
                  "product_recommendation"}


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(0)


WIDE_WORLD = "customers=120,products=14,partners=9,campaigns=5"


@pytest.fixture(scope="module")
def wide_world() -> World:
    """More customers than `small`, so that rarer branches (business customers, terminated and
    approved contracts, heat pumps, open balances, regional tariffs) all occur."""
    return generate_world(11, parse_world_size(WIDE_WORLD))


@pytest.fixture(scope="module")
def entity_validators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One validator per core schema, from a bundle whose root references every `<Name>` of entities.yaml
    (the bundled API specs only hoist the entity schemas they use)."""
    names = [n for n in yaml.safe_load(ENTITIES_YAML.read_text()) if n in SCHEMA_NAMES.values()]
    assert sorted(names) == sorted(SCHEMA_NAMES.values())
    root = tmp_path_factory.mktemp("entities") / "openapi.yaml"
    root.write_text(yaml.safe_dump({
        "openapi": "3.0.3", "info": {"title": "core entities", "version": "1"}, "paths": {},
        "components": {"schemas": {"CoreEntity": {"anyOf": [{"$ref": f"{ENTITIES_YAML}#/{n}"} for n in names]}}},
    }))
    spec, _ = bundle(str(root), cache=False)
    compiler = SchemaCompiler(spec, "response")
    hoisted = spec["components"]["schemas"]
    out = {}
    for slug, name in SCHEMA_NAMES.items():
        assert name in hoisted, f"{name} not hoisted under its own name"
        out[slug] = compiler.compile({"$ref": f"#/components/schemas/{name}"})
    return out


@pytest.fixture(scope="module")
def portal_compiler() -> SchemaCompiler:
    spec, _ = bundle(str(ROOT / "specs" / "customer-portal" / "openapi.yaml"))
    return SchemaCompiler(spec, "response")


def by_id(w: World) -> dict[str, dict[str, Any]]:
    return {e["_id"]: e for e in w.entities}


def of(w: World, schema: str) -> list[dict[str, Any]]:
    return [e for e in w.entities if e["_schema"] == schema]


def relation_ids(entity: dict[str, Any], attribute: str) -> list[str]:
    value = entity.get(attribute)
    return [i["entity_id"] for i in value["$relation"]] if isinstance(value, dict) and "$relation" in value else []


def dump(w: World) -> bytes:
    return orjson.dumps({"org": w.org_id, "entities": w.entities, "records": w.records,
                         "logins": [vars(login) for login in w.portal_logins]})


# -- schemas ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_every_entity_validates_against_its_core_schema(fixture, request, entity_validators):
    w = request.getfixturevalue(fixture)
    assert {e["_schema"] for e in w.entities} == set(SCHEMA_NAMES), "every core schema is represented"
    problems = Counter()
    for entity in w.entities:
        error = first_error(entity_validators[entity["_schema"]], entity)
        if error:
            problems[f"{entity['_schema']}: {error}"] += 1
    assert not problems, problems.most_common(5)


@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_system_fields_and_timestamps(fixture, request):
    w = request.getfixturevalue(fixture)
    now = WORLD_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ids = [e["_id"] for e in w.entities]
    assert len(ids) == len(set(ids))
    for e in w.entities:
        assert e["_org"] == w.org_id
        assert e["_title"] and isinstance(e["_tags"], list)
        assert e["_created_at"] <= e["_updated_at"] <= now, e["_id"]


@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_every_record_validates_against_its_portal_schema(fixture, request, portal_compiler):
    w = request.getfixturevalue(fixture)
    assert set(w.records) == set(RECORD_KINDS)
    for kind, name in RECORD_SCHEMAS.items():
        validator = portal_compiler.compile({"$ref": f"#/components/schemas/{name}"})
        assert w.records[kind], kind
        for record_id, _, doc in w.records[kind]:
            assert first_error(validator, doc) is None, (kind, record_id, first_error(validator, doc))


def test_billing_events_satisfy_the_portal_billing_event_shape(world, portal_compiler):
    validator = portal_compiler.compile({"$ref": "#/components/schemas/BillingEvent"})
    events = of(world, "billing_event")
    assert {e["type"] for e in events} == {"installment", "reimbursement"}
    for event in events:
        assert first_error(validator, event) is None, first_error(validator, event)


# -- relations --------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_relations_point_at_existing_entities_of_the_right_schema(fixture, request):
    w = request.getfixturevalue(fixture)
    entities = by_id(w)
    seen = set()
    for e in w.entities:
        for attribute, value in e.items():
            if not (isinstance(value, dict) and "$relation" in value):
                continue
            key = (e["_schema"], attribute)
            assert key in RELATION_TARGETS, f"unexpected relation attribute {key}"
            seen.add(key)
            assert value["$relation"], f"empty relation {key} on {e['_id']}"
            for item in value["$relation"]:
                target = entities.get(item["entity_id"])
                assert target is not None, f"{key} of {e['_id']} points nowhere"
                assert item["_schema"] == target["_schema"] in RELATION_TARGETS[key], (key, target["_schema"])
        for item in e.get("_relations", []):
            assert entities[item["entity_id"]]["_schema"] == item["_schema"]
    if fixture == "wide_world":
        assert seen == set(RELATION_TARGETS), set(RELATION_TARGETS) - seen


@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_relations_stored_on_both_sides_agree(fixture, request):
    w = request.getfixturevalue(fixture)
    entities = by_id(w)
    for schema, attribute, other_schema, other_attribute in BOTH_WAYS:
        forward = {(e["_id"], t) for e in of(w, schema) for t in relation_ids(e, attribute)}
        backward = {(t, e["_id"]) for e in of(w, other_schema) for t in relation_ids(e, other_attribute)
                    if entities[t]["_schema"] == schema}
        assert forward == backward, (schema, attribute, len(forward ^ backward))
    assert len(forward) > 0


def test_line_items_reference_catalog_prices_and_add_up(wide_world):
    """Line items name catalogue prices and products and add up to the order. The pricing engine sums
    12-place amounts and rounds to cents once (epilot's library does), so a sum of rounded parts may
    differ from the rounded whole by less than half a cent per part; the exact figures are checked
    against ``POST /v1/pricing:compute`` below."""
    entities = by_id(wide_world)
    orders = of(wide_world, "order")
    models = Counter()
    for order in orders:
        items = order["line_items"]
        assert items
        assert abs(order["amount_total"] - sum(i["amount_total"] for i in items)) <= len(items) / 2
        assert abs(order["amount_subtotal"] - sum(i["amount_subtotal"] for i in items)) <= len(items) / 2
        assert abs(order["amount_tax"] - (order["amount_total"] - order["amount_subtotal"])) <= 1
        assert order["total_details"]["amount_tax"] == order["amount_tax"]
        (tax,) = order["total_details"]["breakdown"]["taxes"]  # one tax rate per seeded order
        assert tax["amount"] == order["amount_tax"]
        product_ids = set()
        for item in items:
            price, product = entities[item["price_id"]], entities[item["product_id"]]
            assert price["_schema"] == "price" and product["_schema"] == "product"
            assert item["price_id"] in relation_ids(product, "price_options")
            assert item["_price"]["_id"] == item["price_id"] and item["_product"]["_id"] == item["product_id"]
            product_ids.add(item["product_id"])
            mappings = {m["price_id"]: m["value"] for m in item.get("price_mappings", [])}
            for part in item.get("item_components", [item]):
                models[part["pricing_model"]] += 1
                assert part["amount_tax"] == sum(t["amount"] for t in part["taxes"])
                assert abs(part["amount_total"] - part["amount_subtotal"] - part["amount_tax"]) <= 1
                if entities[part["price_id"]].get("variable_price"):
                    assert mappings[part["price_id"]] > 0
            if item.get("is_composite_price"):
                components = item["item_components"]
                assert abs(item["amount_total"] - sum(c["amount_total"] for c in components)) <= len(components) / 2
            for coupon_id in item.get("coupon_ids", []):
                assert item["price_id"] in relation_ids(entities[coupon_id], "prices")
        assert set(relation_ids(order, "products")) == product_ids
    assert set(models) >= {"per_unit", "tiered_volume", "tiered_flatfee"}
    redeemed = [o for o in orders if o.get("redeemed_promos", [{}])[0].get("code") == "WILLKOMMEN"]
    promo = next(c for c in of(wide_world, "coupon") if c.get("requires_promo_code"))
    assert redeemed and promo["promo_codes"][0]["uses"] == len(redeemed)


def test_seeded_orders_are_priced_as_pricing_compute_prices_their_line_items():
    """Every order of the world shows the figures ``POST /v1/pricing:compute`` answers for its line
    items (and redeemed promo codes): the same items, totals and breakdowns, to the cent."""
    config = MockConfig(validate_responses=True, seed=11, options={"world_size": WIDE_WORLD})
    with TestClient(create_app(config)) as client:
        orders = client.post("/v1/entity:search", json={"q": "_schema:order", "size": 1000}, headers=ORG).json()
        assert orders["hits"] == len(orders["results"]) > 100
        seen = Counter()
        for order in orders["results"]:
            body = {"line_items": order["line_items"], "redeemed_promos": order.get("redeemed_promos", [])}
            computed = client.post("/v1/pricing:compute", json=body, headers=ORG)
            assert computed.status_code == 200, computed.text
            figures = computed.json()
            for key in ("amount_subtotal", "amount_total", "amount_tax", "total_details", "currency"):
                assert order[key] == figures[key], (order["order_number"], key)
            assert order["line_items"] == figures["items"], order["order_number"]
            seen.update(key for key, hit in (
                ("composite", any(i.get("is_composite_price") for i in order["line_items"])),
                ("tiered", any(str(i.get("pricing_model")).startswith("tiered") for i in order["line_items"])),
                ("cashback", bool(figures["total_details"]["breakdown"]["cashbacks"])),
                ("promo", bool(order.get("redeemed_promos")))) if hit)
    assert set(seen) == {"composite", "tiered", "cashback", "promo"}, seen


def test_contracts_meters_and_billing_are_consistent(wide_world):
    entities = by_id(wide_world)
    contracts = of(wide_world, "contract")
    assert {c["status"] for c in contracts} >= {"active", "terminated", "approved"}
    assert {c["contract_name"] for c in contracts} >= {"Ökostrom Flex", "Erdgas Klima", "Wärmepumpenstrom"}
    for contract in contracts:
        customer = relation_ids(contract, "customer")
        account = entities[relation_ids(contract, "billing_account")[0]]
        assert relation_ids(account, "contact") == customer
        assert contract["account_number"] == account["billing_account_number"]
        assert entities[relation_ids(contract, "order")[0]]["status"] in ("completed", "placed")
        for meter_id in relation_ids(contract, "meters"):
            meter = entities[meter_id]
            assert meter["sector"] == contract["branch"]
            assert relation_ids(meter, "customer") == customer
            assert ma_lo_id_is_valid(meter["ma_lo_id"])
            counters = [entities[c] for c in relation_ids(meter, "counters")]
            assert 1 <= len(counters) <= 3
            units = {c["unit"] for c in counters}
            assert units == ({"m3"} if meter["sector"] == "gas" else {"kWh"})
            if meter["tariff_type"] == "dual_tariff":
                assert {c["obis_number"] for c in counters} >= {"1-0:1.8.1", "1-0:1.8.2"}
        events = [entities[e] for e in relation_ids(account, "billing_events")
                  if relation_ids(entities[e], "contract") == [contract["_id"]]]
        installments = [e for e in events if e["type"] == "installment"]
        assert all(e["billing_amount"] == contract["installment_amount"] for e in installments)
        assert len(installments) <= 12
        if contract["status"] == "active" and contract["start_date"] < "2025-10-01":
            assert len(installments) == 12
        open_amount = sum(e["billing_amount"] for e in installments if "paid_date" not in e)
        assert contract["balance"] == open_amount
    for account in of(wide_world, "billing_account"):
        assert account["balance"] == sum(entities[c]["balance"] for c in relation_ids(account, "contracts"))
        assert account["balance_decimal"] == two_places(account["balance"])
        assert iban_is_valid(account["payment_method"][0]["data"]["iban"])
    assert any(a["balance"] > 0 for a in of(wide_world, "billing_account"))
    assert of(wide_world, "account"), "a few business customers"


# -- metering ---------------------------------------------------------------------------------
def _readings_by_counter(w: World) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, parent, doc in w.records["meter_reading"]:
        assert parent == doc["meter_id"]
        out[doc["counter_id"]].append(doc)
    return out


@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_readings_increase_monotonically_per_counter(fixture, request):
    w = request.getfixturevalue(fixture)
    entities = by_id(w)
    now = WORLD_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    readings = _readings_by_counter(w)
    assert readings
    for counter_id, docs in readings.items():
        counter = entities[counter_id]
        assert relation_ids(counter, "meter") == [docs[0]["meter_id"]]
        times = [d["timestamp"] for d in docs]
        values = [d["value"] for d in docs]
        assert times == sorted(times) and times[-1] < now
        assert all(a < b for a, b in pairwise(values)), counter_id
        assert all(d["direction"] == counter["direction"] for d in docs)
        assert counter["last_reading"] == values[-1] and counter["last_reading_date"] == times[-1]
        assert len(docs) <= 26


def test_reading_history_is_24_months_with_seasonal_consumption(wide_world):
    entities = by_id(wide_world)
    readings = _readings_by_counter(wide_world)
    full = {c: d for c, d in readings.items() if d[0]["reason"] == "regular" and d[-1]["reason"] == "regular"}
    assert len(full) > len(readings) / 2
    winter_over_summer = defaultdict(list)
    household = []
    for counter_id, docs in full.items():
        counter = entities[counter_id]
        meter = entities[relation_ids(counter, "meter")[0]]
        assert len(docs) == 24
        assert docs[0]["timestamp"].startswith("2024-11-30") and docs[-1]["timestamp"].startswith("2026-10-31")
        monthly = {d["timestamp"][:7]: d["value"] - p["value"] for p, d in pairwise(docs)}
        winter = monthly["2026-01"] + monthly["2026-02"]
        summer = monthly["2026-06"] + monthly["2026-07"]
        kind = "feed_in" if counter["direction"] == "feed-in" else (meter["used_for"] if meter["sector"] == "power"
                                                                    else "gas")
        winter_over_summer[kind].append(winter / summer)
        year = docs[-1]["value"] - docs[-13]["value"]
        account = relation_ids(entities[relation_ids(meter, "customer")[0]], "account")
        if kind == "household" and counter["obis_number"] == "1-0:1.8.0" and not account:
            household.append(year)
    assert min(winter_over_summer["gas"]) > 3
    assert min(winter_over_summer["heat_pump"]) > 2.5
    assert max(winter_over_summer["feed_in"]) < 0.5
    assert min(winter_over_summer["household"]) > 1
    assert household and all(1700 <= y <= 5100 for y in household), (min(household), max(household))


def test_reading_dates_cover_supply_periods():
    ongoing = reading_dates(date(2019, 5, 1), None)
    assert len(ongoing) == 24 and ongoing[0] == (date(2024, 11, 30), "regular")
    assert ongoing[-1] == (date(2026, 10, 31), "regular")
    moved_in = reading_dates(date(2025, 6, 15), date(2026, 3, 20))
    assert moved_in[0] == (date(2025, 6, 15), "first") and moved_in[-1] == (date(2026, 3, 20), "last")
    assert reading_dates(date(2026, 12, 1), None) == []
    assert reading_dates(date(2018, 1, 1), date(2023, 12, 31)) == []
    assert consumption_between("gas", 12000, date(2026, 1, 31), date(2026, 2, 28)) == pytest.approx(
        12000 * PROFILES["gas"][1])
    assert consumption_between("power", 3650, date(2025, 12, 31), date(2026, 12, 31)) == pytest.approx(3650)


# -- isolation, portal users, portal records ----------------------------------------------------
@pytest.mark.parametrize("fixture", ["world", "wide_world"])
def test_customer_data_is_isolated(fixture, request):
    """Relations between non-shared entities never connect two customers: every connected
    component holds at most one contact, and every non-shared entity is in a contact's component."""
    w = request.getfixturevalue(fixture)
    parent = {e["_id"]: e["_id"] for e in w.entities if e["_schema"] not in SHARED_SCHEMAS}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in w.entities:
        if e["_id"] not in parent:
            continue
        targets = [i["entity_id"] for v in e.values() if isinstance(v, dict) for i in v.get("$relation", [])]
        targets += [i["entity_id"] for i in e.get("_relations", [])]
        for t in targets:
            if t in parent:
                parent[find(e["_id"])] = find(t)
    contacts_per_component = Counter(find(c["_id"]) for c in of(w, "contact"))
    assert max(contacts_per_component.values()) == 1
    orphans = [e["_schema"] for e in w.entities if e["_id"] in parent and find(e["_id"]) not in contacts_per_component
               and not (e["_schema"] == "file" and all(r["_schema"] == "product" for r in e["_relations"]))]
    assert not orphans, Counter(orphans)


def test_portal_logins_are_demo_users_of_existing_portals(world, wide_world):
    for w in (world, wide_world):
        entities = by_id(w)
        portals = {doc["portal_id"]: doc["origin"] for _, _, doc in w.records["portal_config"]}
        logins = w.portal_logins
        assert logins[0].token == "demo-portal-token"
        assert [x.token for x in logins[1:3]] == ["demo-portal-token-2", "demo-portal-token-3"]
        assert len({x.token for x in logins}) == len(logins)
        for login in logins:
            user = entities[login.portal_user_id]
            assert user["_schema"] == "portal_user" and user["email"] == login.email
            assert relation_ids(user, "contact") == [login.contact_id]
            contact = entities[login.contact_id]
            assert contact["email"][0]["email"] == login.email
            assert login.display_name == f"{contact['first_name']} {contact['last_name']}"
            assert portals[login.portal_id] == user["origin"]
        assert portals[logins[0].portal_id] == "END_CUSTOMER_PORTAL"
        assert "INSTALLER_PORTAL" in {portals[x.portal_id] for x in logins}
    customers = [c for c in of(wide_world, "contact") if "Partner" not in c["_tags"]]
    end_customer = [x for x in wide_world.portal_logins if "Partner" not in by_id(wide_world)[x.contact_id]["_tags"]]
    assert 0.35 < len(end_customer) / len(customers) < 0.65


def test_first_customer_is_a_rich_demo_customer(world):
    entities = by_id(world)
    contact = entities[world.portal_logins[0].contact_id]
    contracts = [entities[c] for c in relation_ids(contact, "contracts")]
    assert {c["branch"] for c in contracts} == {"power", "gas"}
    assert all(c["status"] == "active" for c in contracts)
    counters = [entities[k] for c in contracts for m in relation_ids(c, "meters") for k in relation_ids(entities[m],
                                                                                                      "counters")]
    assert {c["obis_number"] for c in counters} >= {"1-0:2.8.0", "7-0:3.0.0"}
    assert relation_ids(contact, "opportunities") and relation_ids(contact, "tickets")


def test_portal_records_hang_together(world):
    entities = by_id(world)
    configs = {doc["origin"]: doc for _, _, doc in world.records["portal_config"]}
    assert set(configs) == {"END_CUSTOMER_PORTAL", "INSTALLER_PORTAL"}
    portal_ids = {doc["portal_id"] for doc in configs.values()}
    for config in configs.values():
        assert config["organization_id"] == world.org_id and config["domain"] and config["name"]
        assert all(entities[t]["_schema"] == "email_template" for t in config["email_templates"].values())
    templates = {rid: (parent, doc) for rid, parent, doc in world.records["email_templates"]}
    assert set(templates) == portal_ids
    for portal_id, (parent, doc) in templates.items():
        assert parent == portal_id and doc == next(c for c in configs.values()
                                                   if c["portal_id"] == portal_id)["email_templates"]
    pages = {rid: (parent, doc) for rid, parent, doc in world.records["portal_page"]}
    assert all(parent in portal_ids and doc["id"] == rid for rid, (parent, doc) in pages.items())
    for portal_id in portal_ids:
        entry = [d for p, d in pages.values() if p == portal_id and d["is_entry_route"]]
        assert len(entry) == 1 and entry[0]["slug"] == "dashboard"
    blocks = {rid: (parent, doc) for rid, parent, doc in world.records["portal_block"]}
    for block_id, (page_id, doc) in blocks.items():
        assert page_id in pages and doc["id"] == block_id
        assert doc["parentId"] == "" or blocks[doc["parentId"]][0] == page_id
    widgets = [(parent, doc) for _, parent, doc in world.records["portal_widget"]]
    assert all(parent in portal_ids for parent, _ in widgets)
    campaign = next(d for _, d in widgets if d["type"] == "CAMPAIGN_WIDGET")
    assert entities[campaign["campaign_id"]]["_schema"] == "campaign"


# -- catalog and customer details ---------------------------------------------------------------
def test_catalog_has_tariffs_hardware_taxes_and_coupons(world):
    entities = by_id(world)
    assert sorted(float(t["rate"]) for t in of(world, "tax")) == [7, 19]
    prices = of(world, "price")
    energy = [p for p in prices if p.get("variable_price")]
    assert energy and all(p["unit"] == "kwh" and p["type"] == "recurring" for p in energy)
    assert any(p["unit"] == "month" and p["billing_period"] == "monthly" for p in prices)
    assert {p["pricing_model"] for p in prices} >= {"per_unit", "tiered_volume", "tiered_graduated", "tiered_flatfee"}
    composite = [p for p in prices if p["is_composite_price"]]
    assert composite and all(entities[c]["_schema"] == "price" for p in composite
                             for c in relation_ids(p, "price_components"))
    one_time = {p["description"] for p in prices if p["type"] == "one_time"}
    assert {"Photovoltaik-Anlage 10 kWp", "Wallbox 11 kW"} <= one_time
    for price in prices:
        if not price["is_composite_price"]:
            assert entities[relation_ids(price, "tax")[0]]["_schema"] == "tax"
    coupons = {c["name"]: c for c in of(world, "coupon")}
    assert any(c["type"] == "percentage" and c["percentage_value"] == "10" for c in coupons.values())
    assert any(c["category"] == "cashback" and c["fixed_value"] == 5000 for c in coupons.values())
    promo = [c for c in coupons.values() if c.get("requires_promo_code")]
    assert promo[0]["promo_codes"][0]["code"] == "WILLKOMMEN"
    assert len(of(world, "product")) == PRESETS["small"].products


def test_contacts_look_german(world):
    for contact in of(world, "contact"):
        address = contact["address"][0]
        assert len(address["postal_code"]) == 5 and address["postal_code"].isdigit()
        assert address["country"] == "DE" and address["city"]
        assert all(p["phone"].startswith("+49 ") for p in contact["phone"])
        if "Partner" not in contact["_tags"]:
            assert contact["customer_number"].startswith("K-")
            assert iban_is_valid(contact["payment"][0]["data"]["iban"])
    emails = [c["email"][0]["email"] for c in of(world, "contact")]
    assert len(emails) == len(set(emails))


def test_money_and_bank_helpers():
    assert german_iban("37040044", "0532013000") == "DE89370400440532013000"
    assert not iban_is_valid("DE88370400440532013000")
    assert major(1000) == "10" and major(84033.6134453781) == "840.336134453781" and major(0) == "0"
    assert two_places(8990) == "89.90" and two_places(-5) == "-0.05"


# -- determinism and sizes ----------------------------------------------------------------------
def test_same_seed_gives_the_same_world_and_another_seed_another(world):
    again = generate_world(0)
    assert dump(again) == dump(world)
    other = generate_world(1)
    assert dump(other) != dump(world)
    assert {e["_id"] for e in other.entities}.isdisjoint(e["_id"] for e in world.entities)


def test_same_seed_gives_the_same_world_in_another_process(world):
    """Byte-identical across interpreter runs too (string hashing is randomized per process)."""
    script = ("import hashlib, orjson; from mockserver.epilot.world import generate_world; w = generate_world(0); "
              "print(hashlib.sha256(orjson.dumps({'org': w.org_id, 'entities': w.entities, 'records': w.records, "
              "'logins': [vars(x) for x in w.portal_logins]})).hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env,
                         cwd=ROOT)
    assert out.stdout.strip() == hashlib.sha256(dump(world)).hexdigest()


def test_world_timestamps_come_from_the_world_clock(world):
    latest = max(e["_updated_at"] for e in world.entities)
    assert latest <= WORLD_NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert datetime.fromisoformat(latest.replace("Z", "+00:00")).year == WORLD_NOW.year


def test_sizes_scale_the_world(world):
    bigger = generate_world(0, WorldSize(customers=40, products=12, partners=4, campaigns=3))
    counts, small = bigger.schema_counts(), world.schema_counts()
    assert counts["billing_account"] == 40 and small["billing_account"] == PRESETS["small"].customers
    assert counts["product"] == 12 and counts["partner"] == 4 and counts["campaign"] == 3
    assert len(bigger.entities) > len(world.entities)


@pytest.mark.parametrize(("text", "expected"), [
    ("small", PRESETS["small"]),
    (" Medium ", PRESETS["medium"]),
    ("large", PRESETS["large"]),
    ("customers=500", WorldSize(customers=500)),
    ("customers=500,products=20", WorldSize(customers=500, products=20)),
    ("customers = 7 , partners=2, campaigns=1", WorldSize(customers=7, partners=2, campaigns=1)),
    ("medium,products=30", WorldSize(customers=500, products=30, partners=8, campaigns=4)),
])
def test_parse_world_size_accepts(text, expected):
    assert parse_world_size(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("huge", "unknown world size 'huge'"),
    ("customers", "needs a value"),
    ("medium,products", "invalid world size part"),
    ("customers=", "whole number"),
    ("customers=abc", "whole number"),
    ("customers=-5", "whole number"),
    ("customers=1.5", "whole number"),
    ("customers=0", "between 1 and"),
    ("customers=100001", "between 1 and"),
    ("products=3", "between 9 and"),
    ("meters=10", "unknown world size key 'meters'"),
    ("customers=5,customers=6", "given twice"),
    ("small,large", "invalid world size part"),
    ("=5", "invalid world size part"),
])
def test_parse_world_size_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_world_size(text)


def test_generate_world_rejects_bad_arguments():
    with pytest.raises(ValueError, match="customers"):
        generate_world(0, WorldSize(customers=0))
    with pytest.raises(TypeError):
        generate_world("0")  # type: ignore[arg-type]


@pytest.mark.slow
def test_large_world_has_at_least_100000_entities():
    w = generate_world(0, PRESETS["large"])
    assert len(w.entities) >= 100_000
    assert w.record_counts()["meter_reading"] > 100_000
