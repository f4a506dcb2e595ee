"""The ERP Toolkit inbound mapping: how one ERP event payload becomes entity and meter reading updates.

``map_event(config, payload, format=...)`` applies an inbound mapping configuration
(``{"entities": [...], "meter_readings": [...]}``, as stored on an inbound use case or sent to the
mapping simulation) to one event payload. ``compile_mapping(config)`` validates the configuration
and compiles every JSONata expression once (cached by expression text), for reuse across events.

Decisions where the published semantics leave room (see also the docstrings below):

- Errors abort the whole mapping with :class:`MappingError`: an invalid configuration (a field with
  no or several value sources, an unknown mode, operation or ``_type``, a JSONata syntax error, an
  invalid JSONPath, a unique id that no field maps, a prune mode without ``scope``), a JSONata
  runtime error, an entity or reading expression that yields something other than objects, and a
  unique id (of an entity, a relation item, a meter, a counter or a prune scope) that maps to
  undefined or null.
- Warnings describe a problem and the mapping goes on: a field that uses a helper needing
  integration context the mapping does not have (``relation_refs``, ``file_proxy_url``,
  ``portal_ref``, ``env_var_ref``) is not mapped, with a warning each time its entity mapping runs.
- Meter readings are returned exactly as mapped, and none is skipped: a ``value`` mapped with
  ``$string(...)`` stays a string, a ``reason`` outside the documented list passes through. Whether
  a reading can be stored (:func:`reading_problems`) is checked when an inbound event writes it.
- Two fields mapping the same attribute: the later defined value wins; an undefined value never
  removes an earlier one.
- ``_type`` (email | phone) turns a string into the repeatable form ``[{"email": "…"}]`` (each string
  of an array likewise; objects are kept). As a unique identifier, a repeatable attribute holds its
  plain address(es), which is what matching looks for inside the repeatable values.
- A relation ``jsonataExpression`` yields items shaped ``{entity_schema, _tags?, unique_ids: {attr:
  value}}`` (one object or an array; undefined omits the attribute).
- The ``upsert-prune-scope-*`` modes produce upserts plus one prune scope update per entity mapping
  (scope ids resolved against the payload; kept ids are those of the mapping's updates). A meter
  reading mapping in ``upsert-prune-scope`` mode produces upserts plus one prune update per meter
  (and counter), keeping the external ids of its valid readings.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from mockserver.epilot.erp.jsonata import UNDEFINED, Expression, JsonataError, compile_expression, is_truthy
from mockserver.epilot.erp.payload import JsonPath, JsonPathError, compile_jsonpath, parse_payload

ENTITY_MODES: Final = ("upsert", "delete", "purge", "upsert-prune-scope-purge", "upsert-prune-scope-delete")
READING_MODES: Final = ("upsert", "delete", "upsert-prune-scope")
READING_MATCHING: Final = ("external_id", "strict-date")
RELATION_OPERATIONS: Final = ("_set", "_append", "_append_all")
REPEATABLE_TYPES: Final = ("email", "phone")
READING_SOURCES: Final = ("ECP", "ERP", "360", "journey-submission")
READING_REASONS: Final = (
    "regular",
    "irregular",
    "last",
    "first",
    "meter_change",
    "contract_change",
    "meter_adjustment",
)
READING_SCHEMA: Final = "meter_reading"
_VALUE_SOURCES: Final = ("field", "jsonataExpression", "constant", "relations")
_CONTEXT_HELPERS: Final = ("relation_refs", "file_proxy_url", "portal_ref", "env_var_ref")
_DATE_TIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")


class MappingError(Exception):
    """A configuration or payload that cannot be mapped; names the entity, field and expression."""

    def __init__(self, entity: str, field: str | None, expression: str | None, message: str) -> None:
        self.entity = entity
        self.field = field
        self.expression = expression
        self.message = message
        parts = [entity]
        if field is not None:
            parts.append(f"field {field!r}")
        if expression is not None:
            parts.append(f"expression {expression!r}")
        super().__init__(f"{', '.join(parts)}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # mappings run in sandbox workers, which send errors back pickled
        return (type(self), (self.entity, self.field, self.expression, self.message))


@dataclass
class MappingResult:
    """What one event maps to. Each list holds JSON objects in configuration and payload order."""

    entity_updates: list[dict[str, Any]] = field(default_factory=list)
    meter_readings_updates: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    prune_scope_updates: list[dict[str, Any]] = field(default_factory=list)
    meter_readings_prune_scope_updates: list[dict[str, Any]] = field(default_factory=list)

    def to_simulation_response(self) -> dict[str, Any]:
        """The body of a mapping simulation response (``MappingSimulationResponse``)."""
        body: dict[str, Any] = {
            "entity_updates": self.entity_updates,
            "meter_readings_updates": self.meter_readings_updates,
            "warnings": self.warnings,
        }
        if self.prune_scope_updates:
            body["prune_scope_updates"] = self.prune_scope_updates
        if self.meter_readings_prune_scope_updates:
            body["meter_readings_prune_scope_updates"] = self.meter_readings_prune_scope_updates
        return copy.deepcopy(body)


def map_event(config: dict[str, Any], payload: Any, *, format: str = "json") -> MappingResult:
    """Map one event payload (an object, or text in ``format``) with an inbound configuration.

    Raises MappingError (configuration or mapping failure) or PayloadError (malformed payload).
    """
    return compile_mapping(config).apply(payload, format=format)


def compile_mapping(config: dict[str, Any]) -> InboundMapping:
    """Validate an inbound configuration and compile its expressions. Raises MappingError."""
    return InboundMapping(config)


class InboundMapping:
    """A compiled inbound mapping configuration. Immutable once built, so safe to share."""

    def __init__(self, config: dict[str, Any]) -> None:
        if not isinstance(config, dict):
            raise MappingError("configuration", None, None, "must be an object with `entities` and `meter_readings`")
        compiler = _Compiler()
        self.entities = [_EntityMapping(i, spec, compiler) for i, spec in enumerate(_list(config, "entities"))]
        readings = _list(config, "meter_readings")
        self.meter_readings = [_ReadingMapping(i, spec, compiler) for i, spec in enumerate(readings)]

    def apply(self, payload: Any, *, format: str = "json") -> MappingResult:
        """Map one payload. Raises MappingError or PayloadError."""
        data = parse_payload(payload, format)
        result = MappingResult()
        for entity in self.entities:
            entity.apply(data, result)
        for reading in self.meter_readings:
            reading.apply(data, result)
        return result


def _list(config: dict[str, Any], key: str) -> list[Any]:
    value = config.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError("configuration", None, None, f"`{key}` must be an array")
    return value


class _Compiler:
    """Compiles expressions and JSONPaths once per configuration, keyed by their text."""

    def __init__(self) -> None:
        self._expressions: dict[str, Expression] = {}
        self._paths: dict[str, JsonPath] = {}

    def expression(self, source: Any, entity: str, field: str | None) -> Expression:
        if not isinstance(source, str):
            raise MappingError(entity, field, None, "a JSONata expression must be a string")
        if source not in self._expressions:
            try:
                self._expressions[source] = compile_expression(source)
            except JsonataError as exc:
                raise MappingError(entity, field, source, f"invalid JSONata: {exc.message}") from None
        return self._expressions[source]

    def path(self, source: str, entity: str, field: str | None) -> JsonPath:
        if source not in self._paths:
            try:
                self._paths[source] = compile_jsonpath(source)
            except JsonPathError as exc:
                raise MappingError(entity, field, source, str(exc)) from None
        return self._paths[source]

    def condition(self, value: Any, entity: str, field: str | None, key: str) -> bool | Expression:
        if value is None:
            return True
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.expression(value, entity, field)
        raise MappingError(entity, field, None, f"`{key}` must be a boolean or a JSONata expression")


def _short(value: Any, limit: int = 80) -> str:
    text = orjson.dumps(value, default=repr).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _holds(condition: bool | Expression, data: Any, entity: str, field: str | None) -> bool:
    if isinstance(condition, bool):
        return condition
    return is_truthy(_evaluate(condition, data, entity, field))


def _evaluate(expression: Expression, data: Any, entity: str, field: str | None) -> Any:
    try:
        return expression.evaluate(data)
    except JsonataError as exc:
        raise MappingError(entity, field, expression.source, exc.message) from None


def _records(expression: Expression, data: Any, entity: str, what: str) -> list[dict[str, Any]]:
    """The objects an entity or reading expression yields: an array's elements, an object, or none."""
    value = _evaluate(expression, data, entity, None)
    if value is UNDEFINED:
        return []
    values = value if isinstance(value, list) else [value]
    for item in values:
        if not isinstance(item, dict):
            message = f"must yield {what} objects (an object, an array of them, or undefined), got {_short(item)}"
            raise MappingError(entity, None, expression.source, message)
    return values


