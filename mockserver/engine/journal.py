"""The request journal: one record per request, with its headers (secrets masked) and its bodies
(each cut at a size limit, with a ``truncated`` flag), kept in a bounded ring.

It is the outermost middleware, so it sees every request, including admin calls, CORS
preflights and errors. The hot path only keeps references (raw header pairs, the first bytes of
each body); decoding, masking and JSON parsing happen when someone reads the journal.

Per process by default. When the store can hold it (PostgreSQL: every replica shares the store),
entries also go there, written in batches by a background thread, and reads come from there: every
worker and replica then sees one journal, bounded to the same size.
"""

from __future__ import annotations

import base64
import itertools
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import Clock
from .jsontext import dumps, loads

log = logging.getLogger("epilot_mock.journal")
MASK = "***"
DEFAULT_BODY_LIMIT = 16 * 1024
BATCH_SECONDS = 0.02  # how long the shared journal's writer gathers entries into one batch
# Header names that always hold secrets; any header or JSON field whose name contains one of the
# words below is masked too, and so are the names a user configures (``--journal-mask``).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_WORDS = ("token", "secret", "password", "passwd", "api-key", "apikey", "api_key", "session",
                "credential", "signature")


@runtime_checkable
class SharedJournal(Protocol):
    """What a store offers to keep the journal for every process that uses it."""

    def journal_append(self, entries: list[str], keep: int) -> None: ...

    def journal_read(self, since_id: int = 0, limit: int | None = None) -> list[tuple[int, str]]: ...

    def journal_clear(self) -> None: ...


