"""The differential harness: epilot's pricing library (a Node process) versus our engine.

``Oracle`` keeps one ``node tests/oracles/epilot-pricing/compute.cjs`` process open and prices a
request body per line. ``differences`` compares the two results field by field; ``carts`` is the
hypothesis strategy of line items as shop front ends send them.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from mockserver.epilot.pricing import PricingInputError, compute_pricing_details

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT / "tests" / "oracles" / "epilot-pricing" / "compute.cjs"
CORPUS = ROOT / "tests" / "data" / "pricing_oracle_corpus.json"


class Oracle:
    """One Node process running epilot's library; ``price(body)`` is its answer for one request body."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        self.process = subprocess.Popen([node, str(ORACLE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, encoding="utf-8", bufsize=1)
        self.count = 0

    def price(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(body) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the oracle process ended")
        self.count += 1
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


def ours(body: dict[str, Any]) -> dict[str, Any]:
    """Our engine's answer in the oracle's terms: the PricingDetails, or ``{"error": ...}``."""
    try:
        result = compute_pricing_details(body.get("line_items") or [], redeemed_promos=body.get("redeemed_promos"))
    except PricingInputError as exc:
        return {"error": str(exc)}
    return json.loads(json.dumps(result))  # as the API sends it (an undefined member would fail here)


# Our documented additions to the library's answer (the published schema requires them): an item's
# ``pricing_model`` and a composite item's ``is_composite_price``, where the library echoes none.
ADDITIONS = {(r"\$\.items\[\d+\](\.item_components\[\d+\])?", "pricing_model"),
             (r"\$\.items\[\d+\]", "is_composite_price")}


def _added(path: str, key: str) -> bool:
    return any(re.fullmatch(where, path) and key == name for where, name in ADDITIONS)


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every place where ``actual`` differs from ``expected``: missing or extra fields, other values.

    Numbers compare by value and type (JavaScript prints integral numbers as integers); everything
    else exactly. Two errors agree whatever their messages say (the library's wording is
    JavaScript's). Only the documented ``ADDITIONS`` may be in ours and not in the library's."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if "error" in expected or "error" in actual:
            return [] if ("error" in expected) == ("error" in actual) else [
                f"{path}: library {json.dumps(expected)[:300]} / ours {json.dumps(actual)[:300]}"]
        out = []
        for key in sorted(expected.keys() | actual.keys()):
            if key not in actual:
                out.append(f"{path}.{key}: missing in ours (library: {json.dumps(expected[key])[:200]})")
            elif key not in expected:
                if not _added(path, key):
                    out.append(f"{path}.{key}: not in the library's result (ours: {json.dumps(actual[key])[:200]})")
            else:
                out.extend(differences(expected[key], actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} entries in the library's result, {len(actual)} in ours"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in differences(e, a, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(actual, numbers) \
            and not isinstance(expected, bool) and not isinstance(actual, bool):
        # JSON has one number type, but JavaScript never prints an integral number as "1.0"
        same = expected == actual and type(expected) is type(actual)
        return [] if same else [f"{path}: library {expected!r}, ours {actual!r}"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: library {json.dumps(expected)}, ours {json.dumps(actual)}"]
    return []


# -- generated carts ------------------------------------------------------------------------------------

BOOLS = st.booleans()


@functools.cache
def _ints(low: int, high: int) -> Any:
    return st.integers(low, high)


def ints(low: int, high: int) -> Any:
    """``st.integers``, built once per range (building strategies dominates generation time)."""
    return _ints(low, high)


@functools.cache
def _pick(values: tuple[Any, ...]) -> Any:
    return st.sampled_from(values)


def pick(values: Any) -> Any:
    return _pick(tuple(values))


@functools.cache
def lists(elements: Any, min_size: int = 0, max_size: int | None = None, unique: bool = False) -> Any:
    return st.lists(elements, min_size=min_size, max_size=max_size, unique=unique)


PERIODS = ["weekly", "monthly", "every_quarter", "every_6_months", "yearly"]
RATES: list[Any] = [19, 7, "19", "7.7", 16, "16", 0, "0", None, 2.5, "5"]
TAX_TYPES = ["VAT", "GST", "Custom"]


@functools.cache
def decimals(low: int = 0, high: int = 200_000, places: int = 12, negative: bool = False) -> Any:
    """Decimal strings in major units with up to ``places`` decimals (past 10,000 € sometimes)."""
    scale = 10**places

    def text(raw: tuple[int, int]) -> str:
        units, cut = raw
        value = f"{units // scale}.{units % scale:0{places}d}"[: len(str(units // scale)) + 1 + cut]
        value = value.rstrip(".")
        return "-" + value if negative and units % 10 == 7 else value

    return st.tuples(st.integers(low * scale, high * scale), st.integers(0, places)).map(text)


@functools.cache
@st.composite
def taxes(draw: Any) -> dict[str, Any]:
    tax: dict[str, Any] = {"_id": f"tax-{draw(ints(0, 4))}", "rate": draw(pick(RATES))}
    if draw(BOOLS):
        tax["type"] = draw(pick(TAX_TYPES))
    if draw(ints(0, 5)) == 0:
        del tax["_id"]
    return tax


@functools.cache
@st.composite
def coupons(draw: Any, currency: str) -> dict[str, Any]:
    index = draw(ints(0, 6))
    coupon: dict[str, Any] = {"_id": f"coupon-{index}", "name": f"Coupon {index}",
                              "category": draw(pick(["discount", "cashback"]))}
    kind = draw(pick(["percentage", "fixed", "fixed", "broken"]))
    if kind == "percentage":
        coupon.update(type="percentage", percentage_value=str(draw(ints(-5, 120))))
    elif kind == "fixed":
        value = draw(decimals(0, 300, 2))
        coupon.update(type="fixed", fixed_value=round(float(value) * 100), fixed_value_decimal=value,
                      fixed_value_currency=currency if draw(ints(0, 19)) else "EUR")
    else:
        coupon.update(type="fixed", fixed_value_decimal="5")  # invalid: dropped
    if draw(BOOLS):
        coupon["cashback_period"] = draw(pick(["0", "12"]))
    if draw(BOOLS):
        coupon["_created_at"] = f"2024-0{draw(ints(1, 9))}-1{draw(ints(0, 9))}T10:00:00.000Z"
    if draw(ints(0, 3)) == 0:
        coupon["requires_promo_code"] = True
    return coupon


@functools.cache
@st.composite
def tiers(draw: Any) -> list[dict[str, Any]]:
    count = draw(ints(1, 4))
    bounds = sorted(draw(lists(ints(1, 20_000), min_size=count, max_size=count, unique=True)))
    if draw(ints(0, 9)) == 0:
        bounds.reverse()  # tiers out of order: taken in the order given
    out = []
    for index, bound in enumerate(bounds):
        tier: dict[str, Any] = {"unit_amount_decimal": draw(decimals(0, 2, 6)),
                                "flat_fee_amount_decimal": draw(decimals(0, 500, 2))}
        tier["unit_amount"] = int(float(tier["unit_amount_decimal"]) * 100)
        tier["flat_fee_amount"] = int(float(tier["flat_fee_amount_decimal"]) * 100)
        if index < count - 1 or draw(BOOLS):
            tier["up_to"] = bound
        if draw(ints(0, 9)) == 0:
            tier["display_mode"] = "on_request"
        out.append(tier)
    return out


@functools.cache
@st.composite
def prices(draw: Any, index: int, models: tuple[str, ...] = ("per_unit", "tiered_volume", "tiered_graduated",
                                                                "tiered_flatfee")) -> dict[str, Any]:
    model = draw(pick(models))
    currency = draw(pick(["EUR", "EUR", "CHF", "chf"]))
    amount = draw(decimals(0, 20_000, 12, negative=True))
    price: dict[str, Any] = {"_id": f"price-{index}", "pricing_model": model, "unit_amount_currency": currency,
                             "unit_amount_decimal": amount, "unit_amount": int(float(amount) * 100),
                             "_org": "739224", "_schema": "price", "_created_at": "2024-01-01T00:00:00.000Z"}
    if model != "per_unit":
        price["tiers"] = draw(tiers())
    elif draw(ints(0, 2)) == 0:
        price["variable_price"] = True
    if draw(BOOLS):
        price.update(type="recurring", billing_period=draw(pick(PERIODS)))
    else:
        price["type"] = "one_time"
        if draw(ints(0, 9)) == 0:
            price["billing_period"] = draw(pick(PERIODS))
    inclusive = draw(pick([True, False, None]))
    if inclusive is not None:
        price["is_tax_inclusive"] = inclusive
    if draw(ints(0, 3)):
        price["tax"] = draw(lists(taxes(), min_size=1, max_size=2))
    display = draw(pick([None, None, None, "show_price", "show_as_on_request", "show_as_starting_price"]))
    if display is not None:
        price["price_display_in_journeys"] = display
    return price


def _mapping(draw: Any, price_id: str) -> dict[str, Any]:
    mapping: dict[str, Any] = {"price_id": price_id,
                               "frequency_unit": draw(pick([*PERIODS, "one_time"]))}
    value = draw(pick(["int", "fraction", "zero", "none", "int", "negative"]))
    if value == "int":
        mapping["value"] = draw(ints(1, 30_000))
    elif value == "fraction":
        cents = draw(ints(1, 3_000_000))
        mapping["value"] = cents / 100 if cents % 100 else cents // 100
    elif value == "zero":
        mapping["value"] = 0
    elif value == "negative":
        mapping["value"] = -draw(ints(1, 500))
    return mapping


QUANTITIES = (st.sampled_from([1, 1, 2, 0, 3, 12, 1000])
              | st.integers(0, 10**6).map(lambda n: n / 1000 if n % 1000 else n // 1000)  # never "1.0"
              | st.just("2") | st.just(None))


def _quantity(draw: Any) -> Any:
    return draw(QUANTITIES)


@functools.cache
@st.composite
def simple_items(draw: Any, index: int) -> dict[str, Any]:
    kind = draw(pick(["price", "price", "price", "custom"]))
    item: dict[str, Any] = {"quantity": _quantity(draw), "description": f"Item {index}"}
    if item["quantity"] is None:
        del item["quantity"]
    if kind == "custom":  # a custom line without a price
        item["unit_amount_decimal"] = draw(decimals(0, 5_000, 4, negative=True))
        if draw(BOOLS):
            item["taxes"] = [{"tax": draw(taxes())}]
        return item
    price = draw(prices(index))
    item.update(price_id=price["_id"], product_id=f"product-{index}", _price=price)
    currency = price["unit_amount_currency"].upper()
    if draw(ints(0, 3)) == 0:
        item["taxes"] = [{"tax": draw(taxes())}]
    if draw(ints(0, 4)) == 0:
        item["is_tax_inclusive"] = draw(BOOLS)
    if draw(ints(0, 4)) == 0:
        item["unit_amount_decimal"] = draw(decimals(0, 1000, 4))
    variable = price.get("variable_price") or price["pricing_model"] != "per_unit" or draw(ints(0, 5)) == 0
    if variable and draw(ints(0, 4)):
        item["price_mappings"] = [_mapping(draw, price["_id"])]
    if draw(BOOLS):
        item["_coupons"] = draw(lists(coupons(currency), min_size=0, max_size=3))
    if price.get("price_display_in_journeys") == "show_as_on_request" and draw(BOOLS):
        item["on_request_approved"] = True
    if draw(ints(0, 5)) == 0:
        item["_product"] = {"_id": f"product-{index}", "name": f"Product {index}", "_schema": "product"}
    if draw(ints(0, 7)) == 0:  # the line overrides the price's recurrence
        item["type"] = draw(pick(["one_time", "recurring"]))
        if item["type"] == "recurring" and draw(BOOLS):
            item["billing_period"] = draw(pick(PERIODS))
    return item


@functools.cache
@st.composite
def composite_items(draw: Any, index: int) -> dict[str, Any]:
    count = draw(ints(1, 3))
    components = [draw(prices(index * 10 + i)) for i in range(count)]
    currency = draw(pick(["EUR", "CHF"]))
    for component in components:
        component["unit_amount_currency"] = currency
    parent: dict[str, Any] = {"_id": f"composite-{index}", "is_composite_price": True,
                              "unit_amount_currency": currency, "description": f"Bundle {index}"}
    item: dict[str, Any] = {"quantity": _quantity(draw), "price_id": parent["_id"], "product_id": f"product-{index}",
                            "is_composite_price": True, "_price": parent}
    if item["quantity"] is None:
        del item["quantity"]
    if draw(BOOLS):  # components as line items
        item["item_components"] = []
        for component in components:
            line: dict[str, Any] = {"price_id": component["_id"], "_price": component,
                                    "quantity": draw(pick([1, 2, 0.5])),
                                    "unit_amount_decimal": component["unit_amount_decimal"]}
            if draw(ints(0, 2)) == 0:
                line["_coupons"] = draw(lists(coupons(currency), min_size=1, max_size=2))
            if draw(ints(0, 3)) == 0:
                line["taxes"] = [{"tax": draw(taxes())}]
            item["item_components"].append(line)
        parent["price_components"] = {"$relation": [{"entity_id": c["_id"]} for c in components]}
    else:  # components only in the composite price
        parent["price_components"] = components
    mappings = [_mapping(draw, c["_id"]) for c in components if draw(BOOLS)]
    if mappings:
        item["price_mappings"] = mappings
    if draw(ints(0, 2)) == 0:
        item["_coupons"] = draw(lists(coupons(currency), min_size=1, max_size=2))
    if draw(ints(0, 3)) == 0:
        item["on_request_approved"] = True
    return item


@st.composite
def carts(draw: Any) -> dict[str, Any]:
    count = draw(ints(0, 5))
    items = [draw(composite_items(i) if draw(ints(0, 4)) == 0 else simple_items(i)) for i in range(count)]
    promos = []
    if draw(BOOLS):
        promos = [{"code": "PROMO", "coupons": [{"_id": f"coupon-{i}"} for i in
                                                 draw(lists(ints(0, 6), max_size=3))]}]
    return {"line_items": items, "redeemed_promos": promos}


def load_corpus() -> list[dict[str, Any]]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def refresh_corpus() -> None:
    """Recompute every corpus case's ``expected`` with the library (``python -m tests.pricing_oracle``)."""
    oracle = Oracle()
    cases = load_corpus()
    for case in cases:
        case["expected"] = oracle.price(case["body"])
    oracle.close()
    CORPUS.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    refresh_corpus()
