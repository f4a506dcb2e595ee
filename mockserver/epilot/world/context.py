"""The state one world is generated with: seeded randomness, id and number sequences, and the
entities and records produced so far. Created per call of ``generate_world``; never shared."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from faker import Faker

from .model import Entity, RecordRow
from .timeline import iso

_CLEAR_VERSION_VARIANT = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4_VARIANT = (4 << 76) | (0x8000 << 48)


class WorldContext:
    def __init__(self, seed: int, org_id: str) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("de_DE")
        self.faker.random = self.rng  # type: ignore[attr-defined]  # Faker's seeding property
        self.org_id = org_id
        self.entities: list[Entity] = []
        self.records: dict[str, list[RecordRow]] = {}
        self._sequences: dict[str, int] = {}
        self._emails: set[str] = set()

    # -- ids and numbers ------------------------------------------------------------------------
    def uuid(self) -> str:
        """A version-4 UUID from the seeded RNG (what ``uuid.UUID(int=bits, version=4)`` gives, faster)."""
        bits = (self.rng.getrandbits(128) & _CLEAR_VERSION_VARIANT) | _VERSION_4_VARIANT
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def next_number(self, sequence: str, start: int = 1) -> int:
        """Consecutive numbers per named sequence (customer numbers, order numbers...)."""
        value = self._sequences.get(sequence, start)
        self._sequences[sequence] = value + 1
        return value

    def unique_email(self, local: str, domain: str) -> str:
        """``local@domain``, with a number appended to ``local`` when the address is taken."""
        email, n = f"{local}@{domain}", 2
        while email in self._emails:
            email, n = f"{local}{n}@{domain}", n + 1
        self._emails.add(email)
        return email

    # -- entities and records -------------------------------------------------------------------
    def entity(self, schema: str, title: str, created: datetime, updated: datetime | None = None,
               tags: Iterable[str] = (), /, **attributes: Any) -> Entity:
        """Create an entity with epilot's system fields, remember it and return it. The system
        fields are positional-only, so attributes such as ``title`` or ``type`` do not clash."""
        entity: Entity = {
            "_id": self.uuid(),
            "_schema": schema,
            "_title": title,
            "_org": self.org_id,
            "_tags": list(tags),
            "_created_at": iso(created),
            "_updated_at": iso(updated or created),
        }
        entity.update(attributes)
        self.entities.append(entity)
        return entity

    def record(self, kind: str, record_id: str, parent: str | None, doc: dict[str, Any]) -> None:
        self.records.setdefault(kind, []).append((record_id, parent, doc))


def ref(entity: Entity, tags: Iterable[str] = ()) -> dict[str, Any]:
    """A relation item pointing at ``entity``."""
    item: dict[str, Any] = {"entity_id": entity["_id"], "_schema": entity["_schema"]}
    tags = list(tags)
    if tags:
        item["_tags"] = tags
    return item


def relation(*entities: Entity) -> dict[str, Any]:
    return {"$relation": [ref(e) for e in entities]}


def link(source: Entity, attribute: str, target: Entity, tags: Iterable[str] = ()) -> None:
    """Add ``target`` to the relation attribute ``attribute`` of ``source``."""
    source.setdefault(attribute, {"$relation": []})["$relation"].append(ref(target, tags))


def link_both(a: Entity, a_attribute: str, b: Entity, b_attribute: str) -> None:
    """Relate two entities in both directions (e.g. contact.contracts and contract.customer)."""
    link(a, a_attribute, b)
    link(b, b_attribute, a)
