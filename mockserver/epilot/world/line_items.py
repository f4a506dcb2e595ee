"""Order line items, priced by the pricing engine.

An order's line items are built as a shop front end sends them to epilot (price and product
snapshots, price mappings for consumption, coupons, redeemed promo codes) and priced with
:func:`~mockserver.epilot.pricing.price_order_payload`, the function ``createOrder``, ``putOrder``,
checkout and the portal's order updates use. So a seeded order shows exactly the totals that
``POST /v1/pricing:compute`` gives for its line items.

Pricing is memoised per catalog: many orders repeat the same cart (a wallbox with the same cable
length, a tariff at the same consumption), and the engine is the costly part of an order.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..pricing import DictCatalog, price_order_payload
from .catalog import Catalog, CatalogPrice
from .model import Entity


class PricedCarts:
    """The pricing engine over one world catalog, with a memo of the carts priced so far."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = DictCatalog.of(catalog.entities())
        self._memo: dict[bytes, bytes] = {}

    def price(self, key: bytes, payload: dict[str, Any]) -> dict[str, Any]:
        """The order's pricing fields for ``payload``; ``key`` identifies the cart (equal keys, equal
        payloads). A fresh copy each time: orders never share objects."""
        raw = self._memo.get(key)
        if raw is None:
            raw = self._memo[key] = orjson.dumps(price_order_payload(payload, catalog=self.catalog))
        return orjson.loads(raw)


class LineItems:
    """Builds the line items of one order, then prices them."""

    def __init__(self, catalog: Catalog, carts: PricedCarts) -> None:
        self.catalog = catalog
        self.carts = carts
        self.lines: list[dict[str, Any]] = []
        self.redeemed_promos: list[dict[str, Any]] = []
        self._key: list[Any] = []

    def add(self, price: CatalogPrice, quantity: int = 1, mapping: int | None = None,
            frequency_unit: str = "yearly") -> dict[str, Any]:
        """A simple line. ``mapping`` is the consumption of a variable price (or the tier input of a
        tiered price), per ``frequency_unit``."""
        line = self._line(price, quantity)
        if mapping is not None:
            line["price_mappings"] = [{"price_id": price.id, "frequency_unit": frequency_unit,
                                       "value": mapping}]
        self._key.append((price.id, quantity, mapping, frequency_unit))
        self.lines.append(line)
        return line

    def add_composite(self, price: CatalogPrice, mappings: dict[str, int], quantity: int = 1) -> dict[str, Any]:
        """A composite line; ``mappings`` maps component price ids to their yearly consumption."""
        line = self._line(price, quantity)
        line["is_composite_price"] = True
        line["item_components"] = [self._component(part) for part in price.components]
        line["price_mappings"] = [{"price_id": pid, "frequency_unit": "yearly", "value": value}
                                  for pid, value in mappings.items()]
        self._key.append((price.id, quantity, line["price_mappings"]))
        self.lines.append(line)
        return line

    def apply_coupon(self, line: dict[str, Any], coupon: Entity) -> None:
        """Put ``coupon`` on ``line`` (a cashback never lowers the totals)."""
        line["coupon_ids"] = [coupon["_id"]]
        line["_coupons"] = [self.catalog.snapshot(coupon)]
        index = next(i for i, known in enumerate(self.lines) if known is line)
        self._key.append(("coupon", index, coupon["_id"]))

    def redeem(self, code: str, coupon: Entity) -> None:
        """Record the promo ``code`` as redeemed for ``coupon`` (unlocking it on this order's lines)."""
        self.redeemed_promos.append({"code": code, "coupons": [self.catalog.snapshot(coupon)]})
        self._key.append(("promo", code, coupon["_id"]))

    def order_amounts(self) -> dict[str, Any]:
        """The order's pricing attributes: ``line_items`` (priced), ``amount_subtotal``,
        ``amount_total``, ``amount_tax``, ``total_details`` and ``currency``."""
        payload: dict[str, Any] = {"line_items": self.lines}
        if self.redeemed_promos:
            payload["redeemed_promos"] = self.redeemed_promos
        return self.carts.price(orjson.dumps(self._key), payload)

    def _component(self, part: CatalogPrice) -> dict[str, Any]:
        """A component of a composite line as a front end sends it: the engine prices a component from
        its own ``unit_amount_decimal`` (a missing one is 0), not from its price's."""
        component = self._line(part, 1)
        del component["product_name"]
        if "unit_amount_decimal" in part.entity:
            component["unit_amount_decimal"] = part.entity["unit_amount_decimal"]
        return component

    def _line(self, price: CatalogPrice, quantity: int) -> dict[str, Any]:
        return {"price_id": price.id, "product_id": price.product["_id"], "product_name": price.product["name"],
                "quantity": quantity, "_price": self.catalog.snapshot(price.entity),
                "_product": self.catalog.snapshot(price.product)}


def yearly_total(amounts: dict[str, Any]) -> int:
    """The yearly gross cost of an order's recurring prices, in cents (its monthly recurrences
    twelve times, its yearly ones once)."""
    per_year = {"monthly": 12, "yearly": 1, "every_quarter": 4, "every_6_months": 2, "weekly": 52}
    return sum(r["amount_total"] * per_year.get(r.get("billing_period"), 1)
               for r in amounts["total_details"]["breakdown"]["recurrences"] if r.get("type") == "recurring")
