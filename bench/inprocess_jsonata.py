"""The mock as it was before the JSONata sandbox, for `bench/run.py`'s comparison row: every JSONata
evaluation in the server process (on jsonatapy's engine thread), with no time or memory limit.

Not for use: one runaway expression freezes such a server. ``uvicorn --factory inprocess_jsonata:app``.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.app import create_app
from mockserver.engine.config import MockConfig
from mockserver.epilot.erp.jsonata import compile_expression
from mockserver.epilot.erp.mapping import MappingResult, map_event
from mockserver.epilot.world.extension import world_of


class InProcessJsonata:
    """The sandbox's interface, evaluated in this process."""

    async def evaluate(self, source: str, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        return compile_expression(source).evaluate(data, bindings)

    def evaluate_sync(self, source: str, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        return compile_expression(source).evaluate(data, bindings)

    async def map_event(self, config: dict[str, Any], payload: Any, format: str = "json") -> MappingResult:
        return map_event(config, payload, format=format)

    async def aclose(self) -> None:
        return None


def app() -> Any:
    mock = create_app(MockConfig())
    world_of(mock.services).jsonata = InProcessJsonata()  # type: ignore[assignment]
    return mock
