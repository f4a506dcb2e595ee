"""Adding priced items into the totals and breakdowns, as epilot's library does.

Sums are taken over the 12-place amounts and converted to cents once, at the end
(:func:`breakdown_to_json`). The library's odd rules are reproduced on purpose, each one checked by
the differential test against the library (tests/test_pricing_oracle.py):

- ``taxes`` merge an item into the first entry with the same tax ``_id``, or the same ``rate``
  compared strictly (``"19"`` and ``19`` are different), and a nontaxable item into an entry of
  rate ``0`` (corpus case "rates '19' and 19 are different taxes entries");
- ``recurrencesByTax`` groups by the *price snapshot's* type and period, and an item whose tax rate
  is falsy (untaxed, rate 0 or null) joins the first group of its period whatever that group's tax
  (corpus case "item without any tax joins the first group of its period in recurrencesByTax");
- a ``recurrencesByTax`` entry's ``tax`` is the very ``taxes`` entry it was created with, so its
  ``amount`` is that tax's running total over every period (the same corpus case);
- a recurrence's ``unit_amount_net`` is dropped for good once it sums to 0;
- ``total_details.amount_shipping`` is only present while no item was counted;
- an on-request item counts only once approved; a composite with an on-request component counts
  only when the composite is approved (corpus case "on-request price approved counts, not approved
  does not").

The corpus cases are in ``tests/data/pricing_oracle_corpus.json``, with the library's answers.
"""

from __future__ import annotations

from typing import Any, cast

from .coupons import composite_cashbacks
from .dinero import (
    UNDEFINED,
    from_decimal,
    is_integer,
    is_js_number,
    js_number,
    js_truthy,
    multiply,
    nullish,
    prop,
    safe_quantity,
    strict_equal,
    to_number,
    to_unit_string,
)
from .errors import PricingInputError
from .items import cents
from .periods import normalize_amount

ON_REQUEST = "show_as_on_request"


def empty_details() -> dict[str, Any]:
    return {"amount_subtotal": 0.0, "amount_total": 0.0,
            "total_details": {"amount_shipping": 0, "amount_tax": 0.0,
                              "breakdown": {"taxes": [], "recurrences": [], "recurrencesByTax": [], "cashbacks": []}}}


def _amount(value: Any) -> float:
    """``toDineroFromInteger(value).getAmount()``: integers only."""
    if type(value) is float and value.is_integer():
        return value
    if not is_js_number(value) or not is_integer(float(value)):
        raise PricingInputError("You must provide an integer.")
    return float(value)


def approved(item: dict[str, Any], display: Any, parent: dict[str, Any] | None) -> bool:
    """Whether an item counts in the totals: an on-request price only once approved; a component of a
    composite with an on-request part only once the composite is approved."""
    if parent is not None:
        components = parent.get("item_components")
        hidden = any(prop(prop(c, "_price"), "price_display_in_journeys") == ON_REQUEST
                     for c in (components if isinstance(components, list) else []))
        if hidden or prop(parent.get("_price"), "price_display_in_journeys") == ON_REQUEST:
            return js_truthy(parent.get("on_request_approved"))
        return True
    return display != ON_REQUEST or js_truthy(item.get("on_request_approved"))


def _find_recurrence(recurrences: list[dict[str, Any]], price_type: Any, period: Any) -> Any:
    if price_type == "recurring":
        return next((r for r in recurrences if strict_equal(r.get("type", UNDEFINED), price_type)
                     and strict_equal(r.get("billing_period", UNDEFINED), period)), None)
    return next((r for r in recurrences if r.get("type") == "one_time"), None)


def _find_by_tax(groups: list[dict[str, Any]], price: Any, rate: Any) -> Any:
    def same_rate(group: dict[str, Any]) -> bool:
        return not js_truthy(rate) or strict_equal(prop(prop(group.get("tax"), "tax"), "rate"), rate)

    if prop(price, "type") == "recurring":
        return next((g for g in groups if g.get("type") == "recurring"
                     and strict_equal(g.get("billing_period", UNDEFINED), prop(price, "billing_period"))
                     and same_rate(g)), None)
    return next((g for g in groups if g.get("type") == "one_time" and same_rate(g)), None)


