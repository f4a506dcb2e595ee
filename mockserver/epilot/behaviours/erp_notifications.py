"""ERP Integration API notifications: the status of an integration's alert rules (evaluated against its
monitoring log, see :mod:`..erp.notifications`), their history, and test sends."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call

from ..erp import notifications
from . import common as c
from .erp_common import behaviours, erp_operation, integration, limit_of, page_after


@erp_operation("getNotificationStatus", locks=True)  # records rule transitions
def get_notification_status(call: Call) -> Any:
    owner = integration(call)
    return call.json(notifications.evaluate(c.world(call), owner, c.world(call).clock.now(),
                                            with_baseline=call.params.get("include") == "baseline_series"))


@erp_operation("listNotificationHistory", locks=True)  # likewise
def list_notification_history(call: Call) -> Any:
    owner = integration(call)
    w = c.world(call)
    notifications.evaluate(w, owner, c.world(call).clock.now(), with_baseline=False)
    items = c.store(call).record_list(notifications.HISTORY_KIND, parent=owner["id"], newest_first=True)
    if call.params.get("type"):
        items = [i for i in items if i["type"] == call.params["type"]]
    page, more = page_after(items, "id", call.params.get("cursor"), limit_of(call.params.get("limit"), 25, 100))
    return call.json({"history": page, "next_cursor": page[-1]["id"] if more else None})


@erp_operation("testSendNotification")
def test_send_notification(call: Call) -> Any:
    owner = integration(call)
    body = call.body
    config = notifications.config_of(owner) or {}
    to = (notifications.recipients(owner) or [call.principal.subject])[0]
    if body.get("channels") is not None:
        channels = list(dict.fromkeys(body["channels"]))
    else:
        defaults = config.get("defaultChannels") or {"email": True, "in_app": True}
        channels = [name for name in ("email", "in_app") if defaults.get(name)]
    if not channels:
        return call.json({"sent": False, "recipient": to, "channels": [], "notification_id": None}, status=202)
    item = notifications.record(c.world(call), owner, kind=body.get("type") or "test", transition=None,
                                severity="info", title=f"Test {body['kind']} for {owner.get('name') or owner['id']}",
                                context={"test": True, "kind": body["kind"], "channels": channels}, to=[to])
    return call.json({"sent": True, "recipient": to, "channels": channels, "notification_id": item["id"]},
                     status=202)

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
