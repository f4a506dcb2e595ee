"""Coupons: validity, promo-code gating, ranking, and applying the one that wins.

Only the best ranked valid coupon of a line applies: cashback before discount, percentage before
fixed, larger value first, older ``_created_at`` first. A discount lowers the unit amount (on the
gross unit when tax inclusive, the net unit when exclusive); a cashback never lowers the totals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .dinero import (
    divide,
    from_decimal,
    is_js_number,
    js_truthy,
    multiply,
    number_from_string,
    prop,
    same_currency,
)
from .periods import normalize_amount
from .unit_values import tax_value


def is_fixed(coupon: Any) -> bool:
    return (prop(coupon, "type") == "fixed" and is_js_number(prop(coupon, "fixed_value"))
            and isinstance(prop(coupon, "fixed_value_decimal"), str)
            and isinstance(prop(coupon, "fixed_value_currency"), str))


def is_percentage(coupon: Any) -> bool:
    value = prop(coupon, "percentage_value")
    return (prop(coupon, "type") == "percentage" and isinstance(value, str)
            and not math.isnan(number_from_string(value)))


def is_valid(coupon: Any) -> bool:
    return is_fixed(coupon) or is_percentage(coupon)


def is_cashback(coupon: Any) -> bool:
    return prop(coupon, "category") == "cashback"


def _timestamp(value: Any) -> float:
    """``new Date(value).getTime()`` for ISO 8601 strings, 0 for what does not parse."""
    if not isinstance(value, str) or not value:
        return 0.0
    text = value.strip()
    try:
        if len(text) == 10:  # a date alone is UTC midnight
            parsed = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return math.floor(parsed.timestamp() * 1000)


def _number(value: Any) -> float:
    if value is None or not isinstance(value, int | float | str) or isinstance(value, bool):
        return 0.0 if value is None else math.nan
    return float(value) if not isinstance(value, str) else number_from_string(value)


def _order(a: Any, b: Any) -> float:
    """``getCouponOrder``: negative when ``a`` ranks before ``b``."""
    if prop(a, "category") != prop(b, "category"):
        return -1 if is_cashback(a) else 1
    if prop(a, "type") != prop(b, "type"):
        return -1 if is_percentage(a) else 1
    difference = 0.0
    if is_percentage(a):
        difference = _number(prop(b, "percentage_value") or 0) - _number(prop(a, "percentage_value") or 0)
    elif is_fixed(a):
        difference = _number(prop(b, "fixed_value") or 0) - _number(prop(a, "fixed_value") or 0)
    if difference != 0 and difference == difference:
        return difference
    if difference != difference:  # NaN: JavaScript's sort treats it as "equal"
        return 0
    return _timestamp(prop(a, "_created_at")) - _timestamp(prop(b, "_created_at"))


def _sort_key() -> Any:
    return functools.cmp_to_key(lambda a, b: (_order(a, b) > 0) - (_order(a, b) < 0))


def redeemed_coupon_ids(redeemed_promos: Iterable[Any]) -> list[Any]:
    ids: list[Any] = []
    for promo in redeemed_promos:
        coupons = prop(promo, "coupons")
        if isinstance(coupons, list):
            ids.extend(prop(coupon, "_id") for coupon in coupons)
    return ids


def _unlocked(coupon: Any, redeemed_ids: list[Any]) -> bool:
    return not js_truthy(prop(coupon, "requires_promo_code")) or any(
        i == prop(coupon, "_id") and type(i) is type(prop(coupon, "_id")) for i in redeemed_ids)


def ranked_coupons(coupons: list[Any], redeemed_ids: list[Any]) -> list[Any]:
    """Valid coupons not locked behind an unredeemed promo code, best first."""
    usable = [c for c in coupons if is_valid(c) and _unlocked(c, redeemed_ids)]
    return sorted(usable, key=_sort_key())


def composite_cashbacks(coupons: Any, redeemed_ids: list[Any]) -> list[Any]:
    """Fixed cashback coupons on a composite item itself, ranked (all of them count)."""
    if not isinstance(coupons, list):
        return []
    usable = [c for c in coupons if is_fixed(c) and is_cashback(c) and _unlocked(c, redeemed_ids)]
    return sorted(usable, key=_sort_key())


def _clamp_percentage(coupon: Any) -> float:
    value = number_from_string(coupon["percentage_value"])
    return min(max(value, 0.0), 100.0)


def _unit_discount(coupon: Any, net: float, gross: float, currency: str, inclusive: bool,
                   rate: float) -> tuple[float, float, float | None]:
    """(gross unit discount, net unit discount, percentage or None) for a unit of ``net``/``gross``."""
    if is_percentage(coupon):
        percentage = _clamp_percentage(coupon)
        if inclusive:
            discount = divide(multiply(gross, percentage), 100)
            return discount, divide(discount, 1 + rate), percentage
        discount_net = divide(multiply(net, percentage), 100)
        return multiply(discount_net, 1 + rate), discount_net, percentage
    fixed = from_decimal(coupon["fixed_value_decimal"])
    same_currency(coupon["fixed_value_currency"], currency)
    if inclusive:
        discount = gross if fixed > gross else fixed  # a fixed discount is capped at the unit amount
        return discount, divide(discount, 1 + rate), None
    discount_net = net if fixed > net else fixed
    return multiply(discount_net, 1 + rate), discount_net, None


def _discounted(net: float, gross: float, quantity: float, discount: float, discount_net: float,
                inclusive: bool, rate: float) -> dict[str, float]:
    after_net = net - discount_net
    after_gross = gross - discount if inclusive else multiply(after_net, 1 + rate)
    before_tax = gross - net if inclusive else multiply(net, rate)
    tax_discount = (multiply(discount - discount_net, quantity) if inclusive
                    else multiply(multiply(discount_net, rate), quantity))
    return {
        "unit_amount_gross": after_gross,
        "unit_amount_net": after_net,
        "amount_subtotal": multiply(after_net, quantity),
        "amount_total": multiply(after_gross, quantity),
        "amount_tax": multiply(after_gross - after_net, quantity),
        "unit_discount_amount": discount,
        "before_discount_unit_amount": gross if inclusive else net,
        "before_discount_unit_amount_gross": gross,
        "before_discount_unit_amount_net": net,
        "unit_discount_amount_net": discount_net,
        "tax_discount_amount": tax_discount,
        "before_discount_tax_amount": multiply(before_tax, quantity),
        "discount_amount": multiply(discount, quantity),
        "discount_amount_net": multiply(discount_net, quantity),
        "before_discount_amount_total": multiply(gross, quantity),
        "before_discount_amount_subtotal": multiply(net, quantity),
    }


_GRADUATED_SUMS = ("unit_amount_gross", "unit_amount_net", "amount_subtotal", "amount_total", "amount_tax",
                   "unit_discount_amount", "before_discount_unit_amount", "before_discount_unit_amount_gross",
                   "before_discount_unit_amount_net", "unit_discount_amount_net", "tax_discount_amount",
                   "before_discount_tax_amount", "discount_amount", "discount_amount_net",
                   "before_discount_amount_total", "before_discount_amount_subtotal")


def apply_coupon(values: dict[str, Any], *, item: dict[str, Any], currency: str, inclusive: Any,
                 multiplier: float, tax: Any, coupon: dict[str, Any]) -> dict[str, Any]:
    """``applyDiscounts``: the item values after the winning coupon."""
    rate = tax_value(tax)
    incl = js_truthy(inclusive)
    net, gross = values["unit_amount_net"], values["unit_amount_gross"]
    if is_cashback(coupon):
        if is_fixed(coupon):
            unit_cashback = from_decimal(coupon["fixed_value_decimal"])
        else:
            unit_cashback = divide(multiply(gross, _clamp_percentage(coupon)), 100)
        cashback = multiply(unit_cashback, multiplier)
        # The cashback is yearly; the item's "after cashback" is its gross *unit* minus the cashback per
        # billing period of the price snapshot (even for a one-time price that names a period).
        per_period = normalize_amount(cashback, "yearly", prop(prop(item, "_price"), "billing_period"))
        if is_fixed(coupon):
            same_currency(currency, coupon["fixed_value_currency"])
        return {**values, "cashback_amount": cashback, "after_cashback_amount_total": gross - per_period}
    price = prop(item, "_price")
    if prop(price, "pricing_model") == "tiered_graduated" and js_truthy(values.get("tiers_details")):
        # Graduated tiers are discounted tier by tier, each with its own quantity, and then summed.
        totals = dict.fromkeys(_GRADUATED_SUMS, 0.0)
        percentage = None
        for tier in values["tiers_details"]:
            discount, discount_net, percentage = _unit_discount(
                coupon, tier["unit_amount_net"], tier["unit_amount_gross"], currency, incl, rate)
            tier_values = _discounted(tier["unit_amount_net"], tier["unit_amount_gross"], tier["quantity"],
                                      discount, discount_net, incl, rate)
            for key in _GRADUATED_SUMS:
                totals[key] = totals[key] + tier_values[key]
        out = {**values, **totals, "tiers_details": values["tiers_details"]}
        if percentage is not None:
            out["discount_percentage"] = percentage
        return out
    discount, discount_net, percentage = _unit_discount(coupon, net, gross, currency, incl, rate)
    discounted = _discounted(net, gross, multiplier, discount, discount_net, incl, rate)
    out = {**values, "unit_amount": discounted["unit_amount_gross"] if incl else discounted["unit_amount_net"]}
    out.update(discounted)
    if percentage is not None:
        out["discount_percentage"] = percentage
    return out
