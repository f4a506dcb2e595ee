"""Pricing API: the external integrations (GetAG grid fees: providers, streets, prices) and the
external catalog / product recommendations, consistent with the world and deterministic.

Grid fees depend only on the postal code (a stable hash picks the grid operator and its fees), so the
same location always prices the same; products are the world's tariffs priced by the pricing engine.
"""

from __future__ import annotations

import zlib
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.store.base import Query

from ..pricing import compute_pricing_details, js_number_string
from . import common as c
from .pricing import behaviours
from .pricing_store import StoreCatalog, priced

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


def _meta(call: Call, *parts: str) -> dict[str, Any]:
    w = c.world(call)
    return {"signature": f"{_hash(w.org_id, *parts):08x}", "timestamp": int(w.clock.time() * 1000)}


def _money(cents: Decimal) -> tuple[int, str]:
    value = cents.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(value), js_number_string(cents / 100)


DEFAULT_SUPPLIERS = (("Rheinische Energie AG", "9900080000007"), ("E.ON Energie Deutschland GmbH", "9900211000006"),
                     ("Vattenfall Europe Sales GmbH", "9900102000004"),
                     ("EnBW Energie Baden-Württemberg AG", "9900085000003"))
CONTROL_ZONES = (("Amprion", "10YDE-RWENET---I"), ("TenneT", "10YDE-EON------1"),
                 ("TransnetBW", "10YDE-ENBW-----N"), ("50Hertz", "10YDE-VE-------2"))


def _provider(call: Call, name: str, code: str, energy: str, postal_code: str) -> dict[str, Any]:
    seed = _hash(postal_code, energy)
    supplier = DEFAULT_SUPPLIERS[seed % len(DEFAULT_SUPPLIERS)]
    if energy == "gas":
        area = {"gasType": "H-Gas" if seed % 3 else "L-Gas", "marketArea": "THE", "virtualTradingPoint": "THE VHP"}
    else:
        zone = CONTROL_ZONES[seed % len(CONTROL_ZONES)]
        area = {"controlZone": zone[0], "balancingZone": zone[1]}
    return {"name": name, "code": code, "type": energy,
            "additionalData": {"gridOperators": [{"name": name, "codeNumber": code, "validFrom": "2024-01-01"}],
                               "defaultSuppliers": [{"name": supplier[0], "codeNumber": supplier[1]}],
                               "marketAreaDetails": area},
            "_meta": _meta(call, postal_code, energy, code)}


@behaviours("$searchProviders")
def search_providers(call: Call) -> Any:
    body = call.body
    start = _hash(body["postal_code"], body["type"]) % len(GRID_OPERATORS)
    count = 1 + _hash(body["postal_code"]) % 2
    operators = (GRID_OPERATORS[(start + i) % len(GRID_OPERATORS)] for i in range(count))
    return call.json([_provider(call, name, code, body["type"], body["postal_code"]) for name, code in operators])


@behaviours("$searchStreets")
def search_streets(call: Call) -> Any:
    body = call.body
    city = str(body.get("city") or "").lower()  # a null city: every street of the postal code
    known = set()
    page = c.store(call).query(Query(schemas=("contact",), limit=100_000))
    for contact in page.items:
        for address in contact.get("address") or []:
            if isinstance(address, dict) and address.get("postal_code") == body["postal_code"] \
                    and (not city or str(address.get("city", "")).lower() == city) and address.get("street"):
                known.add(address["street"])
    seed = _hash(body["postal_code"], city)
    generic = {STREET_NAMES[(seed + i * 7) % len(STREET_NAMES)] for i in range(5)}
    return call.json([{"street": s} for s in sorted(known | generic)])


METER_FEES = {"classic": Decimal(2000), "digital": Decimal(2500), "smart": Decimal(6000)}  # cents a year


def _fee(cents: Decimal, unit: Decimal | None = None) -> dict[str, Any]:
    amount, decimal = _money(cents)
    out: dict[str, Any] = {"amount": amount, "amount_decimal": decimal}
    if unit is not None:
        out["unit_amount"], out["unit_amount_decimal"] = _money(unit)
    return out


