"""Tiered prices: which tiers a mapping value reaches, and the volume, flat fee and graduated amounts.

The tier is chosen by the (period-converted) price mapping value, not by the quantity; without a
mapping the value counts as 1. Tiers are taken in the order given: tier 0 always applies to a value
of 0 or more, tier i when the value is above tier i-1's ``up_to`` (so a value exactly at ``up_to``
stays in the lower tier), and the last such tier is the one chosen.
"""

from __future__ import annotations

import math
from typing import Any

from .dinero import (
    UNDEFINED,
    from_decimal,
    js_string,
    js_truthy,
    multiply,
    nullish,
    prop,
    to_number,
    to_unit,
)
from .errors import PricingInputError
from .unit_values import per_unit_values

ON_REQUEST = "show_as_on_request"


def _tier_list(tiers: object) -> list[Any]:
    if nullish(tiers):
        return []
    if not isinstance(tiers, list):
        raise PricingInputError("tiers must be an array")
    return tiers


def _bound(tier: object) -> float:
    """``tier?.up_to || 0`` as a number."""
    up_to = prop(tier, "up_to")
    return to_number(up_to) if js_truthy(up_to) else 0.0


def reached_tiers(tiers: list[Any], value: float) -> list[Any]:
    """The tiers a value reaches (``getPriceTiersForQuantity``)."""
    return [tier for index, tier in enumerate(tiers)
            if (value >= 0 if index == 0 else value > _bound(tiers[index - 1]))]


def chosen_tier(tiers: list[Any], value: float) -> Any:
    reached = reached_tiers(tiers, value)
    return reached[-1] if reached else UNDEFINED


def _or(value: Any, default: Any) -> Any:
    return value if js_truthy(value) else default


def _display_mode(tier: object, unchanged: Any) -> Any:
    return ON_REQUEST if prop(tier, "display_mode") == "on_request" else unchanged


def volume_values(tiers: object, currency: str, inclusive: Any, select_value: float, tax: Any,
                  multiplier: float, unchanged_display: Any) -> dict[str, Any]:
    tier = chosen_tier(_tier_list(tiers), select_value)
    values = per_unit_values(prop(tier, "unit_amount_decimal"), currency, inclusive, multiplier, tax)
    return {
        "tiers_details": [{
            "quantity": multiplier,
            "unit_amount": _or(prop(tier, "unit_amount"), 0),
            "unit_amount_decimal": _or(prop(tier, "unit_amount_decimal"), "0"),
            "unit_amount_net": values["unit_amount_net"] or 0.0,
            "unit_amount_gross": values["unit_amount_gross"] or 0.0,
            "amount_subtotal": values["amount_subtotal"] or 0.0,
            "amount_total": values["amount_total"] or 0.0,
            "amount_tax": values["amount_tax"] or 0.0,
        }],
        **{key: values[key] for key in ("unit_amount_gross", "unit_amount_net", "amount_subtotal",
                                        "amount_total", "amount_tax")},
        "price_display_in_journeys": _display_mode(tier, unchanged_display),
    }


def flat_fee_values(tiers: object, currency: str, inclusive: Any, select_value: float, tax: Any,
                    quantity: float, uses_mapping: bool, unchanged_display: Any) -> dict[str, Any]:
    """The chosen tier's flat fee, times the quantity only when a mapping chose the tier."""
    tier = chosen_tier(_tier_list(tiers), select_value)
    values = per_unit_values(prop(tier, "flat_fee_amount_decimal"), currency, inclusive,
                             quantity if uses_mapping else 1.0, tax)
    net, gross = values["unit_amount_net"], values["unit_amount_gross"]
    return {
        "tiers_details": [{
            "quantity": select_value,
            "unit_amount": _or(prop(tier, "flat_fee_amount"), 0),
            "unit_amount_decimal": _or(prop(tier, "flat_fee_amount_decimal"), "0"),
            "unit_amount_net": net or 0.0,
            "unit_amount_gross": gross or 0.0,
            "amount_subtotal": net or 0.0,
            "amount_total": gross or 0.0,
            "amount_tax": (gross - net) or 0.0,
        }],
        **{key: values[key] for key in ("unit_amount_gross", "unit_amount_net", "amount_subtotal",
                                        "amount_total", "amount_tax")},
        "price_display_in_journeys": _display_mode(tier, unchanged_display),
    }


def _units_in_tier(low: Any, high: Any, value: float) -> float:
    """The part of ``value`` between a tier's bounds (``getQuantityForTier``), in 12-place steps."""
    if not isinstance(low, int | float) or isinstance(low, bool) or low != low:
        raise PricingInputError("Tier min quantity must be a number")
    if not isinstance(high, int | float) or isinstance(high, bool) or high != high:
        raise PricingInputError("Tier max quantity must be a number")
    if low >= high:
        raise PricingInputError("Tier min quantity must be less than tier max quantity")
    if value < low:
        raise PricingInputError("Normalized quantity must be greater than tier min quantity")
    upper = high if value >= high else value
    return to_unit(from_decimal(js_string(float(upper))) - from_decimal(js_string(float(low))))


def graduated_values(tiers: object, currency: str, inclusive: Any, select_value: float, tax: Any,
                     quantity: float, uses_mapping: bool, unchanged_display: Any) -> dict[str, Any]:
    """Each reached tier priced for the units of the value that fall in it.

    The unit amounts are the sums of the tiers' unit amounts (per unit, not the total); only the
    totals are multiplied by the quantity, and only when a mapping chose the tiers: without one, the
    first tier once, whatever the quantity (corpus cases "graduated tiers with a yearly mapping on a
    monthly price" and "graduated tiers without a mapping: the first tier once, whatever the
    quantity")."""
    tier_list = _tier_list(tiers)
    totals: dict[str, Any] = {"unit_amount_gross": 0.0, "unit_amount_net": 0.0, "amount_subtotal": 0.0,
                              "amount_total": 0.0, "amount_tax": 0.0}
    for index, tier in enumerate(reached_tiers(tier_list, select_value)):
        low = 0 if index == 0 else prop(tier_list[index - 1], "up_to")
        high = prop(tier, "up_to")
        units = _units_in_tier(None if low is UNDEFINED else low, high if js_truthy(high) else math.inf,
                               select_value)
        values = per_unit_values(prop(tier, "unit_amount_decimal"), currency, inclusive, units, tax)
        totals.setdefault("tiers_details", []).append({
            "quantity": units,
            "unit_amount": _or(prop(tier, "unit_amount"), 0),
            "unit_amount_decimal": _or(prop(tier, "unit_amount_decimal"), "0"),
            "unit_amount_net": values["unit_amount_net"] or 0.0,
            "unit_amount_gross": values["unit_amount_gross"] or 0.0,
            "amount_subtotal": values["amount_subtotal"] or 0.0,
            "amount_total": values["amount_total"] or 0.0,
            "amount_tax": values["amount_tax"] or 0.0,
        })
        for key in ("unit_amount_gross", "unit_amount_net", "amount_subtotal", "amount_total", "amount_tax"):
            totals[key] = totals[key] + values[key]
        totals["price_display_in_journeys"] = _display_mode(tier, unchanged_display)
    factor = quantity if uses_mapping else 1.0
    for key in ("amount_subtotal", "amount_total", "amount_tax"):
        totals[key] = multiply(totals[key], factor)
    return totals
