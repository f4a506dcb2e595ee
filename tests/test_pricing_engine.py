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


def test_per_unit_tax_inclusive(compute: Any) -> None:
    result = compute([line(price("100", tax=[VAT19], is_tax_inclusive=True), quantity=2)])
    item = result["items"][0]
    # net unit = q12(100 / 1.19) = 84.033613445378 (…378|15 rounds down); tax unit = 100 - 84.033613445378
    assert item["unit_amount_net_decimal"] == "84.033613445378"
    assert (item["unit_amount"], item["unit_amount_net"], item["unit_amount_gross"]) == (10000, 8403, 10000)
    # subtotal = 84.033613445378 * 2 = 168.067226890756 -> c = 16807
    assert (item["amount_subtotal"], item["amount_subtotal_decimal"]) == (16807, "168.067226890756")
    # total = 100 * 2 = 200 -> "200"
    assert (item["amount_total"], item["amount_total_decimal"]) == (20000, "200")
    # tax = 15.966386554622 * 2 = 31.932773109244 -> 3193
    assert item["taxes"] == [{"tax": VAT19, "rate": "19", "rateValue": 19, "amount": 3193,
                              "amount_decimal": "31.932773109244"}]
    assert (result["amount_subtotal"], result["amount_total"], result["amount_tax"]) == (16807, 20000, 3193)
    assert result["total_details"]["amount_tax"] == 3193
    assert result["currency"] == "EUR"


def test_per_unit_tax_exclusive(compute: Any) -> None:
    item = compute([line(price("10", tax=[VAT19], is_tax_inclusive=False), quantity=3)])["items"][0]
    # tax unit = 10 * 0.19 = 1.9; gross unit = 11.9
    assert (item["unit_amount"], item["unit_amount_net"], item["unit_amount_gross"]) == (1000, 1000, 1190)
    # subtotal = 10 * 3 = 30; total = 11.9 * 3 = 35.7; tax = 1.9 * 3 = 5.7
    assert (item["amount_subtotal"], item["amount_total"]) == (3000, 3570)
    assert (item["amount_total_decimal"], item["taxes"][0]["amount"]) == ("35.7", 570)


def test_missing_tax_is_nontaxable(compute: Any) -> None:
    result = compute([line(price("12.5"), quantity=2)])
    item = result["items"][0]
    # rate 0: net = gross = 12.5; total = 12.5 * 2 = 25
    assert item["taxes"] == [{"rate": "nontaxable", "rateValue": 0, "amount": 0, "amount_decimal": "0"}]
    assert (item["amount_subtotal"], item["amount_total"], result["amount_tax"]) == (2500, 2500, 0)
    assert result["total_details"]["breakdown"]["taxes"][0]["rate"] == "nontaxable"


def test_tax_inclusive_defaults_to_true(compute: Any) -> None:
    item = compute([line(price("119", tax=[VAT19]))])["items"][0]
    # no is_tax_inclusive anywhere -> inclusive: net = 119 / 1.19 = 100, tax = 19
    assert (item["amount_subtotal"], item["amount_total"], item["taxes"][0]["amount"]) == (10000, 11900, 1900)


def test_line_tax_and_inclusive_flag_win_over_the_price(compute: Any) -> None:
    snapshot = price("100", tax=[VAT19], is_tax_inclusive=True)
    item = compute([line(snapshot, taxes=[{"tax": VAT7}], is_tax_inclusive=False)])["items"][0]
    # the line's 7 % exclusive: tax = 100 * 0.07 = 7, total = 107
    assert (item["amount_subtotal"], item["amount_total"]) == (10000, 10700)
    assert item["taxes"][0]["tax"] == VAT7 and item["taxes"][0]["rate"] == "7"


def test_tax_without_rate_counts_as_zero(compute: Any) -> None:
    untaxed = {"_id": "tax-none", "type": "custom"}
    item = compute([line(price("50", tax=[untaxed], is_tax_inclusive=False))])["items"][0]
    # no rate -> 0: tax = 50 * 0 = 0
    assert item["taxes"][0]["tax"] == untaxed
    assert (item["taxes"][0]["rateValue"], item["taxes"][0]["amount"], item["amount_total"]) == (0, 0, 5000)


