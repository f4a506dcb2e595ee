"""Pricing API behaviours: price computation, orders and checkout in the world, the catalog,
promo codes, availability, spot market prices and external integrations.

Prices are computed by ``mockserver.epilot.pricing`` (epilot's pricing library's rules and
arithmetic). Line items are priced from their embedded snapshots, or from the world's catalogue by
id; every order write prices through :func:`.pricing_store.priced_order`.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.store.base import Query

from ..pricing import (
    CatalogQueryError,
    average_market_price,
    compute_pricing_details,
    historic_market_prices,
    matches,
    parse_catalog_query,
    sort_entities,
)
from ..pricing import parse_sort as parse_catalog_sort
from . import BehaviourSet
from . import common as c
from .pricing_store import StoreCatalog, catalog_relations, org_known, priced, priced_order

behaviours = BehaviourSet("pricing")
AVAILABILITY_KIND = "availability_file"  # records: a product's availability rules as CSV text
CREDENTIALS_KIND = "integration_credentials"
AVAILABILITY_COLUMNS = ("postal_code", "city", "street", "street_number", "start_date", "end_date")


# -- compute, orders, checkout --------------------------------------------------------------------

@behaviours("$calculatePricingDetails", reads_only=True)
def calculate_pricing_details(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    result = priced(compute_pricing_details, body.get("line_items") or [],
                    redeemed_promos=body.get("redeemed_promos"), catalog=StoreCatalog(call))
    return call.json(result)


def _order_attributes(call: Call, payload: dict[str, Any], catalog: StoreCatalog,
                      missing: str = "unknown_reference") -> tuple[dict, dict | None]:
    """The order's attributes, priced. ``missing``: the error kind for ids in the payload that name
    nothing (a 400 where a 404 would say that the addressed order does not exist)."""
    pricing = priced_order(call, payload, catalog=catalog, missing=missing)
    attributes = {k: v for k, v in payload.items()
                  if k not in ("contact", "line_items", "payment_method", "billing_address", "delivery_address")}
    attributes.update(pricing)
    for key in ("billing_address", "delivery_address"):
        if isinstance(payload.get(key), list):
            attributes[key] = [_address(a) for a in payload[key] if isinstance(a, dict)]
    methods = [m for m in (_payment_method(m) for m in payload.get("payment_method") or []) if m]
    if methods:
        attributes["payment_method"] = methods
    attributes.setdefault("status", "draft")
    attributes["_org_id"] = c.world(call).org_id
    catalog_relations(call, attributes, pricing["line_items"])
    contact = None
    if payload.get("contact"):
        contact = c.store(call).get(payload["contact"])
        if contact is None or contact.get("_schema") != "contact":
            raise Reject(missing, f"contact {payload['contact']} not found")
        c.add_relation(attributes, "customer", contact)
    return attributes, contact


def _address(address: dict[str, Any]) -> dict[str, Any]:
    """An order address as stored: null fields are absent fields."""
    return {k: v for k, v in address.items() if v is not None}


PAYMENT_TYPES = {"payment_sepa": "payment_sepa", "sepa": "payment_sepa", "iban": "IBAN", "payment_invoice":
                 "payment_invoice", "invoice": "payment_invoice", "transfer": "payment_invoice"}


def _payment_method(method: Any) -> dict[str, Any] | None:
    """An order payload's payment method (free-form ``type``) as the order entity's PaymentMethod."""
    if not isinstance(method, dict):
        return None
    kind = PAYMENT_TYPES.get(str(method.get("type", "")).lower())
    if kind is None:
        return None
    out: dict[str, Any] = {"type": kind}
    if isinstance(method.get("details"), dict):
        out["details"] = method["details"]
    return out


def create_order_in_world(call: Call, payload: dict[str, Any], catalog: StoreCatalog) -> dict[str, Any]:
    attributes, contact = _order_attributes(call, payload, catalog)
    w = c.world(call)
    attributes["order_number"] = f"OR-{w.new_id()[:8].upper()}"
    attributes["_title"] = attributes["order_number"]
    with w.store.transaction():
        order = c.create_entity(call, "order", attributes)
        if contact is not None:
            c.add_relation(contact, "orders", order)
            c.save(call, c.apply_patch(call, contact, {}))
    return order


@behaviours("createOrder")
def create_order(call: Call) -> Any:
    return call.json(create_order_in_world(call, call.body, StoreCatalog(call)), status=201)


@behaviours("putOrder")
def put_order(call: Call) -> Any:
    existing = c.store(call).get(call.params["id"])
    if existing is None or existing.get("_schema") != "order":
        raise Reject("not_found", f"order {call.params['id']} not found")
    attributes, contact = _order_attributes(call, call.body, StoreCatalog(call), missing="bad_request")
    attributes["_org_id"] = existing.get("_org_id") or attributes["_org_id"]
    for key in ("order_number", "_title"):
        if existing.get(key):
            attributes[key] = existing[key]
    order = c.save(call, c.apply_patch(call, existing, attributes, replace=True))
    if contact is not None and order["_id"] not in c.relation_ids(contact.get("orders")):
        c.add_relation(contact, "orders", order)
        c.save(call, c.apply_patch(call, contact, {}))
    return call.json(order)


@behaviours("$checkoutCart")
def checkout_cart(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    cart = body.get("cart") or {}
    if isinstance(cart, str):
        raise Reject("not_found", f"cart {cart} not found (stored carts are not part of the mock; send the cart)")
    mode = body.get("mode") or "create_order"
    payload: dict[str, Any] = {"line_items": cart.get("line_items") or [],
                               "redeemed_promos": body.get("redeemed_promos") or [],
                               "status": "quote" if mode == "create_quote" else cart.get("status", "placed"),
                               "source_type": cart.get("source_type") or "journey",
                               "cart_id": c.world(call).new_id()}
    for key in ("source_id", "source", "metadata", "journey_data"):
        if cart.get(key) is not None:
            payload[key] = cart[key]
    customer = cart.get("customer") or {}
    for src, dst in (("first_name", "billing_first_name"), ("last_name", "billing_last_name"),
                     ("email", "billing_email"), ("phone", "billing_phone"), ("company_name", "billing_company_name"),
                     ("vat_id", "billing_vat")):
        if customer.get(src):
            payload[dst] = customer[src]
    for key in ("billing_address", "delivery_address"):
        if isinstance(cart.get(key), dict):
            payload[key] = [cart[key]]
    if isinstance(cart.get("additional_addresses"), list):
        payload.setdefault("delivery_address", []).extend(
            a for a in cart["additional_addresses"] if isinstance(a, dict))
    if isinstance(cart.get("payment_method"), dict):
        payload["payment_method"] = [cart["payment_method"]]
    if cart.get("tags"):
        payload["_tags"] = cart["tags"]
    catalog = StoreCatalog(call, org_known(call))
    payload["contact"] = _contact_for_checkout(call, customer)
    if payload["contact"] is None:
        payload.pop("contact")
    order = create_order_in_world(call, payload, catalog)
    return call.json({"order": order})


def _contact_for_checkout(call: Call, customer: dict[str, Any]) -> str | None:
    if not customer.get("email"):
        return None
    from .portal.users import contacts_by_email

    found = contacts_by_email(call, customer["email"])
    return found[0]["_id"] if found else None


# -- catalog and promo codes ------------------------------------------------------------------------

def _catalog_entities(call: Call, known: bool) -> list[dict[str, Any]]:
    if not known:
        return []
    page = c.store(call).query(Query(schemas=("product", "price", "coupon"), limit=100_000,
                                     sort=(("_created_at", False),)))
    return page.items


def _whole(value: Any, default: int) -> int:
    """A paging number (a JSON number, maybe fractional or negative) as a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return default
    return max(0, min(int(value), 1_000_000))


