"""epilot's behaviours: one `BehaviourSet` per API, filled by the API's modules.

Each API's module owns a ``BehaviourSet`` for that API and decorates its handlers::

    behaviours = BehaviourSet("pricing")

    @behaviours("createOrder")
    def create_order(call: Call) -> MockResponse: ...
"""

from __future__ import annotations

import importlib

from mockserver.engine.behaviours import BehaviourError, BehaviourSet

# Modules that register behaviours; several may fill one API's set (pricing_external adds to pricing's,
# the erp_* modules to erp's).
MODULES = ("portal", "entity", "pricing", "pricing_external", "erp", "erp_integrations", "erp_events", "erp_imports",
           "erp_monitoring", "erp_notifications", "erp_outbound_queue", "erp_proxy", "erp_types")


def load_sets() -> list[BehaviourSet]:
    """The behaviour sets of the bundled APIs, one per API."""
    sets: dict[str, BehaviourSet] = {}
    for module in MODULES:
        bset = importlib.import_module(f"{__name__}.{module}").behaviours
        if sets.setdefault(bset.api, bset) is not bset:
            raise BehaviourError(f"two behaviour sets for API '{bset.api}'")
    return list(sets.values())


__all__ = ["BehaviourError", "BehaviourSet", "load_sets"]
