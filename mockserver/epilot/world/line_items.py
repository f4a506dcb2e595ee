"""Order line items and totals computed from catalog prices.

A simple, consistent computation (the pricing API's exact rules live elsewhere): prices are
tax-inclusive; an item's gross total is its unit price times its units, where the units of a
variable price are quantity x mapped consumption; net = gross / (1 + rate), rounded to cents; tax
is the difference. Composite items sum their components; order totals sum the items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .catalog import Catalog, CatalogPrice, Tier
from .model import Entity
from .money import HUNDRED, cents, major, net_of


@dataclass
class Totals:
    """Sums over items, and the breakdowns by tax and by recurrence."""

    subtotal: int = 0
    total: int = 0
    by_tax: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_recurrence: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    cashbacks: dict[str, int] = field(default_factory=dict)

    def add(self, item: dict[str, Any], tax_snapshot: dict[str, Any] | None, rate: Decimal) -> None:
        self.subtotal += item["amount_subtotal"]
        self.total += item["amount_total"]
        tax_amount = item["amount_total"] - item["amount_subtotal"]
        if tax_snapshot is not None:
            entry = self.by_tax.setdefault(tax_snapshot["_id"], {"tax": tax_snapshot, "amount": 0, "rate": rate})
            entry["amount"] += tax_amount
        period = item.get("billing_period", "one_time") if item["type"] == "recurring" else "one_time"
        group = self.by_recurrence.setdefault((item["type"], period), {"subtotal": 0, "total": 0})
        group["subtotal"] += item["amount_subtotal"]
        group["total"] += item["amount_total"]

    def merge(self, other: Totals) -> None:
        self.subtotal += other.subtotal
        self.total += other.total
        for key, entry in other.by_tax.items():
            mine = self.by_tax.setdefault(key, {"tax": entry["tax"], "amount": 0, "rate": entry["rate"]})
            mine["amount"] += entry["amount"]
        for key, group in other.by_recurrence.items():
            mine_group = self.by_recurrence.setdefault(key, {"subtotal": 0, "total": 0})
            mine_group["subtotal"] += group["subtotal"]
            mine_group["total"] += group["total"]
        for period, amount in other.cashbacks.items():
            self.cashbacks[period] = self.cashbacks.get(period, 0) + amount

    @property
    def tax(self) -> int:
        return self.total - self.subtotal

    def taxes_json(self) -> list[dict[str, Any]]:
        return [_tax_amount(e["tax"], e["amount"], e["rate"]) for e in self.by_tax.values()]

    def total_details(self) -> dict[str, Any]:
        recurrences = []
        for (kind, period), group in self.by_recurrence.items():
            tax = group["total"] - group["subtotal"]
            recurrences.append({
                "type": kind, "billing_period": period,
                "amount_subtotal": group["subtotal"], "amount_subtotal_decimal": major(group["subtotal"]),
                "amount_total": group["total"], "amount_total_decimal": major(group["total"]),
                "amount_tax": tax, "amount_tax_decimal": major(tax),
            })
        return {
            "amount_shipping": 0,
            "amount_tax": self.tax,
            "breakdown": {
                "taxes": self.taxes_json(),
                "recurrences": recurrences,
                "recurrencesByTax": [],
                "cashbacks": [{"cashback_period": period, "amount_total": amount, "amount_total_decimal": major(amount)}
                              for period, amount in self.cashbacks.items()],
            },
        }


def number(value: Decimal) -> int | float:
    """A JSON number: an int when the value is whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _tax_amount(tax_snapshot: dict[str, Any], amount: int, rate: Decimal) -> dict[str, Any]:
    return {"tax": tax_snapshot, "amount": amount, "amount_decimal": major(amount), "rate": str(rate),
            "rateValue": int(rate)}


def _tier_for(tiers: tuple[Tier, ...], value: Decimal) -> Tier:
    for tier in tiers:
        if tier.up_to is None or value <= tier.up_to:
            return tier
    return tiers[-1]


