"""Everything epilot-mock takes from Connexion, in one place.

Connexion stays the routing and spec base: its middleware stack, its resolver, and its routing
API, which walks a spec's operations and hands each to us. The few of its internals that have no
public equivalent are used here only, and `tests/test_connexion_adapter.py` fails on a Connexion
release that changes them:

- ``OpenAPISpecification._set_defaults`` and its ``_raw_spec``/``_spec``/``_base_uri`` attributes,
  to build a specification over an already bundled dict without copying or meta-validating it;
- ``ConnexionMiddleware._build_middleware_stack``, to build the stack at start-up (so route
  collisions surface at once) instead of on the first request;
- ``ConnexionMiddleware.apis`` and ``options``, and ``middleware.main.API``, to add a prepared spec;
- ``ROUTING_CONTEXT``, the scope key Connexion's own middlewares read the operation from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.main import API, ConnexionMiddleware
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware
from connexion.resolver import Resolution, Resolver
from connexion.spec import OpenAPISpecification
from starlette.types import ASGIApp, Receive, Scope, Send

from .routing import Route, RouteTable

# (api name, method, path template) -> the ASGI endpoint of that operation
EndpointFactory = Callable[[str, str, str], Any]


class PreparedSpecification(OpenAPISpecification):  # type: ignore[misc]
    """Connexion's specification over an already bundled dict: no copy, no meta-validation at boot
    (the specs are validated by `epilot-mock specs check` and the test suite instead)."""

    def __init__(self, raw_spec: dict[str, Any], *, base_uri: str = "") -> None:
        self._set_defaults(raw_spec)
        self._raw_spec = raw_spec
        self._spec = raw_spec
        self._base_uri = base_uri


def base_path(spec: dict[str, Any]) -> str:
    """The path prefix of a spec's first server URL (what Connexion mounts the API under)."""
    return str(PreparedSpecification(spec).base_path)


class NoHandlerResolver(Resolver):  # type: ignore[misc]
    """Connexion wants a function per operation; ours are found by the endpoint factory instead."""

    def resolve(self, operation: Any) -> Resolution:
        return Resolution(None, operation.operation_id)


class ConnexionStack(ConnexionMiddleware):  # type: ignore[misc]
    """Connexion's main middleware, given specs as bundled dicts."""

    def add_prepared_api(self, spec: dict[str, Any], *, name: str, base_path: str) -> None:
        options = self.options.replace(resolver=NoHandlerResolver())
        self.apis.append(API(PreparedSpecification(spec), base_path=base_path, name=name, **options.__dict__))

    def build(self) -> list[Any]:
        """Build the stack now, so start-up problems (route collisions) surface at once; returns the
        middleware instances, outermost first."""
        self.app, self.middleware_stack = self._build_middleware_stack()
        return list(self.middleware_stack)


class TableRoutingAPI(RoutingAPI):  # type: ignore[misc]
    """Connexion's RoutingAPI, adding each operation it walks to the shared RouteTable."""

    def __init__(self, specification: Any, *, table: RouteTable, api_name: str, make_endpoint: EndpointFactory,
                 **kwargs: Any) -> None:
        self.table = table
        self.api_name = api_name
        self.make_endpoint = make_endpoint
        super().__init__(specification, **kwargs)

    def add_operation(self, path: str, method: str) -> None:
        endpoint = self.make_endpoint(self.api_name, method, path)
        self.table.add(Route(self.base_path + path, method, endpoint, self.api_name))


class TableRoutingMiddleware(RoutingMiddleware):  # type: ignore[misc]
    """Connexion's routing middleware, matching against one RouteTable for all APIs.

    Matched requests go to the route's endpoint, with the operation in the scope like Connexion
    does (``scope["extensions"]["connexion_routing"]``); unmatched ones to ``app`` with
    ``scope["mock.match"]`` set (None for an unknown path, or a Match carrying the allowed methods).
    """

    def __init__(self, app: ASGIApp, *, make_endpoint: EndpointFactory) -> None:
        super().__init__(app)
        self.table = RouteTable()
        self.make_endpoint = make_endpoint

    def add_api(self, specification: Any, base_path: str | None = None, arguments: Any = None,
                **kwargs: Any) -> None:
        api_name = kwargs.pop("name", None) or specification.raw.get("info", {}).get("title", "api")
        TableRoutingAPI(
            specification, table=self.table, api_name=api_name, make_endpoint=self.make_endpoint,
            base_path=base_path, arguments=arguments, next_app=self.app, **kwargs,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = self.table.match(scope["method"], scope["path"])
        if match is None or match.route is None:
            scope["mock.match"] = match
            await self.app(scope, receive, send)
            return
        route = match.route
        scope["path_params"] = match.path_params
        scope.setdefault("extensions", {})[ROUTING_CONTEXT] = {
            "api_base_path": "", "operation_id": getattr(route.endpoint, "operation_id", None),
        }
        await route.endpoint(scope, receive, send)
