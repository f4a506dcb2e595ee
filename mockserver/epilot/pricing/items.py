"""Pricing one simple (non-composite) line item, as epilot's library does (``computePriceItem``).

The price is the line's ``_price`` snapshot (the engine resolves ids to snapshots beforehand). Its
pricing model gives the unit values and a multiplier:

- per unit: the line's ``unit_amount_decimal``, else the price's, times the quantity (or, for a
  ``variable_price``, the mapping value converted to the price's period times the quantity);
- tiered volume / flat fee / graduated: see :mod:`.tiers`; dynamic tariff and GetAG: see
  :mod:`.external_models`.

Then the best coupon applies (:mod:`.coupons`). Amounts stay 12-place integers (doubles) until
:func:`item_to_json` turns them into cents and ``*_decimal`` strings.
"""

from __future__ import annotations

from typing import Any, cast

from .coupons import apply_coupon, ranked_coupons
from .dinero import (
    UNDEFINED,
    from_decimal,
    is_integer,
    is_js_number,
    js_number,
    js_string,
    js_truthy,
    multiply,
    nullish,
    prop,
    safe_quantity,
    strict_equal,
    to_cents,
    to_unit,
    to_unit_string,
)
from .errors import PricingInputError
from .external_models import dynamic_tariff_values, getag_values
from .periods import normalize_decimal, normalize_value
from .tiers import flat_fee_values, graduated_values, volume_values
from .unit_values import per_unit_values

TIERED_MODELS = ("tiered_volume", "tiered_graduated", "tiered_flatfee")
# Entity bookkeeping that a price or product snapshot on a line item leaves out (``mapToPriceSnapshot``).
SNAPSHOT_EXCLUDED = frozenset({"_org", "_schema", "_created_at", "_updated_at", "_owners", "_acl", "_acl_sync",
                               "_viewers", "_relations", "$relation", "file", "_files", "workflows", "_slug"})
# The coupon fields of an item priced before; a line sent back with them is priced from its original unit.
_COUPON_FIELDS = ("before_discount_amount_total", "before_discount_amount_total_decimal",
                  "before_discount_amount_subtotal", "before_discount_amount_subtotal_decimal",
                  "before_discount_unit_amount", "before_discount_unit_amount_decimal",
                  "before_discount_unit_amount_gross", "before_discount_unit_amount_gross_decimal",
                  "before_discount_unit_amount_net", "before_discount_unit_amount_net_decimal",
                  "before_discount_tax_amount", "before_discount_tax_amount_decimal", "discount_amount",
                  "discount_amount_decimal", "discount_percentage", "discount_amount_net",
                  "discount_amount_net_decimal", "tax_discount_amount", "tax_discount_amount_decimal",
                  "unit_discount_amount", "unit_discount_amount_decimal", "unit_discount_amount_net",
                  "unit_discount_amount_net_decimal", "cashback_amount", "cashback_amount_decimal",
                  "after_cashback_amount_total", "after_cashback_amount_total_decimal", "cashback_period")


def price_snapshot(price: Any) -> dict[str, Any]:
    """A price as a line item carries it: bookkeeping fields dropped, component snapshots likewise."""
    if not js_truthy(price) or not isinstance(price, dict):
        return {}
    out = {}
    for key, value in price.items():
        if key in SNAPSHOT_EXCLUDED:
            continue
        if key == "price_components" and isinstance(value, list):
            value = [price_snapshot(component) for component in value]
        out[key] = value
    return out


def product_snapshot(product: Any) -> Any:
    if not js_truthy(product):
        return UNDEFINED
    if not isinstance(product, dict):
        return {}
    return {key: value for key, value in product.items() if key not in SNAPSHOT_EXCLUDED}


def price_tax(applicable: Any, price: Any, item_taxes: Any) -> Any:
    """``getPriceTax``: the given tax, else the line's first tax entry's ``tax``, else the price's first tax.

    A line with taxes whose first entry has no ``tax`` is nontaxable, even if its price has a tax. A
    tax whose rate is null or not a number counts as 0 % (corpus case "a tax with rate null is 0 and
    valid")."""
    if js_truthy(applicable):
        return applicable
    if isinstance(item_taxes, list) and item_taxes:
        return prop(item_taxes[0], "tax")
    existing = prop(price, "tax")
    if applicable is not None and isinstance(existing, list) and existing and js_truthy(existing[0]):
        return existing[0]
    return applicable


