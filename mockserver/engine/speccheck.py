"""`epilot-mock specs check`: is a spec something the mock and the harness can trust?

Checks, per document: it bundles (no dangling or cyclic ``$ref``), it is a valid OpenAPI document,
every example validates against its schema, every property an example shows is declared by the
schema (richness), and lint rules that the mock relies on (typed parameters, documented errors).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .loader import SpecError, bundle
from .oas_schema import SchemaCompiler, first_error
from .openapi import SpecView, is_json_type


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def _declared(view: SpecView, schema: Any, depth: int = 0) -> tuple[set[str], Any, bool]:
    """Declared property names of an object schema, its additionalProperties, and whether it is open
    to anything (no properties declared at all, e.g. a free-form map)."""
    schema = view.resolve(schema)
    if not isinstance(schema, dict) or depth > 20:
        return set(), None, True
    names = set((schema.get("properties") or {}).keys())
    extra = schema.get("additionalProperties")
    branches = [b for key in ("allOf", "anyOf", "oneOf") for b in schema.get(key) or []]
    # An explicit `additionalProperties: true` declares the object open on purpose.
    free = (not names and not branches) or extra is True
    for branch in branches:
        n, e, f = _declared(view, branch, depth + 1)
        names |= n
        free = free or f
        if isinstance(e, dict) and not isinstance(extra, dict):
            extra = e
    return names, extra, free


def _property_schema(view: SpecView, schema: Any, name: str, depth: int = 0) -> Any:
    schema = view.resolve(schema)
    if not isinstance(schema, dict) or depth > 20:
        return None
    prop = (schema.get("properties") or {}).get(name)
    if prop is not None:
        return prop
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            found = _property_schema(view, branch, name, depth + 1)
            if found is not None:
                return found
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _items_schema(view: SpecView, schema: Any, depth: int = 0) -> Any:
    schema = view.resolve(schema)
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "items" in schema:
        return schema["items"]
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            found = _items_schema(view, branch, depth + 1)
            if found is not None:
                return found
    return None


def undeclared_properties(view: SpecView, schema: Any, value: Any, path: str = "") -> Iterator[str]:
    """JSON paths in ``value`` whose property is not declared by ``schema`` (richness check)."""
    if isinstance(value, dict):
        names, extra, free = _declared(view, schema)
        for key, child in value.items():
            where = f"{path}/{key}"
            if key in names:
                yield from undeclared_properties(view, _property_schema(view, schema, key), child, where)
            elif isinstance(extra, dict):
                yield from undeclared_properties(view, extra, child, where)
            elif not free:
                yield where
    elif isinstance(value, list):
        items = _items_schema(view, schema)
        if items is not None:
            for i, child in enumerate(value):
                yield from undeclared_properties(view, items, child, f"{path}/{i}")


def check_document(spec: dict[str, Any], *, name: str = "spec") -> list[Finding]:
    findings: list[Finding] = []

    def add(level: str, where: str, message: str) -> None:
        findings.append(Finding(level, f"{name} {where}".strip(), message))

    try:
        from openapi_spec_validator import validate
        validate(spec)
    except ImportError:  # pragma: no cover - a dev dependency
        pass
    except Exception as exc:  # the validator raises its own error hierarchy
        message = (getattr(exc, "message", None) or str(exc)).strip().splitlines()[0]
        where = "/".join(str(p) for p in getattr(exc, "path", []) or [])
        add("error", where, f"not a valid OpenAPI document: {message}")

    view = SpecView(spec)
    requests = SchemaCompiler(spec, "request")
    responses = SchemaCompiler(spec, "response")
    schemes = ((spec.get("components") or {}).get("securitySchemes")) or {}
    seen_ids: dict[str, str] = {}

    def check_examples(where: str, media: dict[str, Any], compiler: SchemaCompiler) -> None:
        schema = media.get("schema")
        if schema is None:
            return
        validator = compiler.compile(schema)
        for name, value in view.examples(media, schema_example=False):
            label = "example" if name == "default" and "example" in media else f"examples/{name}"
            error = first_error(validator, value)
            if error:
                add("error", f"{where} {label}", f"example does not validate: {error}")
            for path in undeclared_properties(view, schema, value):
                add("error", f"{where} {label}", f"example property {path} is not declared in the schema")

    for operation in view.operations():
        path, op = operation.path, operation.raw
        label = f"{operation.method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            add("error", label, "operation has no operationId")
        elif op_id in seen_ids:
            add("error", label, f"operationId '{op_id}' is also used by {seen_ids[op_id]}")
        else:
            seen_ids[op_id] = label
        params = operation.parameters()
        for p in params:
            where = f"{label} parameter '{p.get('name')}'"
            schema = view.resolve(p.get("schema"))
            if isinstance(schema, dict) and "type" not in schema and "content" not in p:
                add("warning", where, "parameter schema has no 'type'")
            if "example" in p and p.get("schema") is not None:
                error = first_error(requests.compile(p["schema"]), p["example"])
                if error:
                    add("error", where, f"example does not validate: {error}")
        body = operation.request_body()
        if body is not None:
            for ctype, media in (body.get("content") or {}).items():
                if is_json_type(ctype) and isinstance(media, dict):
                    check_examples(f"{label} request {ctype}", media, requests)
        codes = set()
        for code, response in operation.responses().items():
            codes.add(code)
            for ctype, media in (response.get("content") or {}).items():
                if is_json_type(ctype) and isinstance(media, dict):
                    check_examples(f"{label} response {code} {ctype}", media, responses)
        security = operation.security
        secured = any(req for req in security) and not any(req == {} for req in security)
        if secured and "401" not in codes and "default" not in codes:
            add("warning", label, "secured operation does not document 401")
        if (params or body) and not ({"400", "422", "default"} & codes):
            add("warning", label, "operation takes input but documents no 400/422")
        if re.search(r"\{[^}]+\}", path) and "404" not in codes and "default" not in codes:
            add("warning", label, "operation addresses a resource by id but documents no 404")
        for req in security:
            for scheme in req:
                if scheme not in schemes:
                    add("error", label, f"security scheme '{scheme}' is not defined")

    for schema_name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
        if isinstance(schema, dict) and "example" in schema:
            error = first_error(responses.compile(schema), schema["example"])
            if error:
                add("error", f"components/schemas/{schema_name}", f"example does not validate: {error}")
    return findings


def check_source(source: str, *, name: str | None = None) -> list[Finding]:
    try:
        spec, _ = bundle(source)
    except SpecError as exc:
        return [Finding("error", exc.source, exc.problem)]
    return check_document(spec, name=name or source)
