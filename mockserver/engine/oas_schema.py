"""OpenAPI schema objects as JSON Schema, compiled with jsonschema-rs.

OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4 (``nullable``, boolean exclusive bounds,
``readOnly``/``writeOnly`` affecting ``required``, ``$ref`` siblings ignored). 3.1 schemas are
JSON Schema 2020-12. The conversion follows what schemathesis checks, so that the mock and the
contract harness agree on what is valid.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

import jsonschema_rs

Direction = Literal["request", "response"]
BASE_URI = "urn:epilot-mock:spec"

INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DURATION = re.compile(
    r"^P(?:\d+W|(?:\d+Y(?:\d+M(?:\d+D)?)?|\d+M(?:\d+D)?|\d+D)"
    r"(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?|T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))$"
)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


# Draft 4 does not know these formats; schemathesis registers the same two.
DRAFT4_FORMATS = {"uuid": _is_uuid, "duration": lambda v: bool(_DURATION.match(v))}

_IN_VALUE = ("additionalProperties", "items", "not", "additionalItems", "contains", "if", "then",
             "else", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_IN_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_IN_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def is_31(spec: dict[str, Any]) -> bool:
    return str(spec.get("openapi", "")).startswith("3.1")


def _annotated(schema: Any, key: str, components: dict[str, Any], seen: set[int] | None = None) -> bool:
    """Whether readOnly/writeOnly applies to a property schema, following refs and allOf."""
    if not isinstance(schema, dict):
        return False
    seen = seen if seen is not None else set()
    if id(schema) in seen:
        return False
    seen.add(id(schema))
    if schema.get(key):
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return _annotated(components.get(ref.rsplit("/", 1)[1]), key, components, seen)
    return any(_annotated(s, key, components, seen) for s in schema.get("allOf") or [])


class Converter:
    """Converts schemas of one bundled spec for one direction (request or response)."""

    def __init__(self, spec: dict[str, Any], direction: Direction) -> None:
        self.v31 = is_31(spec)
        self.direction = direction
        self.components = (spec.get("components") or {}).get("schemas") or {}

    def convert(self, schema: Any) -> Any:
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, dict):
            return {}
        s = dict(schema)
        ref = s.get("$ref")
        if isinstance(ref, str):
            if ref.startswith("#"):
                s["$ref"] = BASE_URI + ref
            if not self.v31:
                # 3.0: siblings of $ref are ignored, except that a nullable $ref is kept nullable.
                out: dict[str, Any] = {"$ref": s["$ref"]}
                if s.get("nullable"):
                    return {"anyOf": [out, {"type": "null"}]}
                return out
        self._fix_required(s)
        for key in _IN_VALUE:
            if isinstance(s.get(key), dict):
                s[key] = self.convert(s[key])
        for key in _IN_LIST:
            if isinstance(s.get(key), list):
                s[key] = [self.convert(v) for v in s[key]]
        for key in _IN_MAP:
            if isinstance(s.get(key), dict):
                s[key] = {k: self.convert(v) for k, v in s[key].items()}
        for key in ("example", "examples", "discriminator", "xml", "externalDocs", "deprecated"):
            if key in s and not (key == "examples" and self.v31):
                s.pop(key)
        if s.get("type") == "file":
            s["type"], s["format"] = "string", "binary"
        if isinstance(s.get("pattern"), str) and not _regex_ok(s["pattern"]):
            s.pop("pattern")
        if self.direction == "request":
            self._integer_bounds(s)
        if not self.v31 and s.pop("nullable", False):
            enum = s.get("enum")
            if isinstance(enum, list) and self.direction == "request" and None not in enum:
                return s
            if isinstance(enum, list) and None not in enum:
                s["enum"] = [*enum, None]
            return {"anyOf": [s, {"type": "null"}]}
        return s

    def _fix_required(self, s: dict[str, Any]) -> None:
        props = s.get("properties")
        required = s.get("required")
        if not isinstance(props, dict) or not isinstance(required, list):
            if not isinstance(required, list):
                s.pop("required", None)
            return
        key = "readOnly" if self.direction == "request" else "writeOnly"
        kept = [name for name in required if not _annotated(props.get(name), key, self.components)]
        if kept:
            s["required"] = kept
        else:
            s.pop("required")

    @staticmethod
    def _integer_bounds(s: dict[str, Any]) -> None:
        bounds = INT_BOUNDS.get(s.get("format", ""))
        if bounds is None or s.get("type") != "integer":
            return
        low, high = bounds
        if not isinstance(s.get("minimum"), (int, float)) or s["minimum"] < low:
            s["minimum"] = low
        if not isinstance(s.get("maximum"), (int, float)) or s["maximum"] > high:
            s["maximum"] = high


_regex_cache: dict[str, bool] = {}


def _regex_ok(pattern: str) -> bool:
    ok = _regex_cache.get(pattern)
    if ok is None:
        try:
            jsonschema_rs.Draft202012Validator({"pattern": pattern})
            ok = True
        except Exception:
            ok = False
        _regex_cache[pattern] = ok
    return ok


class SchemaCompiler:
    """Compiles validators for schemas of one spec, sharing one registry of its components."""

    def __init__(self, spec: dict[str, Any], direction: Direction, *, validate_formats: bool = True) -> None:
        self.converter = Converter(spec, direction)
        self.v31 = self.converter.v31
        self.validate_formats = validate_formats
        self._registry: Any = None
        self._cls = jsonschema_rs.Draft202012Validator if self.v31 else jsonschema_rs.Draft4Validator

    @property
    def registry(self) -> Any:
        """All component schemas, converted once and shared by every validator of this spec."""
        if self._registry is None:
            components = {name: self.converter.convert(s) for name, s in self.converter.components.items()}
            root: dict[str, Any] = {"components": {"schemas": components}}
            if self.v31:
                root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            else:
                root["$schema"] = "http://json-schema.org/draft-04/schema#"
            self._registry = jsonschema_rs.Registry([(BASE_URI, root)])
        return self._registry

    def json_schema(self, schema: Any) -> Any:
        return self.converter.convert(schema)

    def compile(self, schema: Any) -> jsonschema_rs.Validator:
        converted = self.converter.convert(schema)
        kwargs: dict[str, Any] = {"validate_formats": self.validate_formats, "registry": self.registry}
        if not self.v31:
            kwargs["formats"] = DRAFT4_FORMATS
        return self._cls(converted, **kwargs)


def first_error(validator: jsonschema_rs.Validator, instance: Any) -> str | None:
    """A short, readable description of why ``instance`` is invalid, or None when it is valid.

    For a failed oneOf/anyOf, the reason is taken from the branch that got furthest into the value,
    which is nearly always the branch the client meant.
    """
    try:
        for error in validator.iter_errors(instance):
            error = _specific(error)
            where = "/".join(str(p) for p in error.instance_path)
            message = _short_message(error.message)
            return f"{where}: {message}" if where else message
    except (ValueError, RecursionError) as exc:  # the validator's own recursion limit: too deep to check
        return f"the value cannot be checked ({exc})"
    return None


_REASONS = (" is not ", " is a ", " is too ", " is less ", " is greater ", " has less ", " has more ", " does not ",
            " is valid under ", " is disallowed", " should ", " is required")


def _specific(error: Any, depth: int = 0) -> Any:
    branches = [b for b in (getattr(error.kind, "context", None) or []) if b]
    if not branches or depth > 8:
        return error
    best = max(branches, key=lambda b: (max(len(e.instance_path) for e in b), -len(b)))
    deepest = max(best, key=lambda e: len(e.instance_path))
    return _specific(deepest, depth + 1)


def _short_message(message: str, limit: int = 200) -> str:
    if len(message) <= limit:
        return message
    cut = max(message.rfind(reason) for reason in _REASONS)
    if cut > 0:  # "<the value, at length> is not ...": keep a preview of the value and the reason
        return f"{message[:40]}… {message[cut + 1:]}"[:limit]
    return message[:limit - 3] + "..."
