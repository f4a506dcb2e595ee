"""The journal's admin routes: list (``GET /__admin/requests``), find and count (``POST
/__admin/requests/find`` and ``/count``, WireMock-style), and a live feed (``GET
/__admin/requests/stream``, server-sent events) that the console follows."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from .journal_query import PatternError, RequestPattern, parse_pattern
from .jsonbody import parse_json
from .jsontext import dumps
from .services import AdminInputError, Services

STREAM_SECONDS = 25.0  # a feed ends after this (the browser reconnects), so servers can stop cleanly
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 10.0


class JournalInputError(AdminInputError):
    pass


def list_requests(request: Request, services: Services) -> dict[str, Any]:
    q = request.query_params
    numbers: dict[str, int | None] = {}
    for name in ("status", "since_id", "limit"):
        value = q.get(name)
        if value is not None and not value.isdigit():
            raise JournalInputError(f"query parameter '{name}' must be an integer")
        numbers[name] = int(value) if value else None
    pattern = RequestPattern(
        method=q["method"].upper() if q.get("method") else None,
        path_regex=re.compile(re.escape(q["path"]) + ".*") if q.get("path") else None,  # a path prefix
        operation_id=q.get("operation_id") or None,
        statuses=frozenset({numbers["status"]}) if numbers["status"] is not None else None,
        unmatched=q.get("unmatched") == "true", since_id=numbers["since_id"] or 0, limit=numbers["limit"])
    found = pattern.select(services.journal.read())
    return {"requests": found, "count": len(found), "capacity": services.journal.capacity}


async def _pattern(request: Request) -> RequestPattern:
    raw = await request.body()
    data, problem = parse_json(raw) if raw.strip() else ({}, None)
    if problem:
        raise JournalInputError(problem)
    try:
        return parse_pattern(data)
    except PatternError as exc:
        raise JournalInputError(str(exc)) from None


async def find_requests(request: Request, services: Services) -> dict[str, Any]:
    pattern = await _pattern(request)
    found = pattern.select(services.journal.read())
    return {"requests": found, "count": len(found)}


async def count_requests(request: Request, services: Services) -> dict[str, Any]:
    pattern = await _pattern(request)
    return {"count": len(pattern.select(services.journal.read()))}


def stream_requests(request: Request, services: Services) -> StreamingResponse:
    """New journal entries as server-sent events (``event: request``, the entry as ``data``), from
    ``Last-Event-ID`` or ``?since_id=`` (default: from now on)."""
    journal = services.journal
    start = request.headers.get("last-event-id") or request.query_params.get("since_id")
    if start is not None and not start.isdigit():
        raise JournalInputError("'since_id' (or Last-Event-ID) must be an integer")
    since = int(start) if start is not None else journal.latest_id()

    async def events() -> AsyncIterator[str]:
        last = since
        yield f"retry: 1000\nevent: hello\ndata: {dumps({'since_id': last}).decode()}\n\n"
        ends = time.monotonic() + STREAM_SECONDS
        beat = time.monotonic() + HEARTBEAT_SECONDS
        while time.monotonic() < ends:
            if journal.shared is not None or journal.last_id > last:
                for entry in journal.read(last):
                    last = entry["id"]
                    yield f"id: {last}\nevent: request\ndata: {dumps(entry).decode()}\n\n"
            if time.monotonic() > beat:
                beat = time.monotonic() + HEARTBEAT_SECONDS
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS if journal.shared is None else 2 * POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
