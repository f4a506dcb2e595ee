"""Behaviours: stateful handlers for operations, registered by operationId.

Each API's module owns a ``BehaviourSet`` for that API and decorates its handlers::

    behaviours = BehaviourSet("pricing")

    @behaviours("createOrder")
    def create_order(call: Call) -> MockResponse: ...

A handler receives the validated `Call` (params, body, principal, services) and returns a
`MockResponse`. Operations without a behaviour are answered by the generic responder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], Any]


class BehaviourError(Exception):
    pass


class BehaviourSet:
    def __init__(self, api: str) -> None:
        self.api = api
        self.handlers: dict[str, Handler] = {}

    def __call__(self, operation_id: str, *, reads_only: bool = False) -> Callable[[Handler], Handler]:
        """Register ``fn`` for ``operation_id``. ``reads_only``: a POST that changes nothing (a search,
        a computation), which then runs without taking the store's write lock."""

        def register(fn: Handler) -> Handler:
            if operation_id in self.handlers:
                raise BehaviourError(f"duplicate behaviour for {self.api} operation '{operation_id}'")
            if reads_only:
                fn.reads_only = True  # type: ignore[attr-defined]
            self.handlers[operation_id] = fn
            return fn

        return register

    def check(self, operation_ids: set[str]) -> None:
        """Every registered operationId must exist in the mounted spec of this API."""
        unknown = sorted(set(self.handlers) - operation_ids)
        if unknown:
            raise BehaviourError(f"behaviours for operations that the {self.api} spec does not have: "
                                 f"{', '.join(unknown)}")


def load_sets() -> dict[str, BehaviourSet]:
    """The behaviour sets of the bundled APIs, by API name."""
    import importlib

    sets: dict[str, BehaviourSet] = {}
    for module in ("portal", "entity", "pricing", "erp"):
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{module}":
                continue
            raise
        bset = mod.behaviours
        if bset.api in sets:
            raise BehaviourError(f"two behaviour modules for API '{bset.api}'")
        sets[bset.api] = bset
    return sets
