"""Prices computed from an external value: dynamic tariffs (day-ahead market) and GetAG grid fees.

The external value arrives on the line item as an ``external_fees_mappings`` entry for the price,
converted to the price's billing period. Without one, both models price at zero.
"""

from __future__ import annotations

from typing import Any

from .dinero import divide, from_decimal, js_truthy, multiply, prop, to_unit_string
from .tiers import flat_fee_values, volume_values
from .unit_values import per_unit_values, tax_value


def dynamic_tariff_values(tariff: Any, currency: str, inclusive: Any, multiplier: float,
                          fee_decimal: str | None, tax: Any) -> dict[str, Any]:
    if fee_decimal is None or tariff is None:
        return {"unit_amount_net": 0.0, "unit_amount_gross": 0.0, "amount_tax": 0.0, "amount_subtotal": 0.0,
                "amount_total": 0.0,
                "dynamic_tariff": {**(tariff or {}), "unit_amount_net": 0.0, "unit_amount_gross": 0.0,
                                   "markup_amount_net": 0.0, "markup_amount_gross": 0.0}}
    rate = tax_value(tax)
    incl = js_truthy(inclusive)
    if prop(tariff, "mode") == "manual":
        unit = from_decimal(prop(tariff, "average_price_decimal"))
        values = per_unit_values(to_unit_string(unit), currency, inclusive, multiplier, tax)
        return {**values, "dynamic_tariff": {
            **tariff, "markup_amount_net": divide(unit, 1 + rate) if incl else unit,
            "markup_amount_gross": unit if incl else multiply(unit, 1 + rate),
            "unit_amount_net": 0.0, "unit_amount_gross": 0.0}}
    markup = from_decimal(prop(tariff, "markup_amount_decimal"))
    market = from_decimal(fee_decimal)
    unit_decimal = to_unit_string(multiply(market, 1 + rate) + markup if incl else market + markup)
    values = per_unit_values(unit_decimal, currency, inclusive, multiplier, tax)
    return {**values, "dynamic_tariff": {
        **(tariff if isinstance(tariff, dict) else {}),
        "markup_amount_net": divide(markup, 1 + rate) if incl else markup,
        "markup_amount_gross": markup if incl else multiply(markup, 1 + rate),
        "unit_amount_net": market, "unit_amount_gross": multiply(market, 1 + rate)}}


def getag_values(get_ag: Any, currency: str, inclusive: Any, multiplier: float, user_input: float,
                 fee_decimal: str | None, tax: Any) -> dict[str, Any]:
    """GetAG grid fees (a base price, or a work price per unit of the user's input) plus markups."""
    if fee_decimal is None or get_ag is None or user_input == 0:
        return {"unit_amount_net": 0.0, "unit_amount_gross": 0.0, "amount_tax": 0.0, "amount_subtotal": 0.0,
                "amount_total": 0.0,
                "get_ag": {**(get_ag or {}), "unit_amount_net": 0.0, "unit_amount_gross": 0.0,
                           "markup_amount_net": 0.0, "markup_amount_gross": 0.0,
                           "markup_total_amount_net": 0.0, "markup_total_amount_gross": 0.0}}
    rate = tax_value(tax)
    incl = js_truthy(inclusive)
    model, tiers = prop(get_ag, "markup_pricing_model"), prop(get_ag, "markup_tiers")
    if model == "tiered_volume" and js_truthy(tiers):
        markup = volume_values(tiers, currency, inclusive, user_input, tax, user_input, "show_price")
    elif model == "tiered_flatfee" and js_truthy(tiers):
        markup = flat_fee_values(tiers, currency, inclusive, user_input, tax, user_input, True, "show_price")
    else:
        amount = from_decimal(prop(get_ag, "markup_amount_decimal"))
        markup = {"unit_amount_net": divide(amount, 1 + rate) if incl else amount,
                  "unit_amount_gross": amount if incl else multiply(amount, 1 + rate)}
    relevant_tier = (markup.get("tiers_details") or [None])[0]
    additional = None
    extra = prop(get_ag, "additional_markups")
    if prop(get_ag, "type") == "work_price" and js_truthy(prop(get_ag, "additional_markups_enabled")) \
            and isinstance(extra, dict):
        additional = {}
        for key, value in extra.items():
            amount = from_decimal(prop(value, "amount_decimal"))
            additional[key] = {"amount_net": divide(amount, 1 + rate) if incl else amount,
                               "amount_gross": amount if incl else multiply(amount, 1 + rate),
                               "amount_decimal": prop(value, "amount_decimal"), "amount": prop(value, "amount")}
    total_markup = dict(markup)
    if additional is not None:
        total_markup = {
            "unit_amount_net": (markup.get("unit_amount_net") or 0.0) + sum(v["amount_net"] or 0.0
                                                                         for v in additional.values()),
            "unit_amount_gross": (markup.get("unit_amount_gross") or 0.0) + sum(v["amount_gross"] or 0.0
                                                                             for v in additional.values())}
    fee_net = from_decimal(fee_decimal)
    if prop(get_ag, "type") != "base_price":
        fee_net = divide(fee_net, user_input)
    fee_gross = multiply(fee_net, 1 + rate)
    unit_net = fee_net + (total_markup.get("unit_amount_net") or 0.0)
    unit_gross = multiply(unit_net, 1 + rate)
    unit_tax = unit_gross - unit_net
    base = prop(get_ag, "type") == "base_price"
    out_get_ag = {
        **get_ag, "unit_amount_net": fee_net, "unit_amount_gross": fee_gross,
        "markup_amount_net": markup.get("unit_amount_net") or 0.0,
        "markup_amount_gross": markup.get("unit_amount_gross") or 0.0,
        "markup_amount": (relevant_tier["unit_amount"] if relevant_tier else prop(get_ag, "markup_amount")) or 0,
        "markup_total_amount_net": total_markup.get("unit_amount_net") or 0.0,
        "markup_total_amount_gross": total_markup.get("unit_amount_gross") or 0.0,
        "markup_amount_decimal": (relevant_tier["unit_amount_decimal"] if relevant_tier
                                  else prop(get_ag, "markup_amount_decimal")) or "0",
    }
    if additional is not None:
        out_get_ag["additional_markups"] = additional
    else:
        out_get_ag.pop("additional_markups", None)
    return {
        "unit_amount_net": unit_net, "unit_amount_gross": unit_gross,
        "amount_tax": unit_tax if base else multiply(unit_tax, multiplier),
        "amount_subtotal": unit_net if base else multiply(unit_net, multiplier),
        "amount_total": unit_gross if base else multiply(unit_gross, multiplier),
        "get_ag": out_get_ag,
    }
