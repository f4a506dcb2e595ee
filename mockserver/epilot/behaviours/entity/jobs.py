"""Jobs over many entities: CSV export, import (of an export's file), and wiping the organization.

An export writes its CSV as a ``file`` entity (tagged ``export``, ``export_job_id`` set) whose
content is kept as a record (``entity_file_content``, keyed by ``bucket/key`` of its ``s3ref``).
An import reads such a file back; its changes are grouped in one ``EntityImport`` activity.
Wiping moves the entities to the trash: they can be restored, and ``/__admin/reset`` restores the
seeded world.
"""

from __future__ import annotations

import contextlib
import csv
import io
from typing import Any

import orjson

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import activity as activities
from . import schema_store as schemas_
from . import trash
from .core import behaviours, caller, caller_org, changing
from .search import run_search
from .validation import all_attributes, validate

CONTENT = "entity_file_content"
IMPORT_JOB = "entity_import_job"
EXPORT_JOB = "entity_export_job"
BUCKET = "epilot-mock-exports"
SYSTEM_COLUMNS = ("_id", "_schema", "_title", "_tags", "_purpose", "_created_at", "_updated_at")
READ_ONLY = {"_schema", "_org", "_created_at", "_updated_at", "_deleted_at"}


def _columns(items: list[dict[str, Any]], fields: list[str] | None, schema: dict[str, Any] | None) -> list[str]:
    if fields:
        return [f for f in fields if not f.startswith("!") and "*" not in f]
    names = [a["name"] for a in all_attributes(schema)] if schema else []
    seen = set(SYSTEM_COLUMNS) | set(names)
    extra = sorted({k for e in items for k in e if k not in seen and not k.startswith("_")})
    return [*SYSTEM_COLUMNS, *[n for n in names if any(n in e for e in items) or not items], *extra]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list | bool):
        return orjson.dumps(value).decode()
    return str(value)