class Masker:
    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.names = SECRET_HEADERS | {n.lower() for n in extra}
        self.words = SECRET_WORDS + tuple(n.lower() for n in extra)

    def secret(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in self.names or any(word in lowered for word in self.words)

    def header(self, name: str, value: str) -> str:
        if not self.secret(name):
            return value
        scheme, _, credential = value.partition(" ")
        # Keep the scheme ("Bearer ***"): it tells which kind of credential was sent.
        return f"{scheme} {MASK}" if credential and name.lower().endswith("authorization") else MASK

    def query(self, text: str) -> str:
        """A query string with the values of secret-named parameters masked (``?admin_token=***``)."""
        if not text or not any(word in text.lower() for word in self.words):
            return text
        parts = []
        for pair in text.split("&"):
            name, sep, _value = pair.partition("=")
            parts.append(f"{name}={MASK}" if sep and self.secret(unquote_plus(name)) else pair)
        return "&".join(parts)

    def document(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: MASK if isinstance(k, str) and self.secret(k) and v not in (None, "")
                    else self.document(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.document(v) for v in value]
        return value


@dataclass(slots=True)
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
    # Headers as one bytes value ("name: value" lines): a kept entry holds no containers, so a full
    # ring costs the garbage collector nothing on the hot path.
    request_headers: bytes = b""
    request_body: bytes = b""
    request_size: int = 0
    response_headers: bytes = b""
    response_body: bytes = b""
    response_size: int = 0
    extras: dict[str, Any] | None = None  # what other middleware adds (scope["mock.extras"])
    cut: tuple[bool, bool] | None = None  # (request, response) bodies cut short, when read back from a store

    def as_dict(self, masker: Masker | None = None, body_limit: int = DEFAULT_BODY_LIMIT) -> dict[str, Any]:
        masker = masker or Masker()
        return {
            "id": self.id, "method": self.method, "path": self.path, "query": masker.query(self.query),
            "status": self.status,
            "operation_id": self.operation_id, "api": self.api, "started_at": self.started_at,
            "duration_ms": self.duration_ms, "override": self.override,
            "request": _message(self.request_headers, self.request_body, self.request_size, masker, body_limit,
                                self.cut[0] if self.cut else None),
            "response": _message(self.response_headers, self.response_body, self.response_size, masker, body_limit,
                                 self.cut[1] if self.cut else None),
            "extras": dict(self.extras or {}),
        }

    # -- the shared form: written by a background thread, so it stays cheap (no JSON parsing) ----

    def to_shared(self, masker: Masker) -> dict[str, Any]:
        """The entry as the store keeps it: secret headers masked, and secret fields of text
        bodies (a ``"password": "..."`` pair); reading it back masks the rest."""
        return {"local_id": self.id, "method": self.method, "path": self.path, "query": masker.query(self.query),
                "status": self.status, "operation_id": self.operation_id, "api": self.api,
                "started_at": self.started_at, "duration_ms": self.duration_ms, "override": self.override,
                "extras": self.extras,
                "request": _shared_message(self.request_headers, self.request_body, self.request_size, masker),
                "response": _shared_message(self.response_headers, self.response_body, self.response_size, masker)}

    @classmethod
    def from_shared(cls, entry_id: int, data: dict[str, Any]) -> JournalEntry:
        request, response = data["request"], data["response"]
        return cls(id=entry_id, method=data["method"], path=data["path"], query=data["query"],
                   status=data["status"], operation_id=data["operation_id"], api=data["api"],
                   started_at=data["started_at"], duration_ms=data["duration_ms"], override=data.get("override"),
                   extras=data.get("extras"), request_headers=request["headers"].encode("latin-1"),
                   request_body=_shared_body(request), request_size=request["size"],
                   response_headers=response["headers"].encode("latin-1"), response_body=_shared_body(response),
                   response_size=response["size"], cut=(bool(request.get("cut")), bool(response.get("cut"))))


def _shared_message(headers: bytes, body: bytes, size: int, masker: Masker) -> dict[str, Any]:
    lines = []
    for line in headers.split(b"\n") if headers else ():
        raw_name, _, raw_value = line.partition(b"\0")
        name = raw_name.decode("latin-1")
        lines.append(f"{name}\0{masker.header(name, raw_value.decode('latin-1'))}")
    out: dict[str, Any] = {"headers": "\n".join(lines), "size": size, "cut": size > len(body)}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        out["base64"] = base64.b64encode(body).decode()
        return out
    if '"' in text:
        text = _JSON_PAIR.sub(lambda m: f'{m.group(1)}"{MASK}"' if masker.secret(m.group(2)) else m.group(0), text)
    out["text"] = text
    return out


def _shared_body(message: dict[str, Any]) -> bytes:
    if "base64" in message:
        return base64.b64decode(message["base64"])
    return str(message.get("text", "")).encode("utf-8")


def pack_headers(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    return b"\n".join(name + b"\0" + value for name, value in headers)


def _message(headers: bytes, body: bytes, size: int, masker: Masker, limit: int,
             cut: bool | None = None) -> dict[str, Any]:
    named: dict[str, str] = {}
    for line in headers.split(b"\n") if headers else ():
        raw_name, _, raw_value = line.partition(b"\0")
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        value = masker.header(name, value)
        named[name] = f"{named[name]}, {value}" if name in named else value
    out: dict[str, Any] = {"headers": named, "body_size": size, "truncated": size > len(body) if cut is None else cut}
    if not body:
        out["body"] = None
        return out
    kind = named.get("content-type", "")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (out["truncated"] and exc.start >= len(body) - 3):  # not just a character cut at the limit
            out["body"], out["body_encoding"] = base64.b64encode(body).decode(), "base64"
            return out
        text = body[:exc.start].decode("utf-8")
    if "json" in kind and not out["truncated"]:
        try:
            out["json"] = masker.document(loads(body))
            text = dumps(out["json"]).decode()
        except ValueError:
            pass
    elif "json" in kind:  # cut short: no longer JSON, so mask "secret": "..." pairs in the text
        text = _JSON_PAIR.sub(lambda m: f'{m.group(1)}"{MASK}"' if masker.secret(m.group(2)) else m.group(0), text)
    elif "x-www-form-urlencoded" in kind:
        from urllib.parse import parse_qsl, urlencode

        text = urlencode([(k, MASK if masker.secret(k) else v) for k, v in parse_qsl(text, keep_blank_values=True)])
    out["body"] = text
    return out


_JSON_PAIR = re.compile(r'("((?:[^"\\]|\\.)*)"\s*:\s*)"(?:[^"\\]|\\.)*"')


class Journal:
    def __init__(self, size: int = 1000, *, body_limit: int = DEFAULT_BODY_LIMIT, mask: Iterable[str] = ()) -> None:
        self.size = max(1, size)
        self.entries: deque[JournalEntry] = deque(maxlen=self.size)
        self.body_limit = max(0, body_limit)
        self.masker = Masker(mask)
        self._ids = itertools.count(1)
        self.last_id = 0
        self.shared: SharedJournal | None = None
        self._outbox: queue.Queue[JournalEntry | None] | None = None
        self._writer: threading.Thread | None = None

    # -- recording (the hot path) -------------------------------------------------------------

    def record(self, **fields: Any) -> JournalEntry:
        entry = JournalEntry(id=next(self._ids), **fields)
        self.last_id = entry.id
        self.entries.append(entry)
        if self._outbox is not None:
            self._outbox.put(entry)
        return entry

    # -- sharing through the store ------------------------------------------------------------

    def share(self, store: SharedJournal) -> None:
        """Keep entries in ``store`` too (read by every process on it); a thread writes them in batches."""
        self.shared = store
        self._outbox = queue.Queue()
        self._writer = threading.Thread(target=self._write_batches, name="journal-writer", daemon=True)
        self._writer.start()

    def _write_batches(self) -> None:
        assert self._outbox is not None and self.shared is not None
        while True:
            item = self._outbox.get()
            batch = [item]
            # Under load, gather what arrives in the next moment: one round trip for many entries.
            deadline = time.monotonic() + BATCH_SECONDS
            while len(batch) < 500 and item is not None:
                try:
                    item = self._outbox.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                batch.append(item)
            entries = [e for e in batch if e is not None]
            try:
                if entries:
                    self.shared.journal_append([dumps(self._shared_dict(e)).decode() for e in entries], self.size)
            except Exception:  # a journal that cannot be written must not stop the mock
                log.exception("could not write %d journal entries to the store", len(entries))
            finally:
                for _ in batch:
                    self._outbox.task_done()
            if None in batch:
                return

    def _shared_dict(self, entry: JournalEntry) -> dict[str, Any]:
        return entry.to_shared(self.masker)

    def flush(self) -> None:
        """Wait until every recorded entry is in the shared store (reads call this first)."""
        if self._outbox is not None:
            self._outbox.join()

    def close(self) -> None:
        if self._outbox is not None and self._writer is not None:
            self._outbox.put(None)
            self._writer.join(timeout=5)
            self._outbox = None

    # -- reading ------------------------------------------------------------------------------

    def read(self, since_id: int = 0) -> list[dict[str, Any]]:
        """Every kept entry after ``since_id`` as a dict, oldest first."""
        if self.shared is not None:
            self.flush()
            return [JournalEntry.from_shared(entry_id, loads(text)).as_dict(self.masker, self.body_limit)
                    for entry_id, text in self.shared.journal_read(since_id, self.size)]
        return [e.as_dict(self.masker, self.body_limit) for e in self.entries if e.id > since_id]

    def latest_id(self) -> int:
        if self.shared is not None:
            self.flush()
            newest = self.shared.journal_read(0, 1)
            return newest[-1][0] if newest else 0
        return self.last_id

    def clear(self) -> None:
        self.entries.clear()
        if self.shared is not None:
            self.flush()
            self.shared.journal_clear()

    @property
    def capacity(self) -> int:
        return self.size


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
        limit = self.journal.body_limit
        request_chunks: list[bytes] = []
        response_chunks: list[bytes] = []
        response_headers = b""
        sizes = [0, 0]  # request, response

        async def read() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if chunk:
                    if sizes[0] < limit:
                        request_chunks.append(chunk[:limit - sizes[0]])
                    sizes[0] += len(chunk)
            return message

        async def watch(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = pack_headers(message.get("headers") or ())
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    room = limit - sizes[1]
                    if room > 0:
                        response_chunks.append(chunk if len(chunk) <= room else chunk[:room])
                    sizes[1] += len(chunk)
            await send(message)

        try:
            await self.app(scope, read, watch)
        finally:
            op = scope.get("mock.operation")
            self.journal.record(
                method=scope["method"], path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"), status=status,
                operation_id=op.id if op is not None else None, api=op.api.name if op is not None else None,
                started_at=wall.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                override=scope.get("mock.override"),
                request_headers=pack_headers(scope.get("headers") or ()), request_body=b"".join(request_chunks),
                request_size=sizes[0], response_headers=response_headers,
                response_body=b"".join(response_chunks), response_size=sizes[1],
                extras=scope.get("mock.extras"),
            )