class _Value:
    """One value source of a mapping: `field` (a key or a `$` JSONPath), `jsonataExpression` or `constant`."""

    def __init__(self, spec: dict[str, Any], compiler: _Compiler, entity: str, field: str) -> None:
        self.field = field
        self.expression: Expression | None = None
        self.path: JsonPath | None = None
        self.source: str | None = None
        self.constant: Any = None
        present = [key for key in ("field", "jsonataExpression", "constant") if key in spec]
        if len(present) != 1:
            raise MappingError(entity, field, None, "needs exactly one of `field`, `jsonataExpression` or `constant`")
        self.kind = present[0]
        if self.kind == "constant":
            self.constant = copy.deepcopy(spec["constant"])  # later changes to the config must not leak in
        elif self.kind == "jsonataExpression":
            self.expression = compiler.expression(spec["jsonataExpression"], entity, field)
            self.source = self.expression.source
        else:
            if not isinstance(spec["field"], str) or not spec["field"]:
                raise MappingError(entity, field, None, "`field` must be a non-empty string")
            self.source = spec["field"]
            if self.source.startswith("$"):
                self.path = compiler.path(self.source, entity, field)

    def resolve(self, data: Any, entity: str) -> Any:
        if self.kind == "constant":
            return copy.deepcopy(self.constant)
        if self.expression is not None:
            return _evaluate(self.expression, data, entity, self.field)
        if self.path is not None:
            value = self.path.find(data)
        else:
            value = data.get(self.source, UNDEFINED) if isinstance(data, dict) else UNDEFINED
        # Updates must not share objects with the payload, which the caller still owns.
        return copy.deepcopy(value) if isinstance(value, (dict, list)) else value

    def required(self, data: Any, entity: str) -> Any:
        """The value of a unique id, which must be defined and not null."""
        value = self.resolve(data, entity)
        if value is UNDEFINED or value is None:
            raise _no_unique_id(entity, self.field, self.source, value)
        return value