@behaviours("exportEntities")
def export_entities(call: Call) -> Any:
    w, st = c.world(call), c.store(call)
    job_id = str(call.params.get("job_id") or w.new_id())
    if st.record_get(EXPORT_JOB, job_id) is not None:
        raise Reject("conflict", f"Job {job_id} exists")
    body = dict(call.body) if isinstance(call.body, dict) else {"q": "*"}
    body.update({"from": 0, "size": 10_000})
    _, items = run_search(call, body)
    slugs = {e["_schema"] for e in items}
    schema = schemas_.get_schema(st, next(iter(slugs))) if len(slugs) == 1 else None
    fields = body.get("fields")
    columns = _columns(items, fields if isinstance(fields, list) else None, schema)
    labels = {a["name"]: a.get("label") or a["name"] for a in all_attributes(schema)} if schema else {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([labels.get(col, col) if call.params.get("language") == "de" else col for col in columns])
    rows = [] if call.params.get("is_template") else items
    for item in rows:
        writer.writerow([_cell(item.get(col)) for col in columns])
    content = out.getvalue()
    key = f"{caller_org(call)}/exports/{job_id}.csv"
    with changing(call, "createEntity"):
        file = c.create_entity(call, "file", {
            "filename": f"export-{job_id}.csv", "type": "spreadsheet", "mime_type": "text/csv",
            "size_bytes": len(content.encode()), "readable_size": f"{len(content.encode()) / 1024:.1f} KB",
            "access_control": "private", "s3ref": {"bucket": BUCKET, "key": key}, "file_date": w.now()[:10],
            "export_job_id": job_id, "_tags": ["export"]})
    st.record_put(CONTENT, f"{BUCKET}/{key}", {"bucket": BUCKET, "key": key, "file_id": file["_id"],
                                               "mime_type": "text/csv", "content": content})
    activities.create(st, w, activity_type="EntityExport", title="Entities exported",
                      message=f"{{{{caller}}}} exported {len(rows)} entities",
                      payload={"job_id": job_id, "rows": len(rows), "query": body.get("q"),
                               "s3ref": {"bucket": BUCKET, "key": key}, "file_id": file["_id"]},
                      entities=[file["_id"]], caller=caller(call))
    st.record_put(EXPORT_JOB, job_id, {"job_id": job_id, "status": "completed", "file_id": file["_id"],
                                       "rows": len(rows), "created_at": w.now()})
    return call.empty(201)


def _rows(content: str) -> list[dict[str, Any]]:
    text = content.lstrip()
    if text.startswith(("[", "{")):
        data = orjson.loads(text)
        return [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
    reader = csv.DictReader(io.StringIO(content))
    return [{k: _value(v) for k, v in row.items() if k and v not in (None, "")} for row in reader]


def _value(cell: str) -> Any:
    if cell[:1] in ("[", "{") or cell in ("true", "false"):
        try:
            return orjson.loads(cell)
        except orjson.JSONDecodeError:
            return cell
    return cell


def _typed(row: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    kinds = {a["name"]: a.get("type") for a in all_attributes(schema)}
    out = {}
    for key, value in row.items():
        if key in READ_ONLY:
            continue
        if kinds.get(key) in ("number", "currency") and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = int(value) if value.lstrip("-").isdigit() else float(value)
        out[key] = value
    return out


@behaviours("importEntities")
def import_entities(call: Call) -> Any:
    w, st = c.world(call), c.store(call)
    body = call.body if isinstance(call.body, dict) else {}
    ref = body.get("S3Reference") or {}
    stored = st.record_get(CONTENT, f"{ref.get('bucket')}/{ref.get('key')}") if ref else None
    if stored is None:
        raise Reject("not_found", f"no file at s3://{ref.get('bucket')}/{ref.get('key')} (import an export's s3ref)")
    schema = schemas_.require(st, str(body["schema"]))
    job_id = str(call.params.get("job_id") or w.new_id())
    if st.record_get(IMPORT_JOB, job_id) is not None:
        raise Reject("conflict", f"Job {job_id} exists")
    try:
        rows = _rows(stored["content"])
    except (orjson.JSONDecodeError, csv.Error) as exc:
        raise Reject("bad_request", f"the file is neither CSV nor JSON: {exc}") from None
    activity = activities.create(st, w, activity_type="EntityImport", title="Entities imported",
                                 message="{{caller}} imported {{payload.written}} entities",
                                 payload={"job_id": job_id, "schema": schema["slug"], "s3ref": ref},
                                 entities=[stored["file_id"]] if stored.get("file_id") else [], caller=caller(call))
    written, failed = [], []
    with activities.operation_context(activity_id=activity["_id"], caller=caller(call)):
        for number, row in enumerate(rows, start=1):
            attributes = _typed(row, schema)
            errors = validate(schema, {k: v for k, v in attributes.items() if not k.startswith("_")}, partial=True)
            if errors:
                failed.append({"row": number, "errors": [e["message"] for e in errors]})
                continue
            existing = st.get(str(attributes.get("_id"))) if attributes.get("_id") else None
            if existing is not None and existing.get("_schema") == schema["slug"]:
                entity = c.save(call, c.apply_patch(call, existing, attributes))
            else:
                free = attributes.get("_id") and existing is None and trash.get(st, str(attributes["_id"])) is None
                entity = c.create_entity(call, schema["slug"], attributes,
                                         entity_id=str(attributes["_id"]) if free else None)
            written.append(entity["_id"])
    activity = activities.get(st, activity["_id"]) or activity
    activity["payload"].update(written=len(written), failed=failed)
    st.record_put(activities.KIND, activity["_id"], activity)
    st.record_put(IMPORT_JOB, job_id, {"job_id": job_id, "schema": schema["slug"], "status": "completed",
                                       "written": written, "failed": failed, "activity_id": activity["_id"],
                                       "created_at": w.now()})
    return call.empty(201)


@behaviours("abortEntityImport")
def abort_entity_import(call: Call) -> Any:
    st = c.store(call)
    job = st.record_get(IMPORT_JOB, call.params["job_id"])
    if job is None or job.get("schema") != call.params["schema"]:
        raise Reject("not_found", f"no import job {call.params['job_id']} for schema {call.params['schema']}")
    job["status"] = "aborted"
    st.record_put(IMPORT_JOB, job["job_id"], job)
    return call.json({"status": "aborted", "jobPollId": job["job_id"]}, status=202)


@behaviours("wipeAllEntities")
def wipe_all_entities(call: Call) -> Any:
    st, w = c.store(call), c.world(call)
    body = call.body if isinstance(call.body, dict) else {}
    slugs = body.get("schemas") or sorted(st.counts_by_schema())
    org = caller_org(call)
    now = w.now()
    activity = activities.create(st, w, activity_type="EntitiesWiped", title="Entities wiped",
                                 message="{{caller}} moved the organization's entities to the trash",
                                 payload={"schemas": list(slugs)}, caller=caller(call))
    with activities.operation_context(activity_id=activity["_id"], operation="softDeleteEntity", caller=caller(call)):
        for slug in slugs:
            for entity in [e for e in st.iter_schema(slug) if str(e.get("_org")) == org]:
                trashed = trash.move_to_trash(st, entity, now)
                w.emit({"type": "entity.deleted", "schema": slug, "entity": trashed, "source": call.op.api.name,
                        "operation": call.op.id})
    return call.empty(201)
