"""The Pricing API as epilot publishes it: error shape, security alternatives, optional fields, enums,
order fields, and the same figures from compute, orders, checkout and the portal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ORG, PORTAL

ROOT = Path(__file__).resolve().parents[1]
TARIFF = json.loads((ROOT / "examples" / "tariff-offer.json").read_text(encoding="utf-8"))
PUBLIC = {"X-Ivy-Org-ID": "739224"}
EPILOT_ORG = {"X-Epilot-Org-ID": "739224"}


def catalog_cart(client: Any) -> list[dict[str, Any]]:
    """Line items that name catalogue prices by id (the gas tariff of the pricing-offer scenario)."""
    found = client.post("/v1/public/catalog", json={"q": "_schema:product AND code:GAS-KLIMA-26", "size": 1},
                        headers=PUBLIC).json()["results"][0]
    base, energy = (r["entity_id"] for r in found["price_options"]["$relation"][:2])
    return [{"product_id": found["_id"], "price_id": base, "quantity": 1},
            {"product_id": found["_id"], "price_id": energy, "quantity": 1,
             "price_mappings": [{"price_id": energy, "frequency_unit": "yearly", "value": 12000}]}]


def test_errors_have_the_published_error_shape(client: Any) -> None:
    bad = {"line_items": [{"quantity": 1, "_price": {"unit_amount_decimal": "ten"}}]}
    r = client.post("/v1/pricing:compute", json=bad, headers=ORG)
    assert r.status_code == 400
    assert r.json() == {"message": "line_items[0]: 'ten' is not a decimal amount", "status": 400}
    r = client.post("/v1/pricing:compute", json={"line_items": []})
    assert r.status_code == 401 and isinstance(r.json()["message"], str) and "error" not in r.json()


def test_unknown_catalogue_ids_are_a_documented_4xx(client: Any) -> None:
    r = client.post("/v1/pricing:compute", json={"line_items": [{"price_id": "no-such-price"}]}, headers=ORG)
    assert r.status_code == 400 and "unknown price_id 'no-such-price'" in r.json()["message"]
    r = client.put("/v1/order/no-such-order", json={}, headers=ORG)
    assert r.status_code == 404 and r.json()["status"] == 404


def test_snapshots_are_priced_whatever_the_catalogue_knows(client: Any) -> None:
    item = {"product_id": "not-in-the-catalogue", "price_id": "neither", "quantity": 2,
            "_price": {"_id": "neither", "unit_amount_decimal": "10", "pricing_model": "per_unit"}}
    r = client.post("/v1/pricing:compute", json={"line_items": [item]}, headers=ORG)
    assert r.status_code == 200 and r.json()["amount_total"] == 2000


@pytest.mark.parametrize("tax", [{"type": "GST", "rate": 10}, {"type": "Custom", "rate": None},
                                 {"type": "VAT", "rate": "19"}])
def test_published_tax_types_and_a_null_rate_are_accepted(client: Any, tax: dict[str, Any]) -> None:
    item = {"quantity": 1, "_price": {"_id": "p", "unit_amount_decimal": "100", "is_tax_inclusive": False,
                                      "tax": [{"_id": "t", **tax}]}}
    r = client.post("/v1/pricing:compute", json={"line_items": [item]}, headers=ORG)
    assert r.status_code == 200, r.text
    rate = float(tax["rate"] or 0)
    assert r.json()["amount_total"] == round(10000 * (1 + rate / 100))


def test_bodies_and_fields_the_published_contract_leaves_optional(client: Any) -> None:
    assert client.post("/v1/pricing:compute", json={}, headers=ORG).json()["amount_total"] == 0
    order = client.post("/v1/order", json={"status": "draft"}, headers=ORG)
    assert order.status_code == 201 and order.json()["line_items"] == []
    checkout = client.post("/v1/public/cart:checkout", json={"mode": "create_quote"}, headers=PUBLIC)
    assert checkout.status_code == 200 and checkout.json()["order"]["status"] == "quote"
    promo = client.post("/v1/public/validate-promo-codes", json={}, headers={**PUBLIC, **ORG})
    assert promo.status_code == 200 and promo.json() == {"matched_coupons": []}
    recommendations = client.post("/v1/public/product-recommendations", json={}, headers={**PUBLIC, **ORG})
    assert recommendations.status_code == 200
    result = recommendations.json()
    assert result["hits"] == len(result["results"]) > 0
    first = result["results"][0]
    assert first["_schema"] == "product_recommendation" and first["type"] in ("change", "cross-sell", "up-sell")
    assert first["offers"][0]["items"][0]["price_id"]


@pytest.mark.parametrize("meter_type", ["classic", "smart", "digital"])
def test_compute_price_takes_the_published_meter_types_and_answers_a_breakdown(client: Any, meter_type: str) -> None:
    body = {"type": "power", "postal_code": "50670", "consumption": 3500, "meter_type": meter_type}
    r = client.post("/v1/public/integration/getag/compute-price", json=body, headers=EPILOT_ORG)
    assert r.status_code == 200, r.text
    price = r.json()
    static = price["breakdown"]["static"]
    assert set(static) == {"grid_base_fee", "metering_point_operation"}
    assert abs(price["amount_static"] - sum(part["amount"] for part in static.values())) <= 1  # cents of parts
    assert "amount_static_decimal" not in price
    without_body = client.post("/v1/public/integration/getag/compute-price", headers=EPILOT_ORG)
    assert without_body.status_code == 200 and without_body.json()["breakdown"]["variable"]


def test_security_alternatives(client: Any) -> None:
    # $checkoutCart and the catalog: anonymous or a public token
    for headers in (PUBLIC, {**PUBLIC, **ORG}):
        assert client.post("/v1/public/catalog", json={"q": "_schema:product"}, headers=headers).status_code == 200
    # promo codes, availability, spot market and recommendations need the public token
    r = client.post("/v1/public/validate-promo-codes", json={"promo_codes": ["X"]}, headers=PUBLIC)
    assert r.status_code == 401 and r.json()["status"] == 401
    params = {"market": "day_ahead", "bidding_zone": "DE-LU", "from": "2025-01-01", "to": "2025-01-02"}
    assert client.get("/v1/public/averageMarketPrice", params=params).status_code == 401
    assert client.get("/v1/public/averageMarketPrice", params=params, headers=ORG).status_code == 200


def test_deleting_credentials_is_204_even_when_none_are_saved(client: Any) -> None:
    for _ in range(2):
        assert client.delete("/v1/integration/external-catalog/credentials:delete", headers=ORG).status_code == 204
    oauth = {"auth_type": "oauth", "oauth": {"client_id": "c", "client_secret": "s", "grant_type": "client_credentials",
                                             "authorization_url": "https://auth.example/token"}}
    assert client.put("/v1/integration/getag/credentials:save", json=oauth, headers=ORG).status_code == 204
    assert client.get("/v1/integration/getag/credentials", headers=ORG).json() == oauth


def test_catalog_results_include_coupons(client: Any) -> None:
    r = client.post("/v1/catalog", json={"q": "_schema:coupon", "size": 3.0}, headers=ORG)
    assert r.status_code == 200
    coupons = r.json()["results"]
    assert coupons and all(c["_schema"] == "coupon" and c["category"] in ("discount", "cashback") for c in coupons)
    assert all("$relation" in c["prices"] for c in coupons)
    assert any(c.get("promo_codes") for c in coupons)


def test_providers_and_streets_in_the_published_shape(client: Any) -> None:
    body = {"type": "gas", "postal_code": "50670", "city": None}
    providers = client.post("/v1/public/integration/getag/providers:search", json=body, headers=EPILOT_ORG).json()
    assert providers[0]["type"] == "gas" and providers[0]["additionalData"]["gridOperators"][0]["codeNumber"]
    streets = client.post("/v1/public/integration/getag/streets:search", json={"postal_code": "50670", "city": None},
                          headers=EPILOT_ORG)
    assert streets.status_code == 200 and all("street" in s for s in streets.json())


def _figures(details: dict[str, Any]) -> dict[str, Any]:
    return {"amount_subtotal": details["amount_subtotal"], "amount_total": details["amount_total"],
            "amount_tax": details["amount_tax"], "total_details": details["total_details"]}


def test_compute_orders_checkout_and_portal_show_the_same_figures(fresh_client: Any) -> None:
    client = fresh_client
    contact = client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]
    for items in (TARIFF["line_items"], catalog_cart(client)):
        computed = client.post("/v1/pricing:compute", json={"line_items": items}, headers=ORG).json()
        created = client.post("/v1/order", json={"line_items": items, "contact": contact["_id"]}, headers=ORG)
        assert created.status_code == 201
        order = created.json()
        assert _figures(order) == _figures(computed) and order["line_items"] == computed["items"]
        assert order["_org_id"] == "739224" and order["customer"]["$relation"][0]["entity_id"] == contact["_id"]
        # putOrder with the priced line items sent back prices the same
        updated = client.put(f"/v1/order/{order['_id']}", json={"line_items": order["line_items"]}, headers=ORG)
        assert _figures(updated.json()) == _figures(computed)
        cart = {"line_items": items, "source_id": "journey-7", "metadata": [{"key": "campaign", "value": "spring"}],
                "customer": {"email": contact["email"][0]["email"]}}
        checkout = client.post("/v1/public/cart:checkout", json={"cart": cart}, headers=PUBLIC).json()["order"]
        assert _figures(checkout) == _figures(computed) and checkout["line_items"] == computed["items"]
        assert checkout["cart_id"] and checkout["source_id"] == "journey-7" and checkout["metadata"] == cart["metadata"]
        portal = client.get(f"/v2/portal/order/{checkout['_id']}", headers=PORTAL)
        assert portal.status_code == 200
        assert _figures(portal.json()["entity"]) == _figures(computed)
        assert portal.json()["entity"]["line_items"] == computed["items"]
    # the catalogue cart's order relates the prices and the product it was priced from
    assert {r["entity_id"] for r in checkout["prices"]["$relation"]} == {i["price_id"] for i in items}
    assert checkout["products"]["$relation"][0]["entity_id"] == items[0]["product_id"]


def test_a_portal_order_update_reprices_like_compute(fresh_client: Any) -> None:
    """updateOrder prices new line items and promo codes as compute does; amounts sent with them are
    not taken; a change that leaves the pricing alone leaves the figures alone; an unknown id is a 400
    that changes nothing."""
    client = fresh_client
    order = client.get("/v2/portal/order", headers=PORTAL).json()["data"][0]
    url = f"/v2/portal/order/{order['_id']}"
    promo = client.post("/v1/public/validate-promo-codes", json={"promo_codes": ["WILLKOMMEN"]},
                        headers={**PUBLIC, **ORG}).json()["matched_coupons"][0]
    items = [{**item, "pricing_model": "per_unit"} for item in catalog_cart(client)]  # the portal's schema wants it
    items[0]["coupon_ids"] = [promo["_id"]]
    body = {"line_items": items, "redeemed_promos": [{"code": "WILLKOMMEN", "coupons": [promo]}]}
    computed = client.post("/v1/pricing:compute", json=body, headers=ORG).json()
    assert computed["total_details"]["breakdown"]["cashbacks"]  # the redeemed code unlocks the cashback
    assert _figures(computed) != _figures(order)

    updated = client.patch(url, json=body, headers=PORTAL)
    assert updated.status_code == 200, updated.text
    stored = updated.json()["data"]
    assert _figures(stored) == _figures(computed) and stored["line_items"] == computed["items"]
    assert stored["redeemed_promos"] == body["redeemed_promos"]
    assert {r["entity_id"] for r in stored["prices"]["$relation"]} == {i["price_id"] for i in items}
    shown = client.get(url, headers=PORTAL).json()["entity"]
    assert _figures(shown) == _figures(computed) and shown["line_items"] == computed["items"]

    forged = client.patch(url, json={"amount_total": 1, "amount_tax": 0}, headers=PORTAL).json()["data"]
    assert _figures(forged) == _figures(computed)
    without = client.patch(url, json={"redeemed_promos": []}, headers=PORTAL).json()["data"]
    plain = client.post("/v1/pricing:compute", json={"line_items": without["line_items"]}, headers=ORG).json()
    assert not without["total_details"]["breakdown"]["cashbacks"] and _figures(without) == _figures(plain)
    tagged = client.patch(url, json={"_tags": ["portal"]}, headers=PORTAL).json()["data"]
    assert tagged["_tags"] == ["portal"] and _figures(tagged) == _figures(plain)

    unknown = [{"price_id": "no-such-price", "quantity": 1, "pricing_model": "per_unit"}]
    refused = client.patch(url, json={"line_items": unknown}, headers=PORTAL)
    assert refused.status_code == 400 and "no-such-price" in refused.json()["message"]
    assert client.get(url, headers=PORTAL).json()["entity"]["line_items"] == without["line_items"]


def test_signed_answers_are_stamped_by_the_app_clock(fresh_client: Any) -> None:
    """Spot market averages and GetAG answers carry ``_meta.timestamp``: the app's clock, which
    ``PUT /__admin/clock`` sets, not the wall clock."""
    client = fresh_client
    assert client.put("/__admin/clock", json={"now": "2027-03-01T08:00:00Z"}).status_code == 200
    pinned = 1_803_888_000_000  # 2027-03-01T08:00:00Z in epoch milliseconds
    params = {"market": "day_ahead", "bidding_zone": "DE-LU", "from": "2025-01-01", "to": "2025-01-02"}
    average = client.get("/v1/public/averageMarketPrice", params=params, headers=ORG).json()
    body = {"type": "power", "postal_code": "50670", "consumption": 3500}
    grid = client.post("/v1/public/integration/getag/compute-price", json=body, headers=EPILOT_ORG).json()
    providers = client.post("/v1/public/integration/getag/providers:search", json={"postal_code": "50670",
                            "type": "power"}, headers=EPILOT_ORG).json()
    assert average["_meta"]["timestamp"] == grid["_meta"]["timestamp"] == providers[0]["_meta"]["timestamp"] == pinned
