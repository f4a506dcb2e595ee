"""Errors in the operation's own documented shape.

Every rejection (bad input, missing token, unknown id, ...) has a kind. The kind names the
statuses that fit it, best first; the first one the operation documents is used, with a body
built from that response's schema (its example, or a generated body) and the message written
into its message-like field. An operation that documents none of them gets the kind's first
status with ``{"message": ...}``.
"""

from __future__ import annotations

import copy
from typing import Any

from .operation import CompiledOperation, ResponseSpec
from .response import NO_BODY, MockResponse

KINDS: dict[str, tuple[int, ...]] = {
    "bad_request": (400, 422),
    "bad_path": (400, 422, 404),  # a malformed id in the path: "no such resource" when 400 is undocumented
    "unprocessable": (422, 400),
    "unauthorized": (401,),
    "forbidden": (403, 404, 401),
    "not_found": (404,),
    "unknown_reference": (404, 400, 422),  # an id or key in the query or body that names nothing
    "conflict": (409, 400),
    "too_large": (413,),
    "timeout": (408,),  # the request body did not arrive in time
    "unsupported_media_type": (415, 400),
    "not_acceptable": (406, 400),
    "server_error": (500,),
}
_MESSAGE_FIELDS = ("message", "error", "detail", "error_description", "errorMessage", "title", "description", "msg")
_STATUS_FIELDS = ("status", "statusCode", "status_code", "code")


class Reject(Exception):
    """Raised by a behaviour to answer with an error of ``kind`` in the operation's documented shape."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def choose_status(op: CompiledOperation | None, kind: str) -> tuple[int, ResponseSpec | None]:
    statuses = KINDS.get(kind, (400,))
    if op is not None:
        op.compile()
        for status in statuses:
            if op.documents(status):
                found = op.response_for(status)
                return status, found[1] if found else None
        if "default" in op.responses:
            return statuses[0], op.responses["default"]
        # Undocumented status: still answer in the API's error shape, borrowed from a documented 4xx.
        for code in ("400", "422", "404", "401"):
            if code in op.responses and op.responses[code].media:
                return statuses[0], op.responses[code]
    return statuses[0], None


def error_response(op: CompiledOperation | None, kind: str, message: str,
                   headers: dict[str, str] | None = None) -> MockResponse:
    status, spec = choose_status(op, kind)
    if op is None or spec is None:
        return MockResponse(status, {"message": message}, headers=dict(headers or {}))
    template = op.error_cache.get(status)
    if template is None:
        template = op.error_cache[status] = _template(op, status, spec)
    media, body, message_key, status_key = template
    if media is None:
        return MockResponse(status, NO_BODY, None, headers=dict(headers or {}))
    if not media.is_json:
        return MockResponse(status, message, media.content_type, headers=dict(headers or {}))
    out = copy.copy(body) if isinstance(body, dict) else body
    if isinstance(out, dict):
        if message_key:
            out[message_key] = message
        if status_key:
            out[status_key] = status
    return MockResponse(status, out, media.content_type, headers=dict(headers or {}))


def _template(op: CompiledOperation, status: int, spec: ResponseSpec) -> tuple[Any, Any, str | None, str | None]:
    media = spec.pick_media()
    if media is None:
        return None, None, None, None
    if not media.is_json or media.schema is None:
        return media, {}, None, None
    generator = op.api.generator
    validator = generator.validator(media.schema)
    base = next(iter(media.examples.values()), None)
    if base is None:
        base, _ = generator.generate(media.schema, op.seed + status)
    top = generator._merge(generator.resolve(media.schema)) if isinstance(media.schema, dict) else {}
    props = top.get("properties") or {}
    message_key = None
    candidates = [*_MESSAGE_FIELDS, *(n for n in top.get("required") or [] if n not in _MESSAGE_FIELDS)]
    for name in candidates:  # a known message-like field, else the first required free-text one
        prop = generator.resolve(props.get(name)) if name in props else None
        if isinstance(prop, dict) and prop.get("type") in ("string", None) and not {"enum", "format", "pattern",
                                                                                    "const"} & prop.keys():
            message_key = name
            break
    status_key = None
    for name in _STATUS_FIELDS:
        prop = generator.resolve(props.get(name)) if name in props else None
        if isinstance(prop, dict) and prop.get("type") in ("integer", "number") and "enum" not in prop:
            status_key = name
            break
    if isinstance(base, dict):
        probe = dict(base)
        if message_key:
            probe[message_key] = "probe message"
        if status_key:
            probe[status_key] = status
        if not validator.is_valid(probe):
            message_key = status_key = None
    return media, base, message_key, status_key
