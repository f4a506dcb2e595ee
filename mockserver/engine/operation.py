"""One operation of a mounted API, compiled at start-up: its parameters, body, responses, security.

Built from the document's own view of the operation (`openapi.OperationView`), with validators
compiled by jsonschema-rs and a generator for its response bodies.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fakedata import Producer
from .generator import Generator
from .oas_schema import SchemaCompiler
from .openapi import OperationView, SpecView, is_json_type

__all__ = ["ApiContext", "CompiledOperation", "Media", "ResponseSpec", "is_json_type"]
from .params import Parameter, ParameterSet, schema_kind

_MISSING = object()


class ApiContext:
    """Everything shared by the operations of one mounted spec."""

    def __init__(self, name: str, spec: dict[str, Any], *, seed: int = 0, prefix: str = "",
                 producers: Mapping[str, Producer] | None = None) -> None:
        self.name = name
        self.spec = spec
        self.seed = seed
        self.prefix = prefix
        self.view = SpecView(spec)
        self.requests = SchemaCompiler(spec, "request")
        self.responses = SchemaCompiler(spec, "response")
        self.generator = Generator(spec, self.responses, producers=producers)
        self.reads_only: frozenset[str] = frozenset()  # POST behaviours that write nothing
        self.security_schemes: dict[str, Any] = ((spec.get("components") or {}).get("securitySchemes")) or {}
        self.operations: list[CompiledOperation] = []

    def resolve(self, node: Any) -> Any:
        """Follow internal ``$ref``s of a non-schema object (parameter, response, body)."""
        return self.view.resolve(node)

    def resolve_schema(self, schema: Any) -> Any:
        return self.generator.resolve(schema)


@dataclass
class Media:
    content_type: str
    schema: Any
    examples: dict[str, Any] = field(default_factory=dict)  # documented examples that validate
    invalid_examples: list[str] = field(default_factory=list)

    @property
    def is_json(self) -> bool:
        return is_json_type(self.content_type)


@dataclass
class ResponseSpec:
    status: str  # as written: "200", "4XX", "default"
    media: dict[str, Media]
    headers: dict[str, Any]

    def pick_media(self, accept: str | None = None) -> Media | None:
        if not self.media:
            return None
        if accept:
            for ctype, media in self.media.items():
                if ctype.split(";")[0] in accept:
                    return media
        for media in self.media.values():
            if media.is_json:
                return media
        return next(iter(self.media.values()))


class CompiledOperation:
    params: ParameterSet
    body_required: bool
    body_media: dict[str, tuple[Any, Any]]
    responses: dict[str, ResponseSpec]
    success_status: str

    def __init__(self, api: ApiContext, view: OperationView, handler: Any) -> None:
        self.api = api
        self.view = view
        self.id: str = view.id
        self.method: str = view.method
        self.path: str = api.prefix + view.path
        self.handler = handler
        # A behaviour that writes runs atomically (the store's write lock); reads and the generic
        # responder never write.
        self.writes = handler is not None and self.method not in ("get", "head") and self.id not in api.reads_only
        raw = view.raw
        self.raw = raw
        self.tags: list[str] = raw.get("tags") or []
        self.security: list[dict[str, list[str]]] = view.security
        self.seed = zlib.crc32(f"{api.seed}:{self.id}".encode())
        self.static_cache: dict[tuple[Any, ...], Any] = {}
        self.error_cache: dict[int, Any] = {}
        self.compiled = False
        api.operations.append(self)

    def compile(self) -> CompiledOperation:
        """Compile validators and response plans; done once, on first use or by the warm-up."""
        if self.compiled:
            return self
        self.params = ParameterSet(self._parameters(self.view.parameters()))
        self.body_required, self.body_media = self._body(self.view.request_body())
        self.responses = {code: self._response(code, resp) for code, resp in self.view.responses().items()}
        self.success_status = self._success_status()
        self.compiled = True
        return self

    # -- compile ------------------------------------------------------------------------------

    def _parameters(self, resolved: list[dict[str, Any]]) -> list[Parameter]:
        out: list[Parameter] = []
        for p in resolved:
            if p["in"] == "header" and p["name"].lower() in ("accept", "content-type", "authorization"):
                continue  # described by the operation itself, not a parameter (OpenAPI 3)
            schema = p.get("schema")
            if schema is None and isinstance(p.get("content"), dict) and p["content"]:
                schema = next(iter(p["content"].values())).get("schema")
            schema = schema if schema is not None else {}
            top = self.api.resolve_schema(schema)
            kind = schema_kind(top)
            item_kind = schema_kind(self.api.resolve_schema(top.get("items"))) if kind == "array" else "string"
            props = None
            if kind == "object":
                props = {name: schema_kind(self.api.resolve_schema(sub))
                         for name, sub in (top.get("properties") or {}).items()}
            location = p["in"]
            style = p.get("style") or ("form" if location in ("query", "cookie") else "simple")
            explode = p.get("explode", style == "form")
            out.append(Parameter(
                name=p["name"], location=location, required=bool(p.get("required") or location == "path"),
                schema=top, kind=kind, item_kind=item_kind, style=style, explode=explode,
                validator=self.api.requests.compile(schema), properties=props,
            ))
        return out

    def _body(self, body: Any) -> tuple[bool, dict[str, tuple[Any, Any]]]:
        if not isinstance(body, dict):
            return False, {}
        media = {}
        for ctype, m in (body.get("content") or {}).items():
            schema = (m or {}).get("schema")
            media[ctype.lower()] = (schema, self.api.requests.compile(schema if schema is not None else {}))
        return bool(body.get("required")), media

    def _response(self, status: str, resp: Any) -> ResponseSpec:
        media: dict[str, Media] = {}
        if isinstance(resp, dict):
            for ctype, m in (resp.get("content") or {}).items():
                m = m or {}
                schema = m.get("schema")
                entry = Media(ctype, schema)
                for name, value in self.view.examples(m):
                    if schema is None or not entry.is_json or self.api.generator.validator(schema).is_valid(value):
                        entry.examples.setdefault(name, value)
                    else:
                        entry.invalid_examples.append(name)
                media[ctype] = entry
            headers = {name: self.api.resolve(h) for name, h in (resp.get("headers") or {}).items()}
        else:
            headers = {}
        return ResponseSpec(status, media, headers)

    def _success_status(self) -> str:
        codes = sorted(c for c in self.responses if c.isdigit())
        for code in codes:
            if code.startswith("2"):
                return code
        if "2XX" in self.responses:
            return "2XX"
        return codes[0] if codes else ("default" if "default" in self.responses else "200")

    # -- lookups ------------------------------------------------------------------------------

    def response_for(self, status: int) -> tuple[str, ResponseSpec] | None:
        """The documented response that covers ``status``: exact code, then NXX range, then default."""
        exact = str(status)
        if exact in self.responses:
            return exact, self.responses[exact]
        ranged = f"{exact[0]}XX"
        if ranged in self.responses:
            return ranged, self.responses[ranged]
        if "default" in self.responses:
            return "default", self.responses["default"]
        return None

    def documents(self, status: int) -> bool:
        return str(status) in self.responses or f"{str(status)[0]}XX" in self.responses

    @staticmethod
    def concrete(status: str) -> int:
        if status.isdigit():
            return int(status)
        if status.endswith("XX") and status[0].isdigit():
            return int(status[0]) * 100
        return 200
