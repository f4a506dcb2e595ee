"""Hand-computed cases for the pricing engine (``$calculatePricingDetails``).

Arithmetic notation in the comments: amounts are exact decimals; ``q12(x)`` is x rounded half-even
at 12 places (every multiplication and division); ``c(x)`` is x in cents rounded half away from
zero (only at the end). Every result is validated against the bundled ``PricingDetails`` schema.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mockserver.engine.loader import bundle
from mockserver.engine.oas_schema import SchemaCompiler, first_error
from mockserver.epilot.pricing import (
    DictCatalog,
    PricingInputError,
    UnknownCatalogIdError,
    compute_pricing_details,
    js_number_string,
    price_order_payload,
)

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "pricing" / "openapi.yaml"
VAT19 = {"_id": "tax-19", "type": "VAT", "rate": "19", "active": True}
VAT7 = {"_id": "tax-7", "type": "VAT", "rate": "7", "active": True}


@pytest.fixture(scope="module")
def compiler() -> SchemaCompiler:
    spec, _ = bundle(str(SPEC_PATH))
    return SchemaCompiler(spec, "response")


@pytest.fixture(scope="module")
def compute(compiler: SchemaCompiler) -> Any:
    validator = compiler.compile({"$ref": "#/components/schemas/PricingDetails"})

    def run(line_items: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        result = compute_pricing_details(line_items, **kwargs)
        error = first_error(validator, result)
        assert error is None, error
        return result

    return run


def price(amount: str | None = "100", *, _id: str = "price-1", tax: Any = None, **fields: Any) -> dict[str, Any]:
    snapshot: dict[str, Any] = {"_id": _id, "pricing_model": "per_unit", "type": "one_time", **fields}
    if amount is not None:
        snapshot["unit_amount_decimal"] = amount
    if tax is not None:
        snapshot["tax"] = tax
    return snapshot


def line(snapshot: dict[str, Any], quantity: Any = 1, **fields: Any) -> dict[str, Any]:
    return {"price_id": snapshot["_id"], "quantity": quantity, "_price": snapshot, **fields}


def recurrence(result: dict[str, Any], price_type: str, period: str) -> dict[str, Any]:
    (found,) = [r for r in result["total_details"]["breakdown"]["recurrences"]
                if r["type"] == price_type and r["billing_period"] == period]
    return found


# --- per unit and taxes ----------------------------------------------------------------------


def test_per_unit_tax_exclusive(compute: Any) -> None:
    item = compute([line(price("10", tax=[VAT19], is_tax_inclusive=False), quantity=3)])["items"][0]
    # tax unit = 10 * 0.19 = 1.9; gross unit = 11.9
    assert (item["unit_amount"], item["unit_amount_net"], item["unit_amount_gross"]) == (1000, 1000, 1190)
    # subtotal = 10 * 3 = 30; total = 11.9 * 3 = 35.7; tax = 1.9 * 3 = 5.7
    assert (item["amount_subtotal"], item["amount_total"]) == (3000, 3570)
    assert (item["amount_total_decimal"], item["taxes"][0]["amount"]) == ("35.7", 570)


def test_tax_inclusive_defaults_to_true(compute: Any) -> None:
    item = compute([line(price("119", tax=[VAT19]))])["items"][0]
    # no is_tax_inclusive anywhere -> inclusive: net = 119 / 1.19 = 100, tax = 19
    assert (item["amount_subtotal"], item["amount_total"], item["taxes"][0]["amount"]) == (10000, 11900, 1900)


def test_unit_amount_from_line_then_price(compute: Any) -> None:
    # the line's unit_amount_decimal wins over the price's
    assert compute([line(price("10"), unit_amount_decimal="7")])["amount_total"] == 700
    # without one anywhere the amount is 0
    assert compute([line(price(None))])["amount_total"] == 0


# --- price mappings and billing periods ---------------------------------------------------------


def variable(amount: str, period: str | None, **fields: Any) -> dict[str, Any]:
    extra = {"type": "recurring", "billing_period": period} if period else {"type": "one_time"}
    return price(amount, _id="work", variable_price=True, is_tax_inclusive=False, **{**extra, **fields})


def mapped(snapshot: dict[str, Any], value: Any, unit: str, quantity: Any = 1) -> dict[str, Any]:
    return line(snapshot, quantity, price_mappings=[{"price_id": "work", "frequency_unit": unit, "value": value}])


@pytest.mark.parametrize(("value", "unit", "period", "quantity", "total_decimal"), [
    # q12(3500 / 12) = 291.666666666667; q12(0.3 * 291.666666666667) = q12(87.5000000000001) = 87.5
    (3500, "yearly", "monthly", 1, "87.5"),
    (100, "monthly", "weekly", 1, "7.5"),  # monthly -> weekly is / 4: 25 * 0.3
    (10, "weekly", "monthly", 1, "12"),  # weekly -> monthly is * 4: 40 * 0.3
    (5200, "yearly", "weekly", 1, "30"),  # yearly -> weekly is / 52: 100 * 0.3
    (1000, "yearly", "every_quarter", 1, "75"),  # / 4: 250 * 0.3
    (1000, "yearly", "every_6_months", 1, "150"),  # / 2: 500 * 0.3
    (100, "every_quarter", "yearly", 1, "120"),  # * 4: 400 * 0.3
    (1200, "yearly", "monthly", 2, "60"),  # 1200 / 12 = 100; multiplier 100 * 2 = 200; 200 * 0.3
    (3500, "yearly", None, 1, "1050"),  # one-time prices are not converted: 3500 * 0.3
    (100, "one_time", "monthly", 1, "30"),  # a one-time mapping value is not converted: 100 * 0.3
])
def test_mapping_converted_to_billing_period(compute: Any, value: int, unit: str, period: str | None,
                                             quantity: int, total_decimal: str) -> None:
    item = compute([mapped(variable("0.3", period), value, unit, quantity)])["items"][0]
    assert item["amount_total_decimal"] == total_decimal


# --- tiers ----------------------------------------------------------------------------------------

TIERS = [
    {"up_to": 1000, "unit_amount": 30, "unit_amount_decimal": "0.30"},
    {"up_to": 2000, "unit_amount": 25, "unit_amount_decimal": "0.25"},
    {"up_to": None, "unit_amount": 20, "unit_amount_decimal": "0.20"},
]


def tiered(model: str, tiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return price(None, _id="work", pricing_model=model, tiers=tiers or TIERS, is_tax_inclusive=False,
                 type="recurring", billing_period="yearly")


def test_tiered_graduated_at_bound_and_without_mapping(compute: Any) -> None:
    at_bound = compute([mapped(tiered("tiered_graduated"), 1000, "yearly")])["items"][0]
    # 1000 falls entirely in tier 1: 1000 * 0.30
    assert at_bound["amount_total_decimal"] == "300" and len(at_bound["tiers_details"]) == 1
    unmapped = compute([line(tiered("tiered_graduated"), quantity=5)])["items"][0]
    # no mapping: the first tier * 1, whatever the quantity: 0.30
    assert unmapped["amount_total_decimal"] == "0.3"


def test_tiered_flatfee(compute: Any) -> None:
    flat = [{"up_to": 1000, "flat_fee_amount": 5000, "flat_fee_amount_decimal": "50"},
            {"up_to": None, "flat_fee_amount": 8000, "flat_fee_amount_decimal": "80"}]
    snapshot = tiered("tiered_flatfee", flat)
    # 1000 is at up_to: tier 1's fee 50
    assert compute([mapped(snapshot, 1000, "yearly")])["amount_total"] == 5000
    # 1001 -> tier 2's fee 80, * quantity 2 because a mapping is used
    assert compute([mapped(snapshot, 1001, "yearly", quantity=2)])["amount_total"] == 16000
    # no mapping: value 1 -> tier 1, fee * 1 whatever the quantity
    assert compute([line(snapshot, quantity=3)])["amount_total"] == 5000


# --- coupons ----------------------------------------------------------------------------------


def coupon(_id: str, category: str, kind: str, value: str, **fields: Any) -> dict[str, Any]:
    snapshot: dict[str, Any] = {"_id": _id, "category": category, "type": kind,
                                "_created_at": "2024-01-01T00:00:00.000Z", **fields}
    if kind == "percentage":
        snapshot["percentage_value"] = value
    else:
        snapshot.update(fixed_value=int(Decimal(value) * 100), fixed_value_decimal=value, fixed_value_currency="EUR")
    return snapshot


def test_percentage_discount_tax_inclusive(compute: Any) -> None:
    snapshot = price("100", tax=[VAT19], is_tax_inclusive=True)
    item = compute([line(snapshot, 2, _coupons=[coupon("c10", "discount", "percentage", "10")])])["items"][0]
    # unit = 100 - 100 * 0.10 = 90; net = q12(90 / 1.19) = 75.630252100840; tax = 14.369747899160
    assert (item["unit_amount"], item["unit_amount_net_decimal"]) == (9000, "75.63025210084")
    # total = 90 * 2 = 180; subtotal = 75.63025210084 * 2 = 151.26050420168 -> 15126
    assert (item["amount_total"], item["amount_subtotal"], item["taxes"][0]["amount"]) == (18000, 15126, 2874)
    # before: 100 * 2 = 200; discount = 200 - 180 = 20
    assert (item["before_discount_amount_total"], item["discount_amount"]) == (20000, 2000)
    assert (item["before_discount_unit_amount"], item["unit_discount_amount"]) == (10000, 1000)
    # net discount per unit = 84.033613445378 - 75.630252100840 = 8.403361344538
    assert item["unit_discount_amount_net_decimal"] == "8.403361344538"
    # tax before = 15.966386554622 * 2 = 31.932773109244; after = 14.36974789916 * 2 = 28.73949579832
    assert item["before_discount_tax_amount_decimal"] == "31.932773109244"
    assert item["tax_discount_amount_decimal"] == "3.193277310924"  # 31.932773109244 - 28.73949579832
    assert item["discount_percentage"] == 10
    assert item["_coupons"][0]["_id"] == "c10"


@pytest.mark.parametrize(("value", "unit_cents"), [
    ("2", 300),  # 5 - 2 = 3
    ("8", 0),  # capped at the unit amount: 5 - min(8, 5) = 0
])
def test_fixed_discount_is_capped(compute: Any, value: str, unit_cents: int) -> None:
    item = compute([line(price("5"), 2, _coupons=[coupon("f", "discount", "fixed", value)])])["items"][0]
    assert (item["unit_amount"], item["amount_total"]) == (unit_cents, 2 * unit_cents)
    assert "discount_percentage" not in item


def test_percentage_is_clamped_to_100(compute: Any) -> None:
    item = compute([line(price("5"), _coupons=[coupon("p", "discount", "percentage", "150")])])["items"][0]
    # 150 % clamps to 100 %: 5 - 5 = 0
    assert (item["amount_total"], item["discount_percentage"], item["discount_amount"]) == (0, 100, 500)


@pytest.mark.parametrize(("coupons", "applied"), [
    # cashback before discount
    ([coupon("d", "discount", "percentage", "50"), coupon("cb", "cashback", "percentage", "1")], "cb"),
    # percentage before fixed, even when the fixed one is worth more
    ([coupon("fx", "discount", "fixed", "30"), coupon("pc", "discount", "percentage", "10")], "pc"),
    # larger value first
    ([coupon("p10", "discount", "percentage", "10"), coupon("p20", "discount", "percentage", "20")], "p20"),
    ([coupon("f5", "discount", "fixed", "5"), coupon("f7", "discount", "fixed", "7")], "f7"),
    # same value: the older one first
    ([coupon("new", "discount", "percentage", "10", _created_at="2024-05-01T00:00:00Z"),
      coupon("old", "discount", "percentage", "10", _created_at="2023-05-01T00:00:00Z")], "old"),
])
def test_coupon_ranking_only_the_best_applies(compute: Any, coupons: list[dict[str, Any]], applied: str) -> None:
    item = compute([line(price("100"), _coupons=coupons)])["items"][0]
    assert [c["_id"] for c in item["_coupons"]] == [applied]


def test_promo_code_gated_coupon(compute: Any) -> None:
    gated = coupon("gated", "discount", "percentage", "20", requires_promo_code=True)
    plain = coupon("plain", "discount", "percentage", "10")
    items = [line(price("100"), _coupons=[gated, plain])]
    # not redeemed: the gated 20 % is skipped, 10 % applies -> 90
    assert compute(items)["amount_total"] == 9000
    promos = [{"code": "SUMMER24", "coupons": [{"_id": "gated"}]}]
    result = compute(items, redeemed_promos=promos)
    # redeemed: 20 % applies -> 80
    assert result["amount_total"] == 8000
    assert result["redeemed_promos"] == promos


# --- composite prices ---------------------------------------------------------------------------


def test_component_amount_comes_from_its_line_not_its_price(compute: Any) -> None:
    composite = {"is_composite_price": True, "quantity": 1, "_price": {"_id": "c", "is_composite_price": True},
                 "item_components": [{"price_id": "a", "quantity": 1, "_price": price("10", _id="a")}]}
    # epilot prices a component from the line's unit_amount_decimal, which defaults to "0"
    assert compute([composite])["amount_total"] == 0


# --- display modes and currency ---------------------------------------------------------------


def test_currency_is_upper_cased_and_taken_from_the_first_item(compute: Any) -> None:
    result = compute([line(price("1", _id="a", unit_amount_currency="chf")),
                      line(price("1", _id="b", unit_amount_currency="EUR"))])
    assert [i["currency"] for i in result["items"]] == ["CHF", "EUR"]
    assert result["currency"] == "CHF"


def test_no_line_items(compute: Any) -> None:
    result = compute([])
    assert (result["items"], result["amount_total"], result["currency"]) == ([], 0, "EUR")
    assert result["total_details"]["breakdown"] == {"taxes": [], "recurrences": [], "recurrencesByTax": [],
                                                    "cashbacks": []}


# --- rounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "cents", "decimal"), [
    ("0.125", 13, "0.125"),  # half a cent rounds away from zero: 12.5 -> 13
    ("-0.125", -13, "-0.125"),  # and for negative amounts: -12.5 -> -13
    ("0.135", 14, "0.135"),  # not half-even: 13.5 -> 14 (half-even would also give 14)
    ("0.145", 15, "0.145"),  # 14.5 -> 15 (half-even would give 14)
    ("0.0049999", 0, "0.0049999"),  # below half a cent
    ("1.0000000000009", 100, "1"),  # unit_amount_decimal is truncated after 12 places, not rounded
    ("0.9999999999999", 100, "0.999999999999"),  # truncated to 0.999999999999, then 99.9999999999 cents -> 100
])
def test_cents_round_half_away_from_zero(compute: Any, amount: str, cents: int, decimal: str) -> None:
    item = compute([line(price(amount, is_tax_inclusive=False))])["items"][0]
    assert (item["amount_total"], item["amount_total_decimal"]) == (cents, decimal)


def test_amount_tax_is_not_total_minus_subtotal(compute: Any) -> None:
    result = compute([
        line(price("490.59", _id="a", tax=[VAT19], is_tax_inclusive=False)),
        line(price("4.6139", _id="b", is_tax_inclusive=False)),
    ])
    # subtotal = 490.59 + 4.6139 = 495.2039 -> 49520
    # tax = 490.59 * 0.19 = 93.2121 -> 9321
    # total = 583.8021 + 4.6139 = 588.416 -> 58842, and 58842 - 49520 = 9322 != 9321
    assert (result["amount_total"], result["amount_subtotal"], result["amount_tax"]) == (58842, 49520, 9321)
    # the items' own cents add up to 58380 + 461 = 58841: totals are not sums of rounded items
    assert sum(i["amount_total"] for i in result["items"]) == 58841


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("10.000000000000"), "10"),  # the semantics' examples
    (Decimal("8.403361344538"), "8.403361344538"),
    (Decimal("71.400000000000"), "71.4"),
    (Decimal("-0.000000000000"), "0"),  # negative zero prints as 0
    (Decimal("-12.5"), "-12.5"),
    (Decimal("0.000001"), "0.000001"),  # JavaScript switches to exponents below 1e-6 ...
    (Decimal("0.0000001"), "1e-7"),
    (Decimal("0.000000000012"), "1.2e-11"),
    (Decimal("1e20"), "100000000000000000000"),  # ... and at 1e21
    (Decimal("1e21"), "1e+21"),
    (Decimal("123456789012345678.9"), "123456789012345678.9"),  # every digit, where a double would round
    (Decimal("1.5E+3"), "1500"),
    (42, "42"),
    (-7, "-7"),
])
def test_js_number_string(value: Decimal | int, text: str) -> None:
    assert js_number_string(value) == text


def test_js_number_string_rejects_floats_and_non_finite_values() -> None:
    with pytest.raises(TypeError):
        js_number_string(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a finite number"):
        js_number_string(Decimal("NaN"))


# --- recurrences and tax breakdown ------------------------------------------------------------


# --- the energy tariff ------------------------------------------------------------------------


# --- catalog lookups, orders and invalid input -------------------------------------------------

# Relations point at entity ids, which are UUIDs.
TAX_ID = "18bbbc2e-2c37-4f91-924a-07ae60d830e4"
SOLAR_ID = "9c36c23b-1574-4193-beff-b1b5e1124bc7"
TAX_ENTITY = {**VAT19, "_id": TAX_ID, "_schema": "tax"}
PRICE_ENTITY = {"_id": SOLAR_ID, "_schema": "price", "unit_amount": 100000, "unit_amount_decimal": "1000",
                "unit_amount_currency": "EUR", "pricing_model": "per_unit", "type": "one_time",
                "is_tax_inclusive": True, "tax": {"$relation": [{"entity_id": TAX_ID}]}}
PRODUCT_ENTITY = {"_id": "prod-solar", "_schema": "product", "name": "Solar Panel Module"}
COUPON_ENTITY = {**coupon("c-5", "discount", "percentage", "5"), "_schema": "coupon"}


@pytest.fixture
def catalog() -> DictCatalog:
    return DictCatalog.of([TAX_ENTITY, PRICE_ENTITY, PRODUCT_ENTITY, COUPON_ENTITY])


def test_ids_are_resolved_through_the_catalog(compute: Any, catalog: DictCatalog) -> None:
    result = compute([{"price_id": SOLAR_ID, "product_id": "prod-solar", "coupon_ids": ["c-5"], "quantity": 16,
                       "_price": {}, "_product": {}, "_coupons": []}], catalog=catalog)
    item = result["items"][0]
    # 1000 - 5 % = 950 inclusive 19 % (the price's tax relation); * 16 = 15200
    assert item["amount_total"] == 1520000
    # net = 950 / 1.19 = 798.319327731092; * 16 past 9,007 € in the library's doubles: 12773.109243697489
    # (exactly 12773.109243697472; the library's own figure, checked against it)
    assert item["amount_subtotal_decimal"] == "12773.109243697489"
    assert item["_price"]["_id"] == SOLAR_ID and item["_product"]["name"] == "Solar Panel Module"
    assert item["taxes"][0]["tax"]["_id"] == TAX_ID and item["_coupons"][0]["_id"] == "c-5"


@pytest.mark.parametrize(("line_item", "message"), [
    ({"price_id": "nope"}, r"line_items\[1\]: unknown price_id 'nope'"),
    ({"price_id": SOLAR_ID, "coupon_ids": ["c-5", "c-x"]}, r"line_items\[1\]: unknown coupon_id 'c-x'"),
    ({"_price": {"_id": "bundle", "is_composite_price": True, "price_components": {"$relation": [{"entity_id": "x"}]}}},
     r"line_items\[1\]: unknown component price_id 'x'"),
])
def test_unknown_ids_raise(catalog: DictCatalog, line_item: dict[str, Any], message: str) -> None:
    with pytest.raises(UnknownCatalogIdError, match=message) as caught:
        compute_pricing_details([{"price_id": SOLAR_ID}, line_item], catalog=catalog)
    assert isinstance(caught.value, PricingInputError)


def test_what_the_line_carries_is_never_looked_up(compute: Any, catalog: DictCatalog) -> None:
    """A snapshot prices as it is, whatever the catalog knows about its ids (issue 13)."""
    line_item = line(price("10", _id="not-in-the-catalog"), 2, product_id="no-such-product",
                     _coupons=[coupon("c-unknown", "discount", "percentage", "50")])
    item = compute([line_item], catalog=catalog)["items"][0]
    assert (item["amount_total"], item["_coupons"][0]["_id"]) == (1000, "c-unknown")
    assert "_product" not in item  # an unknown product is not an error: it does not change the price
    # a price whose tax relation names an unknown tax is priced as the library prices it: untaxed
    relation = {**PRICE_ENTITY, "tax": {"$relation": [{"entity_id": "tax-x"}]}}
    assert compute([line(relation)], catalog=catalog)["items"][0]["taxes"] == [
        {"rate": "nontaxable", "rateValue": 0, "amount": 0}]


def test_component_relation_resolved_through_the_catalog(compute: Any, catalog: DictCatalog) -> None:
    composite = {"quantity": 2, "_price": {"_id": "bundle", "is_composite_price": True,
                                           "price_components": {"$relation": [{"entity_id": SOLAR_ID}]}}}
    item = compute([composite], catalog=catalog)["items"][0]
    # one component: 1000 * (1 * 2) = 2000
    assert item["amount_total"] == 200000 and item["item_components"][0]["taxes"][0]["tax"]["_id"] == TAX_ID


def test_component_coupons_by_price_id(compute: Any, catalog: DictCatalog) -> None:
    composite = {"is_composite_price": True, "quantity": 1, "_price": {"_id": "bundle", "is_composite_price": True},
                 "price_component_coupon_ids": {SOLAR_ID: ["c-5"]},
                 "item_components": [{"price_id": SOLAR_ID, "unit_amount_decimal": "1000"}]}
    component = compute([composite], catalog=catalog)["items"][0]["item_components"][0]
    # the component's price is looked up, and the parent's coupon for it applies: 1000 - 5 % = 950
    assert (component["amount_total"], component["_coupons"][0]["_id"]) == (95000, "c-5")


@pytest.mark.parametrize(("line_items", "message"), [
    ([{"unit_amount_decimal": "12,50"}], r"line_items\[0\]: '12,50' is not a decimal amount"),
    ([{"unit_amount_decimal": "1e30"}], r"line_items\[0\]: '1e30' is not a decimal amount"),
    ([{"_price": {"unit_amount_decimal": 12.5}}], "12.5' is not a decimal string"),
    ([{"_price": {"unit_amount_decimal": "1", "unit_amount_currency": "CHF"},
       "_coupons": [coupon("c", "discount", "fixed", "1")]}], "same currency"),
    ([{"_price": {"pricing_model": "tiered_graduated", "tiers": [{"up_to": 10, "unit_amount_decimal": "1"},
                                                                 {"up_to": 5, "unit_amount_decimal": "1"}]},
       "price_mappings": [{"value": 20}]}], "Tier min quantity must be less than tier max quantity"),
    (["not an object"], r"line_items\[0\]: a line item must be an object"),
    ({"line_items": []}, "line_items must be an array"),
])
def test_invalid_input_raises(line_items: Any, message: str) -> None:
    with pytest.raises(PricingInputError, match=message):
        compute_pricing_details(line_items)


def test_redeemed_promos_must_be_a_list() -> None:
    with pytest.raises(PricingInputError, match="redeemed_promos"):
        compute_pricing_details([], redeemed_promos="SUMMER24")  # type: ignore[arg-type]


def test_price_order_payload(compiler: SchemaCompiler, catalog: DictCatalog) -> None:
    payload = {"status": "draft", "currency": "EUR", "redeemed_promos": [],
               "line_items": [{"price_id": SOLAR_ID, "quantity": 2, "_price": {}},
                              line(price("50", _id="battery", tax=[VAT19]), 4)]}
    order = price_order_payload(payload, catalog=catalog)
    assert set(order) == {"line_items", "amount_subtotal", "amount_total", "amount_tax", "total_details", "currency"}
    # 1000 * 2 + 50 * 4 = 2200; net q12(1000 / 1.19) * 2 + q12(50 / 1.19) * 4
    #   = 840.336134453782 * 2 + 42.016806722689 * 4 = 1680.672268907564 + 168.067226890756 = 1848.73949579832
    # tax = (1000 - 840.336134453782) * 2 + (50 - 42.016806722689) * 4 = 319.327731092436 + 31.932773109244
    #     = 351.26050420168 -> 35126
    assert (order["amount_total"], order["amount_subtotal"], order["amount_tax"]) == (220000, 184874, 35126)
    validator = compiler.compile({"$ref": "#/components/schemas/Order"})
    assert first_error(validator, {**payload, **order}) is None
    # putOrder with the priced line items (stale computed fields included) prices the same
    again = price_order_payload({"line_items": order["line_items"]}, catalog=catalog)
    assert again == order
    assert price_order_payload({"currency": "chf"})["currency"] == "CHF"
