"""Pricing API: the external integrations (GetAG grid fees: providers, streets, prices) and the
external catalog / product recommendations, consistent with the world and deterministic.

Grid fees depend only on the postal code (a stable hash picks the grid operator and its fees), so the
same location always prices the same; products are the world's tariffs priced by the pricing engine.
"""

from __future__ import annotations

import time
import zlib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mockserver.engine.store.base import Query

from ..pricing import compute_pricing_details, js_number_string
from . import common as c
from .pricing import StoreCatalog, _priced, behaviours

GRID_OPERATORS = (
    ("Westnetz GmbH", "9900357000004"), ("Rheinische NETZGesellschaft mbH", "9900077000005"),
    ("Stromnetz Berlin GmbH", "9900103000006"), ("SWM Infrastruktur GmbH & Co. KG", "9900357000011"),
    ("Netze BW GmbH", "9900102000007"), ("E.DIS Netz GmbH", "9900093000008"), ("Avacon Netz GmbH", "9900045000009"),
    ("Bayernwerk Netz GmbH", "9900051000001"), ("Stromnetz Hamburg GmbH", "9900074000002"),
    ("Mitteldeutsche Netzgesellschaft Strom mbH", "9900081000003"),
)
STREET_NAMES = ("Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Dorfstraße", "Bergstraße",
                "Lindenstraße", "Kirchstraße", "Am Markt", "Ringstraße", "Waldweg", "Mühlenweg")
PERIODS_PER_YEAR = {"monthly": 12, "yearly": 1, "every_quarter": 4, "every_6_months": 2, "weekly": 52}
DEFAULT_CONSUMPTION = 3500