def is_variable_price(price: Any) -> bool:
    if js_truthy(prop(price, "is_composite_price")) or isinstance(prop(price, "price_components"), list):
        return False
    model = prop(price, "pricing_model")
    if model in TIERED_MODELS or model == "dynamic_tariff":
        return True
    if model == "external_getag":
        get_ag = prop(price, "get_ag")
        return prop(get_ag, "type") == "work_price" or (
            prop(get_ag, "type") == "base_price" and prop(get_ag, "markup_pricing_model") == "tiered_flatfee")
    if model == "per_unit" or not js_truthy(model):
        return js_truthy(prop(price, "variable_price"))
    return False


def find_by_price_id(entries: Any, *ids: Any) -> Any:
    """The first entry of ``price_mappings`` / ``external_fees_mappings`` whose ``price_id`` is one of ids."""
    if nullish(entries):
        return UNDEFINED
    if not isinstance(entries, list):
        raise PricingInputError("price_mappings and external_fees_mappings must be arrays")
    for entry in entries:
        if not isinstance(entry, dict):
            raise PricingInputError("price_mappings and external_fees_mappings must hold objects")
        if any(strict_equal(entry.get("price_id", UNDEFINED), i) for i in ids):
            return entry
    return UNDEFINED


def _mapping_amount(mapping: Any, price: Any) -> float | None:
    """``normalizePriceMappingInput``: the mapping value per the price's period (12-place), or None."""
    if not js_truthy(price) or not js_truthy(mapping):
        return None
    value = prop(mapping, "value")
    if not is_js_number(value) and not js_truthy(prop(mapping, "frequency_unit")):
        return None
    safe = safe_quantity(value)
    if prop(price, "type") != "one_time" and js_truthy(value):
        return normalize_value(safe, prop(mapping, "frequency_unit"), prop(price, "billing_period"))
    return from_decimal(js_string(safe))


def quantities(price: Any, quantity: Any, mapping: Any) -> tuple[float, Any, float, bool]:
    """(safe quantity, value choosing the tier or UNDEFINED, multiplier, whether a mapping was used)."""
    safe = safe_quantity(quantity)
    if not js_truthy(price) or not is_variable_price(price):
        return safe, UNDEFINED, safe, False
    amount = _mapping_amount(mapping, price)
    if amount is None:
        return safe, 1.0, safe, False
    return safe, to_unit(amount), to_unit(multiply(amount, safe)), True


def external_fee(fee_mapping: Any, period: Any) -> str | None:
    decimal = prop(fee_mapping, "amount_total_decimal")
    if not js_truthy(decimal):
        return None
    if not js_truthy(period):
        return decimal
    return normalize_decimal(decimal, prop(fee_mapping, "frequency_unit"), period)


def _from_priced(item: dict[str, Any]) -> dict[str, Any]:
    """A line priced before with a coupon, back to what it was before the coupon."""
    out = {k: v for k, v in item.items() if k not in _COUPON_FIELDS}
    if js_truthy(item.get("before_discount_unit_amount")):
        out["unit_amount"] = item["before_discount_unit_amount"]
        if "before_discount_unit_amount_decimal" in item:
            out["unit_amount_decimal"] = item["before_discount_unit_amount_decimal"]
        else:
            out.pop("unit_amount_decimal", None)
    return out


