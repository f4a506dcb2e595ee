"""The pricing engine against the world: the store as its catalogue, its errors as the API's errors,
and :func:`priced_order`, the one function every order write prices with (``createOrder``,
``putOrder``, ``$checkoutCart`` and the portal's ``updateOrder``), so an order always shows what
``$calculatePricingDetails`` gives for its line items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from ..pricing import PricingInputError, UnknownCatalogIdError, price_order_payload
from . import common as c

T = TypeVar("T")

# The order attributes the pricing engine derives from the line items.
PRICED_ATTRIBUTES = ("line_items", "amount_subtotal", "amount_total", "amount_tax", "total_details", "currency")


class StoreCatalog:
    """The pricing engine's catalogue lookups, against the world."""

    def __init__(self, call: Call, org_known: bool = True) -> None:
        self.store = c.store(call)
        self.org_known = org_known

    def _get(self, schema: str, entity_id: str) -> dict[str, Any] | None:
        if not self.org_known:
            return None
        entity = self.store.get(entity_id)
        return entity if entity is not None and entity.get("_schema") == schema else None

    def price(self, entity_id: str) -> dict[str, Any] | None:
        return self._get("price", entity_id)

    def product(self, entity_id: str) -> dict[str, Any] | None:
        return self._get("product", entity_id)

    def coupon(self, entity_id: str) -> dict[str, Any] | None:
        return self._get("coupon", entity_id)

    def tax(self, entity_id: str) -> dict[str, Any] | None:
        return self._get("tax", entity_id)


def org_known(call: Call, header: str = "X-Ivy-Org-ID") -> bool:
    """Public operations name the organisation in a header; only the world's org has a catalogue."""
    org = call.headers.get(header)
    return org is None or org == c.world(call).org_id


def priced(fn: Callable[..., T], *args: Any, missing: str = "unknown_reference", **kwargs: Any) -> T:
    """``fn``'s result; an unknown catalogue id is a ``missing`` error (404 where the operation
    documents it, else 400), input the price engine cannot price a 400."""
    try:
        return fn(*args, **kwargs)
    except UnknownCatalogIdError as exc:
        raise Reject(missing, str(exc)) from None
    except PricingInputError as exc:
        raise Reject("bad_request", str(exc)) from None


def priced_order(call: Call, payload: dict[str, Any], *, catalog: StoreCatalog | None = None,
                 missing: str = "unknown_reference") -> dict[str, Any]:
    """The pricing attributes of an order written with ``payload`` (its ``line_items``,
    ``redeemed_promos`` and ``currency``): :data:`PRICED_ATTRIBUTES`, priced by the engine with the
    world as the catalogue. ``missing``: the error kind for catalogue ids that name nothing."""
    return priced(price_order_payload, payload, catalog=catalog or StoreCatalog(call), missing=missing)


def catalog_relations(call: Call, attributes: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Set the order ``attributes``' products, prices and coupons relations to the catalogue entities
    its line ``items`` use (those of them that exist)."""
    wanted: dict[str, list[str]] = {"products": [], "prices": [], "coupons": []}
    for item in items:
        for part in [item, *(item.get("item_components") or [])]:
            if not isinstance(part, dict):
                continue
            price = part["_price"] if isinstance(part.get("_price"), dict) else {}
            wanted["prices"].append(str(part.get("price_id") or price.get("_id") or ""))
            wanted["products"].append(str(part.get("product_id") or ""))
            wanted["coupons"].extend(str(cp.get("_id") or "") for cp in part.get("_coupons") or []
                                     if isinstance(cp, dict))
    found = c.store(call).get_many(sorted({i for ids in wanted.values() for i in ids if i}))
    schema_of = {"products": "product", "prices": "price", "coupons": "coupon"}
    for attribute, ids in wanted.items():
        targets = [found[i] for i in dict.fromkeys(ids)
                   if i in found and found[i].get("_schema") == schema_of[attribute]]
        if targets:
            attributes[attribute] = {"$relation": [{"entity_id": t["_id"]} for t in targets]}
