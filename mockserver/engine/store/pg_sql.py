"""The SQL of the PostgreSQL store's queries: filters on the ``jsonb`` copy of each entity, the
token index for searches (a superset SQL narrows, `decide` settles each row as SQLite would), and
the order SQLite gives ``json_extract`` values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..jsontext import dumps, loads
from . import text
from .base import Entity, Filter
from .terms import COLUMNS, SAFE_ATTR, SEARCH_OPS, like_escape, literal_hint, qmatch, term_eligible, value_key

PG_BIGINT_MAX = 2**63 - 1


def compile_clause(clause: Any, indexed: frozenset[str], positive: bool,
                   leaves: list[tuple[str, list[Any]]], fold: str) -> tuple[str, list[Any], bool]:
    """SQL for ``clause`` and whether it is exact. A search the SQL cannot decide becomes a
    superset where ``positive`` (a subset under NOT), and Python decides (`_query_in_python`).
    Every other filter is also collected in ``leaves``, for Python to read its value per row."""
    if isinstance(clause, Filter):
        if clause.op in SEARCH_OPS:
            return (*search_bound(clause, indexed, positive), False)
        sql, args = filter_sql(clause, indexed, fold)
        leaves.append((sql, args))
        return sql, args, True
    kind, parts = clause
    if kind == "not":
        sql, args, exact = compile_clause(parts, indexed, not positive, leaves, fold)
        return f"NOT ({sql})", args, exact
    joined: list[str] = []
    args = []
    exact = True
    for part in parts:
        sql, part_args, part_exact = compile_clause(part, indexed, positive, leaves, fold)
        joined.append(f"({sql})")
        args.extend(part_args)
        exact = exact and part_exact
    glue = " OR " if kind == "or" else " AND "
    return (glue.join(joined) or ("false" if kind == "or" else "true")), args, exact


def search_bound(f: Filter, indexed: frozenset[str], positive: bool) -> tuple[str, list[Any]]:
    """Rows that may match ``f`` (positive), or rows that surely match (negative)."""
    if not positive:
        if f.op == "match" and "~" + f.attribute in indexed:
            keys, exact = text.term_plan(str(f.value))
            if exact:
                return "id IN (SELECT id FROM terms WHERE attr = %s AND value = ANY(%s))", ["~" + f.attribute,
                                                                                         list(keys)]
        return "false", []
    if f.attribute == "*":
        if f.op not in ("match", "wildcard", "fuzzy"):
            raise ValueError(f"'{f.op}' needs an attribute")
        hint = literal_hint(f)
        if hint:
            like = "".join(c if c.isascii() else "_" for c in like_escape(hint))
            return "doc ILIKE %s ESCAPE '\\'", [f"%{like}%"]
        return "true", []
    if not SAFE_ATTR.match(f.attribute):
        raise ValueError(f"unsupported attribute name '{f.attribute}'")
    key = "~" + f.attribute
    first = f.attribute.split(".", 1)[0]
    if key not in indexed:
        return "docb ? %s", [first]
    lookup = "id IN (SELECT id FROM terms WHERE attr = %s AND "
    if f.op == "match":
        keys, _exact = text.term_plan(str(f.value))
        return f"{lookup}value = ANY(%s))", [key, list(keys)]
    if f.op == "wildcard":
        prefix = text.wildcard_prefix(str(f.value))
        if prefix:
            return f"{lookup}value >= %s AND value < %s)", [key, prefix, prefix + "\U0010ffff"]
        return f"{lookup}true)", [key]
    term, limit = f.value
    folded = text.fold(str(term))
    return f"{lookup}length(value) BETWEEN %s AND %s)", [key, len(folded) - limit, len(folded) + limit]


def filter_sql(f: Filter, indexed: frozenset[str], fold: str) -> tuple[str, list[Any]]:
    if f.attribute == "*":  # free text: title or any value in the document
        term = f"%{str(f.value).lower()}%"
        return (f"(lower(title{fold}) LIKE %s ESCAPE '' OR lower(doc{fold}) LIKE %s ESCAPE '')", [term, term])
    column = COLUMNS.get(f.attribute)
    if column is None and not SAFE_ATTR.match(f.attribute):
        raise ValueError(f"unsupported attribute name '{f.attribute}'")
    if f.attribute in indexed and term_eligible(f):
        return "id IN (SELECT id FROM terms WHERE attr = %s AND value = %s)", [f.attribute, f.value]
    # `v`: the attribute as jsonb, SQL NULL when absent or JSON null (as SQLite's json_extract).
    v = column or f"nullif(docb -> '{f.attribute}', 'null'::jsonb)"
    text = column or f"({v} #>> '{{}}')"
    if f.op == "exists":
        return f"{v} IS NOT NULL", []
    if f.op == "prefix":
        return f"lower({text}{fold}) LIKE %s ESCAPE ''", [str(f.value).lower() + "%"]
    if f.op == "contains":
        return f"lower({text}{fold}) LIKE %s ESCAPE ''", [f"%{str(f.value).lower()}%"]
    if column is not None:
        ops = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        if f.op in ops:
            return f'{column} COLLATE "C" {ops[f.op]} %s', [as_text(f.value)]
        if f.op == "ne":
            return f"({column} IS NULL OR {column} <> %s)", [as_text(f.value)]
        if f.op == "in":
            return f"{column} = ANY(%s)", [[as_text(x) for x in f.value]]
        raise ValueError(f"unknown filter operator '{f.op}'")
    if f.op == "eq":
        if isinstance(f.value, str):  # a scalar, an item of an array, a value of an object, or the
            key = value_key(f.attribute)  # value key of an object item (long values: no index)
            return (f"({v} = to_jsonb(%s::text) OR EXISTS (SELECT 1 FROM jsonb_array_elements("
                    f"CASE jsonb_typeof({v}) WHEN 'array' THEN {v} ELSE '[]' END) AS i "
                    f"WHERE i = to_jsonb(%s::text) OR i -> %s = to_jsonb(%s::text)) "
                    f"OR EXISTS (SELECT 1 FROM jsonb_each(CASE jsonb_typeof({v}) WHEN 'object' THEN {v} "
                    f"ELSE '{{}}' END) AS j "
                    f"WHERE j.value = to_jsonb(%s::text) OR j.value -> %s = to_jsonb(%s::text)))",
                    [f.value, f.value, key, f.value, f.value, key, f.value])
        return f"{v} = %s::jsonb", [to_json(f.value)]
    if f.op == "ne":
        return f"({v} IS NULL OR {v} <> %s::jsonb)", [to_json(f.value)]
    if f.op == "in":
        return f"{v} = ANY(%s::jsonb[])", [[to_json(x) for x in f.value]]
    ops = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    if f.op in ops:
        if isinstance(f.value, (int, float)) and not isinstance(f.value, bool):
            return (f"(jsonb_typeof({v}) = 'number' AND ({v})::numeric {ops[f.op]} %s)", [f.value])
        return (f"(jsonb_typeof({v}) = 'string' AND {text} COLLATE \"C\" {ops[f.op]} %s)", [as_text(f.value)])
    raise ValueError(f"unknown filter operator '{f.op}'")


def to_json(value: Any) -> str:
    return dumps(value).decode()


def parse_entity(doc: str) -> Entity:
    value: Entity = loads(doc)
    return value


def parse_record(doc: str) -> dict[str, Any]:
    value: dict[str, Any] = loads(doc)
    return value


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else to_json(value)


def bigint(value: int) -> int:
    return min(max(0, value), PG_BIGINT_MAX)


def order_sql(attribute: str, descending: bool) -> str:
    """Order as SQLite orders json_extract values: missing/null, then numbers, then text."""
    direction = "DESC" if descending else "ASC"
    column = COLUMNS.get(attribute)
    if column is not None:
        return f'{column} COLLATE "C" {direction} NULLS {"LAST" if descending else "FIRST"}'
    if not SAFE_ATTR.match(attribute):
        raise ValueError(f"unsupported attribute name '{attribute}'")
    v = f"nullif(docb -> '{attribute}', 'null'::jsonb)"
    rank = (f"CASE WHEN {v} IS NULL THEN 0 WHEN jsonb_typeof({v}) IN ('number', 'boolean') THEN 1 ELSE 2 END")
    number = (f"CASE jsonb_typeof({v}) WHEN 'number' THEN ({v})::numeric "
              f"WHEN 'boolean' THEN (CASE WHEN {v} = 'true'::jsonb THEN 1 ELSE 0 END) END")
    text = f"(CASE jsonb_typeof({v}) WHEN 'string' THEN {v} #>> '{{}}' ELSE ({v})::text END) COLLATE \"C\""
    return f"{rank} {direction}, {number} {direction}, {text} {direction}"


def decide(clause: Any, entity: Entity, doc: str, leaf_values: Iterator[Any]) -> bool | None:
    """``clause`` for one row, in SQL's three-valued logic (None: unknown). Filters other than
    searches take their value from ``leaf_values`` (computed by the SQL, in `_compile`'s order);
    searches run the same matcher as SQLite's ``qmatch``."""
    if isinstance(clause, Filter):
        if clause.op not in SEARCH_OPS:
            value = next(leaf_values)
            return None if value is None else bool(value)
        spec = to_json(clause.value)
        if clause.attribute == "*":
            return bool(qmatch(doc, "*", clause.op, spec))
        first = clause.attribute.split(".", 1)[0]
        if first not in entity:
            return False
        return bool(qmatch(to_json(entity[first]), clause.attribute, clause.op, spec))
    kind, parts = clause
    if kind == "not":
        inner = decide(parts, entity, doc, leaf_values)
        return None if inner is None else not inner
    results = [decide(part, entity, doc, leaf_values) for part in parts]  # all: keeps leaf order
    if kind == "or":
        return True if True in results else (None if None in results else False)
    return False if False in results else (None if None in results else True)
