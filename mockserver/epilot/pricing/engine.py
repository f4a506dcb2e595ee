"""``$calculatePricingDetails``: prices line items the way epilot's pricing library does.

Entry points: :func:`compute_pricing_details` (the compute endpoint) and
:func:`price_order_payload` (createOrder / putOrder / checkout store the same figures on the
order). Both are pure: no HTTP, no store. Like the real API, ids that a line item names without
the snapshot (``price_id`` without ``_price``, ``coupon_ids`` without ``_coupons``, a price's tax
or component relations) are first resolved from a :class:`~.catalog.Catalog`; what the body
carries is priced as it is (``computeAggregatedAndPriceTotals`` of the library).
"""

from __future__ import annotations

from typing import Any

from .catalog import Catalog, hydrate_line
from .coupons import redeemed_coupon_ids
from .dinero import (
    UNDEFINED,
    from_decimal,
    is_js_number,
    js_number,
    js_string,
    js_truthy,
    multiply,
    nullish,
    prop,
    safe_quantity,
    to_unit,
    to_unit_string,
)
from .dinero import (
    from_decimal as _from_decimal,
)
from .errors import PricingInputError
from .items import (
    compute_price_item,
    find_by_price_id,
    item_to_json,
    price_snapshot,
    product_snapshot,
)
from .totals import ON_REQUEST, add_composite, add_item, after_cashbacks, approved, breakdown_to_json


def _is_composite(line: dict[str, Any]) -> bool:
    return js_truthy(line.get("is_composite_price")) or js_truthy(prop(line.get("_price"), "is_composite_price"))


def _valid_component_price(price: Any) -> bool:
    model = prop(price, "pricing_model")
    model = model if js_truthy(model) else "per_unit"
    if model == "per_unit":
        return is_js_number(prop(price, "unit_amount")) and js_truthy(prop(price, "unit_amount_decimal"))
    if model in ("tiered_flatfee", "tiered_volume", "tiered_graduated"):
        return js_truthy(prop(price, "tiers"))
    return True


