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


class Resolver:
    """Resolves the entities of line items from their snapshots or the catalog, naming the item on errors."""

    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog

    def price(self, line: dict[str, Any], where: str) -> dict[str, Any]:
        embedded = snapshot(line.get("_price"))
        if embedded is not None:
            return embedded
        price_id = line.get("price_id")
        if not price_id or self.catalog is None:
            return {}
        found = self.catalog.price(str(price_id))
        if found is None:
            raise UnknownCatalogIdError(where, "price_id", str(price_id))
        return found

    def product(self, line: dict[str, Any], where: str) -> dict[str, Any] | None:
        embedded = snapshot(line.get("_product"))
        if embedded is not None:
            return embedded
        product_id = line.get("product_id")
        if not product_id or self.catalog is None:
            return None
        found = self.catalog.product(str(product_id))
        if found is None:
            raise UnknownCatalogIdError(where, "product_id", str(product_id))
        return found

    def coupons(self, line: dict[str, Any], where: str, extra_ids: Iterable[str] = ()) -> list[dict[str, Any]] | None:
        """The line's coupon snapshots plus ``extra_ids`` looked up; None when no coupon is named at all."""
        embedded = line.get("_coupons")
        extra = list(extra_ids)
        if isinstance(embedded, list) and embedded:
            found = [c for c in embedded if isinstance(c, dict)]
        else:
            ids = line.get("coupon_ids")
            if not ids and not extra and not isinstance(embedded, list):
                return None
            found = self._lookup_coupons(ids if isinstance(ids, list) else [], where)
        return found + self._lookup_coupons(extra, where)

    def _lookup_coupons(self, ids: list[Any], where: str) -> list[dict[str, Any]]:
        if self.catalog is None:
            return []
        found = []
        for coupon_id in ids:
            coupon = self.catalog.coupon(str(coupon_id))
            if coupon is None:
                raise UnknownCatalogIdError(where, "coupon_id", str(coupon_id))
            found.append(coupon)
        return found

    def taxes(self, price: dict[str, Any], where: str) -> list[dict[str, Any]]:
        """The price's taxes: snapshots as given, a relation looked up (ignored without a catalog)."""
        value = price.get("tax")
        if isinstance(value, list):
            return [t for t in value if isinstance(t, dict)]
        ids = relation_ids(value)
        if not ids or self.catalog is None:
            return []
        taxes = []
        for tax_id in ids:
            tax = self.catalog.tax(tax_id)
            if tax is None:
                raise UnknownCatalogIdError(where, "tax id", tax_id)
            taxes.append(tax)
        return taxes

    def components(self, price: dict[str, Any], where: str) -> list[dict[str, Any]]:
        """A composite price's component prices that are valid price snapshots (a dict with an ``_id``)."""
        value = price.get("price_components")
        if isinstance(value, list):
            return [p for p in value if isinstance(p, dict) and p.get("_id")]
        ids = relation_ids(value)
        if not ids or self.catalog is None:
            return []
        components = []
        for price_id in ids:
            component = self.catalog.price(price_id)
            if component is None:
                raise UnknownCatalogIdError(where, "component price_id", price_id)
            components.append(component)
        return components
