"""What behaviours, plugins and the admin API share: one `Services` per app, nothing module-global.

Plugins add their own services by type (``services.provide(World, world)``) and behaviours get
them back by type (``call.service(World)``), so a reader and a type checker both know what is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .auth import TokenRegistry
from .clock import Clock
from .config import MockConfig
from .faults import Latency
from .journal import Journal
from .outbound import OutboundPolicy
from .overrides import Overrides
from .responder import Responder
from .scheduler import Scheduler

if TYPE_CHECKING:
    from starlette.requests import Request

    from .operation import ApiContext, CompiledOperation
    from .store.base import Store

T = TypeVar("T")
Hook = Callable[[], "Awaitable[None] | None"]
AdminHandler = Callable[["Request", "Services"], Any]


class AdminInputError(ValueError):
    """Bad input to an admin route: answered with 400 and the message."""


@dataclass
class Hooks:
    """What plugins registered through the builder."""

    startup: list[Hook] = field(default_factory=list)
    shutdown: list[Hook] = field(default_factory=list)
    reset: list[Callable[[], None]] = field(default_factory=list)
    ready: list[Callable[[], None]] = field(default_factory=list)
    health: dict[str, Callable[[], Any]] = field(default_factory=dict)
    variables: dict[str, Callable[[], str]] = field(default_factory=dict)
    admin_routes: dict[tuple[str, str], AdminHandler] = field(default_factory=dict)
    secrets: list[Callable[[Any], Any]] = field(default_factory=list)  # maskers for admin reads
    producers: dict[str, Callable[[Any], Any]] = field(default_factory=dict)  # fake values by field name
    snapshot_export: Callable[[], dict[str, Any]] | None = None
    snapshot_import: Callable[[dict[str, Any]], dict[str, int]] | None = None
    transaction: Callable[[], AbstractContextManager[None]] | None = None


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class Services:
    def __init__(self, config: MockConfig, tokens: TokenRegistry, journal: Journal, responder: Responder,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.tokens = tokens
        self.journal = journal
        self.responder = responder
        self.clock = clock or Clock()
        self.scheduler = Scheduler(self.clock, manual=config.manual_time)
        # Where requests the mock makes for users (webhooks, proxies) may go; see outbound.py.
        self.outbound = OutboundPolicy(deny=config.outbound_deny, allow=config.outbound_allow,
                                       own=[_host_port(item) for item in config.listen])
        self.apis: dict[str, ApiContext] = {}
        self.hooks = Hooks()
        self.store: Store | None = None
        self.unmounted: dict[str, list[str]] = {}  # API -> behaviours whose operation its document lacks
        self.overrides = Overrides()  # runtime overrides (POST /__admin/overrides)
        self.latency: Latency | None = None  # serve --latency: a delay range for every answer
        self._registry: dict[type, object] = {}
        self._write_lock: asyncio.Lock | None = None

    # -- typed services -----------------------------------------------------------------------

    def provide(self, kind: type[T], value: T) -> None:
        if kind in self._registry:
            raise ValueError(f"a {kind.__name__} service is already provided")
        self._registry[kind] = value

    def find(self, kind: type[T]) -> T | None:
        value = self._registry.get(kind)
        return value if value is None or isinstance(value, kind) else None

    def get(self, kind: type[T]) -> T:
        value = self.find(kind)
        if value is None:
            raise LookupError(f"no {kind.__name__} service in this app")
        return value

    # -- operations and writes ----------------------------------------------------------------

    def operation(self, operation_id: str, api: str | None = None) -> CompiledOperation | None:
        for ctx in self.apis.values():
            if api is not None and ctx.name != api:
                continue
            for op in ctx.operations:
                if op.id == operation_id:
                    return op
        return None

    def transaction(self) -> AbstractContextManager[None]:
        """The store's transaction (or nothing, without a store): reads and writes inside are atomic."""
        factory = self.hooks.transaction
        return factory() if factory is not None else nullcontext()

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """One write at a time across awaits: an async handler (or a background task) that writes
        holds this from its first read to its last write, so no other write interleaves."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            with self.transaction():
                yield

    def variables(self) -> dict[str, str]:
        """Named values plugins publish for templates and scenarios (e.g. an organization id)."""
        return {name: str(get()) for name, get in self.hooks.variables.items()}