def _optional(item: dict[str, Any], key: str) -> float | None:
    value = item.get(key, UNDEFINED)
    return None if value is UNDEFINED else _amount(value)


def add_item(details: dict[str, Any], price: Any, item: dict[str, Any]) -> dict[str, Any]:
    """``recomputeDetailTotals``: the details with ``item`` added (some entries change in place)."""
    breakdown = prop(details.get("total_details"), "breakdown")
    taxes = prop(breakdown, "taxes")
    taxes = taxes if js_truthy(taxes) else []  # the same list: new tax entries are appended in place
    item_taxes = item.get("taxes")
    first_tax = item_taxes[0] if isinstance(item_taxes, list) and item_taxes else UNDEFINED
    item_tax = prop(first_tax, "tax")
    if nullish(item_tax):  # an untaxed item's rate: 0, or NaN (printed null) without a rateValue
        rate = to_number(prop(first_tax, "rateValue"))
        item_tax = {"rate": js_number(rate) if rate == rate else rate}
    rate_value = prop(first_tax, "rateValue")
    item_tax_id, item_rate = prop(item_tax, "_id"), prop(item_tax, "rate")
    tax = next((t for t in taxes if (js_truthy(prop(prop(t, "tax"), "_id")) and js_truthy(item_tax_id)
                                     and strict_equal(prop(prop(t, "tax"), "_id"), item_tax_id))
                or strict_equal(prop(prop(t, "tax"), "rate"), item_rate)
                or strict_equal(prop(prop(t, "tax"), "rate"), rate_value)), None)
    recurrences = list(prop(breakdown, "recurrences") or [])
    item_type = item.get("type")
    item_type = prop(price, "type") if nullish(item_type) else item_type
    item_period = item.get("billing_period")
    item_period = prop(price, "billing_period") if nullish(item_period) else item_period
    recurrence = _find_recurrence(recurrences, item_type, item_period)
    by_tax = list(prop(breakdown, "recurrencesByTax") or [])
    found_rate = prop(prop(tax, "tax"), "rate") if tax is not None else UNDEFINED
    by_tax_group = _find_by_tax(by_tax, price, item_rate if nullish(found_rate) else found_rate)
    cashbacks = list(prop(breakdown, "cashbacks") or [])

    unit_gross = _amount(item.get("unit_amount_gross"))
    net_value = item.get("unit_amount_net")
    unit_net = float(cast(float, net_value)) if is_js_number(net_value) and is_integer(float(cast(float, net_value))) \
        else None
    subtotal = _amount(item.get("amount_subtotal"))
    total = _amount(item.get("amount_total"))
    discount = _optional(item, "discount_amount")
    before_total = _optional(item, "before_discount_amount_total")
    before_subtotal = _optional(item, "before_discount_amount_subtotal")
    tax_raw = prop(first_tax, "amount")
    if not js_truthy(tax_raw):
        tax_raw = item.get("amount_tax") if js_truthy(item.get("amount_tax")) else 0.0
    item_tax_amount = _amount(tax_raw)

    if tax is not None:
        tax["amount"] = _amount(tax.get("amount")) + item_tax_amount
        entry_tax = tax.get("tax")
        if js_truthy(entry_tax) and isinstance(entry_tax, dict):
            if not js_truthy(entry_tax.get("_id")) and js_truthy(item_tax_id):
                entry_tax["_id"] = item_tax_id
            if not js_truthy(entry_tax.get("type")) and js_truthy(prop(item_tax, "type")):
                entry_tax["type"] = item_tax["type"]
    else:
        new_tax: dict[str, Any] = {}
        if js_truthy(item_tax_id):
            new_tax["_id"] = item_tax_id
        if js_truthy(prop(item_tax, "type")):
            new_tax["type"] = item_tax["type"]
        if item_rate is not UNDEFINED:
            new_tax["rate"] = item_rate
        taxes.append({"tax": new_tax, "amount": item_tax_amount})

    if recurrence is None:
        group: dict[str, Any] = {"type": item_type if item_type == "recurring" else "one_time"}
        if item_type == "recurring" and item_period is not UNDEFINED:
            group["billing_period"] = item_period
        group.update(unit_amount_gross=unit_gross, unit_amount_net=UNDEFINED if unit_net is None else unit_net,
                     amount_subtotal=subtotal, amount_total=total, amount_subtotal_decimal=to_unit_string(subtotal),
                     amount_total_decimal=to_unit_string(total), amount_tax=item_tax_amount)
        if before_total is not None:
            group["before_discount_amount_total"] = before_total
            group["before_discount_amount_total_decimal"] = to_unit_string(before_total)
        if before_subtotal is not None:
            group["before_discount_amount_subtotal"] = before_subtotal
            group["before_discount_amount_subtotal_decimal"] = to_unit_string(before_subtotal)
        if discount is not None:
            group["discount_amount"] = discount
            group["discount_amount_decimal"] = to_unit_string(discount)
        recurrences.append(group)
    else:
        _add_to_recurrence(recurrence, unit_gross, unit_net, subtotal, total, item_tax_amount, discount,
                           before_total, before_subtotal)

    recurrence_tax = taxes[-1] if tax is None else tax
    if by_tax_group is None:
        by_type = item.get("type") if js_truthy(item.get("type")) else prop(price, "type")
        entry: dict[str, Any] = {"type": by_type if by_type == "recurring" else "one_time"}
        if by_type == "recurring":
            period = recurrence.get("billing_period", UNDEFINED) if recurrence is not None else UNDEFINED
            period = prop(price, "billing_period") if nullish(period) else period
            if period is not UNDEFINED:
                entry["billing_period"] = period
        entry.update(amount_total=total, amount_subtotal=subtotal, amount_tax=item_tax_amount, tax=recurrence_tax)
        by_tax.append(entry)
    else:
        by_tax_group["amount_total"] = _amount(by_tax_group["amount_total"]) + total
        by_tax_group["amount_subtotal"] = _amount(by_tax_group["amount_subtotal"]) + subtotal
        by_tax_group["amount_tax"] = _amount(by_tax_group["amount_tax"]) + item_tax_amount

    coupons = item.get("_coupons")
    coupon = coupons[0] if isinstance(coupons, list) and coupons else UNDEFINED
    cashback = _optional(item, "cashback_amount")
    if cashback is not None and js_truthy(coupon):
        period = item.get("cashback_period")
        entry = {"cashback_period": "0" if nullish(period) else period, "amount_total": cashback}
        if js_truthy(prop(coupon, "name")):
            entry["cashback_name"] = coupon["name"]
        cashbacks.append(entry)

    total_tax = _amount(prop(details.get("total_details"), "amount_tax")) + item_tax_amount
    return {**details,
            "amount_subtotal": _amount(details.get("amount_subtotal")) + subtotal,
            "amount_total": _amount(details.get("amount_total")) + total,
            "amount_tax": total_tax,
            "total_details": {"amount_tax": total_tax, "breakdown": {
                "taxes": taxes, "recurrences": recurrences, "recurrencesByTax": by_tax, "cashbacks": cashbacks}}}


