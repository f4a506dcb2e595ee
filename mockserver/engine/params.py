"""Parameters: read path, query, header and cookie values off the wire, typed by their schemas.

OpenAPI serialisation rules (style/explode) decide how arrays and objects are spelled; the schema
decides how strings become integers, numbers and booleans. The typed value is then validated
against the parameter's compiled schema.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .oas_schema import first_error

_INT = re.compile(r"^-?\d+$")
_DOUBLE_LIMIT = 2**1024  # a number beyond an IEEE double
_MAX_DIGITS = 309
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$")
_NUM = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_DELIMS = {"form": ",", "simple": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: Any  # resolved top level of the parameter schema (refs below stay refs)
    kind: str  # string | integer | number | boolean | array | object | any
    item_kind: str
    style: str
    explode: bool
    validator: Any
    properties: dict[str, str] | None = None  # object parameters: property name -> kind

    @property
    def label(self) -> str:
        return f"{self.location} parameter '{self.name}'"


def schema_kind(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind in ("string", "integer", "number", "boolean", "array", "object"):
        return str(kind)
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "any"


def coerce_scalar(raw: str, kind: str) -> Any:
    """The typed value of one wire string, or the string itself when it does not parse (or is out of
    range: beyond an IEEE double, where a JavaScript server's numbers end too). An integer without a
    ``maximum`` may be as large as that: OpenAPI's integers have no width of their own."""
    if kind in ("integer", "number"):
        if _INT.match(raw):
            if len(raw) > _MAX_DIGITS:
                return raw
            value = int(raw)
            return value if abs(value) < _DOUBLE_LIMIT else raw
        if kind == "number" and _NUM.match(raw):
            number = float(raw)
            return number if math.isfinite(number) else raw
        return raw
    if kind == "boolean":
        lowered = raw.lower()
        return True if lowered == "true" else False if lowered == "false" else raw
    if kind == "any":
        for k in ("integer", "number", "boolean"):
            value = coerce_scalar(raw, k)
            if not isinstance(value, str):
                return value
    return raw


def out_of_range(value: Any, kind: str) -> str | None:
    """Why a parameter value is refused before its schema is asked: a number out of range, or a
    date-time that cannot be expressed in UTC (year 1 with a positive offset, say)."""
    if not isinstance(value, str):
        return None
    if kind in ("integer", "number") and (_INT.match(value) or _NUM.match(value)):
        shown = value if len(value) <= 24 else f"{value[:12]}…({len(value)} characters)"
        return f"{shown} is out of range (beyond what a double holds)"
    if len(value) <= 40 and _INSTANT.match(value):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")).astimezone(UTC)
        except OverflowError:
            return f"{value} is out of the range of dates"
        except ValueError:
            return None  # not a valid date-time: the schema says so
    return None


class ParameterSet:
    """The parameters of one operation, ready to parse requests."""

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.by_location: dict[str, list[Parameter]] = {}
        for p in params:
            self.by_location.setdefault(p.location, []).append(p)
        self.has_query = "query" in self.by_location
        self.has_cookie = "cookie" in self.by_location

    def parse(self, path_params: dict[str, str], query_string: bytes, headers: Any,
              cookie_header: str | None) -> tuple[dict[str, Any], str | None]:
        """The typed parameter values, or the first problem ("... parameter 'x': ...")."""
        values: dict[str, Any] = {}
        query: list[tuple[str, str]] | None = None
        cookies: dict[str, str] | None = None
        for p in self.params:
            if p.location == "path":
                present, value = p.name in path_params, _single(path_params.get(p.name), p)
            elif p.location == "query":
                if query is None:
                    query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                      errors="replace") if query_string else []
                present, value = _from_query(query, p)
            elif p.location == "header":
                raw = headers.get(p.name)
                present, value = raw is not None, _single(raw, p)
            else:
                if cookies is None:
                    cookies = parse_cookies(cookie_header)
                raw = cookies.get(p.name)
                present, value = raw is not None, _single(raw, p)
            if not present:
                if p.required:
                    return values, f"missing required {p.label}"
                continue
            problem = out_of_range(value, p.kind)
            if problem:
                return values, f"invalid {p.label}: {problem}"
            error = first_error(p.validator, value)
            if error:
                return values, f"invalid {p.label}: {error}"
            values[p.name] = value
        return values, None


def _single(raw: str | None, p: Parameter) -> Any:
    if raw is None:
        return None
    if p.kind == "array":
        if raw == "":
            return []
        return [coerce_scalar(v, p.item_kind) for v in raw.split(_DELIMS.get(p.style, ","))]
    if p.kind == "object":
        parts = raw.split(",")
        if p.explode:  # simple/explode: k=v,k2=v2
            pairs = [part.split("=", 1) for part in parts if "=" in part]
            return _typed({k: v for k, v in pairs}, p)
        return _typed(dict(zip(parts[0::2], parts[1::2], strict=False)), p)
    return coerce_scalar(raw, p.kind)


def _typed(values: dict[str, str], p: Parameter) -> dict[str, Any]:
    kinds = p.properties or {}
    return {k: coerce_scalar(v, kinds.get(k, "string")) for k, v in values.items()}


def _from_query(query: list[tuple[str, str]], p: Parameter) -> tuple[bool, Any]:
    if p.kind == "object":
        if p.style == "deepObject":
            prefix = p.name + "["
            found = {k[len(prefix):-1]: v for k, v in query if k.startswith(prefix) and k.endswith("]")}
            return bool(found), _typed(found, p)
        if p.explode:
            found = {k: v for k, v in query if k in (p.properties or {})}
            return bool(found), _typed(found, p)
        raws = [v for k, v in query if k == p.name]
        if not raws:
            return False, None
        parts = raws[-1].split(",")
        return True, _typed(dict(zip(parts[0::2], parts[1::2], strict=False)), p)
    raws = [v for k, v in query if k == p.name]
    if not raws:
        return False, None
    if p.kind == "array":
        if p.item_kind == "object" and p.style == "form":
            return True, _json_items(raws)
        if p.explode and p.style == "form":
            return True, [coerce_scalar(v, p.item_kind) for v in raws]
        if len(raws) > 1:  # a delimited list sent as repeated parameters too (as some clients do): all of it
            return True, [item for raw in raws for item in _single(raw, p)]
        return True, _single(raws[-1], p)
    return True, coerce_scalar(raws[-1], p.kind)


def _json_items(raws: list[str]) -> list[Any]:
    """Objects in a form-style query array have no OpenAPI spelling: each value is a JSON object
    (``x={"a":1}&x={"a":2}``); a value that is a JSON array contributes its items. Values that are
    not JSON are dropped: clients spell such objects in ways that lose them (``[object Object]``,
    or only the property names), and a mock must not reject what the contract allows."""
    items: list[Any] = []
    for raw in raws:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        items.extend(value if isinstance(value, list) else [value])
    return items


def parse_cookies(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (header or "").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out