def _no_unique_id(entity: str, field: str, source: str | None, value: Any) -> MappingError:
    shown = "undefined" if value is UNDEFINED else "null"
    return MappingError(entity, field, source, f"a unique id must have a value, but it maps to {shown}")


def _unique_id_values(specs: Any, compiler: _Compiler, entity: str, owner: str) -> list[tuple[str, _Value]]:
    if not isinstance(specs, list) or not specs:
        raise MappingError(entity, owner, None, "`unique_ids` must be a non-empty array")
    values = []
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("attribute"), str):
            raise MappingError(entity, owner, None, "each unique id needs an `attribute`")
        values.append((spec["attribute"], _Value(spec, compiler, entity, f"{owner}.{spec['attribute']}")))
    return values


def _resolve_ids(ids: list[tuple[str, _Value]], data: Any, entity: str) -> dict[str, Any]:
    return {attribute: value.required(data, entity) for attribute, value in ids}


class _RelationItem:
    def __init__(self, spec: Any, compiler: _Compiler, entity: str, field: str) -> None:
        if not isinstance(spec, dict) or not isinstance(spec.get("entity_schema"), str):
            raise MappingError(entity, field, None, "each relation item needs an `entity_schema`")
        self.schema = spec["entity_schema"]
        self.tags = _tags(spec.get("_tags"), entity, field, None)
        self.ids = _unique_id_values(spec.get("unique_ids"), compiler, entity, f"{field} → {self.schema}")

    def resolve(self, data: Any, entity: str) -> dict[str, Any]:
        return _relation_item(self.schema, self.tags, _resolve_ids(self.ids, data, entity))