def compute_price_item(line: dict[str, Any], *, tax: Any, quantity: Any, mapping: Any, fee_mapping: Any,
                       redeemed_ids: list[Any]) -> dict[str, Any]:
    """The priced item with 12-place amounts (``computePriceItem``)."""
    item = _from_priced(line) if ("before_discount_unit_amount_decimal" in line
                                  or "after_cashback_amount_total" in line) else line
    price = item.get("_price", UNDEFINED)
    currency_value = prop(price, "unit_amount_currency")
    currency_value = currency_value if js_truthy(currency_value) else "EUR"
    if not isinstance(currency_value, str):
        raise PricingInputError("unit_amount_currency must be a string")
    currency = currency_value.upper()
    description = item.get("description")
    if nullish(description):
        description = prop(price, "description")
    the_tax = price_tax(tax, price, item.get("taxes", UNDEFINED))
    inclusive = item.get("is_tax_inclusive")
    if nullish(inclusive):
        inclusive = prop(price, "is_tax_inclusive")
        inclusive = True if nullish(inclusive) else inclusive
    safe, select_value, multiplier, uses_mapping = quantities(price, quantity, mapping)
    period = item.get("billing_period") or prop(price, "billing_period")
    fee = external_fee(fee_mapping, period)
    unchanged = prop(price, "unchanged_price_display_in_journeys")
    select = 1.0 if select_value is UNDEFINED else select_value
    model = prop(price, "pricing_model")
    if model == "tiered_volume":
        values = volume_values(prop(price, "tiers"), currency, inclusive, select, the_tax, multiplier, unchanged)
    elif model == "tiered_flatfee":
        values = flat_fee_values(prop(price, "tiers"), currency, inclusive, select, the_tax, safe, uses_mapping,
                                 unchanged)
    elif model == "tiered_graduated":
        values = graduated_values(prop(price, "tiers"), currency, inclusive, select, the_tax, safe, uses_mapping,
                                  unchanged)
    elif model == "dynamic_tariff":
        tariff = prop(price, "dynamic_tariff")
        values = dynamic_tariff_values(None if tariff is UNDEFINED else tariff, currency, inclusive, multiplier,
                                       fee, the_tax)
    elif model == "external_getag":
        get_ag = prop(price, "get_ag")
        values = getag_values(None if get_ag is UNDEFINED else get_ag, currency, inclusive, multiplier, select,
                              fee, the_tax)
    else:
        amount = item.get("unit_amount_decimal")
        if not js_truthy(amount):
            amount = prop(price, "unit_amount_decimal")
        values = per_unit_values(amount if js_truthy(amount) else "0", currency, inclusive, multiplier, the_tax)

    coupons = item.get("_coupons", UNDEFINED)
    applied: Any = UNDEFINED
    if not nullish(coupons):
        if not isinstance(coupons, list):
            raise PricingInputError("_coupons must be an array")
        applied = ranked_coupons(coupons, redeemed_ids)[:1]
    coupon = applied[0] if applied else None
    if coupon is not None:
        values = apply_coupon(values, item=item, currency=currency, inclusive=inclusive,
                              multiplier=safe if model == "tiered_flatfee" else multiplier, tax=the_tax,
                              coupon=coupon)

    out = {**item, **values}
    if out.get("price_display_in_journeys") is UNDEFINED:
        out.pop("price_display_in_journeys")
    if applied is not UNDEFINED:
        out["_coupons"] = applied
    out["currency"] = currency
    if js_truthy(description):
        out["description"] = description
    if is_integer(values.get("cashback_amount", 0.5)):
        period_value = prop(coupon, "cashback_period")
        out["cashback_period"] = "0" if nullish(period_value) else period_value
    out["taxes"] = [{**({"tax": the_tax} if js_truthy(the_tax) else {"rate": "nontaxable", "rateValue": 0}),
                     "amount": values["amount_tax"]}]
    if js_truthy(item.get("_product")):
        out["_product"] = product_snapshot(item["_product"])
    price_type = prop(item, "type")
    if nullish(price_type):
        price_type = prop(price, "type")
    if price_type is UNDEFINED:
        out.pop("type", None)
    else:
        out["type"] = price_type
    if price_type == "recurring":
        item_period = item.get("billing_period")
        period_value = prop(price, "billing_period") if nullish(item_period) else item_period
        if period_value is UNDEFINED:
            out.pop("billing_period", None)
        else:
            out["billing_period"] = period_value
    snapshot = price_snapshot(price)
    display = values.get("price_display_in_journeys")
    if js_truthy(display):
        snapshot["price_display_in_journeys"] = display
        unchanged_display = prop(prop(item, "_price"), "unchanged_price_display_in_journeys")
        if nullish(unchanged_display):
            unchanged_display = prop(price, "price_display_in_journeys")
        if unchanged_display is not UNDEFINED:
            snapshot["unchanged_price_display_in_journeys"] = unchanged_display
    out["_price"] = snapshot
    out["is_tax_inclusive"] = inclusive
    return out


# -- from 12-place amounts to cents and decimal strings (``convertPriceItemPrecision``) ----------------

_OPTIONAL_MONEY = ("unit_amount", "before_discount_unit_amount", "before_discount_unit_amount_gross",
                   "before_discount_unit_amount_net", "unit_discount_amount", "unit_amount_net",
                   "unit_discount_amount_net", "unit_amount_gross")
_OPTIONAL_TOTALS = ("discount_amount", "before_discount_amount_total", "before_discount_amount_subtotal",
                    "cashback_amount", "after_cashback_amount_total", "tax_discount_amount", "discount_amount_net",
                    "before_discount_tax_amount")
