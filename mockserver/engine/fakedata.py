"""Realistic values by field name and format, from Faker's German locale.

A value producer takes the generation state (seeded ``random.Random`` plus a seeded Faker) and
returns a string. The generator asks ``by_name`` first, then ``by_format``; both return ``None``
when they have nothing better than a plain schema-driven value.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class State:
    """What one generated body draws from: a seeded RNG and a Faker bound to it."""

    __slots__ = ("depth", "faker", "rng")

    def __init__(self, faker: Faker, seed: int | None) -> None:
        self.rng = random.Random(seed)
        self.faker = faker
        faker.random = self.rng  # type: ignore[attr-defined]  # Faker's seeding property
        self.depth = 0


def make_faker() -> Faker:
    from faker import Faker  # imported on first use: it costs ~0.1 s at start-up

    return Faker("de_DE")


def rng_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rng_ulid(rng: random.Random) -> str:
    millis = int((_EPOCH + timedelta(seconds=rng.randint(0, 60_000_000))).timestamp() * 1000)
    value = (millis << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def rng_datetime(rng: random.Random) -> datetime:
    return _EPOCH + timedelta(seconds=rng.randint(0, 3 * 365 * 86400))


def rng_date(rng: random.Random) -> date:
    return (_EPOCH + timedelta(days=rng.randint(0, 3 * 365))).date()


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


Producer = Callable[[State], Any]


def number_like(prefix: str) -> Producer:
    """Producer of ``PREFIX123456``-style reference numbers."""
    return lambda s: f"{prefix}{s.rng.randint(100000, 999999)}"


# Exact (normalised) field names. Checked before the suffix rules below.
_BY_NAME: dict[str, Callable[[State], Any]] = {
    "first_name": lambda s: s.faker.first_name(),
    "firstname": lambda s: s.faker.first_name(),
    "given_name": lambda s: s.faker.first_name(),
    "last_name": lambda s: s.faker.last_name(),
    "lastname": lambda s: s.faker.last_name(),
    "family_name": lambda s: s.faker.last_name(),
    "surname": lambda s: s.faker.last_name(),
    "full_name": lambda s: s.faker.name(),
    "fullname": lambda s: s.faker.name(),
    "display_name": lambda s: s.faker.name(),
    "salutation": lambda s: s.rng.choice(["Herr", "Frau"]),
    "street": lambda s: s.faker.street_name(),
    "street_name": lambda s: s.faker.street_name(),
    "street_number": lambda s: s.faker.building_number(),
    "house_number": lambda s: s.faker.building_number(),
    "postal_code": lambda s: s.faker.postcode(),
    "postcode": lambda s: s.faker.postcode(),
    "zip": lambda s: s.faker.postcode(),
    "zip_code": lambda s: s.faker.postcode(),
    "city": lambda s: s.faker.city(),
    "country": lambda s: "DE",
    "country_code": lambda s: "DE",
    "iban": lambda s: s.faker.iban(),
    "bic": lambda s: s.faker.swift(),
    "bic_number": lambda s: s.faker.swift(),
    "bank_name": lambda s: s.rng.choice(["Sparkasse KölnBonn", "Deutsche Bank", "Commerzbank", "GLS Bank"]),
    "company": lambda s: s.faker.company(),
    "company_name": lambda s: s.faker.company(),
    "organization": lambda s: s.faker.company(),
    "email": lambda s: s.faker.email(),
    "phone": lambda s: s.faker.phone_number(),
    "phone_number": lambda s: s.faker.phone_number(),
    "mobile": lambda s: s.faker.phone_number(),
    "telephone": lambda s: s.faker.phone_number(),
    "website": lambda s: s.faker.url(),
    "url": lambda s: s.faker.url(),
    "currency": lambda s: "EUR",
    "language": lambda s: "de",
    "preferred_language": lambda s: "de",
    "locale": lambda s: "de-DE",
    "description": lambda s: s.faker.sentence(),
    "message": lambda s: s.faker.sentence(),
    "comment": lambda s: s.faker.sentence(),
    "remark": lambda s: s.faker.sentence(),
    "text": lambda s: s.faker.sentence(),
    "account_number": number_like(""),
    "tax_id": lambda s: "DE" + "".join(s.rng.choice(string.digits) for _ in range(9)),
    "filename": lambda s: s.faker.file_name(extension=s.rng.choice(["pdf", "png", "jpg"])),
    "file_name": lambda s: s.faker.file_name(extension="pdf"),
    "mime_type": lambda s: s.rng.choice(["application/pdf", "image/png", "image/jpeg"]),
    "domain": lambda s: s.faker.domain_name(),
    "hostname": lambda s: s.faker.domain_name(),
}

_SUFFIX: list[tuple[str, Callable[[State], Any]]] = [
    ("_email", lambda s: s.faker.email()),
    ("_phone", lambda s: s.faker.phone_number()),
    ("_url", lambda s: s.faker.url()),
    ("_city", lambda s: s.faker.city()),
    ("_street", lambda s: s.faker.street_name()),
    ("_first_name", lambda s: s.faker.first_name()),
    ("_last_name", lambda s: s.faker.last_name()),
    ("_company_name", lambda s: s.faker.company()),
    ("_currency", lambda s: "EUR"),
    ("_description", lambda s: s.faker.sentence()),
]

_TITLE_NAMES = {"_title", "title", "name", "label", "subject"}


def _normalise(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return name.replace("-", "_")


def by_name(name: str | None, s: State, extra: Mapping[str, Producer] | None = None) -> Any:
    """A realistic string for a property called ``name`` (``extra`` first: a plugin's own names),
    or None."""
    if not name:
        return None
    key = _normalise(name)
    producer = (extra.get(key) if extra else None) or _BY_NAME.get(key)
    if producer is not None:
        return producer(s)
    for suffix, producer in _SUFFIX:
        if key.endswith(suffix):
            return producer(s)
    if key in _TITLE_NAMES:
        return s.faker.catch_phrase() if key != "name" else s.faker.company()
    return None


def by_format(fmt: str | None, s: State) -> Any:
    """A value of a string format, or None when the format is unknown."""
    if fmt == "uuid":
        return rng_uuid(s.rng)
    if fmt == "date-time":
        return _iso(rng_datetime(s.rng))
    if fmt == "date":
        return rng_date(s.rng).isoformat()
    if fmt == "time":
        return f"{s.rng.randint(0, 23):02d}:{s.rng.randint(0, 59):02d}:00Z"
    if fmt in ("email", "idn-email"):
        return s.faker.email()
    if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
        return s.faker.url() + s.rng.choice(["", "docs", "files/1"])
    if fmt == "ulid":
        return rng_ulid(s.rng)
    if fmt == "ipv4":
        return s.faker.ipv4()
    if fmt == "ipv6":
        return s.faker.ipv6()
    if fmt in ("hostname", "idn-hostname"):
        return s.faker.domain_name()
    if fmt == "byte":
        return "ZXBpbG90LW1vY2s="
    if fmt == "password":
        return "S3cret-" + "".join(s.rng.choice(string.ascii_letters) for _ in range(6))
    if fmt == "duration":
        return f"P{s.rng.randint(1, 30)}D"
    if fmt == "binary":
        return "file-content"
    return None
