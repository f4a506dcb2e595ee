"""The generic responder: answers any operation from its spec (example or generated body).

Static mode (the default) serves the same body every time: the documented example when it
validates against its schema, otherwise a body generated once with the operation's seed. Dynamic
mode (``Prefer: dynamic=true`` or ``--dynamic``) generates a new body for each request.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from .errors import error_response
from .operation import CompiledOperation, Media
from .prefer import Prefer
from .response import NO_BODY, MockResponse


class Responder:
    def __init__(self, *, dynamic: bool = False, seed: int = 0) -> None:
        self.dynamic = dynamic
        self._counter = itertools.count(seed * 1_000_003 + 1)

    def respond(self, op: CompiledOperation, prefer: Prefer, accept: str | None = None) -> MockResponse:
        status_key = op.success_status
        if prefer.code is not None:
            found = op.response_for(prefer.code)
            if found is None:
                documented = ", ".join(sorted(op.responses)) or "none"
                message = f"Prefer: code={prefer.code} is not documented for {op.id} (documented: {documented})"
                return error_response(op, "bad_request", message)
            status_key = found[0]
        status = prefer.code if prefer.code is not None else op.concrete(status_key)
        spec = op.responses.get(status_key)
        if spec is None:  # an operation without responses
            return MockResponse(status, NO_BODY, None)
        media = spec.pick_media(accept)
        headers = self._headers(op, spec)
        if media is None:
            if prefer.example is not None:
                return error_response(op, "bad_request", f"Prefer: example={prefer.example}: response {status_key} "
                                                         f"of {op.id} has no body")
            return MockResponse(status, NO_BODY, None, headers)
        if prefer.example is not None:
            if prefer.example not in media.examples:
                known = ", ".join(media.examples) or "none"
                invalid = prefer.example in media.invalid_examples
                reason = " (it does not validate against its schema)" if invalid else ""
                return error_response(op, "bad_request", f"Prefer: example={prefer.example} is not an example of "
                                                         f"{op.id} {status_key}{reason}; examples: {known}")
            body = self._encode(media, media.examples[prefer.example])
            return MockResponse(status, body, media.content_type, headers)
        dynamic = prefer.dynamic if prefer.dynamic is not None else self.dynamic
        if dynamic:
            value = self.generate(op, media, next(self._counter))
            return MockResponse(status, self._encode(media, value), media.content_type, headers)
        key = (status_key, media.content_type)
        cached = op.static_cache.get(key)
        if cached is None:
            if media.examples:
                value = media.examples.get("default", next(iter(media.examples.values())))
            else:
                value = self.generate(op, media, op.seed + op.concrete(status_key))
            cached = op.static_cache[key] = self._encode(media, value)
        return MockResponse(status, cached, media.content_type, headers)

    @staticmethod
    def generate(op: CompiledOperation, media: Media, seed: int) -> Any:
        if media.schema is None:
            return {} if media.is_json else ""
        value, _valid = op.api.generator.generate(media.schema, seed)
        return value

    @staticmethod
    def _encode(media: Media, value: Any) -> bytes:
        if media.is_json:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        if isinstance(value, bytes):
            return value
        return (value if isinstance(value, str) else orjson.dumps(value).decode()).encode()

    @staticmethod
    def _headers(op: CompiledOperation, spec: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, header in spec.headers.items():
            if not isinstance(header, dict) or name.lower() == "content-type":
                continue
            schema = header.get("schema") or {"type": "string"}
            if "example" in header:
                value = header["example"]
            else:
                value, _ = op.api.generator.generate(schema, op.seed + len(name))
            text = value if isinstance(value, str) else orjson.dumps(value).decode().strip('"')
            out[name] = text.encode("latin-1", "replace").decode("latin-1")
        return out