def _add_to_recurrence(recurrence: dict[str, Any], unit_gross: float, unit_net: float | None, subtotal: float,
                       total: float, tax: float, discount: float | None, before_total: float | None,
                       before_subtotal: float | None) -> None:
    recurrence["unit_amount_gross"] = _amount(recurrence.get("unit_amount_gross")) + unit_gross
    if js_truthy(recurrence.get("unit_amount_net")):  # a net sum of 0 is dropped, and stays dropped
        if unit_net is None:
            raise PricingInputError("You must provide a Dinero instance with the same currency.")
        recurrence["unit_amount_net"] = _amount(recurrence["unit_amount_net"]) + unit_net
    else:
        recurrence["unit_amount_net"] = UNDEFINED
    new_subtotal = _amount(recurrence.get("amount_subtotal")) + subtotal
    new_total = _amount(recurrence.get("amount_total")) + total
    recurrence["amount_subtotal"] = new_subtotal
    recurrence["amount_subtotal_decimal"] = to_unit_string(new_subtotal)
    recurrence["amount_total"] = new_total
    recurrence["amount_total_decimal"] = to_unit_string(new_total)
    recurrence["amount_tax"] = _amount(recurrence.get("amount_tax")) + tax
    existing_total = _optional(recurrence, "before_discount_amount_total")
    existing_subtotal = _optional(recurrence, "before_discount_amount_subtotal")
    existing_discount = _optional(recurrence, "discount_amount")
    if before_total is not None or existing_total is not None:
        base = existing_total if existing_total is not None else new_total - total
        value = base + (before_total if before_total is not None else total)
        recurrence["before_discount_amount_total"] = value
        recurrence["before_discount_amount_total_decimal"] = to_unit_string(value)
    if before_subtotal is not None or existing_subtotal is not None:
        base = existing_subtotal if existing_subtotal is not None else new_subtotal - subtotal
        value = base + (before_subtotal if before_subtotal is not None else subtotal)
        recurrence["before_discount_amount_subtotal"] = value
        recurrence["before_discount_amount_subtotal_decimal"] = to_unit_string(value)
    if discount is not None:
        value = discount if existing_discount is None else existing_discount + discount
        recurrence["discount_amount"] = value
        recurrence["discount_amount_decimal"] = to_unit_string(value)


