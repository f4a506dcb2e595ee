"""The request path of a routed operation, one straight line:

    auth -> parameters -> body -> override? -> behaviour or generic responder -> delay? -> send (or fault)

Each step either passes or answers with an error in the operation's documented shape. A runtime
override (`overrides.py`) that matches the validated request answers instead of the behaviour; a
delay or a fault (from the override, ``Prefer``, or ``serve --latency``) shapes how it is sent.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from .auth import Authenticator, AuthError
from .call import Call
from .config import DEFAULT_BODY_LIMIT
from .errors import Reject, error_response
from .faults import ConnectionFault, Latency, draw, send_malformed
from .jsonbody import parse_json
from .operation import CompiledOperation, is_json_type
from .overrides import Overrides, respond
from .params import coerce_scalar, parse_cookies
from .prefer import NONE, Prefer, parse_prefer
from .responder import Responder
from .response import MockResponse, send_response
from .validation import check_response

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("epilot_mock")


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Shape:
    """How this request's answer is sent: after a delay (seconds), as a fault, or unchecked."""

    delay: float | None = None
    fault: str | None = None
    unchecked: bool = False  # an override's answer the user asked not to check against the spec


_NOT_SENT = MockResponse(0)  # the answer of a request that gets a connection fault instead


class Pipeline:
    def __init__(self, services: Services, authenticator: Authenticator, responder: Responder,
                 body_limit: int = DEFAULT_BODY_LIMIT) -> None:
        self.services = services
        self.auth = authenticator
        self.responder = responder
        self.body_limit = body_limit
        self.validate_responses = services.config.validate_responses
        self.overrides: Overrides = services.overrides
        self.latency: Latency | None = services.latency
        self.random = random.Random(services.config.seed)

    async def handle(self, op: CompiledOperation, scope: Scope, receive: Receive, send: Send) -> None:
        scope["mock.operation"] = op
        if not op.compiled:
            op.compile()
        head = scope["method"] == "HEAD"
        try:
            response = await self._respond(op, scope, receive)
        except BodyTooLarge:
            response = error_response(op, "too_large", f"request body exceeds {self.body_limit} bytes")
        shape: Shape | None = scope.get("mock.shape")
        if self.validate_responses and (shape is None or not (shape.unchecked or response is _NOT_SENT)):
            problem = check_response(op, response)
            if problem is not None:
                log.error("response of %s violates its spec: %s", op.id, problem)
                response = error_response(op, "server_error", f"response of {op.id} violates its spec: {problem}")
        if shape is None and self.latency is None:
            await send_response(send, response, head=head)
            return
        await self._send_shaped(shape or Shape(), response, send, head)

    async def _send_shaped(self, shape: Shape, response: MockResponse, send: Send, head: bool) -> None:
        if shape.fault == "timeout":  # its delay is how long the connection is held
            raise ConnectionFault("timeout", shape.delay)
        delay = shape.delay if shape.delay is not None else self.latency.sample() if self.latency else 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        if shape.fault is None:
            await send_response(send, response, head=head)
        elif shape.fault == "malformed":
            await send_malformed(send, response, head=head)
            raise ConnectionFault("malformed")
        else:
            raise ConnectionFault(shape.fault)

    async def _respond(self, op: CompiledOperation, scope: Scope, receive: Receive) -> MockResponse:
        headers = Headers(scope=scope)
        prefer = parse_prefer(headers.get("prefer"))
        query: dict[str, str] | None = None
        cookies: dict[str, str] | None = None
        if op.security:
            if scope.get("query_string"):
                query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            cookies = parse_cookies(headers.get("cookie"))
            try:
                principal = self.auth.authenticate(op.security, op.api.security_schemes, headers, query, cookies)
            except AuthError as exc:
                return error_response(op, "unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
        else:
            principal = self.auth.authenticate([], {}, headers, None, None)
        params, problem = op.params.parse(scope.get("path_params") or {}, scope.get("query_string") or b"",
                                          headers, headers.get("cookie"))
        if problem:
            return error_response(op, "bad_path" if problem.startswith(("invalid path", "missing required path"))
                                  else "bad_request", problem)
        body, content_type, problem_kind, problem = await self._body(op, headers, receive)
        if problem:
            return error_response(op, problem_kind or "bad_request", problem)
        if prefer.error:
            return error_response(op, "bad_request", prefer.error)
        candidates = self.overrides.by_op.get(op) if self.overrides.by_op else None
        if candidates or prefer is not NONE:
            shaped = self._override(op, scope, prefer, candidates, headers, body, principal)
            if shaped is not None:
                return shaped
        if prefer.controls or op.handler is None:
            return self.responder.respond(op, prefer, headers.get("accept"))
        call = Call(op, params, body, principal, prefer, headers, self.services, content_type)
        try:
            if op.writes:  # its reads and writes are one atomic unit (across awaits, and across workers)
                async with self.services.atomic():
                    return await _run(op, call)
            return await _run(op, call)
        except Reject as exc:
            return error_response(op, exc.kind, exc.message)

    def _override(self, op: CompiledOperation, scope: Scope, prefer: Prefer, candidates: list[Any] | None,
                  headers: Headers, body: Any, principal: Any) -> MockResponse | None:
        """Note how the answer is shaped (``scope["mock.shape"]``); an override's answer, or None to
        go on to the behaviour (or the generic responder)."""
        delay: tuple[float, float] | None = None
        fault: str | None = None
        answered: MockResponse | None = None
        unchecked = False
        found = self.overrides.answer_for(op, candidates, scope, headers, body, principal) if candidates else None
        if found is not None:
            override, answer = found
            if answer.shapes:
                scope["mock.override"] = override.id
                delay, fault, unchecked = answer.delay, answer.fault, answer.unchecked
                if answer.status is not None:
                    code = answer.status
                    answered = respond(op, answer, lambda: self.responder.respond(op, Prefer(code=code),
                                                                                  headers.get("accept")))
        delay = prefer.delay or delay
        fault = prefer.fault or fault
        if delay is None and fault is None and answered is None:
            return None
        scope["mock.shape"] = Shape(draw(delay, self.random) if delay else None, fault, unchecked)
        if fault in ("reset", "empty", "timeout"):
            return _NOT_SENT  # the request never reaches the behaviour: nothing is written
        return answered

    async def _body(self, op: CompiledOperation, headers: Headers,
                    receive: Receive) -> tuple[Any, str | None, str | None, str | None]:
        raw = await self._read(receive, headers)
        if not op.body_media:
            return None, None, None, None
        if not raw:
            if op.body_required:
                return None, None, None, "request body is required"
            return None, None, None, None
        content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
        media_key = _match_media(content_type, op.body_media)
        if media_key is None:
            accepted = ", ".join(op.body_media)
            return None, None, "unsupported_media_type", (
                f"unsupported content type '{content_type or 'none'}' (accepted: {accepted})")
        schema, validator = op.body_media[media_key]
        if is_json_type(media_key) or (media_key == "*/*" and content_type.endswith("json")):
            body, problem = parse_json(raw)
            if problem:
                return None, None, None, problem
        elif media_key == "application/x-www-form-urlencoded":
            body = _form_values(raw, op, schema)
        elif media_key.startswith("multipart/"):
            try:
                body = await _multipart(raw, headers)
            except ValueError as exc:
                return None, None, None, f"malformed multipart body: {exc}"
        else:
            return raw, media_key, None, None
        if schema is not None and not validator.is_valid(body):
            from .oas_schema import first_error

            return None, None, None, f"invalid request body: {first_error(validator, body)}"
        return body, media_key, None, None

    async def _read(self, receive: Receive, headers: Headers) -> bytes:
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.body_limit:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                raise BodyTooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


async def _run(op: CompiledOperation, call: Call) -> MockResponse:
    result = op.handler(call)
    if inspect.isawaitable(result):
        result = await result
    return result  # type: ignore[no-any-return]


def _match_media(content_type: str, media: dict[str, Any]) -> str | None:
    if not content_type:
        # No Content-Type: read it as JSON when the operation takes JSON, like most API gateways.
        return next((k for k in media if is_json_type(k)), None)
    if content_type in media:
        return content_type
    for key in media:
        if key == "*/*" or (key.endswith("/*") and content_type.startswith(key[:-1])):
            return key
        if is_json_type(key) and content_type.endswith("+json") and key == "application/json":
            return key
    return None


def _form_values(raw: bytes, op: CompiledOperation, schema: Any) -> dict[str, Any]:
    top = op.api.resolve_schema(schema) if schema is not None else {}
    props = (top or {}).get("properties") or {}
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        prop = op.api.resolve_schema(props.get(key)) or {}
        kind = prop.get("type", "string") if isinstance(prop, dict) else "string"
        if kind == "array":
            items = op.api.resolve_schema(prop.get("items")) or {}
            out.setdefault(key, []).append(coerce_scalar(value, items.get("type", "string")))
        else:
            out[key] = coerce_scalar(value, kind if isinstance(kind, str) else "string")
    return out


async def _multipart(raw: bytes, headers: Headers) -> dict[str, Any]:
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream() -> AsyncGenerator[bytes, None]:
        yield raw
        yield b""

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except MultiPartException as exc:
        raise ValueError(str(exc)) from None
    except Exception as exc:  # python-multipart raises its own errors on garbage
        raise ValueError(str(exc) or type(exc).__name__) from None
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        out[key] = value if isinstance(value, str) else (await value.read()).decode("latin-1")
    return out
