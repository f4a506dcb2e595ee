"""How big a generated world is: named presets and ``key=value`` counts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

CORE_PRODUCTS = 9
"""Products every catalog has (tariffs and hardware); ``products`` cannot be lower."""

_MAX = {"customers": 100_000, "products": 500, "partners": 500, "campaigns": 100}
_MIN = {"customers": 1, "products": CORE_PRODUCTS, "partners": 1, "campaigns": 1}


@dataclass(frozen=True)
class WorldSize:
    """Counts that drive the generator. Everything else (contracts, meters, readings, billing events,
    tickets...) follows from the customers."""

    customers: int = 25
    products: int = 10
    partners: int = 3
    campaigns: int = 2


PRESETS: MappingProxyType[str, WorldSize] = MappingProxyType({
    "small": WorldSize(),
    "medium": WorldSize(customers=500, products=20, partners=8, campaigns=4),
    # About 35 entities per customer: 3,500 customers give ~120,000 entities.
    "large": WorldSize(customers=3500, products=40, partners=20, campaigns=6),
})

_HELP = ("expected small, medium, large, or counts such as 'customers=500' or 'customers=500,products=20' "
         "(optionally after a size: 'medium,products=30'); keys: " + ", ".join(_MIN))


def parse_world_size(text: str) -> WorldSize:
    """Parse ``small|medium|large`` or comma-separated ``key=value`` counts (optionally after a preset).

    Counts that are not given keep the value of the preset (``small`` when there is none).
    Raises ``ValueError`` with a one-line message on anything else.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"world size is empty: {_HELP}")
    parts = [p.strip() for p in text.split(",")]
    size = PRESETS["small"]
    if "=" not in parts[0]:
        name = parts.pop(0).lower()
        if name in _MIN:
            raise ValueError(f"world size key '{name}' needs a value, e.g. '{name}=500'")
        if name not in PRESETS:
            raise ValueError(f"unknown world size '{name}': {_HELP}")
        size = PRESETS[name]
    seen: set[str] = set()
    for part in parts:
        key, sep, raw = part.partition("=")
        key, raw = key.strip().lower(), raw.strip()
        if not sep or not key:
            raise ValueError(f"invalid world size part '{part}': {_HELP}")
        if key not in _MIN:
            raise ValueError(f"unknown world size key '{key}': {_HELP}")
        if key in seen:
            raise ValueError(f"world size key '{key}' is given twice")
        seen.add(key)
        if not raw.isascii() or not raw.isdigit():
            raise ValueError(f"world size '{key}' must be a whole number, got '{raw}'")
        value = int(raw)
        if not _MIN[key] <= value <= _MAX[key]:
            raise ValueError(f"world size '{key}' must be between {_MIN[key]} and {_MAX[key]}, got {value}")
        size = replace(size, **{key: value})
    return size


def check_size(size: WorldSize) -> None:
    """Raise ``ValueError`` when a size built in code is outside the accepted bounds."""
    for key, low in _MIN.items():
        value = getattr(size, key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= _MAX[key]:
            raise ValueError(f"world size '{key}' must be between {low} and {_MAX[key]}, got {value!r}")
