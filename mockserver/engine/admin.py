"""The admin API under `/__admin` (WireMock-style): health, tokens, journal, reset, snapshot.

One route table; extensions (the epilot world, webhooks) add their routes through
``services.extra["admin_routes"]``. Its OpenAPI document is served at `/__admin/openapi.json`.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .jsontext import dumps
from .pipeline import parse_json
from .response import NO_BODY, MockResponse, send_response

PREFIX = "/__admin"
AdminHandler = Callable[[Request, Any], Any]
_SPEC_FILE = Path(__file__).with_name("admin_openapi.yaml")


class AdminMiddleware:
    def __init__(self, app: ASGIApp, *, services: Any) -> None:
        self.app = app
        self.services = services
        self.started = time.time()
        self.routes: dict[tuple[str, str], AdminHandler] = {
            ("GET", "/health"): self.health,
            ("GET", "/tokens"): self.tokens,
            ("GET", "/requests"): self.requests,
            ("DELETE", "/requests"): self.clear_requests,
            ("POST", "/reset"): self.reset,
            ("GET", "/snapshot"): self.get_snapshot,
            ("PUT", "/snapshot"): self.put_snapshot,
            ("GET", "/openapi.json"): self.openapi,
        }
        for (method, path), handler in services.extra.get("admin_routes", {}).items():
            self.routes[(method, path)] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        sub = path[len(PREFIX):] or "/"
        handler = self.routes.get((scope["method"], sub))
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
                response = result if isinstance(result, MockResponse) else MockResponse(200, result)
            except AdminInputError as exc:
                response = MockResponse(400, {"message": str(exc)})
        await send_response(send, response)

    # -- handlers -----------------------------------------------------------------------------

    def health(self, request: Request, services: Any) -> dict[str, Any]:
        apis = [
            {"name": ctx.name, "title": (ctx.spec.get("info") or {}).get("title"),
             "version": (ctx.spec.get("info") or {}).get("version"), "operations": len(ctx.operations),
             "behaviours": sum(1 for op in ctx.operations if op.handler is not None)}
            for ctx in services.apis.values()
        ]
        body: dict[str, Any] = {
            "status": "ok", "uptime_seconds": round(time.time() - self.started, 3), "seed": services.config.seed,
            "auth": services.config.auth, "apis": apis, "operations": sum(a["operations"] for a in apis),
        }
        for name, provider in services.extra.get("health", {}).items():
            body[name] = provider()
        return body

    def tokens(self, request: Request, services: Any) -> dict[str, Any]:
        return {"auth": services.config.auth, "tokens": services.tokens.listing()}

    def requests(self, request: Request, services: Any) -> dict[str, Any]:
        q = request.query_params
        status = q.get("status")
        since = q.get("since_id")
        limit = q.get("limit")
        for name, value in (("status", status), ("since_id", since), ("limit", limit)):
            if value is not None and not value.isdigit():
                raise AdminInputError(f"query parameter '{name}' must be an integer")
        entries = services.journal.find(
            method=q.get("method"), path=q.get("path"), status=int(status) if status else None,
            operation_id=q.get("operation_id"), since_id=int(since) if since else None,
            limit=int(limit) if limit else None, unmatched=q.get("unmatched") == "true",
        )
        return {"requests": [e.as_dict() for e in entries], "count": len(entries),
                "capacity": services.journal.entries.maxlen}

    def clear_requests(self, request: Request, services: Any) -> MockResponse:
        services.journal.clear()
        return MockResponse(204, NO_BODY, None)

    def reset(self, request: Request, services: Any) -> dict[str, Any]:
        for hook in services.extra.get("reset", []):
            hook()
        services.journal.clear()
        for ctx in services.apis.values():
            for op in ctx.operations:
                op.static_cache.clear()
        return {"status": "reset"}

    def get_snapshot(self, request: Request, services: Any) -> Any:
        export = services.extra.get("snapshot_export")
        if export is None:
            return MockResponse(404, {"message": "no stateful world is loaded (mount a bundled epilot API)"})
        return MockResponse(200, dumps(export()))

    async def put_snapshot(self, request: Request, services: Any) -> Any:
        load = services.extra.get("snapshot_import")
        if load is None:
            return MockResponse(404, {"message": "no stateful world is loaded (mount a bundled epilot API)"})
        data, problem = parse_json(await request.body())
        if problem:
            raise AdminInputError(problem)
        try:
            counts = load(data)
        except ValueError as exc:
            raise AdminInputError(f"invalid snapshot: {exc}") from None
        return {"status": "imported", **(counts or {})}

    def openapi(self, request: Request, services: Any) -> Any:
        return MockResponse(200, orjson.dumps(admin_spec()))


class AdminInputError(Exception):
    pass


@functools.cache
def admin_spec() -> dict[str, Any]:
    return yaml.safe_load(_SPEC_FILE.read_text())