def _tags(value: Any, entity: str, field: str, expression: str | None) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise MappingError(entity, field, expression, "relation `_tags` must be an array of strings")
    return list(value)


def _relation_item(schema: str, tags: list[str] | None, ids: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"_schema": schema}
    if tags is not None:
        item["_tags"] = list(tags)
    item["$entity_unique_ids"] = ids
    return item


class _Relations:
    """`relations`: the attribute becomes `{"$relation": {"<operation>": [item, ...]}}`."""

    def __init__(self, spec: Any, compiler: _Compiler, entity: str, field: str) -> None:
        if not isinstance(spec, dict) or spec.get("operation") not in RELATION_OPERATIONS:
            allowed = ", ".join(RELATION_OPERATIONS)
            raise MappingError(entity, field, None, f"`relations.operation` must be one of {allowed}")
        self.operation = spec["operation"]
        self.field = field
        if ("items" in spec) == ("jsonataExpression" in spec):
            raise MappingError(entity, field, None, "`relations` needs exactly one of `items` or `jsonataExpression`")
        self.expression: Expression | None = None
        self.items: list[_RelationItem] = []
        if "items" in spec:
            if not isinstance(spec["items"], list):
                raise MappingError(entity, field, None, "`relations.items` must be an array")
            self.items = [
                _RelationItem(item, compiler, entity, f"{field}.items[{i}]") for i, item in enumerate(spec["items"])
            ]
        else:
            self.expression = compiler.expression(spec["jsonataExpression"], entity, field)

    def resolve(self, data: Any, entity: str) -> Any:
        if self.expression is None:
            items = [item.resolve(data, entity) for item in self.items]
        else:
            produced = _evaluate(self.expression, data, entity, self.field)
            if produced is UNDEFINED:
                return UNDEFINED
            produced = produced if isinstance(produced, list) else [produced]
            items = [self._produced_item(item, entity) for item in produced]
        return {"$relation": {self.operation: items}}

    def _produced_item(self, item: Any, entity: str) -> dict[str, Any]:
        source = self.expression.source if self.expression else None
        ids = item.get("unique_ids") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("entity_schema"), str) or not isinstance(ids, dict):
            shape = "{entity_schema, _tags?, unique_ids: {attribute: value}}"
            raise MappingError(entity, self.field, source, f"relation items must be {shape}, got {_short(item)}")
        if not ids or any(value is None for value in ids.values()):
            message = f"relation item unique_ids must have values, got {_short(ids)}"
            raise MappingError(entity, self.field, source, message)
        return _relation_item(item["entity_schema"], _tags(item.get("_tags"), entity, self.field, source), ids)


