"""Assembles the mock: Connexion's middleware app, our route table, pipeline, plugins and admin API.

The middleware stack, outermost first:

    journal -> CORS -> error guard -> body timeout -> admin (/__admin, and /__docs) -> routing (Connexion)
        -> operation endpoint, or the 404/405 fallback

Plugins (found by entry point, see `plugin.py`) are installed before the APIs are mounted, so their
behaviours attach to the operations of the APIs they name.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, MutableMapping
from functools import partial
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Authenticator, TokenRegistry
from .behaviours import BehaviourSet, Handler
from .bodytimeout import BodyTimeoutMiddleware
from .bundled import SpecSource, parse_spec_arg
from .config import MockConfig, StartupError
from .connexion_adapter import ConnexionStack, TableRoutingMiddleware, base_path
from .cors import cors_middleware, parse_origins
from .errors import error_response
from .faults import ConnectionFault, Latency, break_connection
from .journal import Journal, JournalMiddleware, SharedJournal
from .loader import SpecError, bundle, iter_operations
from .operation import ApiContext, CompiledOperation
from .pipeline import Pipeline
from .plugin import Builder, MountedApi, Plugin, PluginError, discover_plugins
from .responder import Responder
from .response import MockResponse, send_response
from .routing import RouteCollision, RouteTable
from .services import Services

log = logging.getLogger("epilot_mock")


class Endpoint:
    """The ASGI endpoint of one operation in the route table."""

    __slots__ = ("op", "operation_id", "pipeline")

    def __init__(self, op: CompiledOperation, pipeline: Pipeline) -> None:
        self.op = op
        self.pipeline = pipeline
        self.operation_id = op.id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.pipeline.handle(self.op, scope, receive, send)


class MockApp(ConnexionStack):
    """The mock: Connexion's middleware stack with ours in it, plus the app's services."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(self.services, receive, send)
            return
        self.services.outbound.note_own(scope.get("server"))  # outbound requests never come back here
        try:
            await self.app(scope, receive, send)
        except ConnectionFault as fault:  # break the connection through the server's own `send`
            if not await break_connection(fault, send, receive):
                raise  # no server transport (an in-process client): the client gets the exception

    services: Services
    routing: TableRoutingMiddleware