def _hash(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


def _meta(call: Any, *parts: str) -> dict[str, Any]:
    return {"signature": f"{_hash(c.world(call).org_id, *parts):08x}", "timestamp": int(time.time() * 1000)}


def _money(cents: Decimal) -> tuple[int, str]:
    value = cents.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(value), js_number_string(cents / 100)


@behaviours("$searchProviders")
def search_providers(call: Any) -> Any:
    body = call.body
    start = _hash(body["postal_code"], body["type"]) % len(GRID_OPERATORS)
    count = 1 + _hash(body["postal_code"]) % 2
    return call.json([{"name": name, "code": code}
                      for name, code in (GRID_OPERATORS[(start + i) % len(GRID_OPERATORS)] for i in range(count))])


@behaviours("$searchStreets")
def search_streets(call: Any) -> Any:
    body = call.body
    known = set()
    page = c.store(call).query(Query(schemas=("contact",), limit=100_000))
    for contact in page.items:
        for address in contact.get("address") or []:
            if isinstance(address, dict) and address.get("postal_code") == body["postal_code"] \
                    and str(address.get("city", "")).lower() == body["city"].lower() and address.get("street"):
                known.add(address["street"])
    seed = _hash(body["postal_code"], body["city"].lower())
    generic = {STREET_NAMES[(seed + i * 7) % len(STREET_NAMES)] for i in range(5)}
    return call.json([{"street": s} for s in sorted(known | generic)])


@behaviours("$computePrice")
def compute_price(call: Any) -> Any:
    body = call.body
    seed = _hash(body["postal_code"], body["type"])
    period = body.get("billing_period") or "yearly"
    per_year = PERIODS_PER_YEAR.get(period, 1)
    static_year = Decimal(9000 + seed % 4000)  # cents per year, 90-130 €
    unit_ht = Decimal(700 + seed % 450) / 100  # cents per kWh, 7.00-11.50 ct
    unit_nt = (unit_ht * Decimal("0.6")).quantize(Decimal("0.01"))
    consumption_ht = Decimal(str(body.get("consumption_HT", body["consumption"])))
    consumption_nt = Decimal(str(body.get("consumption_NT", 0)))
    static = static_year / per_year
    variable_ht = unit_ht * consumption_ht / per_year
    variable_nt = unit_nt * consumption_nt / per_year
    total = static + variable_ht + variable_nt
    out: dict[str, Any] = {"currency": "EUR", "billing_period": period}
    for key, cents in (("amount_total", total), ("amount_static", static)):
        out[key], out[f"{key}_decimal"] = _money(cents)
    out["amount_variable_ht"], out["amount_variable_decimal_ht"] = _money(variable_ht)
    out["unit_amount_variable_ht"], out["unit_amount_variable_decimal_ht"] = _money(unit_ht)
    if consumption_nt:
        out["amount_variable_nt"], out["amount_variable_decimal_nt"] = _money(variable_nt)
        out["unit_amount_variable_nt"], out["unit_amount_variable_decimal_nt"] = _money(unit_nt)
    out["_meta"] = _meta(call, body["postal_code"], body["type"], period)
    return call.json(out)


def _tariff_items(call: Any) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The world's energy tariffs: (product, its prices)."""
    st = c.store(call)
    out = []
    for product in st.query(Query(schemas=("product",), limit=1000)).items:
        if product.get("type") != "service" or not product.get("price_options"):
            continue
        prices = [p for p in st.get_many(c.relation_ids(product["price_options"])).values()
                  if p.get("type") == "recurring" and not p.get("is_composite_price")]
        if prices:
            out.append((product, prices))
    return out


def _consumption(context: dict[str, Any]) -> int:
    for step in context.get("steps_data") or []:
        for block in (step.get("blocks") or {}).values():
            if isinstance(block, dict):
                for key in ("consumption", "numberInput", "annual_consumption"):
                    value = block.get(key)
                    if isinstance(value, (int, float)) and value > 0:
                        return int(value)
    return DEFAULT_CONSUMPTION


def _priced_products(call: Any, context: dict[str, Any]) -> list[dict[str, Any]]:
    consumption = _consumption(context)
    catalog = StoreCatalog(call)
    results = []
    for product, prices in _tariff_items(call):
        items = []
        for price in prices:
            item: dict[str, Any] = {"price_id": price["_id"], "product_id": product["_id"], "quantity": 1}
            if price.get("variable_price") or str(price.get("pricing_model", "")).startswith("tiered"):
                item["price_mappings"] = [{"price_id": price["_id"], "frequency_unit": "yearly",
                                           "value": consumption}]
            items.append(item)
        details = _priced(compute_pricing_details, items, catalog=catalog)
        results.append({"pricing_details": details, "_meta": _meta(call, product["_id"], str(consumption))})
    return results


@behaviours("$searchExternalProducts")
def search_external_products(call: Any) -> Any:
    results = _priced_products(call, call.body["context"])
    return call.json({"hits": len(results), "results": results})


@behaviours("$getExternalCatalogProducts")
def external_catalog_products(call: Any) -> Any:
    results = _priced_products(call, call.body["context"])
    return call.json({"hits": len(results), "results": results})


def _recommendations(call: Any) -> Any:
    results = _priced_products(call, call.body["context"])
    if not results:
        return call.json({"offers": []})
    return call.json({"source": results[0], "offers": results[1:]})


@behaviours("$searchExternalProductRecommendations")
def search_external_product_recommendations(call: Any) -> Any:
    return _recommendations(call)


@behaviours("$getExternalCatalogProductRecommendations")
def external_catalog_product_recommendations(call: Any) -> Any:
    return _recommendations(call)


@behaviours("$productRecommendations")
def product_recommendations(call: Any) -> Any:
    st = c.store(call)
    wanted = call.body["product_recommendation_ids"]
    results = []
    for recommendation in st.get_many(wanted).values():
        if recommendation.get("_schema") != "product_recommendation":
            continue
        for offer in st.get_many(c.relation_ids(recommendation.get("offers"))).values():
            if offer.get("_schema") != "product":
                continue
            prices = st.get_many(c.relation_ids(offer.get("price_options")))
            for price in prices.values():
                details = _priced(compute_pricing_details, [{"price_id": price["_id"], "product_id": offer["_id"],
                                                             "quantity": 1}], catalog=StoreCatalog(call))
                item = dict(details["items"][0])
                item.update({"_title": offer.get("name", offer["_title"]), "_org": c.world(call).org_id,
                             "_schema": "product_recommendation"})
                results.append(item)
    return call.json({"hits": len(results), "results": results})
