"""ERP Integration API imports: a CSV or XLSX file (in the mock's S3, see :mod:`..erp.imports`) becomes a
job; validation maps every row with an inbound use case and reports per-row issues; execution runs each
row through :func:`.erp_inbound.process_event`, exactly as an inbound event of that use case, under the
job's correlation id (so monitoring and traces show it).

Records: ``erp_import`` (id: import id).
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from ..erp import imports
from ..erp.mapping import MappingError
from . import common as c
from .erp_common import behaviours, erp_operation, limit_of, page_after, use_cases
from .erp_inbound import premap, process_event

IMPORT_KIND = "erp_import"
VALIDATABLE = ("PENDING", "READY", "FAILED")
ABORTABLE = ("PENDING", "VALIDATING", "READY", "FAILED")


def _job(call: Call) -> dict[str, Any]:
    job = c.store(call).record_get(IMPORT_KIND, call.params["importId"])
    if job is None:
        raise Reject("not_found", f"import {call.params['importId']} not found")
    return job


def _save(call: Call, job: dict[str, Any]) -> dict[str, Any]:
    job["updated_at"] = c.world(call).now()
    c.store(call).record_put(IMPORT_KIND, job["import_id"], job)
    return job


def _table(call: Call, job: dict[str, Any]) -> imports.Table | None:
    """The job's table; None (and the job FAILED) when the file is gone or unreadable."""
    ref = job["s3_input_ref"]
    content = imports.load_file(c.store(call), ref["bucket"], ref["key"])
    if content is None:
        job.update({"status": "FAILED", "error": {"code": "FILE_UNAVAILABLE",
                                                  "message": f"no file at s3://{ref['bucket']}/{ref['key']}"}})
        return None
    try:
        return imports.read_table(job["format"], content)
    except imports.ImportFileError as exc:
        job.update({"status": "FAILED", "error": {"code": exc.code, "message": exc.message}})
        return None


@erp_operation("createErpImport")
def create_erp_import(call: Call) -> Any:
    body = call.body
    ref = {"bucket": body["s3_reference"]["bucket"], "key": body["s3_reference"]["key"]}
    st = c.store(call)
    w = c.world(call)
    if body.get("import_id"):
        existing = st.record_get(IMPORT_KIND, body["import_id"])
        if existing is not None:
            if existing["s3_input_ref"] != ref:
                raise Reject("conflict", f"import {body['import_id']} exists for another file")
            return call.json({"job": existing}, status=200)
    content = imports.load_file(st, ref["bucket"], ref["key"])
    if content is None:
        raise Reject("not_found", f"no file at s3://{ref['bucket']}/{ref['key']} (upload it with PUT "
                                  "/__admin/erp/files?bucket=...&key=...)")
    fmt = imports.detect_format(ref["key"], content)
    if fmt is None:
        raise Reject("bad_request", f"{ref['key']}: an import reads CSV or XLSX files")
    now = w.now()
    job: dict[str, Any] = {"import_id": body.get("import_id") or w.new_id(), "org_id": w.org_id,
                           "created_by": call.principal.subject, "format": fmt, "status": "PENDING",
                           "s3_input_ref": ref, "size_bytes": len(content), "created_at": now, "updated_at": now}
    job["correlation_id"] = f"erp-import-{job['import_id']}"
    response: dict[str, Any] = {}
    try:
        table = imports.read_table(fmt, content)
    except imports.ImportFileError as exc:
        job.update({"status": "FAILED", "error": {"code": exc.code, "message": exc.message}})
    else:
        job["column_count"] = len(table.columns)
        if body.get("include_preview"):
            response["preview"] = imports.preview(table)
    st.record_put(IMPORT_KIND, job["import_id"], job)
    return call.json({"job": job, **response}, status=201)


@erp_operation("listErpImports", reads_only=True)
def list_erp_imports(call: Call) -> Any:
    jobs = c.store(call).record_list(IMPORT_KIND, newest_first=True)
    page, more = page_after(jobs, "import_id", call.params.get("cursor"), limit_of(call.params.get("limit"), 25, 100))
    return call.json({"results": page, "next_cursor": page[-1]["import_id"] if more else None})


@erp_operation("getErpImport")
def get_erp_import(call: Call) -> Any:
    return call.json(_job(call))


@erp_operation("deleteErpImport")
def delete_erp_import(call: Call) -> Any:
    job = _job(call)
    c.store(call).record_delete(IMPORT_KIND, job["import_id"])
    return call.empty(204)


def _inbound_use_case(call: Call, integration_id: str, slug: str) -> tuple[dict[str, Any], dict[str, Any]]:
    owner = c.store(call).record_get("erp_integration", integration_id)
    if owner is None:
        raise Reject("not_found", f"integration {integration_id} not found")
    record = next((u for u in use_cases(call, integration_id) if u.get("slug") == slug), None)
    if record is None:
        raise Reject("not_found", f"integration {integration_id} has no use case {slug}")
    if record.get("type") != "inbound":
        raise Reject("unprocessable", f"use case {slug} is an {record.get('type')} use case; imports need an "
                                      "inbound one")
    if not record.get("enabled", True):
        raise Reject("unprocessable", f"use case {slug} is disabled")
    return owner, record


