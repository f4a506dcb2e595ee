"""ERP import files: reading CSV and XLSX tables, validating their rows against an inbound mapping, and
ranking inbound use cases by the columns their mappings read.

A row becomes an event payload: ``{column: value}`` with empty cells left out (so a unique id in an
empty cell is a row that does not map). CSV cells are strings (the delimiter , ; tab or | is
detected, the file must be UTF-8); XLSX cells keep their numbers, dates become ISO strings. Rows are
numbered as in the file: the header is row 1.

Records: ``erp_file`` (id: ``bucket/key``), the mock's stand-in for S3 (``PUT /__admin/erp/files``).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .mapping import MappingError, compile_mapping
from .payload import PayloadError

FILE_KIND = "erp_file"
MAX_ROWS = 10_000
PREVIEW_ROWS = 10
MAX_ISSUES = 100
_IDENTIFIER = re.compile(r"(?<![\w$.'\"`])([A-Za-z_][A-Za-z0-9_]*)")
_JSONATA_WORDS = {"and", "or", "in", "true", "false", "null", "function", "undefined"}


class ImportFileError(Exception):
    """The file is not a table the import can read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]  # data rows (the header excluded)
    invalid_encoding: bool = False
    ragged: list[int] = field(default_factory=list)  # file row numbers whose cell count differs from the header


# -- files ----------------------------------------------------------------------------------------

def store_file(store: Any, bucket: str, key: str, content: bytes, now: str) -> dict[str, Any]:
    record = {"bucket": bucket, "key": key, "size_bytes": len(content), "uploaded_at": now,
              "content": base64.b64encode(content).decode()}
    store.record_put(FILE_KIND, f"{bucket}/{key}", record)
    return {k: v for k, v in record.items() if k != "content"}


def load_file(store: Any, bucket: str, key: str) -> bytes | None:
    record = store.record_get(FILE_KIND, f"{bucket}/{key}")
    return base64.b64decode(record["content"]) if record else None


def detect_format(key: str, content: bytes) -> str | None:
    """``xlsx`` (a zip), ``csv`` (.csv, .txt or no extension), or None for other files."""
    name = key.lower().rsplit("/", 1)[-1]
    if content[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".csv", ".txt", ".tsv")) or "." not in name:
        return "csv"
    return None


def read_table(fmt: str, content: bytes) -> Table:
    """The table of a CSV or XLSX file. Raises ImportFileError for a file that cannot be read."""
    return _read_xlsx(content) if fmt == "xlsx" else _read_csv(content)


def _read_csv(content: bytes) -> Table:
    invalid = False
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text, invalid = content.decode("latin-1"), True
    lines = [line for line in csv.reader(io.StringIO(text), dialect=_dialect(text))]
    while lines and not any(cell.strip() for cell in lines[-1]):
        lines.pop()
    if not lines:
        return Table([], [], invalid)
    header = [cell.strip() for cell in lines[0]]
    rows = lines[1:]
    ragged = [i + 2 for i, row in enumerate(rows) if len(row) != len(header) and any(c.strip() for c in row)]
    return Table(header, rows, invalid, ragged)


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _read_xlsx(content: bytes) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError("FILE_FORMAT_UNSUPPORTED", f"the file is not a readable XLSX workbook: {exc}") from None
    try:
        sheet = workbook.worksheets[0]
        values = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    while values and all(v is None for v in values[-1]):
        values.pop()
    if not values:
        return Table([], [])
    header = [str(v).strip() if v is not None else "" for v in values[0]]
    while header and not header[-1]:
        header.pop()
    rows = [row[:len(header)] for row in values[1:]]
    return Table(header, rows)


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def preview(table: Table) -> dict[str, Any]:
    return {"columns": table.columns,
            "rows": [["" if v is None else str(v) for v in row] for row in table.rows[:PREVIEW_ROWS]]}


def payloads(table: Table) -> list[tuple[int, dict[str, Any]]]:
    """Each data row as ``(file row number, {column: value})`` without empty cells."""
    out = []
    for index, row in enumerate(table.rows):
        payload = {}
        for column, value in zip(table.columns, row, strict=False):
            if isinstance(value, str):
                value = value.strip()
            if column and value not in (None, ""):
                payload[column] = value
        if payload:
            out.append((index + 2, payload))
    return out


# -- what a mapping reads ---------------------------------------------------------------------------

def _column_of(source: str) -> str:
    if source.startswith("$"):
        source = source[1:].lstrip(".")
        match = re.match(r"\['([^']*)'\]|\[\"([^\"]*)\"\]", source)
        if match:
            return match[1] if match[1] is not None else match[2]
    return re.split(r"[.\[]", source, maxsplit=1)[0]


def _expression_columns(expression: str) -> set[str]:
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", expression)
    return {name for name in _IDENTIFIER.findall(text) if name not in _JSONATA_WORDS}


