"""Pricing one simple (non-composite) line item at 12 decimal places.

Every pricing model reduces to a unit amount and a multiplier:

- per unit: the unit amount (line's ``unit_amount_decimal``, else the price's; components only
  the line's, defaulting to 0), * the mapping value * quantity for variable prices, else * quantity;
- tiered volume: the unit amount of the tier the mapping value falls in (value 1 without a
  mapping), * value * quantity (* quantity without a mapping);
- tiered graduated: the sum over tiers of tier unit * the value's units in that tier, * quantity
  only when a mapping was used;
- tiered flat fee: the tier's flat fee, * quantity only when a mapping was used.

From the unit amount come the net, gross and tax per unit (tax inclusive: net = unit / (1 + rate),
tax = unit - net; exclusive: tax = unit * rate), then the best coupon (a discount changes the unit,
a cashback never does), then the amounts as unit values * multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .catalog import Resolver, snapshot
from .coupons import Coupon, best_coupon
from .errors import PricingInputError
from .jsnum import js_number_string, json_number
from .numbers import (
    HUNDRED,
    ONE,
    ZERO,
    div,
    is_json_number,
    mul,
    parse_decimal,
    parse_quantity,
    q12,
    to_cents,
    truncate12,
)
from .periods import PER_YEAR, convert_period_value
from .tiers import graduated_shares, parse_tiers, select_tier

PRICING_MODELS = ("per_unit", "tiered_volume", "tiered_graduated", "tiered_flatfee", "external_getag", "dynamic_tariff")
TIERED_MODELS = ("tiered_volume", "tiered_graduated", "tiered_flatfee")
BILLING_PERIODS = (*PER_YEAR, "one_time")
ON_REQUEST = "show_as_on_request"

# Fields the engine computes; stale values a client sends back are dropped before pricing.
COMPUTED_ITEM_KEYS = frozenset({
    "currency", "taxes", "tiers_details", "total_details", "discount_percentage",
    *(f"{name}{suffix}" for suffix in ("", "_decimal") for name in (
        "unit_amount", "unit_amount_net", "unit_amount_gross", "amount_subtotal", "amount_total",
        "discount_amount", "before_discount_amount_total", "cashback_amount", "after_cashback_amount_total",
        "before_discount_unit_amount", "before_discount_unit_amount_gross", "before_discount_unit_amount_net",
        "unit_discount_amount", "unit_discount_amount_net", "tax_discount_amount", "before_discount_tax_amount",
    )),
})


def money(name: str, value: Decimal) -> dict[str, Any]:
    """``{name: cents, name_decimal: "major units"}`` for a 12-place amount."""
    return {name: to_cents(value), name + "_decimal": js_number_string(value)}


def put_money(out: dict[str, Any], name: str, value: Decimal) -> None:
    """``out.update(money(name, value))`` without the intermediate dict."""
    out[name] = to_cents(value)
    out[name + "_decimal"] = js_number_string(value)


def put_unit_money(out: dict[str, Any], fields: tuple[tuple[str, str], ...], values: UnitValues) -> None:
    """The money fields of unit values, ``fields`` being (name, UnitValues attribute) pairs in output order,
    the amount first. The amount is formatted once: it is the very same Decimal as the gross (tax
    inclusive) or the net (exclusive) value."""
    amount_name = fields[0][0]
    put_money(out, amount_name, values.amount)
    for name, attribute in fields[1:]:
        value = getattr(values, attribute)
        if value is values.amount:
            out[name] = out[amount_name]
            out[name + "_decimal"] = out[amount_name + "_decimal"]
        else:
            put_money(out, name, value)


@dataclass(frozen=True)
class TaxInfo:
    snapshot: dict[str, Any] | None  # None: nontaxable
    rate: Decimal  # percent
    label: str  # the rate as the tax gives it ("19"), or "nontaxable"
    # Derived once: the item, the totals and every breakdown entry of the tax ask for them.
    tax_id: str | None = field(init=False, repr=False, compare=False)
    rate_key: str = field(init=False, repr=False, compare=False)  # groups recurrencesByTax
    rate_value: int | float = field(init=False, repr=False, compare=False)  # "rateValue" of a TaxAmount

    def __post_init__(self) -> None:
        snapshot = self.snapshot
        tax_id = str(snapshot["_id"]) if snapshot and snapshot.get("_id") else None
        object.__setattr__(self, "tax_id", tax_id)
        object.__setattr__(self, "rate_key", js_number_string(self.rate) if snapshot is not None else "nontaxable")
        object.__setattr__(self, "rate_value", json_number(self.rate))

    @property
    def taxed(self) -> bool:
        return self.snapshot is not None

    def same_as(self, other: TaxInfo) -> bool:
        """Taxes merge when they have the same ``_id`` or the same rate (nontaxable only with nontaxable)."""
        if self.taxed != other.taxed:
            return False
        if not self.taxed or (self.tax_id is not None and self.tax_id == other.tax_id):
            return True
        return self.rate == other.rate

    def entry(self, amount: Decimal) -> dict[str, Any]:
        """A TaxAmount for ``amount`` of this tax."""
        entry: dict[str, Any] = {"tax": self.snapshot} if self.snapshot is not None else {}
        entry["rate"] = self.label
        entry["rateValue"] = self.rate_value
        entry["amount"] = to_cents(amount)
        entry["amount_decimal"] = js_number_string(amount)
        return entry


NONTAXABLE = TaxInfo(None, ZERO, "nontaxable")


def tax_info(tax: dict[str, Any] | None, where: str) -> TaxInfo:
    if tax is None:
        return NONTAXABLE
    raw = tax.get("rate")
    rate = ZERO if raw is None else parse_decimal(raw, f"{where}.rate")
    if rate < ZERO:
        raise PricingInputError(f"{where}.rate: a tax rate must not be negative, got {raw!r}")
    return TaxInfo(tax, rate, raw.strip() if isinstance(raw, str) else js_number_string(rate))


@dataclass(frozen=True)
class UnitValues:
    amount: Decimal  # the unit amount as the price states it: gross when tax inclusive, else net
    net: Decimal
    gross: Decimal
    tax: Decimal


def unit_values(amount: Decimal, rate: Decimal, inclusive: bool) -> UnitValues:
    if inclusive:
        net = div(amount, ONE + rate / HUNDRED)
        return UnitValues(amount, net, amount, amount - net)
    tax = mul(amount, rate / HUNDRED)
    return UnitValues(amount, amount, amount + tax, tax)


@dataclass(frozen=True)
class Cashback:
    period: str  # cashback_period: "0" or "12"
    amount: Decimal


@dataclass(frozen=True)
class ParentLine:
    """What a component takes from its composite line."""

    where: str
    quantity: Decimal
    mappings: list[Any]
    component_coupon_ids: dict[str, Any]


@dataclass(frozen=True)
class Discount:
    coupon: Coupon
    before: UnitValues  # the unit values before the discount
    before_total: Decimal
    before_tax: Decimal


# (field name, UnitValues attribute) in the output's order
_UNIT_NAMES = (("unit_amount", "amount"), ("unit_amount_net", "net"), ("unit_amount_gross", "gross"))
_BEFORE_DISCOUNT_UNIT_NAMES = (("before_discount_unit_amount", "amount"),
                               ("before_discount_unit_amount_gross", "gross"),
                               ("before_discount_unit_amount_net", "net"))


@dataclass
class PricedItem:
    """A priced simple line item: 12-place amounts plus what the output and the totals need."""

    line: dict[str, Any]  # the input line with stale computed fields removed and resolved snapshots added
    pricing_model: str
    price_type: str  # "one_time" | "recurring"
    billing_period: str | None  # a recurring period; None for one-time prices
    currency: str
    tax: TaxInfo
    unit: UnitValues
    subtotal: Decimal
    total: Decimal
    tax_amount: Decimal
    on_request: bool
    coupons_named: bool = False
    applied: Coupon | None = None
    discount: Discount | None = None
    cashback: Cashback | None = None
    after_cashback: Decimal | None = None
    tiers_details: list[dict[str, Any]] | None = None

    @property
    def recurrence(self) -> tuple[str, str]:
        return (self.price_type, self.billing_period or "one_time")

    @property
    def before_discount_total(self) -> Decimal:
        return self.discount.before_total if self.discount else self.total

    def to_json(self) -> dict[str, Any]:
        out = dict(self.line)
        out.update(is_composite_price=False, pricing_model=self.pricing_model, type=self.price_type)
        if self.billing_period is not None:
            out["billing_period"] = self.billing_period
        out["currency"] = self.currency
        put_unit_money(out, _UNIT_NAMES, self.unit)
        put_money(out, "amount_subtotal", self.subtotal)
        put_money(out, "amount_total", self.total)
        out["taxes"] = [self.tax.entry(self.tax_amount)]
        if self.coupons_named:
            out["_coupons"] = [self.applied.snapshot] if self.applied else []
        if self.discount:
            self._put_discount_fields(out, self.discount)
        if self.cashback is not None and self.after_cashback is not None:
            out["cashback_period"] = self.cashback.period
            put_money(out, "cashback_amount", self.cashback.amount)
            put_money(out, "after_cashback_amount_total", self.after_cashback)
        if self.tiers_details is not None:
            out["tiers_details"] = self.tiers_details
        return out

    def _put_discount_fields(self, out: dict[str, Any], discount: Discount) -> None:
        if discount.coupon.kind == "percentage":
            out["discount_percentage"] = json_number(discount.coupon.percentage)
        before = discount.before
        put_money(out, "discount_amount", discount.before_total - self.total)
        put_money(out, "before_discount_amount_total", discount.before_total)
        put_unit_money(out, _BEFORE_DISCOUNT_UNIT_NAMES, before)
        put_money(out, "unit_discount_amount", before.amount - self.unit.amount)
        put_money(out, "unit_discount_amount_net", before.net - self.unit.net)
        put_money(out, "tax_discount_amount", discount.before_tax - self.tax_amount)
        put_money(out, "before_discount_tax_amount", discount.before_tax)


def echoed_line(line: dict[str, Any], where: str, price: dict[str, Any],
                product: dict[str, Any] | None) -> dict[str, Any]:
    """The input line as the output starts from: stale computed fields dropped, a non-numeric quantity
    replaced by the quantity it counted as, and entities looked up in the catalog attached."""
    out = {k: v for k, v in line.items() if k not in COMPUTED_ITEM_KEYS}
    if "quantity" in line and not is_json_number(line["quantity"]):
        out["quantity"] = json_number(parse_quantity(line["quantity"], f"{where}.quantity"))
    if price and snapshot(line.get("_price")) is None:
        out["_price"] = price
    if product is not None and snapshot(line.get("_product")) is None:
        out["_product"] = product
    return out


def effective_period(price_type: str, billing_period: object) -> str | None:
    """The billing period a recurring price is charged per (monthly when it names none)."""
    if price_type != "recurring":
        return None
    return billing_period if isinstance(billing_period, str) and billing_period in PER_YEAR else "monthly"


def yearly_to_period(amount: Decimal, period: str | None) -> Decimal:
    """A yearly amount (a cashback) per ``period``; one-time amounts are not converted."""
    return convert_period_value(amount, "yearly", period) if period else amount


def discounted(base: UnitValues, coupon: Coupon, rate: Decimal, inclusive: bool) -> UnitValues:
    """Unit values after a discount coupon on the gross unit (tax inclusive) or the net unit (exclusive)."""
    basis = base.gross if inclusive else base.net
    if coupon.kind == "percentage":
        reduction = mul(basis, coupon.percentage / HUNDRED)
    else:
        reduction = max(min(coupon.value, basis), ZERO)  # a fixed discount is capped at the unit amount
    return unit_values(basis - reduction, rate, inclusive)


def _flag(line: dict[str, Any], price: dict[str, Any], key: str, default: bool) -> bool:
    for source in (line, price):
        if isinstance(source.get(key), bool):
            return bool(source[key])
    return default


@dataclass(frozen=True)
class ItemPricer:
    """Prices simple line items and components with one resolver and one set of unlocked coupons."""

    resolver: Resolver
    unlocked: frozenset[str]

    def price(self, line: dict[str, Any], where: str, parent: ParentLine | None = None) -> PricedItem:
        resolver = self.resolver
        price = resolver.price(line, where)
        product = resolver.product(line, where)
        model = price.get("pricing_model") or line.get("pricing_model") or "per_unit"
        if model not in PRICING_MODELS:
            raise PricingInputError(f"{where}: unknown pricing_model {model!r}")
        price_type = "recurring" if (price.get("type") or line.get("type")) == "recurring" else "one_time"
        period = effective_period(price_type, price.get("billing_period") or line.get("billing_period"))
        inclusive = _flag(line, price, "is_tax_inclusive", default=True)
        tax = self._tax(line, price, where)
        quantity = parse_quantity(line.get("quantity"), f"{where}.quantity")
        if parent is not None:
            quantity = mul(quantity, parent.quantity)
        value = self._mapping_value(line, price, model, period, where, parent)
        unit, multiplier, tier_shares = self._unit_and_multiplier(line, price, model, quantity, value, where, parent)

        price_id = str(price.get("_id") or line.get("price_id") or "")
        extra_ids = parent.component_coupon_ids.get(price_id, []) if parent is not None and price_id else []
        coupons = resolver.coupons(line, where, extra_ids if isinstance(extra_ids, list) else [])
        coupon = best_coupon(coupons or [], self.unlocked)

        base = unit_values(unit, tax.rate, inclusive)
        values, discount, cashback, after_cashback = base, None, None, None
        if coupon is not None and coupon.category == "discount":
            values = discounted(base, coupon, tax.rate, inclusive)
            discount = Discount(coupon, base, mul(base.gross, multiplier), mul(base.tax, multiplier))
        elif coupon is not None:
            per_unit = coupon.value if coupon.kind == "fixed" else mul(base.gross, coupon.percentage / HUNDRED)
            cashback = Cashback(coupon.cashback_period, mul(per_unit, multiplier))
            after_cashback = base.gross - yearly_to_period(cashback.amount, period)

        out_line = echoed_line(line, where, price, product)
        display = price.get("price_display_in_journeys") or line.get("price_display_in_journeys")
        currency = price.get("unit_amount_currency") or line.get("unit_amount_currency") or "EUR"
        return PricedItem(
            line=out_line,
            pricing_model=str(model),
            price_type=price_type,
            billing_period=period,
            currency=str(currency).upper(),
            tax=tax,
            unit=values,
            subtotal=mul(values.net, multiplier),
            total=mul(values.gross, multiplier),
            tax_amount=mul(values.tax, multiplier),
            on_request=display == ON_REQUEST,
            coupons_named=coupons is not None,
            applied=coupon,
            discount=discount,
            cashback=cashback,
            after_cashback=after_cashback,
            tiers_details=self._tiers_details(tier_shares, tax, inclusive) if tier_shares is not None else None,
        )

    def _tax(self, line: dict[str, Any], price: dict[str, Any], where: str) -> TaxInfo:
        """``line.taxes[0].tax``, else the price's first tax, else nontaxable."""
        line_taxes = line.get("taxes")
        if isinstance(line_taxes, list) and line_taxes and isinstance(line_taxes[0], dict):
            embedded = snapshot(line_taxes[0].get("tax"))
            if embedded is not None:
                return tax_info(embedded, f"{where}.taxes[0].tax")
        price_taxes = self.resolver.taxes(price, where)
        return tax_info(price_taxes[0], f"{where}._price.tax[0]") if price_taxes else NONTAXABLE

    @staticmethod
    def _mapping_value(line: dict[str, Any], price: dict[str, Any], model: str, period: str | None,
                       where: str, parent: ParentLine | None) -> Decimal | None:
        """The price mapping value converted to the price's period, for variable prices only."""
        if model not in TIERED_MODELS and not _flag(price, line, "variable_price", default=False):
            return None
        ids = {str(i) for i in (line.get("price_id"), price.get("_id")) if i}
        mappings = parent.mappings if parent is not None else line.get("price_mappings")
        mapping_where = f"{parent.where if parent is not None else where}.price_mappings"
        for index, mapping in enumerate(mappings if isinstance(mappings, list) else []):
            if not isinstance(mapping, dict) or str(mapping.get("price_id")) not in ids:
                continue
            value = parse_decimal(mapping.get("value"), f"{mapping_where}[{index}].value")
            if value < ZERO:
                raise PricingInputError(f"{mapping_where}[{index}].value: must not be negative, got {value}")
            return q12(convert_period_value(value, mapping.get("frequency_unit"), period))
        return None

    @staticmethod
    def _unit_and_multiplier(
        line: dict[str, Any], price: dict[str, Any], model: str, quantity: Decimal, value: Decimal | None,
        where: str, parent: ParentLine | None,
    ) -> tuple[Decimal, Decimal, list[tuple[Decimal, Decimal, Decimal]] | None]:
        """The unit amount, the multiplier and, for graduated tiers, (tier unit, units, multiplier) shares."""
        scaled = mul(value, quantity) if value is not None else quantity
        if model in TIERED_MODELS:
            tiers = parse_tiers(price.get("tiers", line.get("tiers")), f"{where}._price.tiers")
            chosen_value = value if value is not None else ONE
            per_quantity = quantity if value is not None else ONE
            if model == "tiered_graduated":
                shares = graduated_shares(tiers, chosen_value)
                unit = sum((mul(tier.unit_amount, units) for tier, units in shares), ZERO)
                return unit, per_quantity, [(t.unit_amount, units, mul(units, per_quantity)) for t, units in shares]
            tier = select_tier(tiers, chosen_value)
            if model == "tiered_flatfee":
                return (tier.flat_fee if tier else ZERO), per_quantity, None
            return (tier.unit_amount if tier else ZERO), scaled, None
        raw, source = line.get("unit_amount_decimal"), f"{where}.unit_amount_decimal"
        if raw in (None, "") and parent is None:
            raw, source = price.get("unit_amount_decimal"), f"{where}._price.unit_amount_decimal"
        if raw in (None, ""):
            return ZERO, scaled, None
        return truncate12(parse_decimal(raw, source)), scaled, None

    @staticmethod
    def _tiers_details(shares: list[tuple[Decimal, Decimal, Decimal]], tax: TaxInfo,
                       inclusive: bool) -> list[dict[str, Any]]:
        details = []
        for unit, units, multiplier in shares:
            values = unit_values(unit, tax.rate, inclusive)
            details.append({
                "quantity": json_number(units),
                "unit_amount": to_cents(values.amount),
                "unit_amount_decimal": js_number_string(values.amount),
                "unit_amount_gross": to_cents(values.gross),
                "unit_amount_net": to_cents(values.net),
                "amount_subtotal": to_cents(mul(values.net, multiplier)),
                "amount_total": to_cents(mul(values.gross, multiplier)),
                "amount_tax": to_cents(mul(values.tax, multiplier)),
            })
        return details
