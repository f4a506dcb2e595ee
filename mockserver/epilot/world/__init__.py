"""The seeded epilot world: a faker-backed tenant (catalog, customers, contracts, meters and
readings, billing, portals and demo logins) generated as plain data for the store to hold.

Names are imported lazily: a server that finds its world in the cache never loads the generator.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DEMO_TOKEN": "generator", "ORG_ID": "generator", "demo_token": "generator", "generate_world": "generator",
    "RECORD_KINDS": "model", "PortalLogin": "model", "World": "model",
    "PRESETS": "sizes", "WorldSize": "sizes", "parse_world_size": "sizes",
    "WORLD_NOW": "timeline",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
