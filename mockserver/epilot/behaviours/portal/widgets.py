"""Email templates (``email_templates`` records, one per portal) and widgets (``portal_widget`` records,
parent: portal), by origin (v2) and by portal id or domain (v3)."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call

from .. import common as c
from . import behaviours
from .config import check_org, portal_by, portal_by_id, portal_of_call

# -- email templates and widgets ------------------------------------------------------------------

def _templates(call: Call, portal_id: str) -> dict[str, Any]:
    return c.store(call).record_get("email_templates", portal_id) or {}


def _upsert_templates(call: Call, portal_id: str) -> Any:
    merged = {**_templates(call, portal_id), **call.body}
    c.store(call).record_put("email_templates", portal_id, merged, parent=portal_id)
    return call.json({"message": "Email templates updated", "emailTemplates": merged})


@behaviours("getEmailTemplates")
def get_email_templates(call: Call) -> Any:
    return call.json(_templates(call, portal_by(call, origin=call.params["origin"])["portal_id"]))


@behaviours("upsertEmailTemplates")
def upsert_email_templates(call: Call) -> Any:
    return _upsert_templates(call, portal_by(call, origin=call.params["origin"])["portal_id"])


@behaviours("getEmailTemplatesByPortalId")
def get_email_templates_by_portal_id(call: Call) -> Any:
    return call.json(_templates(call, portal_by_id(call, call.params["portal_id"])["portal_id"]))


@behaviours("upsertEmailTemplatesByPortalId")
def upsert_email_templates_by_portal_id(call: Call) -> Any:
    return _upsert_templates(call, portal_by_id(call, call.params["portal_id"])["portal_id"])


def _widgets(call: Call, portal_id: str) -> list[dict[str, Any]]:
    items = c.store(call).record_list("portal_widget", parent=portal_id)
    return sorted(items, key=lambda w: w.get("listIndex", 0))


@behaviours("getPortalWidgets")
def get_portal_widgets(call: Call) -> Any:
    return call.json({"widgets": _widgets(call, portal_of_call(call)["portal_id"])})


@behaviours("getPublicPortalWidgets")
def get_public_portal_widgets(call: Call) -> Any:
    check_org(call)
    return call.json({"widgets": _widgets(call, portal_by(call, origin=call.params["origin"])["portal_id"])})


@behaviours("upsertPortalWidget")
def upsert_portal_widget(call: Call) -> Any:
    portal_id = portal_by(call, origin=call.params["origin"])["portal_id"]
    return call.json({"widgets": _replace_widgets(call, portal_id)})


def _replace_widgets(call: Call, portal_id: str) -> list[dict[str, Any]]:
    st = c.store(call)
    with st.transaction():
        for old in st.record_list("portal_widget", parent=portal_id):
            st.record_delete("portal_widget", old["id"])
        for index, widget in enumerate(call.body["widgets"]):
            doc = {**widget, "id": widget.get("id") or c.world(call).new_id()}
            doc.setdefault("listIndex", index)
            st.record_put("portal_widget", doc["id"], doc, parent=portal_id)
    return _widgets(call, portal_id)


def _v3(call: Call, portal: dict[str, Any]) -> dict[str, Any]:
    return {"portal_sk_v3": f"PORTAL_CONFIG#{portal['portal_id']}", "is_v3_item": True,
            "widgets": _widgets(call, portal["portal_id"])}


@behaviours("getPublicPortalWidgetsV3")
def get_public_portal_widgets_v3(call: Call) -> Any:
    check_org(call)
    return call.json(_v3(call, portal_of_call(call)))


@behaviours("getPortalWidgetsV3")
def get_portal_widgets_v3(call: Call) -> Any:
    return call.json(_v3(call, portal_by_id(call, call.params["portal_id"])))


@behaviours("upsertPortalWidgetV3")
def upsert_portal_widget_v3(call: Call) -> Any:
    portal = portal_by_id(call, call.params["portal_id"])
    _replace_widgets(call, portal["portal_id"])
    return call.json(_v3(call, portal), status=201)
