"""What the generator returns: plain data, ready to be loaded into a store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]
RecordRow = tuple[str, str | None, dict[str, Any]]
"""One non-entity record: (record_id, parent_id, document)."""

RECORD_KINDS = ("portal_config", "portal_page", "portal_block", "portal_widget", "email_templates", "meter_reading",
                "portal_extension")


@dataclass(frozen=True)
class PortalLogin:
    """A demo portal user the mock accepts a fixed bearer token for."""

    token: str
    portal_user_id: str
    contact_id: str
    email: str
    display_name: str
    portal_id: str


@dataclass
class World:
    """One seeded epilot organization: its entities, portal records and demo logins."""

    org_id: str
    entities: list[Entity] = field(default_factory=list)
    records: dict[str, list[RecordRow]] = field(default_factory=dict)
    portal_logins: list[PortalLogin] = field(default_factory=list)

    def schema_counts(self) -> dict[str, int]:
        """Number of entities per schema slug, sorted by slug."""
        return dict(sorted(Counter(e["_schema"] for e in self.entities).items()))

    def record_counts(self) -> dict[str, int]:
        return {kind: len(rows) for kind, rows in self.records.items()}
