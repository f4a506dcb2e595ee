"""``generate_world``: the seeded epilot tenant the mock serves, as plain data.

The same seed and size always give the same world, down to ids and timestamps: all randomness
comes from one ``random.Random(seed)`` (Faker included) and all dates from ``WORLD_NOW``.
"""

from __future__ import annotations

import gc

from .catalog import build_catalog
from .context import WorldContext
from .customers import CustomerFactory, PortalAccount
from .model import RECORD_KINDS, PortalLogin, World
from .organization import build_organization
from .portal import build_portals
from .sizes import PRESETS, WorldSize, check_size

ORG_ID = "739224"
DEMO_TOKEN = "demo-portal-token"
INSTALLER_LOGINS = 2


def demo_token(position: int) -> str:
    """The bearer token of the ``position``-th demo login (0-based)."""
    return DEMO_TOKEN if position == 0 else f"{DEMO_TOKEN}-{position + 1}"


def generate_world(seed: int, size: WorldSize = PRESETS["small"]) -> World:
    """Generate the world for ``seed``. Raises ``ValueError`` for a size outside the accepted bounds
    and ``TypeError`` for a seed that is not an int."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    check_size(size)
    # The world is hundreds of thousands of long-lived dicts: cyclic GC passes over them again and
    # again while they are built and frees nothing, so it is paused for the duration.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _generate(seed, size)
    finally:
        if paused:
            gc.enable()


def _generate(seed: int, size: WorldSize) -> World:
    ctx = WorldContext(seed, ORG_ID)
    catalog = build_catalog(ctx, size.products)
    org = build_organization(ctx, catalog, size.partners, size.campaigns)
    portals = build_portals(ctx, org)
    factory = CustomerFactory(ctx, catalog, org, portals)
    accounts: list[PortalAccount] = []
    for index in range(size.customers):
        account = factory.customer(index)
        if account is not None:
            accounts.append(account)
    active_partners = [p for p in org.partners if p["status"] == "Active" and p["partner_type"] == "installer"]
    accounts.extend(factory.installer(partner) for partner in active_partners[:INSTALLER_LOGINS])
    catalog.set_promo_uses(factory.sales.promo_uses)
    logins = [
        PortalLogin(token=demo_token(n), portal_user_id=a.user["_id"], contact_id=a.contact["_id"], email=a.email,
                    display_name=a.display_name, portal_id=a.portal_id)
        for n, a in enumerate(accounts)
    ]
    records = {kind: ctx.records.get(kind, []) for kind in RECORD_KINDS}
    return World(org_id=ORG_ID, entities=ctx.entities, records=records, portal_logins=logins)
