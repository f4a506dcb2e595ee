"""Taxonomy bulk jobs: move classifications to another taxonomy, merge them into one, delete them.
A job runs when it is started (its entities change at once) and is stored as a record
(``entity_taxonomy_job``) with its output; cancelling a finished job returns it unchanged."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from .core import behaviours, caller_org
from .taxonomy import CLASSIFICATION, JOB, _store, classification, taxonomy, unclassify


def _job_id(raw: Any) -> str:
    """A job id as a UUID (the published type): a client's own id that is not one maps to one."""
    text = str(raw or "")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"epilot-mock:taxonomy-job:{text}"))


def _start(call: Call, action: str, request: dict[str, Any], run: Any) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    st = _store(call)
    job_id = _job_id(body["job_id"]) if body.get("job_id") else c.world(call).new_id()
    if st.record_get(JOB, job_id) is not None:
        raise Reject("conflict", f"Job {body.get('job_id')} exists")
    now = c.world(call).now()
    ids = [str(i) for i in body.get("classification_ids") or []]
    found = []
    for ident in ids:
        with contextlib.suppress(Reject):
            found.append(classification(call, ident))
    targets, changed = run(found)
    job = {"job_id": job_id, "job_status": "COMPLETED", "action_type": action,
           "request": {**request, "classification_ids": ids},
           "output": {"target_entities_count": targets, "affected_entities_count": changed,
                      "failures_count": len(ids) - len(found), "failed_entities": []},
           "created_by": call.principal.subject, "created_at": now, "updated_at": now, "org": caller_org(call)}
    if len(found) < len(ids):
        job["failure_reason"] = f"{len(ids) - len(found)} classification(s) not found"
    st.record_put(JOB, job_id, job)
    return call.json({"job_id": job_id, "status": job["job_status"]})


@behaviours("bulkMoveClassifications")
def bulk_move_classifications(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    target = taxonomy(call, str(body.get("target_taxonomy") or "purpose"))["slug"]

    def run(found: list[dict[str, Any]]) -> tuple[int, int]:
        st = _store(call)
        for doc in found:
            st.record_put(CLASSIFICATION, doc["id"], {**doc, "taxonomy": target, "updated_at": c.world(call).now()},
                          parent=target)
        return 0, 0  # entities keep their classification ids

    return _start(call, "MOVE_CLASSIFICATIONS", {"target_taxonomy": target}, run)


@behaviours("bulkMergeClassifications")
def bulk_merge_classifications(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    if not body.get("target_classification"):
        raise Reject("not_found", "give 'target_classification': the classification to merge into")
    target = classification(call, str(body["target_classification"]))

    def run(found: list[dict[str, Any]]) -> tuple[int, int]:
        merged = [d for d in found if d["id"] != target["id"]]
        for doc in merged:
            _store(call).record_delete(CLASSIFICATION, doc["id"])
        return unclassify(call, [d["id"] for d in merged], replacement=target["id"])

    return _start(call, "MERGE_CLASSIFICATIONS", {"target_classification": target["id"]}, run)


@behaviours("bulkDeleteClassifications")
def bulk_delete_classifications(call: Call) -> Any:
    def run(found: list[dict[str, Any]]) -> tuple[int, int]:
        for doc in found:
            _store(call).record_delete(CLASSIFICATION, doc["id"])
        return unclassify(call, [d["id"] for d in found])

    return _start(call, "DELETE_CLASSIFICATIONS", {}, run)


def _load(call: Call) -> dict[str, Any]:
    st = _store(call)
    job = st.record_get(JOB, call.params["job_id"]) or st.record_get(JOB, _job_id(call.params["job_id"]))
    if job is None:
        raise Reject("not_found", f"Job {call.params['job_id']} not found")
    return job


@behaviours("getTaxonomyBulkActionJobs")
def get_taxonomy_bulk_action_jobs(call: Call) -> Any:
    p = call.params
    jobs = [j for j in _store(call).record_list(JOB, newest_first=True) if j.get("org") == caller_org(call)]
    if p.get("scope") == "me":
        jobs = [j for j in jobs if j.get("created_by") == call.principal.subject]
    if p.get("status"):
        jobs = [j for j in jobs if j.get("job_status") in p["status"]]
    if p.get("created_after"):
        jobs = [j for j in jobs if str(j.get("created_at")) > str(p["created_after"])]
    if p.get("sort_pending_first"):
        jobs.sort(key=lambda j: j.get("job_status") != "PENDING")
    if p.get("size") is not None:
        jobs = jobs[:max(0, int(p["size"]))]
    return call.json(jobs)


@behaviours("getTaxonomyBulkActionJobById")
def get_taxonomy_bulk_action_job_by_id(call: Call) -> Any:
    return call.json(_load(call))


@behaviours("cancelBulkAction")
def cancel_bulk_action(call: Call) -> Any:
    job = _load(call)
    if job.get("job_status") == "PENDING":
        job.update(job_status="CANCELLED", updated_at=c.world(call).now())
        _store(call).record_put(JOB, job["job_id"], job)
    return call.json(job)