@erp_operation("validateErpImport")
def validate_erp_import(call: Call) -> Any:
    job = _job(call)
    if job["status"] not in VALIDATABLE:
        raise Reject("conflict", f"import {job['import_id']} is {job['status']}; it cannot be validated")
    _, record = _inbound_use_case(call, call.body["integration_id"], call.body["use_case_slug"])
    job.update({"integration_id": call.body["integration_id"], "use_case_slug": call.body["use_case_slug"]})
    job.pop("error", None)
    table = _table(call, job)
    if table is not None:
        try:
            validation = imports.validate(record.get("configuration") or {}, table)
        except MappingError as exc:
            raise Reject("unprocessable", f"use case {record.get('slug')} cannot map rows: {exc}") from None
        job["validation"] = validation
        if validation["blocking"]:
            job.update({"status": "FAILED", "error": {
                "code": "VALIDATION_BLOCKED", "message": f"validation found {validation['blocking']} blocking "
                                                         f"issue{'s' if validation['blocking'] > 1 else ''}"}})
        else:
            job["status"] = "READY"
    return call.json(_save(call, job), status=202)


@erp_operation("suggestErpImportUseCases")
def suggest_erp_import_use_cases(call: Call) -> Any:
    job = _job(call)
    table = _table(call, job)
    columns = table.columns if table is not None else []
    suggestions = []
    for owner in c.store(call).record_list("erp_integration"):
        for record in use_cases(call, owner["id"]):
            if record.get("type") != "inbound" or not record.get("slug"):
                continue
            config = record.get("configuration") or {}
            matched = imports.matched_columns(config, columns)
            if matched:
                suggestions.append({"integration_id": owner["id"], "integration_name": owner.get("name") or "",
                                    "use_case_slug": record["slug"], "use_case_name": record.get("name") or "",
                                    "entity_types": len(config.get("entities") or []), "matched_columns": matched})
    suggestions.sort(key=lambda s: (-s["matched_columns"], s["integration_name"], s["use_case_slug"]))
    return call.json({"file_columns": len(columns), "suggestions": suggestions})


@erp_operation("executeErpImport", reads_only=True)  # rows mapped in the sandbox, then written under the lock
async def execute_erp_import(call: Call) -> Any:
    job = _ready_job(call)
    owner, record = _inbound_use_case(call, job["integration_id"], job["use_case_slug"])
    table = _table(call, job)
    if table is None:
        async with call.services.atomic():
            return call.json(_save(call, job), status=202)
    rows = imports.payloads(table)
    w = c.world(call)
    events = [{"event_type": "UPDATE", "object_type": record["slug"], "use_case_id": record["id"],
               "timestamp": w.now(), "format": "json", "payload": payload, "import_id": job["import_id"],
               "import_row": number} for number, payload in rows]
    mapped = await premap(call, owner, events)
    async with call.services.atomic():
        job = _ready_job(call)  # nobody executed or aborted it meanwhile
        job["status"] = "PROCESSING"
        succeeded = 0
        for event, result in zip(events, mapped, strict=True):
            outcome = process_event(call, owner, event, job["correlation_id"], source="erp-import", mapped=result)
            succeeded += outcome["status"] == "success"
        job["progress"] = {"processed_rows": len(rows), "total_rows": len(rows)}
        if rows and not succeeded:
            job.update({"status": "FAILED", "error": {"code": "IMPORT_NO_PROGRESS", "message": (
                f"no row could be imported; the monitoring of correlation id {job['correlation_id']} says why")}})
        else:
            job["status"] = "IMPORTED"
        return call.json(_save(call, job), status=202)


def _ready_job(call: Call) -> dict[str, Any]:
    job = _job(call)
    if job["status"] != "READY":
        hint = "; validate it first" if job["status"] in ("PENDING", "FAILED") else ""
        raise Reject("conflict", f"import {job['import_id']} is {job['status']}{hint}")
    validation = job.get("validation") or {}
    if validation.get("warnings") and not (call.body or {}).get("ack_warnings"):
        count = validation["warnings"]
        raise Reject("unprocessable", f"validation found {count} warning{'s' if count > 1 else ''}; execute with "
                                      "ack_warnings true to import anyway")
    return job


@erp_operation("abortErpImport")
def abort_erp_import(call: Call) -> Any:
    job = _job(call)
    if job["status"] not in ABORTABLE:
        raise Reject("conflict", f"import {job['import_id']} is {job['status']}; it cannot be aborted")
    job["status"] = "CANCELLED"
    return call.json(_save(call, job), status=202)

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
