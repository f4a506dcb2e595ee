"""Behaviour sets: stateful handlers for the operations of one API, registered by operationId.

A plugin fills one set per API and hands it to the builder::

    behaviours = BehaviourSet("pricing")

    @behaviours("createOrder")
    def create_order(call: Call) -> MockResponse: ...

A handler receives the validated `Call` and returns a `MockResponse` (or an awaitable of one).
Operations without a behaviour are answered by the generic responder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .call import Call
    from .response import MockResponse

Handler = Callable[["Call"], "MockResponse | Awaitable[MockResponse]"]
H = TypeVar("H", bound=Callable[..., Any])


class BehaviourError(Exception):
    pass


class BehaviourSet:
    def __init__(self, api: str) -> None:
        self.api = api
        self.handlers: dict[str, Handler] = {}
        self.reads_only: set[str] = set()

    def __call__(self, operation_id: str, *, reads_only: bool = False) -> Callable[[H], H]:
        """Register the decorated function for ``operation_id``. ``reads_only``: a POST that changes
        nothing (a search, a computation), which then runs without taking the store's write lock."""

        def register(fn: H) -> H:
            if operation_id in self.handlers:
                raise BehaviourError(f"duplicate behaviour for {self.api} operation '{operation_id}'")
            self.handlers[operation_id] = fn
            if reads_only:
                self.reads_only.add(operation_id)
            return fn

        return register

    def unknown(self, operation_ids: set[str]) -> list[str]:
        """Registered operationIds that a document of this API does not have."""
        return sorted(set(self.handlers) - operation_ids)
