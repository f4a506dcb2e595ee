"""Properties of the pricing engine over generated line items (hypothesis)."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal, FloatOperation, localcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.epilot.pricing import compute_pricing_details, js_number_string

RATES = ["0", "5", "7", "7.7", "16", "19", "20", "2.5"]
PERIODS = ["weekly", "monthly", "every_quarter", "every_6_months", "yearly"]
ONE_CENT = Decimal("0.01")
TWELVE = Decimal("1e-12")


def cents(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def twelve_places(draw: Any, low: int, high: int) -> str:
    """A decimal string with up to 12 places between low and high (in units of 1e-12)."""
    return str(Decimal(draw(st.integers(low, high))).scaleb(-12).normalize())


@st.composite
def line_items(draw: Any) -> dict[str, Any]:
    """A simple line item with only JSON-string and integer inputs (no floats)."""
    index = draw(st.integers(0, 10**6))
    snapshot: dict[str, Any] = {
        "_id": f"price-{index}",
        "pricing_model": "per_unit",
        "unit_amount_decimal": twelve_places(draw, -10**14, 10**17),
        "is_tax_inclusive": draw(st.booleans()),
    }
    if draw(st.booleans()):
        snapshot.update(type="recurring", billing_period=draw(st.sampled_from(PERIODS)))
    else:
        snapshot["type"] = "one_time"
    if draw(st.booleans()):
        snapshot["tax"] = [{"_id": f"tax-{draw(st.integers(0, 3))}", "rate": draw(st.sampled_from(RATES))}]
    if draw(st.integers(0, 9)) == 0:
        snapshot["price_display_in_journeys"] = "show_as_on_request"
    item: dict[str, Any] = {"price_id": snapshot["_id"], "_price": snapshot,
                            "quantity": draw(st.integers(0, 50))}
    if draw(st.booleans()):
        snapshot["variable_price"] = True
        item["price_mappings"] = [{"price_id": snapshot["_id"], "frequency_unit": draw(st.sampled_from(PERIODS)),
                                   "value": draw(st.integers(0, 20_000))}]
    coupon = draw(st.sampled_from([None, "percentage", "fixed"]))
    if coupon is not None:
        category = draw(st.sampled_from(["discount", "cashback"]))
        snapshot_coupon: dict[str, Any] = {"_id": f"coupon-{index}", "type": coupon, "category": category}
        if coupon == "percentage":
            snapshot_coupon["percentage_value"] = str(draw(st.integers(0, 100)))
        else:
            value = Decimal(draw(st.integers(0, 100_000))).scaleb(-2)
            snapshot_coupon.update(fixed_value=int(value * 100), fixed_value_decimal=str(value),
                                   fixed_value_currency="EUR")
        item["_coupons"] = [snapshot_coupon]
    return item


def decimal_of(value: str) -> Decimal:
    return Decimal(value)


@settings(max_examples=60, deadline=None)
@given(st.lists(line_items(), max_size=6))
def test_totals_are_the_sums_of_the_recurrences_rounded_once(items: list[dict[str, Any]]) -> None:
    result = compute_pricing_details(items)
    breakdown = result["total_details"]["breakdown"]
    recurrences = breakdown["recurrences"]
    for field in ("amount_total", "amount_subtotal"):
        exact = sum((decimal_of(r[f"{field}_decimal"]) for r in recurrences), Decimal(0))
        # at 12 places the total is exactly the sum of the recurrences, and its cents are rounded once
        assert decimal_of(result[f"{field}_decimal"]) == exact
        assert result[field] == cents(exact)
        # the recurrences' own cents may drift from the total by at most half a cent each
        assert abs(sum(r[field] for r in recurrences) - result[field]) <= (len(recurrences) + 1) // 2
        by_tax = sum((decimal_of(r[f"{field}_decimal"]) for r in breakdown["recurrencesByTax"]), Decimal(0))
        assert by_tax == exact
    tax = sum((decimal_of(r["amount_tax_decimal"]) for r in recurrences), Decimal(0))
    assert result["amount_tax"] == result["total_details"]["amount_tax"] == cents(tax)
    assert sum((decimal_of(t["amount_decimal"]) for t in breakdown["taxes"]), Decimal(0)) == tax
    counted = [i for i in result["items"] if i["_price"].get("price_display_in_journeys") != "show_as_on_request"]
    assert sum((decimal_of(i["amount_total_decimal"]) for i in counted), Decimal(0)) == decimal_of(
        result["amount_total_decimal"])


@settings(max_examples=60, deadline=None)
@given(
    net_cents=st.integers(0, 10**9),
    rate=st.sampled_from(RATES),
    quantity=st.integers(0, 1000),
    period=st.sampled_from(PERIODS),
)
def test_inclusive_and_exclusive_agree_exactly_for_representable_prices(
    net_cents: int, rate: str, quantity: int, period: str,
) -> None:
    net = Decimal(net_cents).scaleb(-2)
    gross = net * (1 + Decimal(rate) / 100)  # exact: at most 5 places
    tax = [{"_id": "t", "rate": rate}]

    def priced(amount: Decimal, inclusive: bool) -> dict[str, Any]:
        snapshot = {"_id": "p", "unit_amount_decimal": str(amount), "is_tax_inclusive": inclusive, "tax": tax,
                    "type": "recurring", "billing_period": period}
        return compute_pricing_details([{"price_id": "p", "_price": snapshot, "quantity": quantity}])

    exclusive, inclusive = priced(net, False), priced(gross, True)
    for field in ("amount_subtotal_decimal", "amount_total_decimal", "amount_subtotal", "amount_total", "amount_tax"):
        assert exclusive[field] == inclusive[field]
    assert exclusive["items"][0]["unit_amount_net_decimal"] == inclusive["items"][0]["unit_amount_net_decimal"]
    assert exclusive["total_details"] == inclusive["total_details"]


@settings(max_examples=60, deadline=None)
@given(
    net_units=st.integers(0, 10**17),
    rate=st.sampled_from(RATES),
    quantity=st.integers(1, 1000),
)
def test_inclusive_and_exclusive_agree_within_rounding(net_units: int, rate: str, quantity: int) -> None:
    net = Decimal(net_units).scaleb(-12)
    gross = (net * (1 + Decimal(rate) / 100)).quantize(TWELVE)

    def item(amount: Decimal, inclusive: bool) -> dict[str, Any]:
        snapshot = {"_id": "p", "unit_amount_decimal": str(amount), "is_tax_inclusive": inclusive,
                    "tax": [{"_id": "t", "rate": rate}]}
        return compute_pricing_details([{"_price": snapshot, "quantity": quantity}])["items"][0]

    exclusive, inclusive = item(net, False), item(gross, True)
    # gross is rounded to 12 places and the net is divided back out: each 12-place unit figure is off by
    # at most 1e-12, so an amount for `quantity` units is off by at most (quantity + 1) * 1e-12
    tolerance = (quantity + 1) * TWELVE
    for field in ("amount_subtotal_decimal", "amount_total_decimal"):
        assert abs(decimal_of(exclusive[field]) - decimal_of(inclusive[field])) <= tolerance
    tax_gap = decimal_of(exclusive["taxes"][0]["amount_decimal"]) - decimal_of(inclusive["taxes"][0]["amount_decimal"])
    assert abs(tax_gap) <= tolerance
    assert abs(exclusive["amount_total"] - inclusive["amount_total"]) <= 1


def floats_in(value: Any, path: str = "$") -> list[str]:
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in floats_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in floats_in(v, f"{path}[{i}]")]
    return []


@settings(max_examples=60, deadline=None)
@given(st.lists(line_items(), max_size=5), st.booleans())
def test_no_float_in_the_output_or_the_arithmetic(items: list[dict[str, Any]], composite: bool) -> None:
    fractional_rate = any(t["rate"] in ("7.7", "2.5") for i in items for t in i["_price"].get("tax", []))
    if composite:
        components = [{**i, "unit_amount_decimal": i["_price"]["unit_amount_decimal"]} for i in items]
        items = [{"is_composite_price": True, "quantity": 2, "_price": {"_id": "c", "is_composite_price": True},
                  "item_components": components}]
    with localcontext() as ctx:
        # any float mixed into decimal arithmetic or comparisons raises
        ctx.traps[FloatOperation] = True
        result = compute_pricing_details(items)
    if fractional_rate:
        # JSON has no decimal type: a fractional tax rate is the one number field that needs a float
        assert all(path.endswith(".rateValue") for path in floats_in(result))
    else:
        assert floats_in(result) == []


@settings(max_examples=40, deadline=None)
@given(
    quantity=st.floats(min_value=0, max_value=10_000, allow_nan=False, allow_infinity=False),
    value=st.floats(min_value=0, max_value=100_000, allow_nan=False, allow_infinity=False),
)
def test_float_inputs_are_read_as_their_shortest_decimal(quantity: float, value: float) -> None:
    snapshot = {"_id": "p", "unit_amount_decimal": "0.3249", "variable_price": True, "type": "recurring",
                "billing_period": "monthly", "tax": [{"_id": "t", "rate": "19"}]}

    def priced(q: Any, v: Any) -> dict[str, Any]:
        mapping = [{"price_id": "p", "frequency_unit": "yearly", "value": v}]
        return compute_pricing_details([{"_price": snapshot, "quantity": q, "price_mappings": mapping}])

    from_floats = priced(quantity, value)
    from_strings = priced(repr(quantity), repr(value))
    # a JSON number 0.1 means the decimal 0.1, not the binary double nearest to it
    assert from_floats["amount_total_decimal"] == from_strings["amount_total_decimal"]
    assert from_floats["total_details"] == from_strings["total_details"]


@settings(max_examples=40, deadline=None)
@given(st.lists(line_items(), min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_totals_do_not_depend_on_the_order_of_items(items: list[dict[str, Any]], rnd: random.Random) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first, second = compute_pricing_details(items), compute_pricing_details(shuffled)
    for field in ("amount_total_decimal", "amount_subtotal_decimal", "amount_tax", "unit_amount_gross"):
        assert first[field] == second[field]

    def groups(result: dict[str, Any]) -> list[tuple[str, str, str]]:
        recurrences = result["total_details"]["breakdown"]["recurrences"]
        return sorted((r["type"], r["billing_period"], r["amount_total_decimal"]) for r in recurrences)

    assert groups(first) == groups(second)


@settings(max_examples=40, deadline=None)
@given(st.lists(line_items(), min_size=1, max_size=4))
def test_discounts_never_raise_and_cashbacks_never_change_totals(items: list[dict[str, Any]]) -> None:
    plain = [{k: v for k, v in i.items() if k != "_coupons"} for i in items]
    with_coupons, without = compute_pricing_details(items), compute_pricing_details(plain)
    for coupons, priced, unpriced in zip(items, with_coupons["items"], without["items"], strict=True):
        applied = coupons.get("_coupons", [{}])[0].get("category")
        before = decimal_of(unpriced["amount_total_decimal"])
        after = decimal_of(priced["amount_total_decimal"])
        if applied == "cashback" or applied is None:
            assert after == before
        elif decimal_of(unpriced["unit_amount_decimal"]) >= 0:
            assert after <= before
            assert decimal_of(priced["before_discount_amount_total_decimal"]) == before


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(0, 12))
def test_js_number_strings_round_trip_without_trailing_zeros(units: int, places: int) -> None:
    value = Decimal(units).scaleb(-places)
    text = js_number_string(value)
    assert Decimal(text) == value
    if "e" not in text and "." in text:
        assert not text.endswith("0")
    # no exponent inside JavaScript's plain range 1e-6 <= |x| < 1e21
    assert ("e" in text) == (value != 0 and not Decimal("1e-6") <= abs(value) < Decimal("1e21"))