async def _lifespan(services: Services, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            for hook in services.hooks.startup:
                result = hook()
                if result is not None:
                    await result
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await services.scheduler.drain(timeout=2.0)
            for hook in services.hooks.shutdown:
                result = hook()
                if result is not None:
                    await result
            await send({"type": "lifespan.shutdown.complete"})
            return


class ErrorGuard:
    """Turns an unexpected exception into a 500 in the operation's error shape, and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ConnectionFault:
            raise
        except Exception as exc:
            log.error("unhandled error on %s %s:\n%s", scope["method"], scope["path"], traceback.format_exc())
            if started:
                raise
            op = scope.get("mock.operation")
            await send_response(send, error_response(op, "server_error", f"internal mock error: {type(exc).__name__}"))


async def not_routed(scope: Scope, receive: Receive, send: Send) -> None:
    """The end of the stack: paths no operation has (404) and methods a path lacks (405)."""
    match = scope.get("mock.match")
    if match is None:
        response = MockResponse(404, {"message": f"no operation for {scope['method']} {scope['path']}"})
    elif scope["method"] == "OPTIONS":
        response = MockResponse(204, headers={"Allow": ", ".join(match.allowed)})
    else:
        response = MockResponse(405, {"message": f"{scope['method']} is not allowed on {scope['path']} "
                                                 f"(allowed: {', '.join(match.allowed)})"},
                                headers={"Allow": ", ".join(match.allowed)})
    await send_response(send, response)


def load_specs(values: list[str], catalog: dict[str, Any]) -> list[tuple[SpecSource, dict[str, Any]]]:
    sources = [parse_spec_arg(v, catalog) for v in values] if values else [
        SpecSource(name, str(path), "", bundled=True) for name, path in catalog.items()
    ]
    if not sources:
        raise StartupError("no specs to serve: pass --spec, or install a plugin that bundles specs")
    out = []
    seen: dict[str, int] = {}
    for src in sources:
        try:
            spec, _files = bundle(src.source)
        except SpecError as exc:
            raise StartupError(str(exc)) from None
        name = src.name
        if name in seen:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        else:
            seen[name] = 1
        out.append((SpecSource(name, src.source, src.prefix, src.bundled, src.named), spec))
    return out


def create_app(config: MockConfig | None = None, *, plugins: list[Plugin] | None = None) -> MockApp:
    """Build the mock. Raises StartupError (one line) for unreadable specs, route collisions and
    plugins that fail to install. ``plugins``: these instead of the installed ones."""
    config = config or MockConfig()
    try:
        found = plugins if plugins is not None else discover_plugins(config.plugins)
    except PluginError as exc:
        raise StartupError(str(exc)) from None
    catalog = {name: path for plugin in found for name, path in plugin.apis.items()}
    loaded = load_specs(config.specs, catalog)
    tokens = TokenRegistry()
    journal = Journal(config.journal_size, body_limit=config.journal_body_limit, mask=config.journal_mask)
    responder = Responder(dynamic=config.dynamic, seed=config.seed)
    try:
        services = Services(config, tokens, journal, responder)
        parse_origins(config.cors_origins)
    except ValueError as exc:  # an unreadable --outbound-deny/--outbound-allow/--cors-origins entry
        raise StartupError(str(exc)) from None
    if config.latency:
        try:
            services.latency = Latency.parse(config.latency, config.seed)
        except ValueError as exc:
            raise StartupError(f"--latency {exc}") from None
    pipeline = Pipeline(services, Authenticator(tokens, config.auth), responder, config.body_limit)

    mounted = {src.name: MountedApi(src.name, frozenset(str(op["operationId"]) for _, _, op, _ in iter_operations(spec)
                                                        if op.get("operationId")), src.bundled)
               for src, spec in loaded if src.bundled or src.named}
    behaviour_sets = _install(found, services, mounted)
    if isinstance(services.store, SharedJournal):  # replicas on one database share one journal
        journal.share(services.store)
        services.hooks.shutdown.insert(0, _journal_closer(journal))

    handlers: dict[str, dict[str, Handler]] = {}

    def make_endpoint(api_name: str, method: str, path: str) -> Endpoint:
        ctx = services.apis[api_name]
        view = ctx.view.operation(method, path)
        if view is None:  # pragma: no cover - Connexion walks the same document
            raise StartupError(f"{api_name}: no operation {method.upper()} {path}")
        return Endpoint(CompiledOperation(ctx, view, handlers.get(api_name, {}).get(view.id)), pipeline)

    routing_factory = partial(TableRoutingMiddleware, make_endpoint=make_endpoint)
    app = MockApp(not_routed, middlewares=[
        partial(JournalMiddleware, journal=journal, clock=services.clock),
        *([partial(cors_middleware, origins=config.cors_origins)] if config.cors else []),
        ErrorGuard,
        partial(BodyTimeoutMiddleware, timeout=config.body_timeout),
        partial(_admin_middleware, services=services),
        routing_factory,
    ])
    app.services = services
    for src, spec in loaded:
        base = src.prefix + base_path(spec)
        services.apis[src.name] = ApiContext(src.name, spec, seed=config.seed, prefix=base,
                                             producers=services.hooks.producers)
        bset = behaviour_sets.get(src.name) if (src.bundled or src.named) else None
        if bset is not None:
            have = mounted[src.name].operation_ids
            unknown = bset.unknown(set(have))
            if unknown and src.bundled:
                raise StartupError(f"behaviours for operations that the {src.name} spec does not have: "
                                   f"{', '.join(unknown)}")
            if unknown:
                services.unmounted[src.name] = unknown
            handlers[src.name] = {k: v for k, v in bset.handlers.items() if k in have}
            services.apis[src.name].reads_only = frozenset(bset.reads_only)
        app.add_prepared_api(spec, name=src.name, base_path=base)
    try:
        stack = app.build()
    except RouteCollision as exc:
        raise StartupError(str(exc)) from None
    routing = next(m for m in stack if isinstance(m, TableRoutingMiddleware))
    app.routing = routing
    services.overrides.route = partial(_routed_operation, routing.table)
    for hook in services.hooks.ready:
        hook()
    return app


def _routed_operation(table: RouteTable, method: str, path: str) -> CompiledOperation | None:
    match = table.match(method, path)
    endpoint = match.route.endpoint if match is not None and match.route is not None else None
    return endpoint.op if isinstance(endpoint, Endpoint) else None


def _install(plugins: list[Plugin], services: Services, mounted: dict[str, MountedApi]) -> dict[str, BehaviourSet]:
    """Install every plugin; their behaviour sets by API name (two sets for one API is an error)."""
    sets: dict[str, BehaviourSet] = {}
    for plugin in plugins:
        builder = Builder(plugin, services, mounted)
        try:
            plugin.install(builder)
        except (PluginError, ValueError) as exc:
            raise StartupError(f"plugin {plugin.name}: {exc}") from None
        for bset in builder.behaviour_sets:
            if bset.api in sets:
                raise StartupError(f"two behaviour sets for API '{bset.api}'")
            sets[bset.api] = bset
    return sets


def _journal_closer(journal: Journal) -> Callable[[], None]:
    return journal.close


def _admin_middleware(app: ASGIApp, *, services: Services) -> ASGIApp:
    from .admin import AdminMiddleware

    return AdminMiddleware(app, services=services)