def _sources(spec: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(columns read by `field`, columns an expression may read) of one field or unique id."""
    exact, loose = set(), set()
    if isinstance(spec.get("field"), str) and spec["field"]:
        exact.add(_column_of(spec["field"]))
    if isinstance(spec.get("jsonataExpression"), str):
        loose |= _expression_columns(spec["jsonataExpression"])
    relations = spec.get("relations")
    if isinstance(relations, dict):
        for item in relations.get("items") or []:
            for unique in (item or {}).get("unique_ids") or []:
                e, loose_ = _sources(unique if isinstance(unique, dict) else {})
                exact |= e
                loose |= loose_
        if isinstance(relations.get("jsonataExpression"), str):
            loose |= _expression_columns(relations["jsonataExpression"])
    return exact, loose


def mapped_columns(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The columns an inbound configuration reads: ``{column, entity, unique, exact}`` per field."""
    out = []
    for entity in config.get("entities") or []:
        if not isinstance(entity, dict):
            continue
        schema = str(entity.get("entity_schema", ""))
        uniques = set(entity.get("unique_ids") or []) if isinstance(entity.get("unique_ids"), list) else set()
        for spec in entity.get("fields") or []:
            if not isinstance(spec, dict):
                continue
            exact, loose = _sources(spec)
            unique = spec.get("attribute") in uniques
            out += [{"column": col, "entity": schema, "unique": unique, "exact": True} for col in sorted(exact)]
            out += [{"column": col, "entity": schema, "unique": unique, "exact": False} for col in sorted(loose)]
    for reading in config.get("meter_readings") or []:
        if not isinstance(reading, dict):
            continue
        specs = list(reading.get("fields") or [])
        for ref in ("meter", "meter_counter"):
            specs += list(((reading.get(ref) or {}).get("unique_ids")) or [])
        for spec in specs:
            exact, loose = _sources(spec if isinstance(spec, dict) else {})
            out += [{"column": col, "entity": "meter_reading", "unique": False, "exact": True} for col in exact]
            out += [{"column": col, "entity": "meter_reading", "unique": False, "exact": False} for col in loose]
    return out


def matched_columns(config: dict[str, Any], columns: list[str]) -> int:
    read = {m["column"] for m in mapped_columns(config)}
    return sum(1 for column in columns if column in read)


# -- validation -------------------------------------------------------------------------------------

def validate(config: dict[str, Any], table: Table) -> dict[str, Any]:
    """The ErpImportValidation of a table against an inbound configuration. Raises MappingError when the
    configuration itself does not compile."""
    mapping = compile_mapping({"entities": config.get("entities") or [],
                               "meter_readings": config.get("meter_readings") or []})
    issues: list[dict[str, Any]] = []
    rows = payloads(table)
    if table.invalid_encoding:
        issues.append({"code": "INVALID_ENCODING", "severity": "blocking", "message": "the file is not UTF-8"})
    if not rows:
        issues.append({"code": "EMPTY_FILE", "severity": "blocking", "message": "the file has no data rows"})
    if len(rows) > MAX_ROWS:
        issues.append({"code": "TOO_MANY_ROWS", "severity": "blocking",
                       "message": f"{len(rows)} rows; an import takes at most {MAX_ROWS}"})
    present = set(table.columns)
    missing: dict[tuple[str, bool], list[dict[str, str]]] = {}
    for read in mapped_columns(config):
        if read["exact"] and read["column"] not in present:
            columns = missing.setdefault(("UNIQUE_ID_COLUMN_MISSING" if read["unique"] else "MAPPED_COLUMN_MISSING",
                                          read["unique"]), [])
            if all(c["name"] != read["column"] for c in columns):
                columns.append({"name": read["column"], "entity": read["entity"]})
    for (code, unique), columns in sorted(missing.items()):
        issues.append({"code": code, "severity": "blocking" if unique else "warning", "columns": columns,
                       "message": f"the mapping reads column{'s' if len(columns) > 1 else ''} "
                                  f"{', '.join(c['name'] for c in columns)}, which the file does not have"})
    entities: Counter[str] = Counter()
    ragged = set(table.ragged)
    for number, payload in rows:
        if number in ragged:
            issues.append({"code": "MALFORMED_ROW", "severity": "warning", "row": number,
                           "message": f"the row has another number of cells than the header ({len(table.columns)})"})
        try:
            result = mapping.apply(payload)
        except (MappingError, PayloadError) as exc:
            issues.append({"code": "MALFORMED_ROW", "severity": "warning", "row": number, "message": str(exc)})
            continue
        entities.update(u["entity_slug"] for u in result.entity_updates)
        if result.meter_readings_updates:
            entities["meter_reading"] += len(result.meter_readings_updates)
    blocking = sum(1 for i in issues if i["severity"] == "blocking")
    return {"total_rows": len(rows), "blocking": blocking, "warnings": len(issues) - blocking,
            "entities": dict(sorted(entities.items())), "issues": issues[:MAX_ISSUES]}