@behaviours("$computePrice")
def compute_price(call: Call) -> Any:
    """GetAG-style grid fees: a static part (grid base fee, metering) and variable parts per kWh (grid
    usage, concession levy), high and low tariff, for the billing period."""
    with localcontext() as ctx:  # any JSON number of kWh, up to 1.8e308, computes exactly
        ctx.prec, ctx.Emax, ctx.Emin = 800, 999_999, -999_999
        return _compute_price(call)


def _compute_price(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    energy = body.get("type") or "power"
    postal_code = str(body.get("postal_code") or "")
    seed = _hash(postal_code, energy)
    period = body.get("billing_period") or "yearly"
    per_year = Decimal(PERIODS_PER_YEAR.get(period, 1))
    meter = METER_FEES.get(body.get("meter_type") or "classic", METER_FEES["classic"])
    base_year = Decimal(7000 + seed % 4000)  # cents per year
    grid_ht = Decimal(500 + seed % 350) / 100  # cents per kWh
    levy = Decimal(166 if energy == "power" else 22) / 100
    unit_ht = grid_ht + levy
    unit_nt = (unit_ht * Decimal("0.6")).quantize(Decimal("0.01"))
    consumption = body.get("consumption")
    consumption = Decimal(str(consumption)) if isinstance(consumption, int | float) else Decimal(DEFAULT_CONSUMPTION)
    consumption_ht = Decimal(str(body["consumption_HT"])) if isinstance(body.get("consumption_HT"), int | float) \
        else consumption
    consumption_nt = Decimal(str(body["consumption_NT"])) if isinstance(body.get("consumption_NT"), int | float) \
        else Decimal(0)
    static = (base_year + meter) / per_year
    variable_ht = unit_ht * consumption_ht / per_year
    variable_nt = unit_nt * consumption_nt / per_year
    out: dict[str, Any] = {"currency": "EUR", "billing_period": period}
    out["amount_total"], out["amount_total_decimal"] = _money(static + variable_ht + variable_nt)
    out["amount_static"] = _money(static)[0]
    out["amount_variable_ht"], out["amount_variable_decimal_ht"] = _money(variable_ht)
    out["unit_amount_variable_ht"], out["unit_amount_variable_decimal_ht"] = _money(unit_ht)
    if consumption_nt:
        out["amount_variable_nt"], out["amount_variable_decimal_nt"] = _money(variable_nt)
        out["unit_amount_variable_nt"], out["unit_amount_variable_decimal_nt"] = _money(unit_nt)
    variable = {"grid_usage": _fee(grid_ht * consumption_ht / per_year, grid_ht),
                "concession_levy": _fee(levy * consumption_ht / per_year, levy)}
    out["breakdown"] = {
        "static": {"grid_base_fee": _fee(base_year / per_year), "metering_point_operation": _fee(meter / per_year)},
        "variable": variable,
        "variable_ht": {"grid_usage": _fee(grid_ht * consumption_ht / per_year, grid_ht)},
        "variable_nt": {"grid_usage": _fee(unit_nt * consumption_nt / per_year, unit_nt)} if consumption_nt else {},
    }
    out["_meta"] = _meta(call, postal_code, energy, period)
    return call.json(out)


def _tariff_items(call: Call) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
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


def _consumption(context: Any) -> int:
    """The yearly consumption a journey (a number input block) or a portal context (variable inputs) gives."""
    if not isinstance(context, dict):
        return DEFAULT_CONSUMPTION
    for value in context.get("variable_inputs") or []:
        if isinstance(value, dict) and isinstance(value.get("value"), int | float) and value["value"] > 0:
            return int(value["value"])
    for step in context.get("steps_data") or []:
        blocks = step.get("blocks") if isinstance(step, dict) else None
        for block in (blocks or {}).values() if isinstance(blocks, dict) else ():
            if isinstance(block, dict):
                for key in ("consumption", "numberInput", "annual_consumption"):
                    value = block.get(key)
                    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                        return int(min(value, 10**9))
    return DEFAULT_CONSUMPTION


def _priced_products(call: Call, context: dict[str, Any]) -> list[dict[str, Any]]:
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
        details = priced(compute_pricing_details, items, catalog=catalog)
        results.append({"pricing_details": details, "_meta": _meta(call, product["_id"], str(consumption))})
    return results


@behaviours("$searchExternalProducts")
def search_external_products(call: Call) -> Any:
    results = _priced_products(call, call.body["context"])
    return call.json({"hits": len(results), "results": results})


@behaviours("$getExternalCatalogProducts")
def external_catalog_products(call: Call) -> Any:
    results = _priced_products(call, call.body.get("context"))
    return call.json({"hits": len(results), "results": results})


def _recommendations(call: Call) -> Any:
    results = _priced_products(call, call.body.get("context"))
    if not results:  # a world without tariffs: the empty cart as the source
        source = {"pricing_details": priced(compute_pricing_details, []), "_meta": _meta(call, "empty")}
        return call.json({"source": source, "offers": []})
    return call.json({"source": results[0], "offers": results[1:]})


@behaviours("$searchExternalProductRecommendations")
def search_external_product_recommendations(call: Call) -> Any:
    return _recommendations(call)


@behaviours("$getExternalCatalogProductRecommendations")
def external_catalog_product_recommendations(call: Call) -> Any:
    return _recommendations(call)


RECOMMENDATION_TYPES = {"cross_sell": "cross-sell", "up_sell": "up-sell", "change": "change"}


def _recommendation(st: Any, recommendation: dict[str, Any]) -> dict[str, Any]:
    """A product recommendation entity as the API answers it: its offers as price/product items."""
    out = {k: v for k, v in recommendation.items() if k != "offers"}
    kind = recommendation.get("type")
    out["type"] = RECOMMENDATION_TYPES.get(kind, kind) if kind in RECOMMENDATION_TYPES else "cross-sell"
    offers = []
    for product in st.get_many(c.relation_ids(recommendation.get("offers"))).values():
        if product.get("_schema") != "product":
            continue
        items = [{"product_id": product["_id"], "price_id": price_id}
                 for price_id in c.relation_ids(product.get("price_options"))]
        offers.append({"target_id": product["_id"], "items": items})
    out["offers"] = offers
    return out


@behaviours("$productRecommendations", reads_only=True)
def product_recommendations(call: Call) -> Any:
    """The organization's product recommendations: those named, else those whose source is the catalog
    item's product or price, or one of the contract's products."""
    st = c.store(call)
    body = call.body if isinstance(call.body, dict) else {}
    org = call.headers.get("X-Ivy-Org-ID")
    if org is not None and org != c.world(call).org_id:
        return call.json({"hits": 0, "results": []})
    wanted = body.get("product_recommendation_ids")
    if isinstance(wanted, list) and wanted:
        found = [e for e in st.get_many([str(i) for i in wanted]).values()
                 if e.get("_schema") == "product_recommendation"]
    else:
        found = st.query(Query(schemas=("product_recommendation",), limit=10_000)).items
        sources: set[str] = set()
        item = body["catalog_item"] if isinstance(body.get("catalog_item"), dict) else {}
        sources.update(str(item[k]) for k in ("product_id", "price_id") if item.get(k))
        contract = st.get(str(body["contract_id"])) if body.get("contract_id") else None
        if contract is not None and contract.get("_schema") == "contract":
            sources.update(c.relation_ids(contract.get("products")))
            sources.update(c.relation_ids(contract.get("prices")))
        if sources or body.get("contract_id"):
            found = [e for e in found if sources & (set(c.relation_ids(e.get("source_product")))
                                                    | set(c.relation_ids(e.get("source_price"))))]
    results = [_recommendation(st, e) for e in found]
    return call.json({"hits": len(results), "results": results})
