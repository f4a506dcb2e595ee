"""The seeded epilot world: a faker-backed tenant (catalog, customers, contracts, meters and
readings, billing, portals and demo logins) generated as plain data for the store to hold."""

from .generator import DEMO_TOKEN, ORG_ID, demo_token, generate_world
from .model import RECORD_KINDS, PortalLogin, World
from .sizes import PRESETS, WorldSize, parse_world_size
from .timeline import WORLD_NOW

__all__ = [
    "DEMO_TOKEN",
    "ORG_ID",
    "PRESETS",
    "RECORD_KINDS",
    "WORLD_NOW",
    "PortalLogin",
    "World",
    "WorldSize",
    "demo_token",
    "generate_world",
    "parse_world_size",
]
