"""Bad days on purpose: delays and connection faults.

- A **delay** is written ``800`` (milliseconds), ``800ms``, ``1.5s``, or a range ``50ms..300ms`` drawn
  from per request. Delays are ``asyncio.sleep``: a slow answer never holds up another request.
- A **fault** breaks the connection instead of answering:

  ``reset``      the connection is reset (TCP RST) before any byte of the response;
  ``empty``      the connection is closed (FIN) before any byte of the response;
  ``malformed``  a valid status line and headers, then half the body, then the connection closes;
  ``timeout``    nothing is sent until the client gives up (or the hold time ends, then as ``empty``).

The pipeline raises `ConnectionFault` (after sending the first half of the body for ``malformed``);
the outermost app, which holds the server's own ``send``, breaks the connection through the server's
transport. Without one (an in-process client) the exception reaches the client instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import struct
from typing import Any

from starlette.types import Receive, Send

from .response import MockResponse

FAULTS = ("reset", "empty", "malformed", "timeout")
MAX_DELAY = 300.0  # seconds: longer delays are refused
HOLD = 300.0  # seconds a `timeout` fault holds a connection open when the client never gives up
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


class ConnectionFault(Exception):
    """Raised to break the connection of the current request instead of answering it."""

    def __init__(self, kind: str, hold: float | None = None) -> None:
        super().__init__(f"connection fault: {kind}")
        self.kind = kind
        self.hold = HOLD if hold is None else hold


def parse_duration(text: str) -> float:
    """``800``/``800ms`` -> 0.8, ``1.5s`` -> 1.5 (seconds). Raises ValueError."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"'{text}' is not a duration (e.g. 800, 800ms, 1.5s)")
    value = float(found.group(1))
    return value if found.group(2) == "s" else value / 1000


def parse_delay(value: Any) -> tuple[float, float]:
    """A delay as ``(low, high)`` seconds: a number of milliseconds, a duration, or ``A..B``.
    Raises ValueError naming the problem."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a delay (e.g. 800, '800ms', '1.5s', '50ms..300ms')")
    if isinstance(value, (int, float)):
        low = high = float(value) / 1000
    elif isinstance(value, str):
        first, dots, second = value.partition("..")
        low = parse_duration(first)
        high = parse_duration(second) if dots else low
    else:
        raise ValueError(f"{value!r} is not a delay (e.g. 800, '800ms', '1.5s', '50ms..300ms')")
    if low < 0 or high < low:
        raise ValueError(f"'{value}': a range goes from the shorter delay to the longer one")
    if high > MAX_DELAY:
        raise ValueError(f"'{value}': delays are at most {int(MAX_DELAY)} s")
    return low, high


class Latency:
    """Draws delays from a range, with its own seeded generator (the same seed, the same delays)."""

    def __init__(self, low: float, high: float, seed: int = 0) -> None:
        self.low = low
        self.high = high
        self._random = random.Random(seed)

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> Latency:
        low, high = parse_delay(text)
        return cls(low, high, seed)

    def sample(self) -> float:
        return self.low if self.high == self.low else self._random.uniform(self.low, self.high)

    def describe(self) -> str:
        return f"{self.low * 1000:g}ms..{self.high * 1000:g}ms"


def draw(delay: tuple[float, float], rng: random.Random) -> float:
    low, high = delay
    return low if high == low else rng.uniform(low, high)


async def send_malformed(send: Send, response: MockResponse, *, head: bool = False) -> None:
    """The status line and headers of ``response`` with its full ``Content-Length``, then half its
    body; the caller then breaks the connection (``ConnectionFault("malformed")``)."""
    payload = response.encode() or b"{}"
    promised = len(payload)
    headers: list[tuple[bytes, bytes]] = [(b"content-length", str(promised).encode())]
    if response.content_type:
        headers.append((b"content-type", response.content_type.encode("latin-1")))
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "content-type"):
            headers.append((name.lower().encode("latin-1"), str(value).encode("latin-1")))
    status = 200 if response.status in (204, 304) or response.status < 200 else response.status
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else payload[:promised // 2],
                "more_body": True})


async def break_connection(fault: ConnectionFault, send: Send, receive: Receive) -> bool:
    """Break the connection the server's ``send`` belongs to; False when there is no transport to
    break (not a uvicorn connection: an in-process client)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    if fault.kind == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_disconnected(receive), fault.hold)
    if fault.kind == "reset":
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    elif not transport.is_closing():
        transport.close()  # FIN after what is already written (the half body of `malformed`)
    for _ in range(50):  # let the server see the connection go, so it does not answer a 500 on it
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.001)
    return True


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
