"""The admin API under `/__admin` (WireMock-style): health, tokens, journal, reset, snapshot,
overrides, the world browser and the console; it also hands `/__docs` to the docs pages (`docs.py`).

One route table; plugins add their routes through the builder (``builder.admin_route``). Its
OpenAPI document is served at `/__admin/openapi.json`. Who may call it, and the masking of secrets
in what it returns: ``admin_guard.py``.
"""

from __future__ import annotations

import functools
import inspect
import mimetypes
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import admin_journal, admin_store
from .admin_guard import MASK, check_admin_request, mask_secrets, restore_masked_snapshot, reveals_secrets
from .clock import parse_instant
from .jsonbody import parse_json
from .jsontext import dumps
from .operation import ApiContext
from .overrides import OverrideError
from .response import NO_BODY, MockResponse, send_response
from .services import AdminHandler, AdminInputError, Services

PREFIX = "/__admin"
_SPEC_FILE = Path(__file__).with_name("admin_openapi.yaml")
CONSOLE = Path(__file__).with_name("web")
CONSOLE_FILES = {"console.js", "console.css"}
__all__ = ["PREFIX", "AdminInputError", "AdminMiddleware", "admin_spec", "api_summary"]


class AdminMiddleware:
    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        from .docs import DocsMiddleware

        self.app = app
        self.docs = DocsMiddleware(app, services=services)
        self.services = services
        self.started = time.monotonic()
        self.routes: dict[tuple[str, str], AdminHandler] = {
            ("GET", "/health"): self.health,
            ("GET", "/tokens"): self.tokens,
            ("GET", "/requests"): admin_journal.list_requests,
            ("DELETE", "/requests"): self.clear_requests,
            ("POST", "/requests/find"): admin_journal.find_requests,
            ("POST", "/requests/count"): admin_journal.count_requests,
            ("GET", "/requests/stream"): admin_journal.stream_requests,
            ("GET", "/store/schemas"): admin_store.schemas,
            ("GET", "/store/entities"): admin_store.entities,
            ("GET", "/ui"): self.console,
            ("GET", "/ui/{id}"): self.console_file,
            ("GET", "/store/entities/{id}"): admin_store.entity,
            ("POST", "/reset"): self.reset,
            ("GET", "/snapshot"): self.get_snapshot,
            ("PUT", "/snapshot"): self.put_snapshot,
            ("GET", "/openapi.json"): self.openapi,
            ("GET", "/clock"): self.get_clock,
            ("PUT", "/clock"): self.put_clock,
            ("DELETE", "/clock"): self.delete_clock,
            ("GET", "/overrides"): self.list_overrides,
            ("POST", "/overrides"): self.add_override,
            ("DELETE", "/overrides"): self.clear_overrides,
            ("GET", "/overrides/{id}"): self.get_override,
            ("DELETE", "/overrides/{id}"): self.delete_override,
        }
        for key, handler in services.hooks.admin_routes.items():
            if key in self.routes:
                raise ValueError(f"admin route {key[0]} {PREFIX}{key[1]} is the engine's own")
            self.routes[key] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/__"):  # one check on the API's hot path
            await self.app(scope, receive, send)
            return
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.docs(scope, receive, send)  # /__docs, or on to the APIs
            return
        sub = path[len(PREFIX):] or "/"
        handler = self.routes.get((scope["method"], sub))
        parent, _, last = sub.rpartition("/")
        if handler is None and parent and last:  # one trailing path parameter: /overrides/{id}
            handler = self.routes.get((scope["method"], parent + "/{id}"))
            if handler is not None or any(p == parent + "/{id}" for _, p in self.routes):
                sub = parent + "/{id}"
                scope = {**scope, "path_params": {"id": unquote(last)}}
        refusal = check_admin_request(scope, sub, self.services.config.admin_token)
        if refusal is not None:
            await send_response(send, refusal)
            return
        if handler is None:
            allowed = sorted(m for m, p in self.routes if p == sub)
            if allowed:
                response = MockResponse(405, {"message": f"{scope['method']} is not allowed on {path}"},
                                        headers={"Allow": ", ".join(allowed)})
            else:
                response = MockResponse(404, {"message": f"no admin endpoint {scope['method']} {path}",
                                              "endpoints": sorted(f"{m} {PREFIX}{p}" for m, p in self.routes)})
        else:
            request = Request(scope, receive)
            try:
                result = handler(request, self.services)
                if inspect.isawaitable(result):
                    result = await result
                if isinstance(result, Response):  # a streamed response (the live journal feed)
                    await result(scope, receive, send)
                    return
                response = result if isinstance(result, MockResponse) else MockResponse(200, result)
            except AdminInputError as exc:
                response = MockResponse(400, {"message": str(exc)})
        await send_response(send, response, head=scope["method"] == "HEAD")

    def route_list(self) -> list[str]:
        """Every admin route, as ``METHOD /__admin/path`` (plugins' too): the console shows panels
        for the routes that exist."""
        return sorted(f"{m} {PREFIX}{p}" for m, p in self.routes)

    # -- the console (static files, no build step) ------------------------------------------

    def console(self, request: Request, services: Services) -> MockResponse:
        return MockResponse(200, (CONSOLE / "console.html").read_bytes(), content_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-store"})

    def console_file(self, request: Request, services: Services) -> MockResponse:
        name = request.path_params["id"]
        if name not in CONSOLE_FILES:
            return MockResponse(404, {"message": f"no console file '{name}'"})
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return MockResponse(200, (CONSOLE / name).read_bytes(), content_type=f"{kind}; charset=utf-8",
                            headers={"Cache-Control": "no-store"})

    # -- handlers -----------------------------------------------------------------------------

    def health(self, request: Request, services: Services) -> dict[str, Any]:
        apis = [api_summary(ctx, services) for ctx in services.apis.values()]
        body: dict[str, Any] = {
            "status": "ok", "uptime_seconds": round(time.monotonic() - self.started, 3),
            "seed": services.config.seed, "auth": services.config.auth, "apis": apis,
            "operations": sum(a["operations"] for a in apis), "clock": services.clock.describe(),
            "variables": services.variables(),
            "latency": services.latency.describe() if services.latency else None,
            "overrides": sum(1 for o in services.overrides.items.values() if o.active),
            "journal": {"capacity": services.journal.capacity, "shared": services.journal.shared is not None,
                        "body_limit": services.journal.body_limit},
            "admin_routes": self.route_list(),
        }
        for name, provider in services.hooks.health.items():
            body[name] = provider()
        return body

    def tokens(self, request: Request, services: Services) -> dict[str, Any]:
        return {"auth": services.config.auth, "tokens": services.tokens.listing()}

    def clear_requests(self, request: Request, services: Services) -> MockResponse:
        services.journal.clear()
        return MockResponse(204, NO_BODY, None)

    def reset(self, request: Request, services: Services) -> dict[str, Any]:
        services.scheduler.cancel_all()
        services.overrides.reset()
        for hook in services.hooks.reset:
            hook()
        services.journal.clear()
        for ctx in services.apis.values():
            for op in ctx.operations:
                op.static_cache.clear()
        return {"status": "reset"}

    def get_snapshot(self, request: Request, services: Services) -> Any:
        export = services.hooks.snapshot_export
        if export is None:
            return MockResponse(404, {"message": "no stateful plugin is installed for the mounted APIs"})
        snapshot = export()
        if not reveals_secrets(request.scope):
            snapshot = mask_secrets(snapshot)
            for mask in services.hooks.secrets:
                snapshot = mask(snapshot)
        return MockResponse(200, dumps(snapshot))

    async def put_snapshot(self, request: Request, services: Services) -> Any:
        load = services.hooks.snapshot_import
        if load is None:
            return MockResponse(404, {"message": "no stateful plugin is installed for the mounted APIs"})
        raw = await request.body()
        data, problem = parse_json(raw)
        if problem:
            raise AdminInputError(problem)
        if MASK.encode() in raw and services.hooks.snapshot_export is not None:
            data = restore_masked_snapshot(data, services.hooks.snapshot_export())
        try:
            counts = load(data)
        except ValueError as exc:
            raise AdminInputError(f"invalid snapshot: {exc}") from None
        return {"status": "imported", **(counts or {})}

    def openapi(self, request: Request, services: Services) -> Any:
        return MockResponse(200, orjson.dumps(admin_spec()))

    def get_clock(self, request: Request, services: Services) -> dict[str, Any]:
        return services.clock.describe()

    async def put_clock(self, request: Request, services: Services) -> dict[str, Any]:
        """``{"now": "2027-01-31T12:00:00Z", "running": false}`` pins the clock there (standing still
        unless ``running``); ``{"advance_seconds": 3600}`` moves it."""
        data, problem = parse_json(await request.body())
        if problem or not isinstance(data, dict):
            raise AdminInputError(problem or 'give {"now": "<ISO 8601>"} or {"advance_seconds": N}')
        if "now" in data:
            try:
                services.clock.set(parse_instant(str(data["now"])), running=bool(data.get("running", False)))
            except (ValueError, OverflowError, OSError) as exc:
                raise AdminInputError(f"'now' is not an ISO 8601 instant: {exc}") from None
        if "advance_seconds" in data:
            seconds = data["advance_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or abs(seconds) > 1e11:
                raise AdminInputError("'advance_seconds' must be a number of seconds")
            if services.scheduler.manual:
                await services.scheduler.advance(float(seconds))
            else:
                services.clock.advance(float(seconds))
        if "now" not in data and "advance_seconds" not in data:
            raise AdminInputError('give {"now": "<ISO 8601>"} or {"advance_seconds": N}')
        return services.clock.describe()

    def delete_clock(self, request: Request, services: Services) -> dict[str, Any]:
        services.clock.reset()
        return services.clock.describe()


    # -- runtime overrides ------------------------------------------------------------------------

    def list_overrides(self, request: Request, services: Services) -> dict[str, Any]:
        listing = services.overrides.listing()
        return {"overrides": listing, "count": len(listing)}

    async def add_override(self, request: Request, services: Services) -> MockResponse:
        data, problem = parse_json(await request.body())
        if problem:
            raise AdminInputError(problem)
        try:
            override = services.overrides.add(data, services.apis.values())
        except OverrideError as exc:
            raise AdminInputError(str(exc)) from None
        return MockResponse(201, override.describe(), headers={"Location": f"{PREFIX}/overrides/{override.id}"})

    def clear_overrides(self, request: Request, services: Services) -> MockResponse:
        services.overrides.clear()
        return MockResponse(204, NO_BODY, None)

    def get_override(self, request: Request, services: Services) -> MockResponse:
        override = services.overrides.items.get(request.path_params["id"])
        if override is None:
            return _no_override(request.path_params["id"])
        return MockResponse(200, override.describe())

    def delete_override(self, request: Request, services: Services) -> MockResponse:
        if not services.overrides.remove(request.path_params["id"]):
            return _no_override(request.path_params["id"])
        return MockResponse(204, NO_BODY, None)


def _no_override(override_id: str) -> MockResponse:
    return MockResponse(404, {"message": f"no override '{override_id}' (GET {PREFIX}/overrides lists them)"})


def api_summary(ctx: ApiContext, services: Services) -> dict[str, Any]:
    """One mounted API: its operations, how many a behaviour backs, and which are answered by the
    generic responder (``generic``) or have a behaviour the document lacks (``unmounted``)."""
    info = ctx.spec.get("info") or {}
    return {"name": ctx.name, "title": info.get("title"), "version": info.get("version"),
            "operations": len(ctx.operations), "behaviours": sum(1 for op in ctx.operations if op.handler is not None),
            "generic": sorted(op.id for op in ctx.operations if op.handler is None),
            "unmounted": services.unmounted.get(ctx.name, [])}


@functools.cache
def admin_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(_SPEC_FILE.read_text())
    return spec
