"""The plugin seam: how an API's stateful behaviour is added to the generic engine.

A plugin is found through the entry point group ``epilot_mock.plugins``; the entry point names a
`Plugin` instance (or a bare ``install(builder)`` function). At start-up the engine creates a
`Builder` and calls ``plugin.install(builder)``; the plugin registers, with types:

- behaviours per API, by operationId (`BehaviourSet`);
- tokens and principals (and a fallback for tokens minted elsewhere);
- admin routes under ``/__admin``;
- start-up, shutdown, ready and reset hooks;
- health, variables and snapshot contributions;
- the store's transaction (taken by every write);
- services of its own, by type, that its behaviours get back with ``call.service(Type)``.

A user mocks their own API statefully the same way: a `Plugin` with ``apis()`` naming their
OpenAPI documents and an ``install`` that registers behaviours (README, "Plugins").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .auth import Principal
from .behaviours import BehaviourSet

if TYPE_CHECKING:
    from .clock import Clock
    from .config import MockConfig
    from .scheduler import Scheduler
    from .services import AdminHandler, Hook, Services
    from .store.base import Store

log = logging.getLogger("epilot_mock.plugins")
ENTRY_POINT_GROUP = "epilot_mock.plugins"
T = TypeVar("T")


class PluginError(Exception):
    """A plugin that cannot be loaded or installed; ``str()`` is one line."""


@dataclass(frozen=True)
class PluginOption:
    """An option of a plugin, offered on ``epilot-mock serve`` as ``--NAME`` (dashes for
    underscores) and read with ``builder.option(name)``."""

    name: str  # python name, e.g. "world_size"
    default: Any
    help: str
    type: type = str  # str, int, float or bool (bool: a flag)
    metavar: str | None = None


@dataclass
class Plugin:
    """A plugin. Subclass it, or build one from functions."""

    name: str
    install: Callable[[Builder], None]
    apis: Mapping[str, Path] = field(default_factory=dict)  # bundled API name -> root document
    scenarios: Path | None = None  # a folder of bundled scenario files
    options: tuple[PluginOption, ...] = ()


@dataclass(frozen=True)
class MountedApi:
    name: str
    operation_ids: frozenset[str]
    bundled: bool  # a document this plugin ships (unknown behaviours are then an error)


class Builder:
    """What ``install(builder)`` may register. One builder per plugin and app."""

    def __init__(self, plugin: Plugin, services: Services, mounted: Mapping[str, MountedApi]) -> None:
        self.plugin = plugin
        self._services = services
        self.mounted = dict(mounted)
        self.behaviour_sets: list[BehaviourSet] = []

    # -- what the plugin reads ----------------------------------------------------------------

    @property
    def config(self) -> MockConfig:
        return self._services.config

    @property
    def clock(self) -> Clock:
        return self._services.clock

    @property
    def scheduler(self) -> Scheduler:
        return self._services.scheduler

    @property
    def services(self) -> Services:
        return self._services

    def option(self, name: str) -> Any:
        """This plugin's option value (the declared default when not given)."""
        for opt in self.plugin.options:
            if opt.name == name:
                return self.config.options.get(name, opt.default)
        raise PluginError(f"plugin {self.plugin.name} has no option '{name}'")

    def mounts(self, api: str) -> bool:
        return api in self.mounted

    def store(self) -> Store:
        """The app's one store (created on first use, from ``--state``)."""
        services = self._services
        if services.store is None:
            from .store import open_store

            services.store = open_store(services.config.state)
            self.transaction(services.store.transaction)
            self.on_shutdown(_closer(services.store))
        return services.store

    # -- what the plugin registers ------------------------------------------------------------

    def behaviours(self, bset: BehaviourSet) -> None:
        """Handlers for the API ``bset.api``, attached if that API is mounted."""
        self.behaviour_sets.append(bset)

    def provide(self, kind: type[T], value: T) -> T:
        self._services.provide(kind, value)
        return value

    def token(self, token: str, principal: Principal, *, default: bool = False) -> None:
        self._services.tokens.add(token, principal, default=default)

    def token_fallback(self, lookup: Callable[[str], Principal | None]) -> None:
        """Consulted for unknown tokens (minted by another worker, say)."""
        self._services.tokens.fallback = lookup

    def admin_route(self, method: str, path: str, handler: AdminHandler) -> None:
        key = (method.upper(), path)
        routes = self._services.hooks.admin_routes
        if key in routes:
            raise PluginError(f"admin route {method} {path} registered twice")
        routes[key] = handler

    def on_startup(self, hook: Hook) -> None:
        self._services.hooks.startup.append(hook)

    def on_shutdown(self, hook: Hook) -> None:
        self._services.hooks.shutdown.append(hook)

    def on_ready(self, hook: Callable[[], None]) -> None:
        self._services.hooks.ready.append(hook)

    def on_reset(self, hook: Callable[[], None]) -> None:
        self._services.hooks.reset.append(hook)

    def health(self, name: str, provider: Callable[[], Any]) -> None:
        self._services.hooks.health[name] = provider

    def variable(self, name: str, value: Callable[[], str]) -> None:
        """A named value for templates and scenarios (``{{ name }}``), shown in health."""
        self._services.hooks.variables[name] = value

    def secret_masker(self, mask: Callable[[Any], Any]) -> None:
        """Masks secrets in what admin reads return (snapshots, environments) to callers without
        the admin token."""
        self._services.hooks.secrets.append(mask)

    def value_producers(self, producers: Mapping[str, Callable[[Any], Any]]) -> None:
        """Realistic fake values by (normalised) field name for generated bodies: each producer gets
        the generation state (``.rng``, ``.faker``) and returns a value."""
        self._services.hooks.producers.update(producers)

    def snapshot(self, export: Callable[[], dict[str, Any]], load: Callable[[dict[str, Any]], dict[str, int]]) -> None:
        self._services.hooks.snapshot_export = export
        self._services.hooks.snapshot_import = load

    def transaction(self, factory: Callable[[], AbstractContextManager[None]]) -> None:
        self._services.hooks.transaction = factory


def _closer(store: Store) -> Hook:
    async def close() -> None:
        store.close()

    return close


def as_plugin(name: str, value: Any) -> Plugin:
    if isinstance(value, Plugin):
        return value
    install = getattr(value, "install", value)
    if not callable(install):
        raise PluginError(f"plugin entry point '{name}' is neither a Plugin nor an install function")
    return Plugin(name=getattr(value, "name", name), install=install,
                  apis=getattr(value, "apis", {}) or {}, scenarios=getattr(value, "scenarios", None),
                  options=tuple(getattr(value, "options", ()) or ()))


def discover_plugins(names: Iterable[str] | None = None) -> list[Plugin]:
    """The installed plugins (entry points of ``epilot_mock.plugins``), in name order, optionally
    only those named."""
    wanted = set(names) if names is not None else None
    found: list[Plugin] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if wanted is not None and ep.name not in wanted:
            continue
        try:
            found.append(as_plugin(ep.name, ep.load()))
        except Exception as exc:
            raise PluginError(f"plugin '{ep.name}' ({ep.value}) failed to load: {exc}") from exc
    if wanted:
        missing = sorted(wanted - {p.name for p in found})
        if missing:
            raise PluginError(f"no installed plugin named {', '.join(missing)}")
    return found
