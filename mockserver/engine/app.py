"""Assembles the mock: Connexion's middleware app, our route table, pipeline and admin API.

The middleware stack, outermost first:

    journal -> CORS -> error guard -> admin (/__admin) -> routing (Connexion) -> operation endpoint
                                                                              \\-> 404/405 fallback
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from connexion.middleware.main import API, ConnexionMiddleware
from connexion.resolver import Resolution, Resolver
from connexion.spec import OpenAPISpecification
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.epilot.behaviours import BehaviourSet

from .auth import Authenticator, Principal, TokenRegistry
from .bundled import SpecSource, parse_spec_arg
from .cors import CORSMiddleware
from .errors import error_response
from .journal import Journal, JournalMiddleware
from .loader import SpecError, bundle, iter_operations
from .operation import ApiContext, CompiledOperation
from .pipeline import DEFAULT_BODY_LIMIT, Pipeline
from .responder import Responder
from .response import MockResponse, send_response
from .routing import RouteCollision, TableRoutingMiddleware

log = logging.getLogger("epilot_mock")

DEMO_ORG_TOKEN = "demo-org-token"
DEMO_PORTAL_TOKEN = "demo-portal-token"


class StartupError(Exception):
    """A problem that stops the mock from starting; ``str()`` is one line."""


@dataclass
class MockConfig:
    specs: list[str] = field(default_factory=list)  # --spec values; empty = every bundled spec
    seed: int = 0
    auth: str = "strict"
    dynamic: bool = False
    body_limit: int = DEFAULT_BODY_LIMIT
    cors: bool = True
    journal_size: int = 1000
    behaviours: bool = True
    world_size: str = "small"
    state: str | None = None
    scenarios: list[str] = field(default_factory=list)
    webhook_retries: int = 5
    webhook_backoff: float = 0.5


@dataclass
class Services:
    """What behaviours and the admin API share. One per app; nothing module-global."""

    config: MockConfig
    tokens: TokenRegistry
    journal: Journal
    responder: Responder
    apis: dict[str, ApiContext] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # store, world, webhooks... set by extensions

    def operation(self, operation_id: str, api: str | None = None) -> CompiledOperation | None:
        for ctx in self.apis.values():
            if api is not None and ctx.name != api:
                continue
            for op in ctx.operations:
                if op.id == operation_id:
                    return op
        return None


class PreparedSpecification(OpenAPISpecification):
    """Connexion's specification over an already bundled dict: no copy, no meta-validation at boot
    (the specs are validated by `epilot-mock specs check` and the test suite instead)."""

    def __init__(self, raw_spec: dict[str, Any], *, base_uri: str = "") -> None:
        self._set_defaults(raw_spec)
        self._raw_spec = raw_spec
        self._spec = raw_spec
        self._base_uri = base_uri


class MockResolver(Resolver):
    """Resolves an operationId to its behaviour; operations without one get ``None`` and are
    answered by the generic responder."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        super().__init__()
        self.handlers = handlers

    def resolve(self, operation: Any) -> Resolution:
        operation_id = operation.operation_id
        return Resolution(self.handlers.get(operation_id), operation_id)


class Endpoint:
    """The ASGI endpoint of one operation in the route table."""

    __slots__ = ("op", "operation_id", "pipeline")

    def __init__(self, op: CompiledOperation, pipeline: Pipeline) -> None:
        self.op = op
        self.pipeline = pipeline
        self.operation_id = op.id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.pipeline.handle(self.op, scope, receive, send)


class MockApp(ConnexionMiddleware):
    """Connexion's main middleware with our stack and specs given as bundled dicts."""

    def add_prepared_api(self, spec: dict[str, Any], *, name: str, base_path: str, resolver: Resolver) -> None:
        options = self.options.replace(resolver=resolver)
        self.apis.append(API(PreparedSpecification(spec), base_path=base_path, name=name, **options.__dict__))

    def build(self) -> None:
        """Build the stack now, so start-up problems (route collisions) surface at once."""
        self.app, self.middleware_stack = self._build_middleware_stack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(self.services, receive, send)
            return
        await self.app(scope, receive, send)

    services: Services
    routing: TableRoutingMiddleware


