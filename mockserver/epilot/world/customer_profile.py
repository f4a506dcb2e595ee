"""What the per-customer builders share about one customer while it is generated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .addresses import City
from .model import Entity


@dataclass
class Customer:
    index: int
    contact: Entity
    first_name: str
    last_name: str
    email: str
    phone: str
    address: dict[str, Any]
    city: City
    payment: dict[str, Any]
    since: date
    account: Entity | None = None
    contracts: list[Entity] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def company(self) -> str | None:
        return self.account["name"] if self.account else None

    def address_copy(self, tags: list[str]) -> dict[str, Any]:
        """The contact's address as an order or billing address (without the item id)."""
        copy = {k: v for k, v in self.address.items() if k not in ("_id", "_primary")}
        copy["_tags"] = tags
        return copy
