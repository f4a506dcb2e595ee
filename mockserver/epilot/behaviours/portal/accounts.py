"""Portal user accounts beyond registration: password change, account (business customer) checks,
notification recipients of automations, and the m-login (mobile login) hooks."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .config import portal_of_call
from .users import send_mail, users_by_email

MLOGIN_KIND = "mlogin_event"


@behaviours("changePortalUserPassword")
def change_portal_user_password(call: Call) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("not_found", "the portal user of this token no longer exists")
    password = (call.body or {}).get("new_password")
    if password is not None:
        policy = ((portal_of_call(call).get("cognito_details") or {}).get("password_policy") or {})
        if len(password) < int(policy.get("minimum_length", 8)):
            raise Reject("bad_request", f"the password must have at least {policy.get('minimum_length', 8)} characters")
    c.save(call, c.apply_patch(call, user, {"password_changed_at": c.world(call).now()}))
    send_mail(call, user["email"], "Ihr Passwort wurde geändert", "password_changed", portal_user_id=user["_id"])
    return call.json({"message": "Password changed successfully"})


@behaviours("checkAccountExists", reads_only=True)
def check_account_exists(call: Call) -> Any:
    portal_of_call(call)
    body = call.body
    if body["org_id"] != c.world(call).org_id:
        return call.json({"exists": False})
    given = body["registration_identifiers"]
    values = given.get("account") if isinstance(given.get("account"), dict) else {
        k: v for k, v in given.items() if not isinstance(v, dict)}
    values = {k: v for k, v in (values or {}).items() if isinstance(v, (str, int, float))}
    if not values:
        return call.json({"exists": False})
    try:
        found = c.store(call).find_by("account", values)
    except ValueError:
        return call.json({"exists": False})
    if len(found) != 1:
        return call.json({"exists": False})
    return call.json({"exists": True, "accountId": found[0]["_id"]})


@behaviours("getRecipientsToNotifyOnAutomation", reads_only=True)
def get_recipients_to_notify_on_automation(call: Call) -> Any:
    """Of the given e-mails, those that belong to portal users (who get the portal's notification)."""
    body = call.body or {}
    recipients = []
    for email in body.get("emails") or []:
        users = users_by_email(call, str(email))
        if users:
            recipients.append({"email": users[0]["email"], "recipient_id": users[0]["_id"]})
    return call.json({"recipients": recipients,
                      "message": f"{len(recipients)} of {len(body.get('emails') or [])} recipients are portal users"})


def _mlogin(call: Call, action: str, details: dict[str, Any]) -> None:
    w = c.world(call)
    event = {"id": w.new_id(), "action": action, "client_id": call.params["client_id"],
             "user_id": call.params["user_id"], "received_at": w.now(), **details}
    c.store(call).record_put(MLOGIN_KIND, event["id"], event, parent=call.params["user_id"])


@behaviours("deRegisterMLoginUser")
def de_register_m_login_user(call: Call) -> Any:
    _mlogin(call, "deregister", {})
    return call.empty(204)


@behaviours("notifyMLoginInterestChange")
def notify_m_login_interest_change(call: Call) -> Any:
    _mlogin(call, "interest_change", {"change": call.body or {}})
    return call.empty(200)
