"""A time limit on reading a request's body: a client that promises more than it sends (or sends it
a byte at a time) gets a 408 and its connection closed, instead of holding the connection open.

The limit covers the whole body, from the first read to the last chunk; reads after the body (a
server waiting for a disconnect) are not limited.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response
from .response import send_response

DEFAULT_BODY_TIMEOUT = 5.0


class BodyReadTimeout(Exception):
    """The request body did not arrive in time (raised from ``receive``)."""


def _has_body(scope: Scope) -> bool:
    """Whether the request announces a body (most GETs do not: no timer for them)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bool(value != b"0")
        if name == b"transfer-encoding":
            return True
    return False


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, timeout: float = DEFAULT_BODY_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout <= 0 or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal deadline, done
            if done:
                return await receive()
            if deadline is None:
                deadline = loop.time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyReadTimeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        async def watch(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watch)
        except BodyReadTimeout:
            if started:  # pragma: no cover - nothing answers before it has read the body
                raise
            response = error_response(scope.get("mock.operation"), "timeout",
                                       f"the request body did not arrive within {self.timeout:g} s")
            await send_response(send, response, extra_headers=[(b"connection", b"close")])