_TIER_MONEY = ("unit_amount_gross", "unit_amount_net", "amount_total", "amount_subtotal", "amount_tax")


def _money(out: dict[str, Any], name: str, value: Any) -> None:
    amount = _integer_amount(value)
    out[name] = to_cents(amount)
    out[name + "_decimal"] = to_unit_string(amount)


def _integer_amount(value: Any) -> float:
    """A 12-place amount as Dinero.js takes it: an integer, or the integer assertion fails."""
    if type(value) is float and value.is_integer():
        return value
    if not is_js_number(value) or not is_integer(float(value)):
        raise PricingInputError(f"You must provide an integer (got {js_string(value)})")
    return float(value)


def cents(value: Any) -> int:
    return to_cents(_integer_amount(value))


def item_to_json(item: dict[str, Any]) -> dict[str, Any]:
    """A priced simple item with its amounts in cents plus ``*_decimal`` strings."""
    out = dict(item)
    for name in _OPTIONAL_MONEY:
        if is_js_number(item.get(name)):
            _money(out, name, item[name])
    _money(out, "amount_subtotal", item.get("amount_subtotal"))
    _money(out, "amount_total", item.get("amount_total"))
    for name in _OPTIONAL_TOTALS:
        if is_js_number(item.get(name)):
            _money(out, name, item[name])
    out["amount_tax"] = cents(item.get("amount_tax") or 0.0)
    taxes = item.get("taxes")
    if not isinstance(taxes, list):
        raise PricingInputError("taxes must be an array")
    out["taxes"] = [{**tax, "amount": cents(prop(tax, "amount") or 0.0)} if isinstance(tax, dict)
                    else _not_object(tax) for tax in taxes]
    if js_truthy(item.get("tiers_details")):
        out["tiers_details"] = [_tier_json(tier) for tier in item["tiers_details"]]
    if type(item.get("discount_percentage")) is float:
        out["discount_percentage"] = js_number(item["discount_percentage"])
    model = item.get("pricing_model")
    price_model = prop(item.get("_price"), "pricing_model")
    get_ag = item.get("get_ag")
    if js_truthy(get_ag) and "external_getag" in (model, price_model):
        out["get_ag"] = _getag_json(get_ag)
    tariff = item.get("dynamic_tariff")
    if js_truthy(tariff) and "dynamic_tariff" in (model, price_model):
        converted = dict(cast(dict[str, Any], tariff))
        for name in ("unit_amount_net", "unit_amount_gross", "markup_amount_net", "markup_amount_gross"):
            value = converted.get(name)
            if js_truthy(value):
                converted[name] = cents(value)
                converted[name + "_decimal"] = to_unit_string(_integer_amount(value))
            else:
                converted.pop(name, None)
                converted.pop(name + "_decimal", None)
        out["dynamic_tariff"] = converted
    return out


def _tier_json(tier: Any) -> dict[str, Any]:
    if not isinstance(tier, dict):
        raise PricingInputError("tiers_details must hold objects")
    out = {**tier, **{k: cents(tier.get(k, UNDEFINED)) for k in _TIER_MONEY}}
    if type(tier.get("quantity")) is float:
        out["quantity"] = js_number(tier["quantity"])
    return out


def _not_object(value: Any) -> Any:
    raise PricingInputError("taxes must hold objects")


def _getag_json(get_ag: Any) -> dict[str, Any]:
    out = dict(get_ag)
    for name in ("unit_amount_net", "unit_amount_gross", "markup_amount_net", "markup_amount_gross",
                 "markup_total_amount_net", "markup_total_amount_gross"):
        _money(out, name, get_ag.get(name))
    extra = get_ag.get("additional_markups")
    if js_truthy(get_ag.get("additional_markups_enabled")) and js_truthy(extra) and isinstance(extra, dict):
        converted = {}
        for key, value in extra.items():
            entry = {"amount": prop(value, "amount"), "amount_decimal": prop(value, "amount_decimal")}
            for name in ("amount_net", "amount_gross"):
                raw = prop(value, name)
                if is_js_number(raw) and is_integer(float(raw)):
                    entry[name] = cents(raw)
                    entry[name + "_decimal"] = to_unit_string(float(raw))
            converted[key] = {k: v for k, v in entry.items() if v is not UNDEFINED}
        out["additional_markups"] = converted
    return out