def add_composite(details: dict[str, Any] | None, composite: dict[str, Any],
                  redeemed_ids: list[Any]) -> dict[str, Any]:
    """``recomputeDetailTotalsFromCompositePrice``: the components added to ``details`` (or to empty
    details: the composite's own breakdown, which also carries its applied cashback coupons)."""
    initial = empty_details()
    accumulated = details if details is not None else initial
    components = composite.get("item_components")
    for component in components if isinstance(components, list) else []:
        if approved(component, prop(component.get("_price"), "price_display_in_journeys"), composite):
            updated = add_item(accumulated, component.get("_price", UNDEFINED), component)
        else:
            # A component that is not approved resets the running sums to what they were before this
            # composite (the library's rule; only the tax entries added so far stay).
            base = details or {}
            updated = {"amount_subtotal": base.get("amount_subtotal") or 0.0,
                       "amount_total": base.get("amount_total") or 0.0,
                       "amount_tax": base.get("amount_tax") or 0.0,
                       "total_details": base.get("total_details") or initial["total_details"]}
        accumulated = {**accumulated, **updated}
    with_cashbacks, applied = _composite_cashbacks(composite, accumulated, redeemed_ids)
    out = {**accumulated, **with_cashbacks}
    if details is None and applied is not None:
        out["_coupons"] = applied
    return out


def _composite_cashbacks(composite: dict[str, Any], breakdown: dict[str, Any],
                         redeemed_ids: list[Any]) -> tuple[dict[str, Any], list[Any] | None]:
    """Fixed cashback coupons on the composite itself, each times the composite's quantity."""
    coupons = composite.get("_coupons")
    applied = composite_cashbacks(coupons, redeemed_ids) if not nullish(coupons) else None
    cashbacks = list(prop(prop(breakdown.get("total_details"), "breakdown"), "cashbacks") or [])
    with_amounts = []
    for coupon in applied or []:
        amount = multiply(from_decimal(coupon["fixed_value_decimal"]), safe_quantity(composite.get("quantity")))
        period = coupon.get("cashback_period")
        annotated = {k: v for k, v in coupon.items() if k not in ("cashback_amount", "cashback_amount_decimal")}
        if amount:
            annotated["cashback_amount"] = cents(amount)
            annotated["cashback_amount_decimal"] = to_unit_string(amount)
        with_amounts.append(annotated)
        entry = {"cashback_period": "0" if nullish(period) else period, "amount_total": amount}
        if js_truthy(coupon.get("name")):
            entry["cashback_name"] = coupon["name"]
        cashbacks.append(entry)
    total_details = breakdown.get("total_details")
    inner = prop(total_details, "breakdown")
    out = {**breakdown, "total_details": {**(total_details if isinstance(total_details, dict) else {}),
                                          "breakdown": {**(inner if isinstance(inner, dict) else {}),
                                                        "cashbacks": cashbacks}}}
    return out, (with_amounts if applied is not None else None)