async def _lifespan(services: Services, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            for hook in services.extra.get("startup", []):
                await hook()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for hook in services.extra.get("shutdown", []):
                await hook()
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

        async def watch(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
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


def load_specs(values: list[str]) -> list[tuple[SpecSource, dict[str, Any]]]:
    from .bundled import bundled_apis

    sources = [parse_spec_arg(v) for v in values] if values else [
        SpecSource(name, str(path), "", bundled=True) for name, path in bundled_apis().items()
    ]
    if not sources:
        raise StartupError("no specs to serve: pass --spec, or install the bundled specs")
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
        out.append((SpecSource(name, src.source, src.prefix, src.bundled), spec))
    return out


def create_app(config: MockConfig | None = None, *, extensions: list[Any] | None = None) -> MockApp:
    """Build the mock. Raises StartupError (one line) for unreadable specs or route collisions."""
    config = config or MockConfig()
    loaded = load_specs(config.specs)
    tokens = TokenRegistry()
    tokens.add(DEMO_ORG_TOKEN, Principal("org", "demo-org-user", "Demo organization user",
                                         {"org_id": "739224"}), default=True)
    journal = Journal(config.journal_size)
    responder = Responder(dynamic=config.dynamic, seed=config.seed)
    services = Services(config, tokens, journal, responder)
    pipeline = Pipeline(services, Authenticator(tokens, config.auth), responder, config.body_limit)

    behaviour_sets: dict[str, BehaviourSet] = {}
    if config.behaviours:
        from mockserver.epilot.behaviours import load_sets

        behaviour_sets = load_sets()
    mounted_bundled = {src.name for src, _ in loaded if src.bundled}
    for ext in extensions if extensions is not None else _default_extensions(mounted_bundled, config):
        ext(services)
    if tokens.token_for("portal_user") is None:  # no world (stateless): the demo customer token still works
        tokens.add(DEMO_PORTAL_TOKEN, Principal("portal_user", "demo-portal-user", "Demo portal customer",
                                                {"org_id": "739224"}))

    def make_endpoint(api_name: str, connexion_op: Any) -> Endpoint:
        ctx = services.apis[api_name]
        return Endpoint(CompiledOperation(ctx, connexion_op, connexion_op.function), pipeline)

    routing_factory = partial(TableRoutingMiddleware, make_endpoint=make_endpoint)
    app = MockApp(not_routed, middlewares=[
        partial(JournalMiddleware, journal=journal),
        *( [CORSMiddleware] if config.cors else [] ),
        ErrorGuard,
        partial(_admin_middleware, services=services),
        routing_factory,
    ])
    app.services = services
    for src, spec in loaded:
        base = src.prefix + _server_base_path(spec)
        services.apis[src.name] = ApiContext(src.name, spec, seed=config.seed, prefix=base)
        handlers: dict[str, Any] = {}
        bset = behaviour_sets.get(src.name) if src.bundled else None
        if bset is not None:
            try:
                bset.check({op.get("operationId") for _, _, op, _ in iter_operations(spec)})
            except Exception as exc:
                raise StartupError(str(exc)) from None
            handlers = bset.handlers
        app.add_prepared_api(spec, name=src.name, base_path=base, resolver=MockResolver(handlers))
    try:
        app.build()
    except RouteCollision as exc:
        raise StartupError(str(exc)) from None
    routing = next(m for m in app.middleware_stack if isinstance(m, TableRoutingMiddleware))
    app.routing = routing
    for m in app.middleware_stack:
        if isinstance(m, CORSMiddleware):
            m.table = routing.table
    for hook in services.extra.get("ready", []):
        hook()
    if config.scenarios:
        _preload(app, config.scenarios)
    return app


def _preload(app: MockApp, names: list[str]) -> None:
    """Run scenarios against the fresh app (no network) so it starts with their state."""
    try:
        from contracts.scenarios import ScenarioError, run_scenarios
    except ImportError:  # pragma: no cover - the wheel ships both packages
        raise StartupError("--scenario needs the contracts package") from None
    try:
        results = run_scenarios(list(names), app=app)
    except ScenarioError as exc:
        raise StartupError(str(exc)) from None
    for result in results:
        if not result.ok:
            raise StartupError(result.describe_failure().replace("\n", " ").replace("  ", " "))


def _server_base_path(spec: dict[str, Any]) -> str:
    return PreparedSpecification(spec).base_path


def _admin_middleware(app: ASGIApp, *, services: Services) -> ASGIApp:
    from .admin import AdminMiddleware

    return AdminMiddleware(app, services=services)


def _default_extensions(mounted_bundled: set[str], config: MockConfig) -> list[Any]:
    """The epilot world (store, demo users, webhooks) when a bundled epilot API is mounted."""
    if not mounted_bundled or not config.behaviours:
        return []
    try:
        from mockserver.epilot.world.extension import install_world
    except ModuleNotFoundError:
        return []
    return [install_world]
