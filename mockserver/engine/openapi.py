"""One view of an OpenAPI document, used by the server, `specs check`, scenarios and the harness.

It owns what every reader of a spec needs and would otherwise write again: `$ref` resolution
(cycle-safe), the operations with their path-level parameters merged in and their security
inherited from the root, response lookup by status (exact code, then ``4XX``, then ``default``),
media selection, and a media type's documented examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_REF_CHAIN = 64


def pointer(document: Any, ref: str) -> Any:
    """The node at a local JSON pointer (``#/components/schemas/Name``), or None."""
    if not ref.startswith("#"):
        return None
    node = document
    for part in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def is_json_type(content_type: str) -> bool:
    base = content_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base == "*/*"


class SpecView:
    """A bundled (single-document) spec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, node: Any) -> Any:
        """Follow a chain of local ``$ref``s; a missing target or a cycle gives None."""
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) >= MAX_REF_CHAIN:
                return None
            seen.add(ref)
            node = pointer(self.spec, ref)
        return node

    def examples(self, media: dict[str, Any], *, schema_example: bool = True) -> list[tuple[str, Any]]:
        """A media type's documented examples (``example`` as "default", named ``examples``, or,
        with ``schema_example``, the schema's own ``example``); not checked against the schema."""
        found: list[tuple[str, Any]] = []
        if "example" in media:
            found.append(("default", media["example"]))
        for name, ex in (media.get("examples") or {}).items():
            ex = self.resolve(ex)
            if isinstance(ex, dict) and "value" in ex:
                found.append((str(name), ex["value"]))
        if schema_example and not found and media.get("schema") is not None:
            top = self.resolve(media["schema"])
            if isinstance(top, dict) and "example" in top:
                found.append(("default", top["example"]))
        return found

    @property
    def security_schemes(self) -> dict[str, Any]:
        return ((self.spec.get("components") or {}).get("securitySchemes")) or {}

    def operations(self) -> Iterator[OperationView]:
        for path, item in (self.spec.get("paths") or {}).items():
            item = self.resolve(item)
            if not isinstance(item, dict):
                continue
            for method in HTTP_METHODS:
                raw = item.get(method)
                if isinstance(raw, dict):
                    yield OperationView(self, path, method, raw, item)

    def operation(self, method: str, path: str) -> OperationView | None:
        item = self.resolve((self.spec.get("paths") or {}).get(path))
        raw = item.get(method.lower()) if isinstance(item, dict) else None
        return OperationView(self, path, method.lower(), raw, item) if isinstance(raw, dict) else None


@dataclass
class OperationView:
    spec: SpecView
    path: str
    method: str
    raw: dict[str, Any]
    path_item: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw.get("operationId") or f"{self.method.upper()} {self.path}")

    @property
    def security(self) -> list[dict[str, list[str]]]:
        """The operation's requirements, or the document's when it names none (``[]`` = open)."""
        found = self.raw["security"] if "security" in self.raw else self.spec.spec.get("security")
        return list(found or [])

    def parameters(self) -> list[dict[str, Any]]:
        """Resolved parameters: path-level ones, overridden by the operation's of the same name and
        location (OpenAPI's rule)."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*(self.path_item.get("parameters") or []), *(self.raw.get("parameters") or [])]:
            p = self.spec.resolve(raw)
            if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("in"), str):
                key = (p["name"].lower() if p["in"] == "header" else p["name"], p["in"])
                merged[key] = p
        return list(merged.values())

    def request_body(self) -> dict[str, Any] | None:
        body = self.spec.resolve(self.raw.get("requestBody"))
        return body if isinstance(body, dict) else None

    def responses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for code, resp in (self.raw.get("responses") or {}).items():
            resolved = self.spec.resolve(resp)
            out[str(code)] = resolved if isinstance(resolved, dict) else {}
        return out

    def response_for(self, status: int) -> tuple[str, dict[str, Any]] | None:
        """The documented response that covers ``status``: exact code, then NXX range, then default."""
        responses = self.responses()
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return key, responses[key]
        return None

    def media(self, response: dict[str, Any], content_type: str | None = None) -> tuple[str, dict[str, Any]] | None:
        """The media entry of a response for ``content_type`` (or, without one, JSON first)."""
        content = response.get("content") or {}
        if not content:
            return None
        if content_type:
            base = content_type.split(";")[0].strip().lower()
            for key, value in content.items():
                if key.split(";")[0].strip().lower() == base:
                    return key, value or {}
            for key, value in content.items():
                pattern = key.split(";")[0].strip().lower()
                if pattern == "*/*" or (pattern.endswith("/*") and base.startswith(pattern[:-1])):
                    return key, value or {}
            return None
        for key, value in content.items():
            if is_json_type(key):
                return key, value or {}
        key = next(iter(content))
        return key, content[key] or {}

    def examples(self, media: dict[str, Any], *, schema_example: bool = True) -> list[tuple[str, Any]]:
        return self.spec.examples(media, schema_example=schema_example)
