"""Errors of the pricing engine: bad input that the HTTP layer turns into a 400 or 404."""

from __future__ import annotations


class PricingInputError(ValueError):
    """Line items, mappings, coupons or query parameters that cannot be priced (HTTP 400)."""


class UnknownCatalogIdError(PricingInputError):
    """A line item names a price, product, coupon or tax id that the catalog does not have (HTTP 404)."""

    def __init__(self, where: str, field: str, entity_id: str) -> None:
        self.where = where
        self.field = field
        self.entity_id = entity_id
        super().__init__(f"{where}: unknown {field} {entity_id!r}")
