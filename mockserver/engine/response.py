"""What the mock sends: a status, a JSON-able body (or raw bytes), headers; and how it is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import Send

from .jsontext import dumps

NO_BODY = object()


@dataclass
class MockResponse:
    status: int
    body: Any = NO_BODY  # a JSON value, ``bytes`` (already encoded) or NO_BODY
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is NO_BODY:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str) and self.content_type and not self.content_type.endswith("json"):
            return self.body.encode()
        return dumps(self.body)


async def send_response(send: Send, response: MockResponse, *, head: bool = False,
                        extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = response.encode()
    headers: list[tuple[bytes, bytes]] = []
    if response.body is not NO_BODY and response.content_type:
        headers.append((b"content-type", response.content_type.encode("latin-1")))
    if response.status not in (204, 304) and not (100 <= response.status < 200):
        headers.append((b"content-length", str(len(payload)).encode()))
    else:
        payload = b""
    for name, value in response.headers.items():
        headers.append((name.lower().encode("latin-1"), str(value).encode("latin-1")))
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else payload})
