"""CORS with Starlette's `CORSMiddleware`, configured from ``--cors-origins``; never on the admin API.

- Default (no list): any origin, without credentials (``Access-Control-Allow-Origin: *``). Bearer
  tokens in an ``Authorization`` header work; cookies are not sent cross-origin.
- A list: exactly those origins, with credentials. An origin is never reflected just because a
  request names it, and ``null`` (sandboxed frames, ``file:`` pages) cannot be listed.
- ``/__admin`` gets no CORS headers at all (and refuses cross-origin requests, see ``admin.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from .admin import PREFIX as ADMIN_PREFIX

MAX_AGE = 600


def parse_origins(values: Iterable[str] | None) -> list[str] | None:
    """``--cors-origins`` values (repeatable or comma-separated) as a list, or None for "any origin,
    no credentials" (also what ``*`` means). Raises ValueError for an entry that is not an origin."""
    if values is None:
        return None
    origins: list[str] = []
    for value in values:
        for entry in str(value).split(","):
            entry = entry.strip().rstrip("/")
            if not entry:
                continue
            if entry == "*":
                return None
            parts = urlsplit(entry)
            if entry == "null" or parts.scheme not in ("http", "https") or not parts.netloc \
                    or parts.path or parts.query or parts.fragment:
                raise ValueError(f"--cors-origins: {entry!r} is not an origin like https://app.example.com "
                                 "(scheme, host and optional port; 'null' is never allowed)")
            origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return origins or None


def cors_middleware(app: ASGIApp, *, origins: list[str] | None) -> ASGIApp:
    listed = parse_origins(origins)
    cors = CORSMiddleware(app, allow_origins=listed if listed is not None else ["*"],
                          allow_credentials=listed is not None, allow_methods=["*"], allow_headers=["*"],
                          expose_headers=["*"] if listed is None else (), max_age=MAX_AGE)
    return _NotOnAdmin(cors, app, every_request=listed is not None)


class _NotOnAdmin:
    """CORS for the APIs; the admin API is answered without it. With any origin allowed, a request
    that names no origin skips the middleware (its answer would carry no CORS header anyway); with
    listed origins every answer goes through it, for its ``Vary: Origin``."""

    def __init__(self, cors: ASGIApp, plain: ASGIApp, *, every_request: bool) -> None:
        self.cors = cors
        self.plain = plain
        self.every_request = every_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.plain(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/") or \
                (not self.every_request and not any(name == b"origin" for name, _ in scope["headers"])):
            await self.plain(scope, receive, send)
            return
        await self.cors(scope, receive, send)