class LineItems:
    """Builds the line items of one order and keeps their totals."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.items: list[dict[str, Any]] = []
        self.totals = Totals()

    def add(self, price: CatalogPrice, quantity: int = 1, mapping: Decimal | None = None,
            frequency_unit: str = "yearly") -> dict[str, Any]:
        """A simple item. ``mapping`` is the consumption of a variable price (or the tier input of a
        flat-fee price), per ``frequency_unit``, which is the price's own billing period here."""
        item, totals = self._simple(price, quantity, mapping, frequency_unit)
        self.items.append(item)
        self.totals.merge(totals)
        return item

    def add_composite(self, price: CatalogPrice, mappings: dict[str, Decimal], quantity: int = 1) -> dict[str, Any]:
        """A composite item; ``mappings`` maps component price ids to their consumption."""
        totals = Totals()
        components = []
        for part in price.components:
            component, part_totals = self._simple(part, quantity, mappings.get(part.id), "yearly")
            components.append(component)
            totals.merge(part_totals)
        unit = sum(c["unit_amount"] for c in components)
        unit_net = sum(c["unit_amount_net"] for c in components)
        item = {
            "price_id": price.id, "product_id": price.product["_id"], "product_name": price.product["name"],
            "description": price.entity["description"], "quantity": quantity, "currency": "EUR",
            "is_composite_price": True, "is_tax_inclusive": True, "pricing_model": "per_unit",
            "type": "recurring", "billing_period": price.entity["billing_period"],
            "unit_amount": unit, "unit_amount_net": unit_net, "unit_amount_gross": unit,
            "amount_subtotal": totals.subtotal, "amount_subtotal_decimal": major(totals.subtotal),
            "amount_total": totals.total, "amount_total_decimal": major(totals.total),
            "taxes": totals.taxes_json(),
            "price_mappings": [{"price_id": pid, "frequency_unit": "yearly", "value": number(value)}
                               for pid, value in mappings.items()],
            "item_components": components,
            "total_details": totals.total_details(),
            "_price": self.catalog.snapshot(price.entity),
            "_product": self.catalog.snapshot(price.product),
        }
        self.items.append(item)
        self.totals.merge(totals)
        return item

    def apply_cashback(self, item: dict[str, Any], coupon: Entity) -> None:
        """Attach a fixed cashback coupon to ``item``; cashbacks never lower the totals."""
        amount = int(coupon["fixed_value"])
        period = coupon["cashback_period"]
        item["coupon_ids"] = [coupon["_id"]]
        item["_coupons"] = [self.catalog.snapshot(coupon)]
        item["cashback_period"] = period
        item["cashback_amount"] = amount
        item["cashback_amount_decimal"] = major(amount)
        self.totals.cashbacks[period] = self.totals.cashbacks.get(period, 0) + amount

    def _simple(self, price: CatalogPrice, quantity: int, mapping: Decimal | None,
                frequency_unit: str) -> tuple[dict[str, Any], Totals]:
        entity = price.entity
        units = Decimal(quantity) * (mapping if mapping is not None and entity.get("variable_price") else 1)
        tiers_details = None
        if price.model == "tiered_volume":
            unit_gross = _tier_for(price.tiers, units).unit_gross * HUNDRED
            gross = unit_gross * units
        elif price.model == "tiered_graduated":
            gross, tiers_details = self._graduated(price, units)
            unit_gross = gross / units if units else Decimal(0)
        elif price.model == "tiered_flatfee":
            unit_gross = _tier_for(price.tiers, mapping if mapping is not None else Decimal(0)).flat_fee * HUNDRED
            gross = unit_gross * quantity
        else:
            unit_gross = price.unit_gross * HUNDRED
            gross = unit_gross * units
        total = cents(gross)
        subtotal = cents(net_of(gross, price.rate))
        unit_net = net_of(unit_gross, price.rate)
        item: dict[str, Any] = {
            "price_id": price.id, "product_id": price.product["_id"], "product_name": price.product["name"],
            "description": entity["description"], "quantity": quantity, "currency": "EUR",
            "is_composite_price": False, "is_tax_inclusive": True, "pricing_model": price.model,
            "type": entity["type"],
        }
        if entity["type"] == "recurring":
            item["billing_period"] = entity["billing_period"]
        item.update({
            "unit_amount": cents(unit_gross), "unit_amount_decimal": major(unit_gross),
            "unit_amount_net": cents(unit_net), "unit_amount_net_decimal": major(unit_net),
            "unit_amount_gross": cents(unit_gross), "unit_amount_gross_decimal": major(unit_gross),
            "amount_subtotal": subtotal, "amount_subtotal_decimal": major(subtotal),
            "amount_total": total, "amount_total_decimal": major(total),
        })
        tax_snapshot = self.catalog.snapshot(price.tax) if price.tax is not None else None
        item["taxes"] = [_tax_amount(tax_snapshot, total - subtotal, price.rate)] if tax_snapshot else []
        if mapping is not None:
            item["price_mappings"] = [{"price_id": price.id, "frequency_unit": frequency_unit,
                                       "value": number(mapping)}]
        if tiers_details is not None:
            item["tiers_details"] = tiers_details
        item["_price"] = self.catalog.snapshot(entity)
        item["_product"] = self.catalog.snapshot(price.product)
        totals = Totals()
        totals.add(item, tax_snapshot, price.rate)
        return item, totals

    @staticmethod
    def _graduated(price: CatalogPrice, units: Decimal) -> tuple[Decimal, list[dict[str, Any]]]:
        gross = Decimal(0)
        details = []
        lower = Decimal(0)
        for tier in price.tiers:
            upper = units if tier.up_to is None else min(units, tier.up_to)
            portion = max(Decimal(0), upper - lower)
            if portion:
                unit = tier.unit_gross * HUNDRED
                amount = unit * portion
                total, subtotal = cents(amount), cents(net_of(amount, price.rate))
                details.append({
                    "quantity": number(portion), "unit_amount": cents(unit), "unit_amount_decimal": major(unit),
                    "unit_amount_gross": cents(unit), "unit_amount_net": cents(net_of(unit, price.rate)),
                    "amount_subtotal": subtotal, "amount_total": total, "amount_tax": total - subtotal,
                })
                gross += amount
            if tier.up_to is None or units <= tier.up_to:
                break
            lower = tier.up_to
        return gross, details

    def order_amounts(self) -> dict[str, Any]:
        """The order-level amount attributes."""
        return {
            "line_items": self.items,
            "amount_subtotal": self.totals.subtotal,
            "amount_total": self.totals.total,
            "amount_tax": self.totals.tax,
            "total_details": self.totals.total_details(),
        }
