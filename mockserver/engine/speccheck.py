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

from .loader import SpecError, bundle, iter_operations
from .oas_schema import SchemaCompiler, first_error


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 50:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return node
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node = target
        seen += 1
    return node


def _declared(spec: dict[str, Any], schema: Any, depth: int = 0) -> tuple[set[str], Any, bool]:
    """Declared property names of an object schema, its additionalProperties, and whether it is open
    to anything (no properties declared at all, e.g. a free-form map)."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 20:
        return set(), None, True
    names = set((schema.get("properties") or {}).keys())
    extra = schema.get("additionalProperties")
    branches = [b for key in ("allOf", "anyOf", "oneOf") for b in schema.get(key) or []]
    # An explicit `additionalProperties: true` declares the object open on purpose.
    free = (not names and not branches) or extra is True
    for branch in branches:
        n, e, f = _declared(spec, branch, depth + 1)
        names |= n
        free = free or f
        if isinstance(e, dict) and not isinstance(extra, dict):
            extra = e
    return names, extra, free


def _property_schema(spec: dict[str, Any], schema: Any, name: str, depth: int = 0) -> Any:
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 20:
        return None
    prop = (schema.get("properties") or {}).get(name)
    if prop is not None:
        return prop
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            found = _property_schema(spec, branch, name, depth + 1)
            if found is not None:
                return found
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _items_schema(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "items" in schema:
        return schema["items"]
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            found = _items_schema(spec, branch, depth + 1)
            if found is not None:
                return found
    return None


def undeclared_properties(spec: dict[str, Any], schema: Any, value: Any, path: str = "") -> Iterator[str]:
    """JSON paths in ``value`` whose property is not declared by ``schema`` (richness check)."""
    if isinstance(value, dict):
        names, extra, free = _declared(spec, schema)
        for key, child in value.items():
            where = f"{path}/{key}"
            if key in names:
                yield from undeclared_properties(spec, _property_schema(spec, schema, key), child, where)
            elif isinstance(extra, dict):
                yield from undeclared_properties(spec, extra, child, where)
            elif not free:
                yield where
    elif isinstance(value, list):
        items = _items_schema(spec, schema)
        if items is not None:
            for i, child in enumerate(value):
                yield from undeclared_properties(spec, items, child, f"{path}/{i}")


def _media_examples(media: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, ex in (media.get("examples") or {}).items():
        if isinstance(ex, dict) and "value" in ex:
            yield f"examples/{name}", ex["value"]


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json") or content_type == "*/*"


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

    requests = SchemaCompiler(spec, "request")
    responses = SchemaCompiler(spec, "response")
    schemes = ((spec.get("components") or {}).get("securitySchemes")) or {}
    seen_ids: dict[str, str] = {}

    def check_examples(where: str, media: dict[str, Any], compiler: SchemaCompiler) -> None:
        schema = media.get("schema")
        if schema is None:
            return
        validator = compiler.compile(schema)
        for label, value in _media_examples(media):
            error = first_error(validator, value)
            if error:
                add("error", f"{where} {label}", f"example does not validate: {error}")
            for path in undeclared_properties(spec, schema, value):
                add("error", f"{where} {label}", f"example property {path} is not declared in the schema")

    for path, method, op, item in iter_operations(spec):
        label = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            add("error", label, "operation has no operationId")
        elif op_id in seen_ids:
            add("error", label, f"operationId '{op_id}' is also used by {seen_ids[op_id]}")
        else:
            seen_ids[op_id] = label
        params = [_resolve(spec, p) for p in (item.get("parameters") or []) + (op.get("parameters") or [])]
        for p in params:
            if not isinstance(p, dict):
                continue
            where = f"{label} parameter '{p.get('name')}'"
            schema = _resolve(spec, p.get("schema"))
            if isinstance(schema, dict) and "type" not in schema and "content" not in p:
                add("warning", where, "parameter schema has no 'type'")
            if "example" in p and p.get("schema") is not None:
                error = first_error(requests.compile(p["schema"]), p["example"])
                if error:
                    add("error", where, f"example does not validate: {error}")
        body = _resolve(spec, op.get("requestBody"))
        if isinstance(body, dict):
            for ctype, media in (body.get("content") or {}).items():
                if _is_json(ctype) and isinstance(media, dict):
                    check_examples(f"{label} request {ctype}", media, requests)
        codes = set()
        for code, response in (op.get("responses") or {}).items():
            codes.add(str(code))
            response = _resolve(spec, response)
            if not isinstance(response, dict):
                continue
            for ctype, media in (response.get("content") or {}).items():
                if _is_json(ctype) and isinstance(media, dict):
                    check_examples(f"{label} response {code} {ctype}", media, responses)
        security = op.get("security", spec.get("security")) or []
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
