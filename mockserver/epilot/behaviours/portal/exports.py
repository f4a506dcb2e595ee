"""Data exports of the logged-in portal user (CSV of their entities of one schema) and the data
behind extension charts (visualization metadata and CSV exports of consumption).

Exports run at once: the job is ``ready`` when created and its CSV is kept in the ``portal_export``
record (``downloadUrl`` names it).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .config import portal_of_call
from .links import extension

EXPORT_KIND = "portal_export"
DOWNLOADS = "https://files.epilot-mock.local"


def _cell(entity: dict[str, Any], column: dict[str, Any]) -> str:
    source = column.get("source") or {}
    value: Any = entity.get(source.get("attribute", ""))
    formatter = column.get("formatter")
    if formatter == "money_cents" and isinstance(value, (int, float)):
        return f"{value / 100:.2f}"
    if formatter == "date" and isinstance(value, str):
        return value[:10]
    if formatter == "enum" and isinstance(column.get("enum_labels"), dict):
        labels = column["enum_labels"].get(str(value)) or {}
        return str(labels.get("de") or labels.get("en") or value or "")
    if isinstance(value, dict):
        if "$relation" in value:
            return ", ".join(i.get("entity_id", "") for i in value["$relation"] if isinstance(i, dict))
        return " ".join(str(v) for k, v in value.items() if not k.startswith("_"))
    if isinstance(value, list):
        return ", ".join(str(v.get("email") or v.get("phone") or v.get("street") or v) if isinstance(v, dict)
                         else str(v) for v in value)
    return "" if value is None else str(value)


@behaviours("createExport")
def create_export(call: Call) -> Any:
    body = call.body
    language = body.get("language") or "de"
    rows = c.visible_of_schema(call, body["schema"])
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [col for col in body["columns"] if isinstance(col, dict)]
    writer.writerow([(col.get("header") or {}).get(language) or col.get("key", "") for col in columns])
    for entity in rows:
        writer.writerow([_cell(entity, col) for col in columns])
    w = c.world(call)
    job = {"jobId": w.new_id(), "status": "ready", "schema": body["schema"], "rows": len(rows),
           "csv": out.getvalue(), "owner": call.principal.subject, "created_at": w.now()}
    job["downloadUrl"] = f"{DOWNLOADS}/exports/{job['jobId']}.csv"
    c.store(call).record_put(EXPORT_KIND, job["jobId"], job, parent=call.principal.subject)
    return call.json({"jobId": job["jobId"], "status": job["status"]}, status=202)


@behaviours("getExport")
def get_export(call: Call) -> Any:
    job = c.store(call).record_get(EXPORT_KIND, call.params["jobId"])
    if job is None or job.get("owner") != call.principal.subject:
        raise Reject("not_found", f"export {call.params['jobId']} not found")
    return call.json({"jobId": job["jobId"], "status": job["status"], "downloadUrl": job["downloadUrl"]})


def _hook(definition: dict[str, Any], kinds: tuple[str, ...], hook_id: str | None = None) -> dict[str, Any] | None:
    for hook in definition.get("hooks") or []:
        if (hook_id and hook.get("id") == hook_id) or (not hook_id and hook.get("type") in kinds):
            return hook
    return None


@behaviours("getVisualizationMetadata")
def get_visualization_metadata(call: Call) -> Any:
    definition = extension(call, portal_of_call(call), call.params["extensionId"], call.params["app_id"])
    options = []
    for kind, label, unit in (("consumptionDataRetrieval", {"de": "Verbrauch", "en": "Consumption"}, "kWh"),
                              ("costDataRetrieval", {"de": "Kosten", "en": "Costs"}, "EUR"),
                              ("priceDataRetrieval", {"de": "Preise", "en": "Prices"}, "EUR/kWh")):
        hook = _hook(definition, (kind,))
        if hook is not None:
            options.append({"id": hook["id"], "label": label, "statistical_method": "sum" if unit != "EUR/kWh"
                            else "average", "unit": unit, "color": "primary", "precision": 2})
    intervals = sorted({i for h in definition.get("hooks") or [] for i in h.get("intervals") or []},
                       key=["PT15M", "PT1H", "P1D", "P1M"].index)
    readings = c.visible_of_schema(call, "meter_reading", limit=2000)
    stamps = sorted(str(r.get("timestamp") or r.get("_created_at")) for r in readings if r.get("timestamp")
                    or r.get("_created_at"))
    out: dict[str, Any] = {"type_options": options, "intervals": intervals}
    if stamps:
        out["data_range"] = {"from": _datetime(stamps[0]), "to": _datetime(stamps[-1])}
    return call.json(out)


def _datetime(value: str) -> str:
    return value if "T" in value else f"{value[:10]}T00:00:00Z"


@behaviours("prepareVisualizationExport")
def prepare_visualization_export(call: Call) -> Any:
    body = call.body
    definition = extension(call, portal_of_call(call), body["extension_id"], body["app_id"])
    hook = _hook(definition, ("consumptionDataRetrieval",), body.get("hook_id"))
    if hook is None:
        raise Reject("not_found", f"extension {definition['id']} has no hook {body.get('hook_id')}")
    readings = c.visible_of_schema(call, "meter_reading", limit=5000)
    lo, hi = body.get("from") or "", body.get("to") or "\uffff"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["timestamp", "value", "unit"])
    for r in sorted(readings, key=lambda r: str(r.get("timestamp", ""))):
        if lo <= str(r.get("timestamp", "")) <= hi:
            writer.writerow([r.get("timestamp"), r.get("value"), r.get("unit") or "kWh"])
    w = c.world(call)
    job_id = w.new_id()
    c.store(call).record_put(EXPORT_KIND, job_id, {"jobId": job_id, "status": "ready", "csv": out.getvalue(),
                                                   "owner": call.principal.subject, "created_at": w.now()},
                             parent=call.principal.subject)
    return call.json({"download_url": f"{DOWNLOADS}/visualization/{job_id}.csv", "filename": f"{hook['id']}.csv",
                      "content_type": "text/csv", "expires_at": _plus_hour(w.now())})


def _plus_hour(now: str) -> str:
    from datetime import datetime, timedelta

    moment = datetime.strptime(now[:19], "%Y-%m-%dT%H:%M:%S") + timedelta(hours=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
