"""Where line items get their price, product, coupon and tax entities from.

Clients usually send self-contained line items (``_price``, ``taxes``, ``_coupons`` snapshots);
those are used as they are. Otherwise ``price_id``, ``product_id``, ``coupon_ids``, a price's
``tax`` relation and a composite price's ``price_components`` relation are looked up in a
:class:`Catalog`. An empty snapshot (``_price: {}``, ``_coupons: []``, as epilot's own request
examples send) counts as absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import UnknownCatalogIdError


class Catalog(Protocol):
    """Read access to an organisation's catalog entities (core-entity dicts), None when unknown."""

    def price(self, price_id: str) -> dict[str, Any] | None: ...

    def product(self, product_id: str) -> dict[str, Any] | None: ...

    def coupon(self, coupon_id: str) -> dict[str, Any] | None: ...

    def tax(self, tax_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class DictCatalog:
    """A catalog held in dicts keyed by entity id (tests, fixtures, a store snapshot)."""

    prices: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    products: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    coupons: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    taxes: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, entities: Iterable[dict[str, Any]]) -> DictCatalog:
        """Sort entities into prices, products, coupons and taxes by their ``_schema``."""
        buckets: dict[str, dict[str, dict[str, Any]]] = {"price": {}, "product": {}, "coupon": {}, "tax": {}}
        for entity in entities:
            bucket = buckets.get(str(entity.get("_schema")))
            if bucket is not None and entity.get("_id"):
                bucket[str(entity["_id"])] = entity
        return cls(buckets["price"], buckets["product"], buckets["coupon"], buckets["tax"])

    def price(self, price_id: str) -> dict[str, Any] | None:
        return self.prices.get(price_id)

    def product(self, product_id: str) -> dict[str, Any] | None:
        return self.products.get(product_id)

    def coupon(self, coupon_id: str) -> dict[str, Any] | None:
        return self.coupons.get(coupon_id)

    def tax(self, tax_id: str) -> dict[str, Any] | None:
        return self.taxes.get(tax_id)


def snapshot(value: object) -> dict[str, Any] | None:
    """A non-empty entity snapshot, or None."""
    return value if isinstance(value, dict) and value else None


def relation_ids(value: object) -> list[str] | None:
    """The entity ids of a ``{"$relation": [...]}`` value, or None when it is not a relation."""
    if not isinstance(value, dict) or not isinstance(value.get("$relation"), list):
        return None
    return [str(item["entity_id"]) for item in value["$relation"] if isinstance(item, dict) and item.get("entity_id")]


def _price_with_relations(price: dict[str, Any], catalog: Catalog, where: str) -> dict[str, Any]:
    """A price entity with its tax relation replaced by tax snapshots and, for a composite price, its
    component relation by the component prices (each with its taxes), as the API hydrates them."""
    out = dict(price)
    tax_ids = relation_ids(price.get("tax"))
    if tax_ids:
        taxes = [catalog.tax(tax_id) for tax_id in tax_ids]
        out["tax"] = [tax for tax in taxes if tax is not None]
    component_ids = relation_ids(price.get("price_components"))
    if component_ids:
        components = []
        for component_id in component_ids:
            component = catalog.price(component_id)
            if component is None:
                raise UnknownCatalogIdError(where, "component price_id", component_id)
            components.append(_price_with_relations(component, catalog, where))
        out["price_components"] = components
    return out


def _lookup_coupons(ids: object, catalog: Catalog, where: str) -> list[dict[str, Any]]:
    found = []
    for coupon_id in ids if isinstance(ids, list) else []:
        coupon = catalog.coupon(str(coupon_id))
        if coupon is None:
            raise UnknownCatalogIdError(where, "coupon_id", str(coupon_id))
        found.append(coupon)
    return found


def hydrate_line(line: dict[str, Any], where: str, catalog: Catalog,
                 component_coupon_ids: dict[str, Any] | None = None) -> dict[str, Any]:
    """The line with what it names by id and leaves out filled in from the catalog (a copy).

    ``price_id`` without a ``_price`` snapshot, ``coupon_ids`` without ``_coupons`` (an empty ``_price``
    or ``_coupons``, as epilot's own request examples send, counts as absent), ``product_id``
    without ``_product`` (ignored when unknown: a product does not change the price), a price's tax
    and component relations, and the components of a composite line. What the line carries is kept
    as it is: a snapshot is priced even when its ids are not in the catalog.
    """
    out = dict(line)
    price = snapshot(line.get("_price"))
    if price is None and line.get("price_id"):
        found = catalog.price(str(line["price_id"]))
        if found is None:
            raise UnknownCatalogIdError(where, "price_id", str(line["price_id"]))
        out["_price"] = _price_with_relations(found, catalog, where)
    elif price is not None and (relation_ids(price.get("tax")) or relation_ids(price.get("price_components"))):
        out["_price"] = _price_with_relations(price, catalog, where)
    if snapshot(line.get("_product")) is None and line.get("product_id"):
        product = catalog.product(str(line["product_id"]))
        if product is not None:
            out["_product"] = product
    if line.get("_coupons") is None or line.get("_coupons") == []:
        ids = list(line.get("coupon_ids") or []) if isinstance(line.get("coupon_ids"), list) else []
        extra = (component_coupon_ids or {}).get(str(line.get("price_id") or prop_id(out.get("_price"))))
        ids += extra if isinstance(extra, list) else []
        if ids:
            out["_coupons"] = _lookup_coupons(ids, catalog, where)
    components = line.get("item_components")
    if isinstance(components, list):
        per_price = line.get("price_component_coupon_ids")
        per_price = per_price if isinstance(per_price, dict) else {}
        out["item_components"] = [
            hydrate_line(c, f"{where}.item_components[{i}]", catalog, per_price) if isinstance(c, dict) else c
            for i, c in enumerate(components)]
    return out


def prop_id(value: object) -> str:
    return str(value.get("_id") or "") if isinstance(value, dict) else ""
