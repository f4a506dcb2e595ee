"""epilot's behaviours: one `BehaviourSet` per API, filled by the API's modules.

Each API's module owns a ``BehaviourSet`` for that API and decorates its handlers::

    behaviours = BehaviourSet("pricing")

    @behaviours("createOrder")
    def create_order(call: Call) -> MockResponse: ...
"""

from __future__ import annotations

import importlib

from mockserver.engine.behaviours import BehaviourError, BehaviourSet

MODULES = ("portal", "entity", "pricing", "erp")


def load_sets() -> list[BehaviourSet]:
    """The behaviour sets of the bundled APIs."""
    sets = [importlib.import_module(f"{__name__}.{module}").behaviours for module in MODULES]
    if len({s.api for s in sets}) != len(sets):
        raise BehaviourError("two behaviour modules for one API")
    return sets


__all__ = ["BehaviourError", "BehaviourSet", "load_sets"]