@pytest.mark.parametrize(("quantity", "total"), [
    (None, 1000),  # non-numeric counts as 1: 10 * 1
    ("many", 1000),  # non-numeric counts as 1
    (True, 1000),  # a boolean is not a number
    (2.5, 2500),  # fractions allowed: 10 * 2.5 = 25
    ("3", 3000),  # a numeric string: 10 * 3
    (0, 0),  # 0 gives zeros
])
def test_quantity(compute: Any, quantity: Any, total: int) -> None:
    assert compute([line(price("10"), quantity=quantity)])["amount_total"] == total


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


def test_mapping_ignored_for_fixed_per_unit_price(compute: Any) -> None:
    fixed = price("0.3", _id="work", variable_price=False, is_tax_inclusive=False)
    # not variable -> multiplier is the quantity: 0.3 * 2
    assert compute([mapped(fixed, 3500, "yearly", quantity=2)])["amount_total_decimal"] == "0.6"


def test_mapping_value_must_be_a_non_negative_number(compute: Any) -> None:
    with pytest.raises(PricingInputError, match=r"line_items\[0\]\.price_mappings\[0\]\.value"):
        compute([mapped(variable("0.3", "monthly"), -5, "monthly")])
    with pytest.raises(PricingInputError, match="not a number"):
        compute([mapped(variable("0.3", "monthly"), "lots", "monthly")])


# --- tiers ----------------------------------------------------------------------------------------

TIERS = [
    {"up_to": 1000, "unit_amount": 30, "unit_amount_decimal": "0.30"},
    {"up_to": 2000, "unit_amount": 25, "unit_amount_decimal": "0.25"},
    {"up_to": None, "unit_amount": 20, "unit_amount_decimal": "0.20"},
]


