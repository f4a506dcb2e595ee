"""The request journal: one frozen record per request, kept in a bounded ring.

It is the outermost middleware, so it sees every request, including admin calls, CORS
preflights and errors.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import Clock


@dataclass(frozen=True)
class JournalEntry:
    id: int
    method: str
    path: str
    query: str
    status: int
    operation_id: str | None
    api: str | None
    started_at: str
    duration_ms: float
    override: str | None = None  # the id of the runtime override that answered, if one did

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self.entries: deque[JournalEntry] = deque(maxlen=max(1, size))
        self._ids = itertools.count(1)

    def record(self, **fields: Any) -> JournalEntry:
        entry = JournalEntry(id=next(self._ids), **fields)
        self.entries.append(entry)
        return entry

    def clear(self) -> None:
        self.entries.clear()

    def find(self, *, method: str | None = None, path: str | None = None, status: int | None = None,
             operation_id: str | None = None, since_id: int | None = None, limit: int | None = None,
             unmatched: bool = False) -> list[JournalEntry]:
        out = []
        for entry in self.entries:
            if method and entry.method != method.upper():
                continue
            if path and not entry.path.startswith(path):
                continue
            if status is not None and entry.status != status:
                continue
            if operation_id and entry.operation_id != operation_id:
                continue
            if since_id is not None and entry.id <= since_id:
                continue
            if unmatched and entry.operation_id is not None:
                continue
            out.append(entry)
        return out[-limit:] if limit else out


class JournalMiddleware:
    def __init__(self, app: ASGIApp, *, journal: Journal, clock: Clock) -> None:
        self.app = app
        self.journal = journal
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        wall = self.clock.now()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            op = scope.get("mock.operation")
            self.journal.record(
                method=scope["method"], path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"), status=status,
                operation_id=op.id if op is not None else None, api=op.api.name if op is not None else None,
                started_at=wall.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                override=scope.get("mock.override"),
            )