def _component_sources(line: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """(the line's component or UNDEFINED, its price) for each component (``getPriceComponents``)."""
    given = line.get("item_components")
    if not isinstance(given, list):
        prices = prop(line.get("_price"), "price_components")
        if not isinstance(prices, list):
            return []
        return [(UNDEFINED, p) for p in prices if _valid_component_price(p)]
    out = []
    for component in given:
        if not isinstance(component, dict):
            raise PricingInputError("item_components must hold objects")
        ref = {**component,
               "unit_amount": component.get("unit_amount") if _integer(component.get("unit_amount")) else 0,
               "unit_amount_decimal": component.get("unit_amount_decimal", "0")}
        price = component.get("_price")
        out.append((ref, dict(price) if isinstance(price, dict) else {}))
    return out


def _integer(value: Any) -> bool:
    return is_js_number(value) and float(value).is_integer()


def _component_line(ref: Any, price: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """The component line the library prices: the line's component completed from its price."""
    own = ref if isinstance(ref, dict) else {}
    taxes = price.get("tax")
    first = taxes[0] if isinstance(taxes, list) and taxes else UNDEFINED
    component = dict(own)

    def put(key: str, value: Any) -> None:  # an undefined member is no member (JSON.stringify drops it)
        if value is UNDEFINED:
            component.pop(key, None)
        else:
            component[key] = value

    price_type = own.get("type") if js_truthy(own.get("type")) else price.get("type", UNDEFINED)
    put("pricing_model", own.get("pricing_model") if js_truthy(own.get("pricing_model"))
        else price.get("pricing_model", UNDEFINED))
    component["quantity"] = js_number(safe_quantity(own.get("quantity", UNDEFINED)))
    put("type", price_type)
    if price_type == "recurring":
        put("billing_period", own.get("billing_period") if js_truthy(own.get("billing_period"))
            else price.get("billing_period", UNDEFINED))
    put("price_id", own.get("price_id") if js_truthy(own.get("price_id")) else price.get("_id", UNDEFINED))
    put("product_id", own.get("product_id") if js_truthy(own.get("product_id"))
        else line.get("product_id", UNDEFINED))
    own_price = own.get("_price")
    component["_price"] = price_snapshot(own_price if js_truthy(own_price) else price)
    if js_truthy(own.get("taxes")):
        component["taxes"] = own["taxes"]
    elif js_truthy(first):
        component["taxes"] = [{"tax": first}]
    else:
        component["taxes"] = [{"rate": "nontaxable"}]
    if js_truthy(price.get("_coupons")):
        component["_coupons"] = price["_coupons"]
    if js_truthy(own.get("_coupons")):
        component["_coupons"] = own["_coupons"]
    return component


def _compute_composite(line: dict[str, Any], redeemed_ids: list[Any]) -> dict[str, Any]:
    mappings, fees = line.get("price_mappings", UNDEFINED), line.get("external_fees_mappings", UNDEFINED)
    parent_quantity = safe_quantity(line.get("quantity", UNDEFINED))
    components = []
    for ref, price in _component_sources(line):
        component = _component_line(ref, price, line)
        price_id = prop(component["_price"], "_id")
        mapping = find_by_price_id(mappings, component.get("price_id", UNDEFINED), price_id)
        fee = find_by_price_id(fees, price_id)
        quantity = to_unit(multiply(from_decimal(js_string(component["quantity"])), parent_quantity))
        taxes = component.get("taxes")
        tax = prop(taxes[0], "tax") if isinstance(taxes, list) and taxes else UNDEFINED
        components.append(compute_price_item(component, tax=tax, quantity=quantity, mapping=mapping,
                                             fee_mapping=fee, redeemed_ids=redeemed_ids))
    out = dict(line)
    if js_truthy(line.get("_product")):
        out["_product"] = product_snapshot(line["_product"])
    out["_price"] = price_snapshot(line.get("_price"))
    currency = prop(line.get("_price"), "unit_amount_currency")
    out["currency"] = currency if js_truthy(currency) else "EUR"  # not upper-cased, unlike simple items
    description = line.get("description")
    description = prop(line.get("_price"), "description") if description is None else description
    if js_truthy(description):
        out["description"] = description
    out["item_components"] = components
    return out


# -- items frozen by ``_immutable_pricing_details`` --------------------------------------------------

def _frozen_amounts(item: dict[str, Any]) -> dict[str, Any]:
    """An item of immutable pricing details read back into 12-place amounts from its decimals."""
    def amount(name: str) -> float:
        value = item.get(name)
        return _from_decimal(value if js_truthy(value) else "0")

    total, subtotal = amount("amount_total_decimal"), amount("amount_subtotal_decimal")
    tax = total - subtotal
    out = {**item, "amount_total": total, "amount_subtotal": subtotal,
           "unit_amount_gross": amount("unit_amount_gross_decimal"),
           "unit_amount_net": amount("unit_amount_net_decimal"), "unit_amount": amount("unit_amount_decimal"),
           "amount_tax": tax}
    taxes = item.get("taxes")
    if isinstance(taxes, list) and taxes and js_truthy(taxes[0]):
        out["taxes"] = [{**taxes[0], "amount": tax}, *taxes[1:]]
    coupons = item.get("_coupons")
    from .coupons import is_valid

    valid = [c for c in coupons if is_valid(c)] if isinstance(coupons, list) else []
    coupon = valid[0] if valid else None
    if coupon is not None and coupon.get("category") == "discount":
        for name in ("discount_amount", "discount_amount_net", "before_discount_amount_total",
                     "before_discount_amount_subtotal", "before_discount_tax_amount", "before_discount_unit_amount",
                     "before_discount_unit_amount_gross", "before_discount_unit_amount_net", "tax_discount_amount",
                     "unit_discount_amount", "unit_discount_amount_net"):
            out[name] = amount(name + "_decimal")
    if coupon is not None and coupon.get("category") == "cashback":
        out["cashback_amount"] = amount("cashback_amount_decimal")
        out["after_cashback_amount_total"] = amount("after_cashback_amount_total_decimal")
    return out


def _immutable_item(details: Any) -> dict[str, Any] | None:
    items = prop(details, "items")
    first = items[0] if isinstance(items, list) and items else UNDEFINED
    if not js_truthy(first):
        return None
    if not isinstance(first, dict):
        raise PricingInputError("_immutable_pricing_details.items must hold objects")
    if js_truthy(first.get("is_composite_price")):
        components = first.get("item_components")
        out = _frozen_amounts(first)
        if isinstance(components, list):
            out["item_components"] = [_frozen_amounts(c) for c in components]
        else:
            out.pop("item_components", None)
        return out
    return _frozen_amounts(first)


# -- the whole cart ----------------------------------------------------------------------------------

def _add_line(details: dict[str, Any], line: dict[str, Any], redeemed_ids: list[Any]) -> dict[str, Any]:
    """The details with one line item priced and added (a composite or a simple item)."""
    frozen = _immutable_item(line.get("_immutable_pricing_details"))
    if _is_composite(line):
        composite = frozen if frozen is not None else _compute_composite(line, redeemed_ids)
        own = add_composite(None, composite, redeemed_ids)
        updated = add_composite(details, composite, redeemed_ids)
        new_item = {**composite, **own}
        if is_js_number(own.get("amount_subtotal")):
            new_item["amount_subtotal_decimal"] = to_unit_string(own["amount_subtotal"])
        if is_js_number(own.get("amount_total")):
            new_item["amount_total_decimal"] = to_unit_string(own["amount_total"])
        components = composite.get("item_components")
        new_item["item_components"] = [_with_model(item_to_json(c)) for c in
                                       (components if isinstance(components, list) else [])]
        new_item.setdefault("is_composite_price", True)  # our addition: the published schema requires it
        details = {**updated, "items": [*details["items"], new_item]}
        return details
    price = line.get("_price", UNDEFINED)
    taxes = line.get("taxes")
    tax = prop(taxes[0], "tax") if isinstance(taxes, list) and taxes else UNDEFINED
    mapping = find_by_price_id(line.get("price_mappings", UNDEFINED), prop(price, "_id")) \
        if js_truthy(price) else UNDEFINED
    fees = line.get("external_fees_mappings", UNDEFINED)
    if isinstance(fees, list) and fees and nullish(price):
        raise PricingInputError("external_fees_mappings need the line's _price")
    fee = find_by_price_id(fees, prop(price, "_id"))
    item = frozen if frozen is not None else compute_price_item(
        line, tax=tax, quantity=line.get("quantity", UNDEFINED), mapping=mapping, fee_mapping=fee,
        redeemed_ids=redeemed_ids)
    display = prop(item.get("_price"), "price_display_in_journeys")
    if nullish(display):
        display = prop(price, "price_display_in_journeys")
    if approved(line, display, None):
        details = add_item(details, price, item)
    details = {**details, "items": [*details["items"], _with_model(item_to_json(item))]}
    return details


def _with_model(item: dict[str, Any]) -> dict[str, Any]:
    """Our one addition to the library's answer: a simple item always says its pricing model (the
    published ``PriceItem`` requires it; the library only echoes the line's). It is the model the
    item was priced with: its price's, else per unit."""
    if "pricing_model" not in item:
        model = prop(item.get("_price"), "pricing_model")
        item["pricing_model"] = model if isinstance(model, str) and model else "per_unit"
    return item


def _aggregate(line_items: list[Any], redeemed_promos: list[Any]) -> dict[str, Any]:
    redeemed_ids = redeemed_coupon_ids(redeemed_promos)
    details: dict[str, Any] = {
        "items": [], "amount_subtotal": 0.0, "amount_total": 0.0, "amount_tax": 0.0,
        "total_details": {"amount_shipping": 0, "amount_tax": 0.0, "breakdown": {
            "taxes": [], "recurrences": [], "recurrencesByTax": [], "cashbacks": []}},
    }
    if redeemed_promos:
        details["redeemed_promos"] = redeemed_promos
    for index, line in enumerate(line_items):
        if not isinstance(line, dict):
            raise PricingInputError(f"line_items[{index}]: a line item must be an object")
        try:
            details = _add_line(details, line, redeemed_ids)
        except PricingInputError as exc:
            if str(exc).startswith("line_items["):
                raise
            raise PricingInputError(f"line_items[{index}]: {exc}") from None
    first_currency = prop(details["items"][0], "currency") if details["items"] else UNDEFINED
    details["currency"] = first_currency if js_truthy(first_currency) else "EUR"
    breakdown = details["total_details"]["breakdown"]
    if breakdown.get("cashbacks"):
        breakdown["recurrences"] = [after_cashbacks(r, breakdown["cashbacks"]) for r in breakdown["recurrences"]]
    return {**details,
            "items": [{**i, **breakdown_to_json(i)} if js_truthy(i.get("total_details")) else i
                      for i in details["items"]],
            **breakdown_to_json(details)}


def compute_pricing_details(
    line_items: list[dict[str, Any]],
    *,
    redeemed_promos: list[dict[str, Any]] | None = None,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """The ``PricingDetails`` of ``line_items`` (what ``POST /v1/pricing:compute`` returns).

    Raises :class:`PricingInputError` for input the library cannot price and its subclass
    :class:`UnknownCatalogIdError` for ids the catalog does not know.
    """
    if not isinstance(line_items, list):
        raise PricingInputError("line_items must be an array")
    promos = [] if redeemed_promos is None else redeemed_promos
    if not isinstance(promos, list) or not all(isinstance(p, dict) for p in promos):
        raise PricingInputError("redeemed_promos must be an array of objects")
    if catalog is not None:
        line_items = [hydrate_line(line, f"line_items[{i}]", catalog) if isinstance(line, dict) else line
                      for i, line in enumerate(line_items)]
    return _aggregate(line_items, promos)


def price_order_payload(payload: dict[str, Any], *, catalog: Catalog | None = None) -> dict[str, Any]:
    """The pricing fields an order stores for a createOrder/putOrder/checkout payload.

    Returns ``line_items`` (priced), ``amount_subtotal``, ``amount_total``, ``amount_tax``,
    ``total_details`` and ``currency`` (the payload's currency when there are no line items): the
    same figures as :func:`compute_pricing_details` for the same items.
    """
    line_items = payload.get("line_items")
    details = compute_pricing_details([] if line_items is None else line_items,
                                      redeemed_promos=payload.get("redeemed_promos"), catalog=catalog)
    currency = details["currency"] if details["items"] else str(payload.get("currency") or "EUR").upper()
    return {
        "line_items": details["items"],
        "amount_subtotal": details["amount_subtotal"],
        "amount_total": details["amount_total"],
        "amount_tax": details["amount_tax"],
        "total_details": details["total_details"],
        "currency": currency,
    }


__all__ = ["ON_REQUEST", "compute_pricing_details", "price_order_payload"]