def tiered(model: str, tiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return price(None, _id="work", pricing_model=model, tiers=tiers or TIERS, is_tax_inclusive=False,
                 type="recurring", billing_period="yearly")


@pytest.mark.parametrize(("value", "quantity", "cents", "decimal"), [
    (1000, 1, 30000, "300"),  # exactly at up_to stays in tier 1: 0.30 * 1000
    (1000.5, 1, 25013, "250.125"),  # tier 2: 0.25 * 1000.5 = 250.125 -> half a cent rounds up to 25013
    (2500, 1, 50000, "500"),  # last tier: 0.20 * 2500
    (1500, 2, 75000, "750"),  # tier by value, not quantity: 0.25 * (1500 * 2)
])
def test_tiered_volume(compute: Any, value: float, quantity: int, cents: int, decimal: str) -> None:
    item = compute([mapped(tiered("tiered_volume"), value, "yearly", quantity)])["items"][0]
    assert (item["amount_total"], item["amount_total_decimal"]) == (cents, decimal)
    assert item["pricing_model"] == "tiered_volume"


def test_tiered_volume_without_mapping_uses_value_one(compute: Any) -> None:
    item = compute([line(tiered("tiered_volume"), quantity=3)])["items"][0]
    # value 1 -> tier 1; multiplier = quantity: 0.30 * 3 = 0.9
    assert (item["unit_amount_decimal"], item["amount_total_decimal"]) == ("0.3", "0.9")


def test_tiered_graduated(compute: Any) -> None:
    item = compute([mapped(tiered("tiered_graduated"), 2500, "yearly", quantity=2)])["items"][0]
    # unit = 1000 * 0.30 + 1000 * 0.25 + 500 * 0.20 = 300 + 250 + 100 = 650; * quantity 2 (a mapping is used)
    assert (item["unit_amount_decimal"], item["amount_total_decimal"]) == ("650", "1300")
    assert [(t["quantity"], t["unit_amount"], t["amount_total"]) for t in item["tiers_details"]] == [
        (1000, 30, 60000),  # 1000 units * 0.30 * 2
        (1000, 25, 50000),  # 1000 units * 0.25 * 2
        (500, 20, 20000),  # 500 units * 0.20 * 2
    ]


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


def test_tier_amount_in_cents_only(compute: Any) -> None:
    snapshot = tiered("tiered_volume", [{"up_to": None, "unit_amount": 32}])
    # 32 cents -> 0.32 * 100
    assert compute([mapped(snapshot, 100, "yearly")])["amount_total_decimal"] == "32"


def test_tiered_value_converted_before_choosing_the_tier(compute: Any) -> None:
    snapshot = {**tiered("tiered_volume"), "billing_period": "monthly"}
    # 13200 per year -> 1100 per month: tier 2, 0.25 * 1100 = 275
    assert compute([mapped(snapshot, 13200, "yearly")])["amount_total_decimal"] == "275"


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


def test_percentage_discount_tax_exclusive_applies_to_net(compute: Any) -> None:
    snapshot = price("100", tax=[VAT19], is_tax_inclusive=False)
    item = compute([line(snapshot, _coupons=[coupon("c10", "discount", "percentage", "10")])])["items"][0]
    # net = 100 - 10 = 90; tax = 90 * 0.19 = 17.1; gross = 107.1
    assert (item["unit_amount"], item["amount_subtotal"], item["amount_total"]) == (9000, 9000, 10710)
    # before gross = 119; discount (gross) = 119 - 107.1 = 11.9; per unit on the net basis = 10
    assert (item["before_discount_amount_total"], item["discount_amount_decimal"]) == (11900, "11.9")
    assert (item["unit_discount_amount"], item["unit_discount_amount_net"]) == (1000, 1000)


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


def test_percentage_cashback(compute: Any) -> None:
    snapshot = price("100", tax=[VAT19], is_tax_inclusive=True, type="recurring", billing_period="monthly")
    cashback = coupon("cb", "cashback", "percentage", "10", cashback_period="12")
    result = compute([line(snapshot, _coupons=[cashback])])
    item = result["items"][0]
    # cashbacks never lower the totals: total stays 100
    assert (item["amount_total"], result["amount_total"]) == (10000, 10000)
    # cashback = 100 * 0.10 * 1 = 10
    assert (item["cashback_amount"], item["cashback_period"]) == (1000, "12")
    # after = gross unit - cashback per month = 100 - q12(10 / 12) = 100 - 0.833333333333 = 99.166666666667
    assert (item["after_cashback_amount_total"], item["after_cashback_amount_total_decimal"]) == (
        9917, "99.166666666667")
    assert result["total_details"]["breakdown"]["cashbacks"] == [
        {"cashback_period": "12", "amount_total": 1000, "amount_total_decimal": "10"}]
    # the monthly recurrence: 100 - 10 / 12 = 99.166666666667
    assert recurrence(result, "recurring", "monthly")["after_cashback_amount_total_decimal"] == "99.166666666667"
    assert "discount_amount" not in item


def test_fixed_cashback_uses_the_gross_unit(compute: Any) -> None:
    yearly = price("300", type="recurring", billing_period="yearly")
    once = price("40", _id="setup")
    result = compute([line(yearly, 2, _coupons=[coupon("f50", "cashback", "fixed", "50")]), line(once)])
    item = result["items"][0]
    # cashback = 50 * 2 = 100 (cashback_period defaults to "0")
    assert (item["cashback_amount"], item["cashback_period"]) == (10000, "0")
    # item: gross unit 300 - 100 (yearly, not converted) = 200, although the total is 600
    assert (item["amount_total"], item["after_cashback_amount_total"]) == (60000, 20000)
    # yearly recurrence: 600 - 100 = 500; the one-time recurrence keeps its full 40
    assert recurrence(result, "recurring", "yearly")["after_cashback_amount_total"] == 50000
    assert recurrence(result, "one_time", "one_time")["after_cashback_amount_total"] == 4000


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


def test_invalid_coupons_are_dropped(compute: Any) -> None:
    no_currency = {**coupon("nocur", "discount", "fixed", "50"), "fixed_value_currency": None}
    not_numeric = coupon("nan", "discount", "percentage", "ten")
    no_category = {**coupon("nocat", "discount", "percentage", "90"), "category": "gift"}
    valid = coupon("ok", "discount", "percentage", "5")
    item = compute([line(price("100"), _coupons=[no_currency, not_numeric, no_category, valid])])["items"][0]
    # only the valid 5 %: 100 - 5 = 95
    assert (item["amount_total"], item["_coupons"][0]["_id"]) == (9500, "ok")
    only_invalid = compute([line(price("100"), _coupons=[no_currency, not_numeric])])["items"][0]
    assert only_invalid["amount_total"] == 10000 and only_invalid["_coupons"] == []
    assert "discount_amount" not in only_invalid


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


def test_composite_with_item_components(compute: Any) -> None:
    base = price("11.90", _id="base", tax=[VAT19], is_tax_inclusive=True, type="recurring", billing_period="monthly")
    work = price("0.238", _id="work", tax=[VAT19], is_tax_inclusive=True, type="recurring",
                 billing_period="monthly", variable_price=True)
    composite = {
        "price_id": "tariff", "quantity": 2, "is_composite_price": True,
        "_price": {"_id": "tariff", "is_composite_price": True, "type": "recurring", "billing_period": "monthly"},
        "price_mappings": [{"price_id": "work", "frequency_unit": "yearly", "value": 1200}],
        "item_components": [
            {"price_id": "base", "quantity": 1, "unit_amount_decimal": "11.90", "_price": base},
            {"price_id": "work", "quantity": 1, "unit_amount_decimal": "0.238", "_price": work},
        ],
    }
    result = compute([composite])
    item = result["items"][0]
    base_item, work_item = item["item_components"]
    # base: quantity 1 * 2 = 2: gross 11.90 * 2 = 23.8; net 11.90 / 1.19 = 10 -> 20; tax 3.8
    assert (base_item["amount_total"], base_item["amount_subtotal"]) == (2380, 2000)
    # work: mapping from the parent: 1200 / 12 = 100 per month; multiplier 100 * (1 * 2) = 200
    # gross 0.238 * 200 = 47.6; net 0.238 / 1.19 = 0.2 -> 40; tax 7.6
    assert (work_item["amount_total"], work_item["amount_subtotal"]) == (4760, 4000)
    # composite sums: total 23.8 + 47.6 = 71.4; subtotal 20 + 40 = 60; tax 3.8 + 7.6 = 11.4
    assert (item["amount_total_decimal"], item["amount_subtotal_decimal"]) == ("71.4", "60")
    assert item["total_details"]["amount_tax"] == 1140
    # unit sums are not multiplied by quantity: 11.90 + 0.238 = 12.138
    assert item["unit_amount_gross_decimal"] == "12.138"
    assert item["is_composite_price"] is True
    assert (result["amount_total"], result["amount_subtotal"], result["amount_tax"]) == (7140, 6000, 1140)


def test_composite_components_from_price_components(compute: Any) -> None:
    components = [price("10", _id="a"), price("5", _id="b"), {"unit_amount_decimal": "99"}]  # the last has no _id
    composite = {"price_id": "c", "quantity": 3,
                 "_price": {"_id": "c", "is_composite_price": True, "price_components": components}}
    item = compute([composite])["items"][0]
    # two valid component prices, each quantity 1 * 3: (10 + 5) * 3 = 45
    assert [c["price_id"] for c in item["item_components"]] == ["a", "b"]
    assert item["amount_total"] == 4500


def test_component_amount_comes_from_its_line_not_its_price(compute: Any) -> None:
    composite = {"is_composite_price": True, "quantity": 1, "_price": {"_id": "c", "is_composite_price": True},
                 "item_components": [{"price_id": "a", "quantity": 1, "_price": price("10", _id="a")}]}
    # epilot prices a component from the line's unit_amount_decimal, which defaults to "0"
    assert compute([composite])["amount_total"] == 0


def test_composite_counts_only_fixed_cashbacks_on_itself(compute: Any) -> None:
    composite = {
        "is_composite_price": True, "quantity": 3, "_price": {"_id": "c", "is_composite_price": True},
        "item_components": [{"price_id": "a", "unit_amount_decimal": "20", "_price": price("20", _id="a")}],
        "_coupons": [coupon("pct", "cashback", "percentage", "50"), coupon("fix", "cashback", "fixed", "5"),
                     coupon("disc", "discount", "percentage", "50")],
    }
    result = compute([composite])
    item = result["items"][0]
    # only the fixed cashback counts, * parent quantity: 5 * 3 = 15; the total is not lowered: 20 * 3 = 60
    assert (item["cashback_amount"], item["amount_total"]) == (1500, 6000)
    # composite after cashback = gross unit 20 - 15 (one-time, not converted) = 5
    assert item["after_cashback_amount_total"] == 500
    assert result["total_details"]["breakdown"]["cashbacks"][0]["amount_total"] == 1500


def test_component_on_request_is_left_out(compute: Any) -> None:
    composite = {"is_composite_price": True, "quantity": 1, "_price": {"_id": "c", "is_composite_price": True},
                 "item_components": [
                     {"price_id": "a", "unit_amount_decimal": "20", "_price": price("20", _id="a")},
                     {"price_id": "b", "unit_amount_decimal": "7", "_price": price(
                         "7", _id="b", price_display_in_journeys="show_as_on_request")},
                 ]}
    result = compute([composite])
    # the on-request component keeps its amounts but only 20 counts
    assert result["items"][0]["item_components"][1]["amount_total"] == 700
    assert (result["items"][0]["amount_total"], result["amount_total"]) == (2000, 2000)


# --- display modes and currency ---------------------------------------------------------------


def test_on_request_lines_are_left_out_of_every_total(compute: Any) -> None:
    hidden = price("50", _id="hidden", tax=[VAT19], price_display_in_journeys="show_as_on_request")
    approved = price("30", _id="approved", price_display_in_journeys="show_as_on_request_approved")
    result = compute([line(hidden), line(approved), line(price("10", _id="plain"))])
    # the on-request line still has its amounts
    assert result["items"][0]["amount_total"] == 5000
    # totals: 30 + 10 = 40; no 19 % tax entry
    assert (result["amount_total"], result["amount_tax"], result["unit_amount_gross"]) == (4000, 0, 4000)
    breakdown = result["total_details"]["breakdown"]
    assert [t["rate"] for t in breakdown["taxes"]] == ["nontaxable"]
    assert recurrence(result, "one_time", "one_time")["amount_total"] == 4000


def test_on_request_composite_is_left_out(compute: Any) -> None:
    composite = {"is_composite_price": True, "_price": {"_id": "c", "is_composite_price": True,
                                                        "price_display_in_journeys": "show_as_on_request"},
                 "item_components": [{"price_id": "a", "unit_amount_decimal": "20", "_price": price("20", _id="a")}]}
    result = compute([composite])
    assert result["items"][0]["amount_total"] == 2000
    assert result["amount_total"] == 0 and result["total_details"]["breakdown"]["recurrences"] == []


def test_currency_is_upper_cased_and_taken_from_the_first_item(compute: Any) -> None:
    result = compute([line(price("1", _id="a", unit_amount_currency="chf")),
                      line(price("1", _id="b", unit_amount_currency="EUR"))])
    assert [i["currency"] for i in result["items"]] == ["CHF", "EUR"]
    assert result["currency"] == "CHF"


def test_recurring_price_without_billing_period_is_monthly(compute: Any) -> None:
    result = compute([line(price("9.99", type="recurring"))])
    assert result["items"][0]["billing_period"] == "monthly"
    # 9.99 nontaxable: one monthly group of 9.99
    assert recurrence(result, "recurring", "monthly")["amount_total"] == 999
    assert "_coupons" not in result["items"][0]  # no coupon named, none reported


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


def test_twelve_places_round_half_even(compute: Any) -> None:
    half = {"_id": "half", "rate": "50"}
    result = compute([
        line(price("0.000000000005", _id="a", tax=[half], is_tax_inclusive=False)),
        line(price("0.000000000015", _id="b", tax=[half], is_tax_inclusive=False)),
    ])
    first, second = result["items"]
    # q12(5e-12 * 0.5) = q12(2.5e-12) = 2e-12 (to even); q12(15e-12 * 0.5) = q12(7.5e-12) = 8e-12 (to even)
    assert (first["taxes"][0]["amount_decimal"], second["taxes"][0]["amount_decimal"]) == ("2e-12", "8e-12")
    # totals: 5e-12 + 2e-12 = 7e-12 and 15e-12 + 8e-12 = 2.3e-11
    assert (first["amount_total_decimal"], second["amount_total_decimal"]) == ("7e-12", "2.3e-11")


def test_large_amounts_keep_every_digit(compute: Any) -> None:
    snapshot = price("12345.678901234567", tax=[VAT19], is_tax_inclusive=True)
    result = compute([line(snapshot, 1000)])
    item = result["items"][0]
    # total = 12345.678901234567 * 1000 = 12345678.901234567 (a double would print 12345678.90123457)
    assert (item["amount_total"], item["amount_total_decimal"]) == (1234567890, "12345678.901234567")
    # net unit = q12(12345.678901234567 / 1.19) = q12(10374.520085071064|705…) = 10374.520085071065
    # subtotal = 10374.520085071065 * 1000 = 10374520.085071065 -> c = 1037452009
    assert (item["amount_subtotal"], item["amount_subtotal_decimal"]) == (1037452009, "10374520.085071065")
    # tax = (12345.678901234567 - 10374.520085071065) * 1000 = 1971158.816163502 -> 197115882
    assert item["taxes"][0]["amount_decimal"] == "1971158.816163502"
    # 1037452009 + 197115882 = 1234567891, one cent more than amount_total: each figure is rounded once
    assert (result["amount_subtotal"], result["amount_tax"], result["amount_total"]) == (
        1037452009, 197115882, 1234567890)


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


def test_decimal_strings_are_printed_like_javascript(compute: Any) -> None:
    result = compute([line(price("10.00", tax=[VAT19], is_tax_inclusive=False))])
    item = result["items"][0]
    # "10.00" prints as "10"; 10 * 0.19 = 1.9; 11.9
    assert (item["unit_amount_decimal"], item["taxes"][0]["amount_decimal"], item["amount_total_decimal"]) == (
        "10", "1.9", "11.9")


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


def test_recurrences_and_taxes_breakdown(compute: Any) -> None:
    vat19_other_id = {"_id": "tax-19-b", "type": "VAT", "rate": 19}
    result = compute([
        line(price("119", _id="once", tax=[VAT19])),
        line(price("20", _id="once-weekly", type="one_time", billing_period="weekly")),
        line(price("59.50", _id="monthly", tax=[vat19_other_id], type="recurring", billing_period="monthly"), 3),
        line(price("10.70", _id="monthly7", tax=[VAT7], type="recurring", billing_period="monthly")),
        line(price("120", _id="yearly", is_tax_inclusive=False, type="recurring", billing_period="yearly")),
    ])
    breakdown = result["total_details"]["breakdown"]
    # all one-time items form one group: 119 + 20 = 139
    once = recurrence(result, "one_time", "one_time")
    assert (once["amount_total"], once["amount_subtotal"], once["amount_tax"]) == (13900, 12000, 1900)
    monthly = recurrence(result, "recurring", "monthly")
    # 59.50 * 3 + 10.70 = 189.2; net 50 * 3 + 10 = 160; tax 9.5 * 3 + 0.7 = 29.2
    assert (monthly["amount_total"], monthly["amount_subtotal"], monthly["amount_tax"]) == (18920, 16000, 2920)
    # unit amounts are summed per item, not multiplied by quantity: 59.50 + 10.70 = 70.2
    assert monthly["unit_amount_gross_decimal"] == "70.2" and monthly["unit_amount_net_decimal"] == "60"
    # 120 exclusive, nontaxable: 120 + 0
    assert recurrence(result, "recurring", "yearly")["amount_total"] == 12000
    assert len(breakdown["recurrences"]) == 3
    # taxes merge by id or by rate: both 19 % taxes in one entry (19 + 28.5 = 47.5), 7 % apart (0.7)
    assert [(t["rate"], t["amount_decimal"]) for t in breakdown["taxes"]] == [
        ("19", "47.5"), ("nontaxable", "0"), ("7", "0.7")]
    assert breakdown["taxes"][0]["tax"]["_id"] == "tax-19"
    by_tax = [(r["type"], r["billing_period"], r["tax"]["rate"], r["amount_total"])
              for r in breakdown["recurrencesByTax"]]
    assert by_tax == [
        ("one_time", "one_time", "19", 11900),
        ("one_time", "one_time", "nontaxable", 2000),
        ("recurring", "monthly", "19", 17850),  # 59.50 * 3
        ("recurring", "monthly", "7", 1070),
        ("recurring", "yearly", "nontaxable", 12000),
    ]
    assert result["amount_total"] == 13900 + 18920 + 12000


# --- the energy tariff ------------------------------------------------------------------------


def test_energy_tariff_with_ten_percent_coupon(compute: Any) -> None:
    ten = coupon("ten", "discount", "percentage", "10")
    base = price("29.90", _id="grundpreis", tax=[VAT19], is_tax_inclusive=True, type="recurring",
                 billing_period="monthly", unit="month")
    energy = price("0.32", _id="arbeitspreis", tax=[VAT19], is_tax_inclusive=True, type="recurring",
                   billing_period="monthly", unit="kwh", variable_price=True)
    result = compute([
        line(base, 1, _coupons=[ten]),
        line(energy, 1, _coupons=[ten],
             price_mappings=[{"price_id": "arbeitspreis", "frequency_unit": "yearly", "value": 3500}]),
    ])
    base_item, energy_item = result["items"]

    # Base price: unit 29.90 - 29.90 * 0.10 = 26.91
    # net = q12(26.91 / 1.19) = q12(22.613445378151|26…) = 22.613445378151; tax = 26.91 - net = 4.296554621849
    assert (base_item["amount_total"], base_item["amount_total_decimal"]) == (2691, "26.91")
    assert (base_item["amount_subtotal"], base_item["amount_subtotal_decimal"]) == (2261, "22.613445378151")
    assert (base_item["taxes"][0]["amount"], base_item["taxes"][0]["amount_decimal"]) == (430, "4.296554621849")
    assert (base_item["discount_amount"], base_item["before_discount_amount_total"]) == (299, 2990)

    # Energy: 3500 kWh per year -> q12(3500 / 12) = 291.666666666667 kWh per month (* quantity 1)
    # unit 0.32 - 0.032 = 0.288; net = q12(0.288 / 1.19) = q12(0.242016806722|689…) = 0.242016806723
    # unit tax = 0.288 - 0.242016806723 = 0.045983193277
    assert (energy_item["unit_amount_decimal"], energy_item["unit_amount_net_decimal"]) == ("0.288", "0.242016806723")
    # total = q12(0.288 * 291.666666666667) = q12(84.000000000000096) = 84
    assert (energy_item["amount_total"], energy_item["amount_total_decimal"]) == (8400, "84")
    # subtotal = q12(0.242016806723 * 291.666666666667) = q12(70.588235294208|414…) = 70.588235294208
    assert (energy_item["amount_subtotal"], energy_item["amount_subtotal_decimal"]) == (7059, "70.588235294208")
    # tax = q12(0.045983193277 * 291.666666666667) = q12(13.411764705791|68…) = 13.411764705792
    assert (energy_item["taxes"][0]["amount"], energy_item["taxes"][0]["amount_decimal"]) == (1341, "13.411764705792")
    # before the discount: q12(0.32 * 291.666666666667) = q12(93.33333333333344) = 93.333333333333
    assert energy_item["before_discount_amount_total_decimal"] == "93.333333333333"
    assert (energy_item["discount_amount"], energy_item["discount_amount_decimal"]) == (933, "9.333333333333")

    # Totals: subtotal 22.613445378151 + 70.588235294208 = 93.201680672359 -> 9320
    #         total 26.91 + 84 = 110.91 -> 11091; tax 4.296554621849 + 13.411764705792 = 17.708319327641 -> 1771
    assert (result["amount_subtotal"], result["amount_subtotal_decimal"]) == (9320, "93.201680672359")
    assert (result["amount_total"], result["amount_total_decimal"]) == (11091, "110.91")
    assert result["amount_tax"] == result["total_details"]["amount_tax"] == 1771
    # unit sums: gross 26.91 + 0.288 = 27.198 -> 2720; net 22.613445378151 + 0.242016806723 = 22.855462184874
    assert (result["unit_amount_gross"], result["unit_amount_net"]) == (2720, 2286)

    monthly = recurrence(result, "recurring", "monthly")
    assert (monthly["amount_total"], monthly["amount_subtotal"], monthly["amount_tax"]) == (11091, 9320, 1771)
    assert monthly["amount_tax_decimal"] == "17.708319327641"
    # discount = (29.90 + 93.333333333333) - 110.91 = 12.323333333333
    assert (monthly["discount_amount"], monthly["discount_amount_decimal"]) == (1232, "12.323333333333")
    assert monthly["before_discount_amount_total"] == 12323  # 123.233333333333
    # no cashback: after cashback = total
    assert monthly["after_cashback_amount_total"] == 11091
    (by_tax,) = result["total_details"]["breakdown"]["recurrencesByTax"]
    assert (by_tax["tax"]["rate"], by_tax["tax"]["amount"], by_tax["amount_total"]) == ("19", 1771, 11091)
    (tax,) = result["total_details"]["breakdown"]["taxes"]
    assert (tax["amount"], tax["amount_decimal"], tax["tax"]["_id"]) == (1771, "17.708319327641", "tax-19")
    assert result["total_details"]["breakdown"]["cashbacks"] == []


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
    # net = q12(950 / 1.19) = 798.319327731092; * 16 = 12773.109243697472 -> 1277310947
    assert item["amount_subtotal_decimal"] == "12773.109243697472"
    assert item["_price"]["_id"] == SOLAR_ID and item["_product"]["name"] == "Solar Panel Module"
    assert item["taxes"][0]["tax"]["_id"] == TAX_ID and item["_coupons"][0]["_id"] == "c-5"


@pytest.mark.parametrize(("line_item", "message"), [
    ({"price_id": "nope"}, r"line_items\[1\]: unknown price_id 'nope'"),
    ({"price_id": SOLAR_ID, "product_id": "gone"}, r"line_items\[1\]: unknown product_id 'gone'"),
    ({"price_id": SOLAR_ID, "coupon_ids": ["c-5", "c-x"]}, r"line_items\[1\]: unknown coupon_id 'c-x'"),
    ({"_price": {**PRICE_ENTITY, "tax": {"$relation": [{"entity_id": "tax-x"}]}}}, r"line_items\[1\]: unknown tax id"),
])
def test_unknown_ids_raise(catalog: DictCatalog, line_item: dict[str, Any], message: str) -> None:
    with pytest.raises(UnknownCatalogIdError, match=message) as caught:
        compute_pricing_details([{"price_id": SOLAR_ID}, line_item], catalog=catalog)
    assert isinstance(caught.value, PricingInputError)


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
    ([{"quantity": -1, "unit_amount_decimal": "1"}], r"line_items\[0\]\.quantity: quantity must not be negative"),
    ([{"unit_amount_decimal": "12,50"}], r"line_items\[0\]\.unit_amount_decimal: '12,50' is not a number"),
    ([{"unit_amount_decimal": "1", "taxes": [{"tax": {"rate": "high"}}]}], r"taxes\[0\]\.tax\.rate"),
    ([{"unit_amount_decimal": "1", "pricing_model": "mystery"}], "unknown pricing_model 'mystery'"),
    ([{"unit_amount_decimal": "1e30"}], "too large"),
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
    validator = compiler.compile({"$ref": "#/components/schemas/OrderAttributes"})
    assert first_error(validator, {**payload, **order}) is None
    # putOrder with the priced line items (stale computed fields included) prices the same
    again = price_order_payload({"line_items": order["line_items"]}, catalog=catalog)
    assert again == order
    assert price_order_payload({"currency": "chf"})["currency"] == "CHF"
