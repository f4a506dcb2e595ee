"""ERP Integration API (v1 configuration): integrations without embedded use cases (the same records as
v2), use case history, documentation pages and app component mappings.

Records: ``erp_doc`` (integration + page id, parent: integration), ``erp_app_mapping`` (app +
component, parent: integration).
"""

from __future__ import annotations

import copy
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from . import common as c
from .erp_common import (
    behaviours,
    delete_integration_records,
    erp_operation,
    history,
    integration,
    page_after,
    use_case,
    use_cases,
)

DOC_KIND = "erp_doc"
APP_MAPPING_KIND = "erp_app_mapping"
HISTORY_PAGE = 20


# -- integrations (v1) ----------------------------------------------------------------------------

def _integration_only(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "use_cases"}


@erp_operation("listIntegrations")
def list_integrations(call: Call) -> Any:
    return call.json({"integrations": [_integration_only(i) for i in c.store(call).record_list("erp_integration")]})


@erp_operation("createIntegration")
def create_integration(call: Call) -> Any:
    w = c.world(call)
    now = w.now()
    record = {**_integration_only(call.body), "id": w.new_id(), "orgId": w.org_id, "created_at": now,
              "updated_at": now}
    c.store(call).record_put("erp_integration", record["id"], record)
    return call.json(record, status=201)


@erp_operation("getIntegration")
def get_integration(call: Call) -> Any:
    return call.json(_integration_only(integration(call)))


@erp_operation("updateIntegration")
def update_integration(call: Call) -> Any:
    record = copy.deepcopy(integration(call))
    record.update(_integration_only(call.body))
    record["updated_at"] = c.world(call).now()
    c.store(call).record_put("erp_integration", record["id"], record)
    return call.json(_integration_only(record))


@erp_operation("deleteIntegration")
def delete_integration(call: Call) -> Any:
    record = integration(call)
    delete_integration_records(call, record["id"])
    return call.json({"message": f"Integration {record['id']} deleted"})


@erp_operation("listUseCaseHistory")
def list_use_case_history(call: Call) -> Any:
    record = use_case(call)
    entries, more = page_after(history(call, record["id"]), "id", call.params.get("cursor"), HISTORY_PAGE)
    body: dict[str, Any] = {"history": entries}
    if more:
        body["next_cursor"] = entries[-1]["id"]
    return call.json(body)


# -- documentation pages --------------------------------------------------------------------------

def _page_key(integration_id: str, doc_id: str) -> str:
    return f"{integration_id}:{doc_id}"


def _writable(call: Call) -> dict[str, Any]:
    record = integration(call)
    if record.get("protected"):
        raise Reject("forbidden", f"integration {record['id']} is protected")
    return record


@erp_operation("listDocumentationPages")
def list_documentation_pages(call: Call) -> Any:
    owner = integration(call)
    pages = sorted(c.store(call).record_list(DOC_KIND, parent=owner["id"]), key=lambda p: p["id"])
    return call.json({"pages": [{k: v for k, v in p.items() if k != "content"} for p in pages]})


@erp_operation("getDocumentationPage")
def get_documentation_page(call: Call) -> Any:
    owner = integration(call)
    page = c.store(call).record_get(DOC_KIND, _page_key(owner["id"], call.params["docId"]))
    if page is None:
        raise Reject("not_found", f"documentation page {call.params['docId']} not found")
    return call.json(page)


@erp_operation("upsertDocumentationPage")
def upsert_documentation_page(call: Call) -> Any:
    owner = _writable(call)
    doc_id = call.params["docId"]
    w = c.world(call)
    st = c.store(call)
    key = _page_key(owner["id"], doc_id)
    now = w.now()
    page = st.record_get(DOC_KIND, key) or {"id": doc_id, "integration_id": owner["id"], "created_at": now,
                                            "created_by": call.principal.subject}
    page.update({"title": call.body["title"], "content": call.body["content"], "updated_at": now,
                 "updated_by": call.principal.subject})
    if any(u["id"] == doc_id for u in use_cases(call, owner["id"])):
        page.update({"scope": "use_case", "use_case_id": doc_id})
    else:
        page["scope"] = "integration"
        page.pop("use_case_id", None)
    st.record_put(DOC_KIND, key, page, parent=owner["id"])
    return call.json(page)


@erp_operation("deleteDocumentationPage")
def delete_documentation_page(call: Call) -> Any:
    owner = _writable(call)
    if not c.store(call).record_delete(DOC_KIND, _page_key(owner["id"], call.params["docId"])):
        raise Reject("not_found", f"documentation page {call.params['docId']} not found")
    return call.json({"message": f"Documentation page {call.params['docId']} deleted"})


# -- app mappings ---------------------------------------------------------------------------------

def mapped_integration(store: Any, app_id: str, component_id: str) -> str | None:
    """The integration an app component is mapped to (v1 events name it this way)."""
    mapping = store.record_get(APP_MAPPING_KIND, f"{app_id}:{component_id}")
    return mapping["integration_id"] if mapping else None


@erp_operation("setIntegrationAppMapping")
def set_integration_app_mapping(call: Call) -> Any:
    owner = integration(call)
    body = call.body
    st = c.store(call)
    key = f"{body['app_id']}:{body['component_id']}"
    current = st.record_get(APP_MAPPING_KIND, key)
    if current and current["integration_id"] != owner["id"]:
        if not body.get("overwrite"):
            raise Reject("conflict", f"app {body['app_id']} component {body['component_id']} is mapped to "
                                     f"integration {current['integration_id']}; set overwrite to move it")
        _forget_app(call, current["integration_id"], body["app_id"], key)
    mapping = {"key": key, "integration_id": owner["id"], "app_id": body["app_id"],
               "component_id": body["component_id"]}
    st.record_put(APP_MAPPING_KIND, key, mapping, parent=owner["id"])
    if body["app_id"] not in (owner.get("app_ids") or []):
        st.record_put("erp_integration", owner["id"], {**owner, "app_ids": [*(owner.get("app_ids") or []),
                                                                              body["app_id"]]})
    return call.json({k: mapping[k] for k in ("integration_id", "app_id", "component_id")})


@erp_operation("deleteIntegrationAppMapping")
def delete_integration_app_mapping(call: Call) -> Any:
    owner = integration(call)
    key = f"{call.body['app_id']}:{call.body['component_id']}"
    current = c.store(call).record_get(APP_MAPPING_KIND, key)
    if current is None or current["integration_id"] != owner["id"]:
        raise Reject("not_found", f"app {call.body['app_id']} component {call.body['component_id']} is not mapped "
                                  f"to integration {owner['id']}")
    _forget_app(call, owner["id"], call.body["app_id"], key)
    return call.json({"message": "App mapping removed"})


def _forget_app(call: Call, integration_id: str, app_id: str, key: str) -> None:
    """Remove a mapping; the app leaves the integration's ``app_ids`` when none of its components remain."""
    st = c.store(call)
    st.record_delete(APP_MAPPING_KIND, key)
    if any(m["app_id"] == app_id for m in st.record_list(APP_MAPPING_KIND, parent=integration_id)):
        return
    record = st.record_get("erp_integration", integration_id)
    if record and app_id in (record.get("app_ids") or []):
        st.record_put("erp_integration", integration_id,
                      {**record, "app_ids": [a for a in record["app_ids"] if a != app_id]})

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
