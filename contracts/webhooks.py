"""A local webhook receiver for scenarios: it records every delivery and answers as the scenario says."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from .serving import serve_in_thread


class WebhookReceiver:
    def __init__(self, on_delivery: Any = None) -> None:
        self.on_delivery = on_delivery  # called with each delivery, e.g. to print it
        self.deliveries: list[dict[str, Any]] = []
        self.respond_status = 200
        self.respond_body: Any = {"ok": True}
        self._lock = threading.Lock()
        self.consumed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    else:
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        delivery = {"path": scope["path"], "method": scope["method"], "headers": headers, "body": body,
                    "raw": raw.decode("utf-8", "replace"), "received_at": time.time()}
        with self._lock:
            self.deliveries.append(delivery)
            status, payload = self.respond_status, self.respond_body
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        content = orjson.dumps(payload)
        answer = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": answer})
        await send({"type": "http.response.body", "body": content})

    def wait(self, predicate: Any, timeout: float) -> dict[str, Any] | None:
        """The first delivery after the ones already consumed for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                fresh = self.deliveries[self.consumed:]
            for offset, delivery in enumerate(fresh):
                if predicate(delivery):
                    self.consumed += offset + 1
                    return delivery
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


@contextmanager
def running_receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver()
    with serve_in_thread(receiver) as base:
        yield receiver, base