def after_cashbacks(recurrence: dict[str, Any], cashbacks: list[dict[str, Any]]) -> dict[str, Any]:
    """A recurrence's total minus all cashbacks (yearly, converted to its period; one-time: in full)."""
    if not js_truthy(recurrence.get("type")) or not cashbacks:
        return recurrence
    summed = 0.0
    for cashback in cashbacks:
        summed += _amount(cashback.get("amount_total"))
    if recurrence["type"] == "recurring":
        summed = normalize_amount(summed, "yearly", recurrence.get("billing_period"))
    after = _amount(recurrence.get("amount_total")) - summed
    return {**recurrence, "after_cashback_amount_total": after,
            "after_cashback_amount_total_decimal": to_unit_string(after)}


def breakdown_to_json(details: dict[str, Any]) -> dict[str, Any]:
    """``convertBreakDownPrecision``: the totals and breakdown in cents."""
    out: dict[str, Any] = {"amount_subtotal": cents(details.get("amount_subtotal")),
                           "amount_total": cents(details.get("amount_total"))}
    if details.get("amount_tax", UNDEFINED) is not UNDEFINED:
        out["amount_tax"] = cents(details["amount_tax"])
    total_details = details.get("total_details")
    total_details = total_details if isinstance(total_details, dict) else {}
    breakdown = total_details.get("breakdown")
    breakdown = breakdown if isinstance(breakdown, dict) else {}
    converted: dict[str, Any] = dict(breakdown)
    converted["taxes"] = [_tax_json(tax) for tax in breakdown.get("taxes") or []]
    converted["recurrences"] = [_recurrence_json(r) for r in breakdown.get("recurrences") or []]
    converted["recurrencesByTax"] = [
        {**r, "amount_total": cents(r.get("amount_total")), "amount_subtotal": cents(r.get("amount_subtotal")),
         "amount_tax": cents(r.get("amount_tax")),
         "tax": _tax_json(r.get("tax") or {})}
        for r in breakdown.get("recurrencesByTax") or []]
    if "cashbacks" in breakdown:
        converted["cashbacks"] = [{**c, "amount_total": cents(c.get("amount_total"))}
                                  for c in breakdown["cashbacks"] or []]
    out["total_details"] = {**total_details, "amount_tax": cents(total_details.get("amount_tax", UNDEFINED)),
                            "breakdown": converted}
    return out


def _tax_json(entry: dict[str, Any]) -> dict[str, Any]:
    out = {**entry, "amount": cents(entry.get("amount", UNDEFINED))}
    tax = entry.get("tax")
    if isinstance(tax, dict) and type(tax.get("rate")) is float and tax["rate"] != tax["rate"]:
        out["tax"] = {**tax, "rate": None}  # JSON.stringify(NaN) is null
    return out


def _integral(value: Any) -> bool:
    return (type(value) is float and value.is_integer()) or (is_js_number(value) and is_integer(float(value)))


def _recurrence_json(recurrence: dict[str, Any]) -> dict[str, Any]:
    out = {**recurrence, "unit_amount_gross": cents(recurrence.get("unit_amount_gross"))}
    if _integral(recurrence.get("unit_amount_net")):
        out["unit_amount_net"] = cents(recurrence["unit_amount_net"])
    elif out.get("unit_amount_net") is UNDEFINED:
        del out["unit_amount_net"]  # a net sum of 0 was dropped
    for name in ("amount_subtotal", "amount_total", "amount_tax"):
        out[name] = cents(recurrence.get(name))
    for name in ("discount_amount", "before_discount_amount_total", "before_discount_amount_subtotal",
                 "after_cashback_amount_total"):
        if _integral(recurrence.get(name)):
            out[name] = cents(recurrence[name])
    return out
