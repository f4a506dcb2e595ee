"""``$calculatePricingDetails``: prices line items the way epilot's pricing library does.

Entry points: :func:`compute_pricing_details` (the compute endpoint) and
:func:`price_order_payload` (createOrder / putOrder / checkout store the same figures on the
order). Both are pure: no HTTP, no store; entities that line items only name by id come from a
:class:`~mockserver.pricing.catalog.Catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .catalog import Catalog, Resolver
from .coupons import applicable_coupons, unlocked_coupon_ids
from .errors import PricingInputError
from .items import (
    BILLING_PERIODS,
    ON_REQUEST,
    PRICING_MODELS,
    ItemPricer,
    ParentLine,
    PricedItem,
    echoed_line,
    effective_period,
    put_money,
    yearly_to_period,
)
from .numbers import ZERO, mul, parse_quantity, pricing_context, to_cents
from .totals import Totals


@dataclass
class PricedComposite:
    line: dict[str, Any]
    components: list[PricedItem]
    totals: Totals
    on_request: bool
    currency: str
    cashback: tuple[str, Decimal] | None
    after_cashback: Decimal | None

    def to_json(self) -> dict[str, Any]:
        counted = [c for c in self.components if not c.on_request]
        out = dict(self.line)
        out["is_composite_price"] = True
        out["currency"] = self.currency
        for name, attr in (("unit_amount", "amount"), ("unit_amount_net", "net"), ("unit_amount_gross", "gross")):
            put_money(out, name, sum((getattr(c.unit, attr) for c in counted), ZERO))
        put_money(out, "amount_subtotal", self.totals.sums.subtotal)
        put_money(out, "amount_total", self.totals.sums.total)
        details = self.totals.total_details()
        out["taxes"] = details["breakdown"]["taxes"]
        out["item_components"] = [c.to_json() for c in self.components]
        out["total_details"] = details
        if self.cashback is not None and self.after_cashback is not None:
            out["cashback_period"] = self.cashback[0]
            put_money(out, "cashback_amount", self.cashback[1])
            put_money(out, "after_cashback_amount_total", self.after_cashback)
        return out


def _component_line(price: dict[str, Any]) -> dict[str, Any]:
    """A component line item for a component price of ``_price.price_components``."""
    line: dict[str, Any] = {"price_id": price["_id"], "_price": price, "quantity": 1}
    for key in ("description", "unit_amount_decimal"):
        if price.get(key) is not None:
            line[key] = price[key]
    return line


class _Engine:
    def __init__(self, catalog: Catalog | None, redeemed_promos: list[dict[str, Any]]) -> None:
        self.resolver = Resolver(catalog)
        self.unlocked = unlocked_coupon_ids(redeemed_promos)
        self.items = ItemPricer(self.resolver, self.unlocked)

    def price_line(self, line: dict[str, Any], where: str) -> PricedItem | PricedComposite:
        price = self.resolver.price(line, where)
        if line.get("is_composite_price") is True or price.get("is_composite_price") is True:
            return self.price_composite(line, price, where)
        return self.items.price(line, where)

    def price_composite(self, line: dict[str, Any], price: dict[str, Any], where: str) -> PricedComposite:
        quantity = parse_quantity(line.get("quantity"), f"{where}.quantity")
        given = line.get("item_components")
        if isinstance(given, list) and given:
            component_lines = given
        else:
            component_lines = [_component_line(p) for p in self.resolver.components(price, where)]
        mappings = line.get("price_mappings")
        coupon_ids = line.get("price_component_coupon_ids")
        parent = ParentLine(where, quantity, mappings if isinstance(mappings, list) else [],
                            coupon_ids if isinstance(coupon_ids, dict) else {})
        components = []
        for index, component in enumerate(component_lines):
            at = f"{where}.item_components[{index}]"
            if not isinstance(component, dict):
                raise PricingInputError(f"{at}: a component must be an object")
            components.append(self.items.price(component, at, parent))
        totals = Totals()
        for component in components:
            totals.add(component)

        price_type = "recurring" if (price.get("type") or line.get("type")) == "recurring" else "one_time"
        period = effective_period(price_type, price.get("billing_period") or line.get("billing_period"))
        cashback, after_cashback = None, None
        # Only a fixed cashback on the composite itself counts, once per composite quantity.
        own = [c for c in applicable_coupons(self.resolver.coupons(line, where) or [], self.unlocked)
               if c.category == "cashback" and c.kind == "fixed"]
        if own:
            cashback = (own[0].cashback_period, mul(own[0].value, quantity))
            totals.add_cashback(*cashback)
            gross = sum((c.unit.gross for c in components if not c.on_request), ZERO)
            after_cashback = gross - yearly_to_period(cashback[1], period)

        out_line = echoed_line(line, where, price, self.resolver.product(line, where))
        out_line.pop("item_components", None)
        if price.get("pricing_model") in PRICING_MODELS:
            out_line["pricing_model"] = price["pricing_model"]
        out_line["type"] = price_type
        if period is not None:
            out_line["billing_period"] = period
        elif out_line.get("billing_period") not in BILLING_PERIODS:
            out_line.pop("billing_period", None)
        display = price.get("price_display_in_journeys") or line.get("price_display_in_journeys")
        currency = price.get("unit_amount_currency") or (components[0].currency if components else "EUR")
        return PricedComposite(out_line, components, totals, display == ON_REQUEST, str(currency).upper(),
                               cashback, after_cashback)


def _redeemed_promos(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise PricingInputError("redeemed_promos must be an array of objects")
    return value


def compute_pricing_details(
    line_items: list[dict[str, Any]],
    *,
    redeemed_promos: list[dict[str, Any]] | None = None,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """The ``PricingDetails`` of ``line_items`` (what ``POST /v1/pricing:compute`` returns).

    Raises :class:`PricingInputError` for input that cannot be priced and its subclass
    :class:`UnknownCatalogIdError` for ids the catalog does not know; both name the line item.
    """
    if not isinstance(line_items, list):
        raise PricingInputError("line_items must be an array")
    promos = _redeemed_promos(redeemed_promos)
    with pricing_context():
        engine = _Engine(catalog, promos)
        totals = Totals()
        items: list[dict[str, Any]] = []
        currency = None
        for index, line in enumerate(line_items):
            where = f"line_items[{index}]"
            if not isinstance(line, dict):
                raise PricingInputError(f"{where}: a line item must be an object")
            priced = engine.price_line(line, where)
            currency = currency or priced.currency
            if isinstance(priced, PricedComposite):
                if not priced.on_request:
                    for component in priced.components:
                        totals.add(component)
                    if priced.cashback is not None:
                        totals.add_cashback(*priced.cashback)
            else:
                totals.add(priced)
            items.append(priced.to_json())
        sums = totals.sums
        total_details = totals.total_details()
        result: dict[str, Any] = {"items": items}
        single = totals.single_recurrence_fields()
        if single is not None:  # the overall figures are those of the only recurrence, already formatted
            for name in ("amount_subtotal", "amount_subtotal_decimal", "amount_total", "amount_total_decimal",
                         "amount_tax", "unit_amount_gross", "unit_amount_net"):
                result[name] = single[name]
        else:
            put_money(result, "amount_subtotal", sums.subtotal)
            put_money(result, "amount_total", sums.total)
            result["amount_tax"] = to_cents(sums.tax)
            result["unit_amount_gross"] = to_cents(sums.unit_gross)
            result["unit_amount_net"] = to_cents(sums.unit_net)
        result["total_details"] = total_details
        result["currency"] = currency or "EUR"
        result["redeemed_promos"] = promos
        return result


def price_order_payload(payload: dict[str, Any], *, catalog: Catalog | None = None) -> dict[str, Any]:
    """The pricing fields an order stores for a createOrder/putOrder/checkout payload.

    Returns ``line_items`` (priced), ``amount_subtotal``, ``amount_total``, ``amount_tax``,
    ``total_details`` and ``currency`` (the payload's currency when there are no line items).
    Raises like :func:`compute_pricing_details`.
    """
    line_items = payload.get("line_items")
    details = compute_pricing_details(
        [] if line_items is None else line_items,
        redeemed_promos=payload.get("redeemed_promos"),
        catalog=catalog,
    )
    currency = details["currency"] if details["items"] else str(payload.get("currency") or "EUR").upper()
    return {
        "line_items": details["items"],
        "amount_subtotal": details["amount_subtotal"],
        "amount_total": details["amount_total"],
        "amount_tax": details["amount_tax"],
        "total_details": details["total_details"],
        "currency": currency,
    }