def _search_catalog(call: Call, known: bool) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    try:
        node = parse_catalog_query(body.get("q") or "")
        keys = parse_catalog_sort(body["sort"]) if body.get("sort") else []
    except CatalogQueryError as exc:
        raise Reject("bad_request", f"invalid catalog query: {exc}") from None
    found = [e for e in _catalog_entities(call, known) if matches(node, e)]
    if keys:
        found = sort_entities(found, keys)
    offset, size = _whole(body.get("from"), 0), _whole(body.get("size"), 50)
    results = found[offset:offset + size]
    fields = body.get("fields")
    if isinstance(fields, list) and fields:
        keep = {str(f) for f in fields}  # plus the entity's own fields (_id, _schema, _title, ...)
        results = [{k: v for k, v in e.items() if k in keep or k.startswith("_")} for e in results]
    return call.json({"hits": len(found), "results": results})


@behaviours("$searchCatalog", reads_only=True)
def search_catalog(call: Call) -> Any:
    return _search_catalog(call, org_known(call))


@behaviours("$privateSearchCatalog", reads_only=True)
def private_search_catalog(call: Call) -> Any:
    return _search_catalog(call, True)


@behaviours("$validatePromoCodes")
def validate_promo_codes(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    codes = {str(code).strip().lower() for code in body.get("promo_codes") or []}
    wanted = set(body.get("coupon_ids") or [])
    coupons = c.store(call).query(Query(schemas=("coupon",), limit=10_000)).items if org_known(call) else []
    matched = [cp for cp in coupons if cp.get("active", True)
               and (not wanted or cp["_id"] in wanted)
               and any(str(p.get("code", "")).lower() in codes for p in cp.get("promo_codes") or []
                       if isinstance(p, dict))]
    return call.json({"matched_coupons": matched})


# -- availability --------------------------------------------------------------------------------

def parse_availability(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rules from an availability file (CSV: postal_code,city,street,street_number,start_date,end_date;
    a header line is allowed; empty fields match anything; a postal code may end with *)."""
    rules, errors = [], []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row) or row[0].strip().startswith("#"):
            continue
        if line_no == 1 and row[0].strip().lower() == "postal_code":
            continue
        if len(row) != len(AVAILABILITY_COLUMNS):
            errors.append({"line": line_no, "msg": f"expected {len(AVAILABILITY_COLUMNS)} columns, got {len(row)}"})
            continue
        rule = dict(zip(AVAILABILITY_COLUMNS, (cell.strip() for cell in row), strict=True))
        if rule["postal_code"] and not re.fullmatch(r"\d{1,5}\*?", rule["postal_code"]):
            errors.append({"line": line_no, "msg": f"invalid postal code '{rule['postal_code']}'"})
            continue
        bad_date = next((rule[k] for k in ("start_date", "end_date") if rule[k] and not _is_date(rule[k])), None)
        if bad_date is not None:
            errors.append({"line": line_no, "msg": f"invalid date '{bad_date}' (expected YYYY-MM-DD)"})
            continue
        rules.append(rule)
    return rules, errors


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _rule_matches(rule: dict[str, Any], location: dict[str, Any], on: str | None) -> bool:
    code = str(location.get("postal_code") or "")
    pattern = rule["postal_code"]
    if pattern and not (code.startswith(pattern[:-1]) if pattern.endswith("*") else code == pattern):
        return False
    for key in ("city", "street", "street_number"):
        if rule[key] and rule[key].lower() != str(location.get(key) or "").lower():
            return False
    too_early = bool(on and rule["start_date"] and on < rule["start_date"])
    too_late = bool(on and rule["end_date"] and on > rule["end_date"])
    return not (too_early or too_late)


def available(call: Call, product_id: str, location: dict[str, Any], on: str | None) -> tuple[bool, str, int]:
    """Whether the product is available at the location on the date, why, and how many rules match."""
    record = c.store(call).record_get(AVAILABILITY_KIND, product_id)
    if record is None:
        return True, "no availability rules: available everywhere", 0
    rules, _errors = parse_availability(record.get("content", ""))
    hits = sum(1 for rule in rules if _rule_matches(rule, location, on))
    if hits:
        return True, "matches an availability rule", hits
    return False, "no availability rule matches the location and date", 0


@behaviours("$availabilityCheck")
def availability_check(call: Call) -> Any:
    body = call.body
    location = body["filters"].get("location") or {}
    on = body["filters"].get("available_date")
    results, ok = [], []
    known = org_known(call)
    for product_id in body["products"]:
        product = c.store(call).get(product_id) if known else None
        if product is None or product.get("_schema") != "product":
            results.append({"product_id": product_id, "matching_hits": 0, "available": False,
                            "reason": "unknown product"})
            continue
        is_available, reason, hits = available(call, product_id, location, on)
        results.append({"product_id": product_id, "matching_hits": hits, "available": is_available,
                        "reason": reason})
        if is_available:
            ok.append(product_id)
    return call.json({"available_products": ok, "check_results": results})


@behaviours("$validateAvailabilityFile")
def validate_availability_file(call: Call) -> Any:
    record = c.store(call).record_get(AVAILABILITY_KIND, call.params["id"])
    if record is None:
        raise Reject("not_found", f"no availability file for {call.params['id']}")
    rules, errors = parse_availability(record.get("content", ""))
    return call.json({"status": "error" if errors else "success", "rules_parsed_count": len(rules), "errors": errors})


# -- spot market ------------------------------------------------------------------------------------

def _market_meta(call: Call) -> dict[str, Any]:
    return {"signature": f"mock-{c.world(call).org_id}", "timestamp": int(c.world(call).clock.time() * 1000)}


@behaviours("$historicMarketPrices")
def historic_prices(call: Call) -> Any:
    p = call.params
    prices = priced(historic_market_prices, market=p["market"], bidding_zone=p["bidding_zone"],
                     frequency=p["frequency"], start=p["from"], end=p["to"], seed=call.services.config.seed)
    return call.json({"market": p["market"], "bidding_zone": p["bidding_zone"], "prices": prices})


@behaviours("$averageMarketPrice")
def average_price(call: Call) -> Any:
    p = call.params
    price = priced(average_market_price, market=p["market"], bidding_zone=p["bidding_zone"], start=p["from"],
                    end=p["to"], seed=call.services.config.seed)
    return call.json({"market": p["market"], "bidding_zone": p["bidding_zone"], "price": price,
                      "_meta": _market_meta(call)})


# -- external integrations ------------------------------------------------------------------------

@behaviours("$saveCredentials")
def save_credentials(call: Call) -> Any:
    if isinstance(call.body, dict):  # without a body there is nothing to save
        c.store(call).record_put(CREDENTIALS_KIND, call.params["integrationId"], dict(call.body))
    return call.empty()


@behaviours("$getCredentials")
def get_credentials(call: Call) -> Any:
    record = c.store(call).record_get(CREDENTIALS_KIND, call.params["integrationId"])
    if record is None:
        raise Reject("not_found", f"no credentials saved for integration {call.params['integrationId']}")
    return call.json(record)


@behaviours("$deleteCredentials")
def delete_credentials(call: Call) -> Any:
    c.store(call).record_delete(CREDENTIALS_KIND, call.params["integrationId"])  # deleting nothing is done too
    return call.empty()
