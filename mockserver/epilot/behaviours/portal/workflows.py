"""Workflows of the customer's entities, as the portal shows them.

An entity's workflow follows from its history: the template for its schema, with the steps its
status has already passed marked done. Steps a portal user marks done are kept in records of kind
``workflow_step_done`` (parent: the workflow), so reads never write. Workflow ids are
``wf-<entity id>``, step ids ``step-<n>``.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours

DONE_KIND = "workflow_step_done"
TEMPLATES: dict[str, tuple[str, list[str], dict[str, int]]] = {
    # schema: (workflow name, step names, status -> number of steps already done)
    "order": ("Auftragsabwicklung", ["Auftrag prüfen", "Netzbetreiber anmelden", "Lieferbeginn bestätigen"],
              {"draft": 0, "quote": 0, "open_for_acceptance": 0, "placed": 1, "completed": 3, "cancelled": 1}),
    "contract": ("Vertragsbeginn", ["Vertrag prüfen", "Zähler zuordnen", "Belieferung starten"],
                 {"draft": 0, "in_approval_process": 1, "approved": 2, "active": 3, "terminated": 3, "expired": 3}),
    "opportunity": ("Anfrage bearbeiten", ["Anfrage sichten", "Angebot erstellen", "Rückmeldung des Kunden"],
                    {"open": 1, "in_progress": 2, "closed": 3, "won": 3, "lost": 3}),
}
GENERIC: tuple[str, list[str], dict[str, int]] = ("Bearbeitung", ["Eingang", "Prüfung", "Abschluss"], {})


def workflow_id(entity: dict[str, Any]) -> str:
    return f"wf-{entity['_id']}"


def _steps(call: Call, entity: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    name, names, by_status = TEMPLATES.get(entity["_schema"], GENERIC)
    wf = workflow_id(entity)
    done_before = by_status.get(str(entity.get("status")), 1 if entity.get("_updated_at") != entity.get(
        "_created_at") else 0)
    marked = {r["step_id"]: r for r in c.store(call).record_list(DONE_KIND, parent=wf)}
    steps = []
    for n, step_name in enumerate(names, start=1):
        step_id = f"step-{n}"
        done = n <= done_before or step_id in marked
        completed = marked[step_id]["completed_at"] if step_id in marked else (
            entity.get("_updated_at") if done else None)
        steps.append({"id": step_id, "name": step_name, "order": n, "done": done, "completed_at": completed})
    return name, steps


def _status(steps: list[dict[str, Any]]) -> str:
    return "DONE" if all(s["done"] for s in steps) else "STARTED"


def execution(call: Call, entity: dict[str, Any]) -> dict[str, Any]:
    """The workflow in the shape of ``getEntityWorkflows`` (WorkflowExecution)."""
    name, steps = _steps(call, entity)
    wf = workflow_id(entity)
    out: dict[str, Any] = {
        "id": wf, "definitionId": f"{entity['_schema']}-workflow", "name": name, "status": _status(steps),
        "trigger": "AUTOMATIC", "creationTime": entity.get("_created_at"), "lastUpdateTime": entity.get("_updated_at"),
        "flow": [_step_view(wf, s) for s in steps],
    }
    if out["status"] == "DONE":
        out["completedTime"] = max(s["completed_at"] or "" for s in steps) or entity.get("_updated_at")
    return {k: v for k, v in out.items() if v is not None}


def _step_view(wf: str, step: dict[str, Any]) -> dict[str, Any]:
    view = {"id": step["id"], "name": step["name"], "status": "COMPLETED" if step["done"] else "OPEN",
            "executionType": "MANUAL", "enabled": True, "entityRefId": f"{wf}:{step['id']}",
            "ecp": {"enabled": True, "label": step["name"]}}
    if step["completed_at"]:
        view["completedTime"] = step["completed_at"]
    return view


def linearized(call: Call, entity: dict[str, Any]) -> dict[str, Any]:
    """The workflow in the shape of ``getEntityPortalWorkflows`` (PortalWorkflow)."""
    name, steps = _steps(call, entity)
    first_open = next((s["id"] for s in steps if not s["done"]), None)
    tasks = []
    for s in steps:
        status = "COMPLETED" if s["done"] else ("IN_PROGRESS" if s["id"] == first_open else "PENDING")
        task: dict[str, Any] = {"id": s["id"], "name": s["name"], "order": s["order"], "status": status,
                                "is_active": s["id"] == first_open, "ecp": {"enabled": True, "label": s["name"]}}
        if s["completed_at"]:
            task["completed_at"] = s["completed_at"]
        tasks.append(task)
    out = {"id": workflow_id(entity), "definition_id": f"{entity['_schema']}-workflow", "name": name,
           "status": _status(steps), "version": 2, "created_at": entity.get("_created_at"),
           "updated_at": entity.get("_updated_at"), "is_path_complete": first_open is None, "tasks": tasks,
           "contexts": [{"entity_id": entity["_id"], "entity_schema": entity["_schema"], "is_primary": True}]}
    return {k: v for k, v in out.items() if v is not None}


@behaviours("getEntityWorkflows")
def get_entity_workflows(call: Call) -> Any:
    entity = c.load(call, call.params["id"], call.params["slug"])
    return call.json({"workflow_executions": [execution(call, entity)]})


@behaviours("getEntityPortalWorkflows")
def get_entity_portal_workflows(call: Call) -> Any:
    entity = c.load(call, call.params["id"], call.params["slug"])
    return call.json({"portal_workflows": [linearized(call, entity)]})


@behaviours("getEntityPortalWorkflowsBatch", reads_only=True)
def get_entity_portal_workflows_batch(call: Call) -> Any:
    results = []
    for ref in call.body["entities"]:
        entity = c.load(call, ref["id"], ref["slug"])
        results.append({"entity_id": entity["_id"], "portal_workflows": [linearized(call, entity)]})
    return call.json({"results": results})


@behaviours("updateWorkflowStepAsDone")
def update_workflow_step_as_done(call: Call) -> Any:
    wf, step_id = call.params["workflow_id"], call.params["step_id"]
    if not wf.startswith("wf-"):
        raise Reject("not_found", f"workflow {wf} not found")
    entity = c.load(call, wf[3:])
    _, steps = _steps(call, entity)
    step = next((s for s in steps if s["id"] == step_id), None)
    if step is None:
        raise Reject("not_found", f"workflow {wf} has no step {step_id}")
    if not step["done"]:
        now = c.world(call).now()
        c.store(call).record_put(DONE_KIND, f"{wf}/{step_id}", {"step_id": step_id, "completed_at": now}, parent=wf)
        step = {**step, "done": True, "completed_at": now}
    return call.json(_step_view(wf, step))
