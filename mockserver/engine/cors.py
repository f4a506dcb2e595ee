"""CORS: on by default, echoing the request origin (credentials allowed); preflights answered."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .routing import RouteTable


class CORSMiddleware:
    def __init__(self, app: ASGIApp, *, table: RouteTable | None = None, max_age: int = 600) -> None:
        self.app = app
        self.table = table
        self.max_age = str(max_age).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        requested = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                requested = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and requested is not None:
            await self._preflight(scope, send, origin)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", origin),
                    (b"access-control-allow-credentials", b"true"),
                    (b"access-control-expose-headers", b"*"),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)

    async def _preflight(self, scope: Scope, send: Send, origin: bytes) -> None:
        methods = b"GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
        if self.table is not None:
            allowed = self.table.methods_for(scope["path"])
            if allowed:
                methods = ", ".join(allowed).encode()
        requested_headers = dict(scope["headers"]).get(b"access-control-request-headers", b"*")
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", methods),
            (b"access-control-allow-headers", requested_headers),
            (b"access-control-max-age", self.max_age),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