class _Field:
    """One entry of `fields`: an attribute and where its value comes from."""

    def __init__(self, spec: Any, compiler: _Compiler, entity: str, index: int) -> None:
        if not isinstance(spec, dict) or not isinstance(spec.get("attribute"), str) or not spec["attribute"]:
            raise MappingError(entity, f"fields[{index}]", None, "each field needs an `attribute`")
        self.attribute = attribute = spec["attribute"]
        self.enabled = compiler.condition(spec.get("enabled"), entity, attribute, "enabled")
        self.type = spec.get("_type")
        if self.type is not None and self.type not in REPEATABLE_TYPES:
            raise MappingError(entity, attribute, None, f"`_type` must be one of {', '.join(REPEATABLE_TYPES)}")
        sources = [key for key in (*_VALUE_SOURCES, *_CONTEXT_HELPERS) if key in spec]
        if len(sources) != 1:
            names = ", ".join(f"`{key}`" for key in (*_VALUE_SOURCES, *_CONTEXT_HELPERS))
            raise MappingError(entity, attribute, None, f"needs exactly one value source of {names}")
        self.helper = sources[0] if sources[0] in _CONTEXT_HELPERS else None
        self.relations = self.value = None
        if "relations" in spec:
            self.relations = _Relations(spec["relations"], compiler, entity, attribute)
        elif self.helper is None:
            self.value = _Value(spec, compiler, entity, attribute)
        self.source = self.value.source if self.value else None

    def resolve(self, data: Any, entity: str) -> Any:
        if self.helper is not None or not _holds(self.enabled, data, entity, self.attribute):
            return UNDEFINED
        if self.relations is not None:
            return self.relations.resolve(data, entity)
        value = self.value.resolve(data, entity) if self.value else UNDEFINED
        if self.type is not None and value is not UNDEFINED and value is not None:
            value = self._repeatable(value, entity)
        return value

    def _repeatable(self, value: Any, entity: str) -> list[Any]:
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if isinstance(item, str):
                out.append({self.type: item})
            elif isinstance(item, dict):
                out.append(item)
            else:
                message = f"a `_type: {self.type}` value must be strings or objects, got {_short(item)}"
                raise MappingError(entity, self.attribute, self.source, message)
        return out

    def identifier(self, value: Any, entity: str) -> Any:
        """The value matched on when this attribute is a unique id."""
        if self.type is None:
            return value
        plain = [item[self.type] for item in value if isinstance(item.get(self.type), str)]
        if not plain:
            raise MappingError(entity, self.attribute, self.source, f"the unique id has no `{self.type}` value")
        return plain[0] if len(plain) == 1 else plain


def _fields(specs: Any, compiler: _Compiler, entity: str) -> list[_Field]:
    if not isinstance(specs, list):
        raise MappingError(entity, None, None, "`fields` must be an array")
    return [_Field(spec, compiler, entity, i) for i, spec in enumerate(specs)]


