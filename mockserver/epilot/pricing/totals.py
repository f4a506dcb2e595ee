"""Summing priced items into totals and breakdowns (taxes, recurrences, recurrences by tax, cashbacks).

Sums are taken over the 12-place amounts and rounded to cents once, so the cents of a total are not
the sum of the items' cents. Items shown "on request" are left out of every sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .items import PricedItem, TaxInfo, money, put_money, yearly_to_period
from .numbers import ZERO, to_cents


@dataclass
class Sums:
    """Running 12-place sums of a group of items."""

    subtotal: Decimal = ZERO
    total: Decimal = ZERO
    tax: Decimal = ZERO
    unit_gross: Decimal = ZERO
    unit_net: Decimal = ZERO
    unit_amount: Decimal = ZERO
    before_discount_total: Decimal = ZERO
    discounted: bool = False
    _fields: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, item: PricedItem) -> None:
        self._fields = None
        self.subtotal += item.subtotal
        self.total += item.total
        self.tax += item.tax_amount
        # Unit amounts are summed per item, not multiplied by quantity.
        self.unit_gross += item.unit.gross
        self.unit_net += item.unit.net
        self.unit_amount += item.unit.amount
        self.before_discount_total += item.before_discount_total
        self.discounted = self.discounted or item.discount is not None

    def recurrence_fields(self) -> dict[str, Any]:
        """The money fields of a recurrence; formatted once per state of the sums (do not mutate the dict)."""
        if self._fields is not None:
            return self._fields
        fields: dict[str, Any] = {}
        put_money(fields, "amount_subtotal", self.subtotal)
        put_money(fields, "amount_total", self.total)
        put_money(fields, "amount_tax", self.tax)
        put_money(fields, "unit_amount_gross", self.unit_gross)
        put_money(fields, "unit_amount_net", self.unit_net)
        if self.discounted:
            put_money(fields, "discount_amount", self.before_discount_total - self.total)
            put_money(fields, "before_discount_amount_total", self.before_discount_total)
        self._fields = fields
        return fields


@dataclass
class Totals:
    """Totals and breakdowns of a set of items (all line items, or one composite's components)."""

    sums: Sums = field(default_factory=Sums)
    recurrences: dict[tuple[str, str], Sums] = field(default_factory=dict)
    by_tax: dict[tuple[str, str, str], tuple[TaxInfo, Sums]] = field(default_factory=dict)
    taxes: list[tuple[TaxInfo, list[Decimal]]] = field(default_factory=list)
    cashbacks: list[tuple[str, Decimal]] = field(default_factory=list)

    def add(self, item: PricedItem) -> None:
        if item.on_request:
            return
        self.sums.add(item)
        self.recurrences.setdefault(item.recurrence, Sums()).add(item)
        key = (*item.recurrence, item.tax.rate_key)
        self.by_tax.setdefault(key, (item.tax, Sums()))[1].add(item)
        for tax, amount in self.taxes:
            if tax.same_as(item.tax):
                amount[0] += item.tax_amount
                break
        else:
            self.taxes.append((item.tax, [item.tax_amount]))
        if item.cashback is not None:
            self.add_cashback(item.cashback.period, item.cashback.amount)

    def add_cashback(self, period: str, amount: Decimal) -> None:
        self.cashbacks.append((period, amount))

    def single_recurrence_fields(self) -> dict[str, Any] | None:
        """With exactly one recurrence, its fields, which are also those of the overall sums: both
        summed the same items in the same order, so every figure is the very same. None otherwise."""
        if len(self.recurrences) != 1:
            return None
        return next(iter(self.recurrences.values())).recurrence_fields()

    def total_details(self) -> dict[str, Any]:
        cashback_sum = sum((amount for _, amount in self.cashbacks), ZERO)
        recurrences = []
        for (price_type, period), sums in self.recurrences.items():
            recurring_period = period if price_type == "recurring" else None
            # One-time groups get the full amount; recurring ones lose the yearly cashbacks per period.
            after = sums.total - (yearly_to_period(cashback_sum, recurring_period) if recurring_period else ZERO)
            recurrence = {"type": price_type, "billing_period": period, **sums.recurrence_fields()}
            put_money(recurrence, "after_cashback_amount_total", after)
            recurrences.append(recurrence)
        # A recurrence whose items all share one tax has by-tax sums equal to its own (the same items
        # added in the same order): its fields are reused instead of formatted again.
        taxes_per_recurrence: dict[tuple[str, str], int] = {}
        for price_type, period, _ in self.by_tax:
            taxes_per_recurrence[(price_type, period)] = taxes_per_recurrence.get((price_type, period), 0) + 1
        by_tax = [
            {"type": price_type, "billing_period": period,
             **(self.recurrences[(price_type, period)] if taxes_per_recurrence[(price_type, period)] == 1
                else sums).recurrence_fields(),
             "tax": tax.entry(sums.tax)}
            for (price_type, period, _), (tax, sums) in self.by_tax.items()
        ]
        single = self.single_recurrence_fields()
        return {
            "amount_shipping": 0,
            "amount_tax": single["amount_tax"] if single is not None else to_cents(self.sums.tax),
            "breakdown": {
                "taxes": [tax.entry(amount[0]) for tax, amount in self.taxes],
                "recurrences": recurrences,
                "recurrencesByTax": by_tax,
                "cashbacks": [{"cashback_period": period, **money("amount_total", amount)}
                              for period, amount in self.cashbacks],
            },
        }
