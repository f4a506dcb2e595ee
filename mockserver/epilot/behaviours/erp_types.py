"""ERP Integration API type generation for connector integrations: preview the managed calls' shapes
(learned from executed calls), generate the TypeScript package, commit a version."""

from __future__ import annotations

import copy
from typing import Any

from mockserver.engine.call import Call

from ..erp import typegen
from . import common as c
from .erp_common import behaviours, erp_operation, integration, use_cases


def _previews(call: Call, owner: dict[str, Any]) -> list[dict[str, Any]]:
    st = c.store(call)
    out = []
    for record in use_cases(call, owner["id"]):
        if record.get("type") != "managed_call":
            continue
        sample = st.record_get(typegen.SAMPLE_KIND, record["id"])
        request, response = typegen.shapes(sample, record.get("type_annotations"))
        preview: dict[str, Any] = {"slug": record.get("slug") or record["id"], "name": record.get("name", ""),
                                   "request_shape": request, "response_shape": response}
        if record.get("type_annotations"):
            preview["existing_annotations"] = record["type_annotations"]
        out.append(preview)
    return out


@erp_operation("generateTypesPreview")
def generate_types_preview(call: Call) -> Any:
    owner = integration(call)
    previews = _previews(call, owner)
    snapshot = c.store(call).record_get(typegen.SNAPSHOT_KIND, owner["id"]) or {}
    detected = [change for p in previews for change in typegen.changes(
        p["slug"], snapshot.get(p["slug"]), {"request": p["request_shape"], "response": p["response_shape"]})]
    previous = (owner.get("connector_config") or {}).get("latest_types_version")
    body: dict[str, Any] = {"integration_name": owner.get("name", ""), "use_cases": previews,
                            "detected_changes": detected}
    breaking = any(change["type"] == "breaking" for change in detected)
    body["suggested_version"] = typegen.bump(previous, breaking)
    if previous:
        body.update({"previous_version": previous, "suggested_bump": "major" if breaking else "minor"})
    return call.json(body)


@erp_operation("generateTypes")
def generate_types(call: Call) -> Any:
    owner = integration(call)
    body = call.body
    files, warnings = typegen.package(body["package_name"], body["version"], body.get("description"),
                                      _previews(call, owner), body.get("annotations") or {})
    return call.json({"package_name": body["package_name"], "version": body["version"], "files": files,
                      "warnings": warnings})


@erp_operation("commitTypes")
def commit_types(call: Call) -> Any:
    owner = copy.deepcopy(integration(call))
    body = call.body
    st = c.store(call)
    w = c.world(call)
    warnings = []
    connector = owner.setdefault("connector_config", {})
    versions = [v for v in connector.get("types_versions") or [] if v.get("version") != body["version"]]
    if len(versions) != len(connector.get("types_versions") or []):
        warnings.append(f"version {body['version']} was committed before; it is replaced")
    for version in versions:
        version["status"] = "deprecated"
    versions.append({"version": body["version"], "package_name": body["package_name"], "generated_at": w.now(),
                     "generated_by": call.principal.subject, "status": "active"})
    connector.update({"types_versions": versions, "latest_types_version": body["version"],
                      "latest_types_package_name": body["package_name"]})
    owner["updated_at"] = w.now()
    st.record_put("erp_integration", owner["id"], owner)
    annotations = body.get("annotations") or {}
    for record in use_cases(call, owner["id"]):
        if record.get("type") == "managed_call" and record.get("slug") in annotations:
            st.record_put("erp_use_case", record["id"], {**record, "type_annotations": annotations[record["slug"]]},
                          parent=owner["id"])
    snapshot = {p["slug"]: {"request": p["request_shape"], "response": p["response_shape"]}
                for p in _previews(call, owner)}
    st.record_put(typegen.SNAPSHOT_KIND, owner["id"], snapshot)
    return call.json({"committed": True, "warnings": warnings})

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
