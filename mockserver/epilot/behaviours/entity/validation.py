"""Entities against their schema: the JSON Schema an entity schema's attributes stand for, and the
validation errors in both published forms (v1 ``{code, params, path, message}`` and v2, JSON
Schema output ``{keyword, instance_path, schema_path, params, ...}``).

Every attribute accepts null (a cleared value); structured attribute kinds (relations, repeatable
emails, phones and addresses) check their shape, selects their options, dates their format.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import orjson

_ANY: dict[str, Any] = {}
_ITEMS = {"email": "email", "phone": "phone"}
_RELATION = {
    "type": "object",
    "required": ["$relation"],
    "properties": {"$relation": {"type": "array", "items": {
        "type": "object", "required": ["entity_id"], "properties": {"entity_id": {"type": "string"},
                                                                  "_tags": {"type": "array"}}}}},
}
_STRING_KINDS = {"string", "link", "country", "sequence", "message_email_address", "invitation_email",
                 "partner_status", "partner_organisation", "relation_user", "internal_user"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return schema
    kind = schema.get("type")
    if isinstance(kind, str):
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def _options(attr: dict[str, Any]) -> list[str]:
    out = []
    for option in attr.get("options") or []:
        if isinstance(option, dict) and isinstance(option.get("value"), str):
            out.append(option["value"])
        elif isinstance(option, str):
            out.append(option)
    return out


def attribute_schema(attr: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of one attribute's value (null allowed)."""
    kind = attr.get("type") or "string"
    schema: dict[str, Any]
    if kind in _STRING_KINDS:
        schema = {"type": "string"}
    elif kind in ("select", "radio", "status"):
        options = _options(attr)
        schema = {"type": "string", "enum": options} if options and not attr.get("allow_any") else {"type": "string"}
    elif kind in ("multiselect", "checkbox"):
        options = _options(attr)
        item: dict[str, Any] = {"type": "string"}
        if options and not attr.get("allow_any") and not attr.get("allow_extra_options"):
            item["enum"] = options
        schema = {"type": "array", "items": item}
    elif kind == "tags":
        schema = {"type": "array", "items": {"type": "string"}}
    elif kind in ("number", "currency"):
        schema = {"type": "number"} if attr.get("data_type") != "string" else {"type": ["number", "string"]}
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    elif kind == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif kind in _ITEMS:
        field = _ITEMS[kind]
        schema = {"type": "array", "items": {"type": "object", "properties": {field: {"type": "string"}}}}
    elif kind in ("address", "payment", "table", "ordered_list"):
        schema = {"type": "array", "items": {"type": "object"}}
    elif kind in ("relation", "relation_address", "relation_payment_method", "file", "image"):
        # Stored as `{"$relation": [...]}`; hydrated reads (and snapshots) carry the entities instead.
        return _nullable({"anyOf": [_RELATION, {"type": "array", "items": {"type": "object"}}]})
    elif kind == "consent":
        schema = {"type": "object"}
    else:  # internal, computed, automation, purpose, portal_access, payment, price_component...
        return _ANY
    return _nullable(schema)


def all_attributes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema's attributes and those its capabilities bring."""
    attrs = [a for a in schema.get("attributes") or [] if isinstance(a, dict) and a.get("name")]
    for cap in schema.get("capabilities") or []:
        attrs += [a for a in (cap.get("attributes") or []) if isinstance(a, dict) and a.get("name")]
    return attrs


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) an entity of ``schema`` must satisfy."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for attr in all_attributes(schema):
        properties[attr["name"]] = attribute_schema(attr)
        if attr.get("required") and not attr.get("hidden"):
            required.append(attr["name"])
    out: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "$id": f"https://entity.sls.epilot.io/v1/entity/schemas/{schema['slug']}/json/schema",
                           "title": schema.get("name", schema["slug"]), "type": "object",
                           "properties": properties, "additionalProperties": True}
    if schema.get("description"):
        out["description"] = schema["description"]
    if required:
        out["required"] = required
    return out


_VALIDATORS: dict[bytes, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    # Keyed by what the validation depends on (two apps in one process may hold different schemas
    # under the same slug and version).
    key = orjson.dumps(json_schema(schema), option=orjson.OPT_SORT_KEYS)
    validator = _VALIDATORS.get(key)
    if validator is None:
        if len(_VALIDATORS) > 256:
            _VALIDATORS.clear()
        validator = _VALIDATORS[key] = jsonschema_rs.validator_for(orjson.loads(key), validate_formats=True)
    return validator


def validate(schema: dict[str, Any], entity: dict[str, Any], *, partial: bool = False) -> list[dict[str, Any]]:
    """v2 validation errors of ``entity`` (empty when valid). ``partial``: a patch, whose missing
    attributes are not missing from the entity."""
    errors = []
    for error in _validator(schema).iter_errors(entity):
        keyword = error.kind.name.lower()
        path = [str(p) for p in error.instance_path]
        if partial and keyword == "required":
            continue
        params = _jsonable(error.kind.as_dict())
        item: dict[str, Any] = {"keyword": keyword, "instance_path": "/" + "/".join(path) if path else "",
                                "schema_path": "#/" + "/".join(str(p) for p in error.schema_path),
                                "params": params, "message": error.message}
        if path:
            item["property_name"] = path[0]
            data = _value_at(entity, error.instance_path)
            if isinstance(data, dict):  # the published `data` is an object
                item["data"] = data
        elif keyword == "required" and "property" in params:
            item["property_name"] = str(params["property"])
        errors.append(item)
    return errors


def v1_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same errors in the v1 form."""
    out = []
    for e in errors:
        path = [p for p in e["instance_path"].split("/") if p]
        if e["keyword"] == "required" and e.get("property_name"):
            path.append(e["property_name"])
        params = {k: v for k, v in e["params"].items() if k != "type"}
        if e["keyword"] == "type":
            expected = e["params"].get("types") or e["params"].get("type")
            params["type"] = ",".join(expected) if isinstance(expected, list) else str(expected)
        out.append({"code": e["keyword"], "params": params, "path": path, "message": e["message"]})
    return out


def _value_at(value: Any, path: Any) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