def _map_fields(fields: list[_Field], data: Any, entity: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for f in fields:
        value = f.resolve(data, entity)
        if value is not UNDEFINED:
            attributes[f.attribute] = value
    return attributes


def _helper_warnings(fields: list[_Field], schema: str, result: MappingResult) -> None:
    for f in fields:
        if f.helper is not None:
            result.warnings.append(
                {
                    "entity_schema": schema,
                    "field": f.attribute,
                    "message": f"`{f.helper}` needs integration context that a mapping does not have; "
                    "the attribute is not mapped",
                }
            )


class _EntityMapping:
    def __init__(self, index: int, spec: Any, compiler: _Compiler) -> None:
        schema = spec.get("entity_schema") if isinstance(spec, dict) else None
        self.label = f"entities[{index}] ({schema})" if isinstance(schema, str) else f"entities[{index}]"
        if not isinstance(schema, str) or not schema:
            raise MappingError(self.label, None, None, "`entity_schema` must be a non-empty string")
        self.schema = schema
        unique_ids = spec.get("unique_ids")
        if not isinstance(unique_ids, list) or not all(isinstance(u, str) for u in unique_ids):
            raise MappingError(self.label, None, None, "`unique_ids` must be an array of attribute names")
        self.unique_ids: list[str] = list(unique_ids)
        self.enabled = compiler.condition(spec.get("enabled"), self.label, None, "enabled")
        self.condition = compiler.condition(spec.get("condition"), self.label, None, "condition")
        expression = spec.get("jsonataExpression")
        self.expression = None if expression is None else compiler.expression(expression, self.label, None)
        self.mode = spec.get("mode", "upsert")
        if self.mode not in ENTITY_MODES:
            raise MappingError(self.label, None, None, f"`mode` must be one of {', '.join(ENTITY_MODES)}")
        self.fields = _fields(spec.get("fields"), compiler, self.label)
        self.by_attribute = {f.attribute: f for f in self.fields if f.helper is None}
        for attribute in self.unique_ids:
            if attribute not in self.by_attribute:
                raise MappingError(self.label, attribute, None, "the unique id is not mapped by any field")
        self.scope = None
        if self.mode.startswith("upsert-prune-scope"):
            self.scope = _PruneScope(spec.get("scope"), compiler, self.label)

    def apply(self, payload: Any, result: MappingResult) -> None:
        if not _holds(self.enabled, payload, self.label, None) or not _holds(self.condition, payload, self.label, None):
            return
        _helper_warnings(self.fields, self.schema, result)
        if self.expression is None:
            inputs = [(self.label, payload)]
        else:
            records = _records(self.expression, payload, self.label, "entity")
            inputs = [(f"{self.label} item {i}", record) for i, record in enumerate(records)]
        mode = "upsert" if self.scope else self.mode
        keep = []
        for entity, data in inputs:
            attributes = _map_fields(self.fields, data, entity)
            identifiers = {}
            for attribute in self.unique_ids:
                f = self.by_attribute[attribute]
                if attributes.get(attribute) is None:
                    raise _no_unique_id(entity, attribute, f.source, attributes.get(attribute, UNDEFINED))
                identifiers[attribute] = f.identifier(attributes[attribute], entity)
            keep.append(identifiers)
            result.entity_updates.append(
                {"entity_slug": self.schema, "unique_identifiers": identifiers, "attributes": attributes, "mode": mode}
            )
        if self.scope:
            result.prune_scope_updates.append(self.scope.update(self.schema, self.mode, payload, keep, self.label))


class _PruneScope:
    def __init__(self, spec: Any, compiler: _Compiler, entity: str) -> None:
        if not isinstance(spec, dict) or spec.get("scope_mode") not in ("relations", "query"):
            raise MappingError(entity, "scope", None, "a prune mode needs a `scope` with `scope_mode` relations|query")
        self.mode = spec["scope_mode"]
        self.schema = spec.get("schema")
        self.ids = {
            key: _unique_id_values(spec[key], compiler, entity, f"scope.{key}")
            for key in ("unique_ids", "query")
            if key in spec
        }

    def update(self, schema: str, mode: str, payload: Any, keep: list[Any], entity: str) -> dict[str, Any]:
        scope: dict[str, Any] = {"scope_mode": self.mode}
        if self.schema is not None:
            scope["schema"] = self.schema
        for key, ids in self.ids.items():
            scope[key] = _resolve_ids(ids, payload, entity)
        deletion = mode.rsplit("-", 1)[1]
        return {"entity_slug": schema, "scope": scope, "keep_unique_ids": keep, "deletion_mode": deletion}


class _ReadingMapping:
    def __init__(self, index: int, spec: Any, compiler: _Compiler) -> None:
        self.label = f"meter_readings[{index}]"
        if not isinstance(spec, dict):
            raise MappingError(self.label, None, None, "must be an object")
        expression = spec.get("jsonataExpression")
        self.expression = None if expression is None else compiler.expression(expression, self.label, None)
        self.mode = spec.get("mode", "upsert")
        if self.mode not in READING_MODES:
            raise MappingError(self.label, None, None, f"`mode` must be one of {', '.join(READING_MODES)}")
        if spec.get("reading_matching", "external_id") not in READING_MATCHING:
            allowed = ", ".join(READING_MATCHING)
            raise MappingError(self.label, None, None, f"`reading_matching` must be one of {allowed}")
        scope = spec.get("scope")
        self.scope_source = scope.get("source") if isinstance(scope, dict) else None
        self.meter = self._ids(spec.get("meter"), compiler, "meter")
        self.counter = self._ids(spec["meter_counter"], compiler, "meter_counter") if "meter_counter" in spec else None
        self.fields = _fields(spec.get("fields"), compiler, self.label)

    def _ids(self, spec: Any, compiler: _Compiler, name: str) -> list[tuple[str, _Value]]:
        if not isinstance(spec, dict):
            raise MappingError(self.label, name, None, f"`{name}` must be an object with `unique_ids`")
        return _unique_id_values(spec.get("unique_ids"), compiler, self.label, name)

    def apply(self, payload: Any, result: MappingResult) -> None:
        _helper_warnings(self.fields, READING_SCHEMA, result)
        if self.expression is None:
            readings = [(self.label, payload)]
        else:
            records = _records(self.expression, payload, self.label, "meter reading")
            readings = [(f"{self.label} reading {i}", record) for i, record in enumerate(records)]
        prune: dict[bytes, dict[str, Any]] = {}
        for entity, reading in readings:
            update: dict[str, Any] = {"meter": {"$entity_unique_ids": _resolve_ids(self.meter, reading, entity)}}
            if self.counter is not None:
                update["meter_counter"] = {"$entity_unique_ids": _resolve_ids(self.counter, reading, entity)}
            attributes = _map_fields(self.fields, reading, entity)
            update["attributes"] = attributes
            update["mode"] = "delete" if self.mode == "delete" else "upsert"
            result.meter_readings_updates.append(update)
            if self.mode == "upsert-prune-scope" and isinstance(attributes.get("external_id"), str):
                refs: dict[str, Any] = {key: update[key] for key in ("meter", "meter_counter") if key in update}
                key = orjson.dumps(refs, option=orjson.OPT_SORT_KEYS)
                group = prune.setdefault(key, {**refs, "keep_external_ids": []})
                group["keep_external_ids"].append(attributes["external_id"])
        for group in prune.values():
            if self.scope_source is not None:
                group["source"] = self.scope_source
            result.meter_readings_prune_scope_updates.append(copy.deepcopy(group))


def reading_problems(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """Why a mapped reading cannot be stored: (attribute, problem) pairs, in attribute order.

    A stored reading needs a non-empty ``external_id``, an RFC 3339 ``timestamp``, a ``value`` that is
    a number or a numeric string and not negative, a ``source`` of the documented ones, and, if it has
    one, a documented ``reason`` (or the empty string). Inbound events check this when they write.
    """
    problems = []
    for name in ("external_id", "timestamp", "value", "source"):
        if name not in attributes:
            problems.append((name, f"the required attribute `{name}` is missing"))
    external_id = attributes.get("external_id")
    if "external_id" in attributes and (not isinstance(external_id, str) or not external_id):
        problems.append(("external_id", f"`external_id` must be a non-empty string, got {external_id!r}"))
    timestamp = attributes.get("timestamp")
    if "timestamp" in attributes and not _is_date_time(timestamp):
        problems.append(("timestamp", f"`timestamp` must be an RFC 3339 date-time, got {timestamp!r}"))
    if "value" in attributes:
        number = reading_number(attributes["value"])
        if number is None:
            problems.append(("value", f"`value` must be a number or a numeric string, got {attributes['value']!r}"))
        elif number < 0:
            problems.append(("value", f"`value` must not be negative, got {attributes['value']!r}"))
    if "source" in attributes and attributes["source"] not in READING_SOURCES:
        allowed = ", ".join(READING_SOURCES)
        problems.append(("source", f"`source` must be one of {allowed}, got {attributes['source']!r}"))
    if "reason" in attributes and attributes["reason"] not in ("", *READING_REASONS):
        allowed = ", ".join(READING_REASONS)
        problems.append(("reason", f"`reason` must be one of {allowed}, got {attributes['reason']!r}"))
    return problems


_NUMERIC = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def reading_number(value: Any) -> int | float | None:
    """A reading value as a number: numbers as they are, numeric strings parsed; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str) and _NUMERIC.match(value):
        number = float(value)
        if number in (float("inf"), float("-inf")):
            return None
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return None


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
