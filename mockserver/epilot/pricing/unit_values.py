"""The per-unit computation every pricing model ends in, and the tax rate it uses.

Tax inclusive: net = unit / (1 + rate), tax = unit - net. Tax exclusive: tax = unit * rate. The
unit values are computed first, then each is multiplied by the multiplier (quantity, or mapping
value * quantity), rounding half-to-even at 12 places after each step.
"""

from __future__ import annotations

from typing import Any

from .dinero import divide, from_decimal, js_truthy, multiply, prop, to_number

_TAX_RATES_NONTAXABLE = 0.0


def tax_value(tax: Any) -> float:
    """``getTaxValue``: the rate as a fraction (19 -> 0.19); no tax, a null or non-numeric rate is 0."""
    if not js_truthy(tax):
        return _TAX_RATES_NONTAXABLE
    rate = prop(tax[0], "rate") if isinstance(tax, list) and tax else prop(tax, "rate")
    number = to_number(rate)
    return (number if number == number and number != 0 else 0.0) / 100


def per_unit_values(unit_amount_decimal: Any, currency: str, inclusive: Any, multiplier: float,
                    tax: Any) -> dict[str, float]:
    """``computePerUnitPriceItemValues``: 12-place amounts (integers of 10^-12 units)."""
    del currency  # every amount of one item is in the item's currency
    unit = from_decimal(unit_amount_decimal)
    rate = tax_value(tax)
    if js_truthy(inclusive):
        net = divide(unit, 1 + rate)
        unit_tax = unit - net
    else:
        net = unit
        unit_tax = multiply(unit, rate)
    gross = net + unit_tax
    return {
        "unit_amount": unit,
        "unit_amount_net": net,
        "unit_amount_gross": gross,
        "amount_subtotal": multiply(net, multiplier),
        "amount_total": multiply(gross, multiplier),
        "amount_tax": multiply(unit_tax, multiplier),
    }
