"""Portal users and partners: self-registration and confirmation, existence checks, login-as,
token validation, and installer-partner invitations.

Mail the real portal would send (confirmation links, invitations) lands in the ``outbox``
records, listed at ``GET /__admin/outbox``, so a test can follow a confirmation link.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.response import NO_BODY, MockResponse
from mockserver.engine.store.base import Filter, Query

from .. import common as c
from . import behaviours, identifiers
from .config import portal_by, portal_by_id, portal_of_call

PENDING, EMAIL_SENT, REGISTERED = "Registration Pending", "Confirmation Email Sent", "Registered"


def send_mail(call: Call, to: str, subject: str, kind: str, **data: Any) -> dict[str, Any]:
    w = c.world(call)
    mail = {"id": w.new_id(), "to": to, "subject": subject, "kind": kind, "sent_at": w.now(), **data}
    c.store(call).record_put("outbox", mail["id"], mail, parent=to.lower())
    return mail


def users_by_email(call: Call, email: str, portal_id: str | None = None) -> list[dict[str, Any]]:
    page = c.store(call).query(Query(schemas=("portal_user",), all_of=(Filter("email", "eq", email),), limit=50))
    users = [u for u in page.items if str(u.get("email", "")).lower() == email.lower()]
    if portal_id:
        users = [u for u in users if u.get("portal_id") in (None, portal_id)]
    return users


def contacts_by_email(call: Call, email: str) -> list[dict[str, Any]]:
    page = c.store(call).query(Query(schemas=("contact",), all_of=(Filter("*", "contains", email),), limit=20))
    wanted = email.lower()
    return [e for e in page.items
            if any(str(x.get("email", "")).lower() == wanted for x in e.get("email") or [] if isinstance(x, dict))]


def _identifiers_match(call: Call, portal: dict[str, Any], given: dict[str, Any]) -> list[dict[str, Any]]:
    """The one contact the portal's registration identifiers (all of them, exact) point at, or none."""
    found = identifiers.match(call, given, portal.get("registration_identifiers") or [], "contact")
    return found.found if len(found.found) == 1 else []


def _register(call: Call, portal: dict[str, Any]) -> Any:
    body = call.body or {}
    email = body.get("email")
    if not email:
        raise Reject("bad_request", "email is required")
    if users_by_email(call, email, portal["portal_id"]):
        raise Reject("conflict", f"A portal user with email {email} already exists")
    contact = c.store(call).get(body["contactId"]) if body.get("contactId") else None
    if contact is not None and contact.get("_schema") != "contact":
        contact = None  # an id that is not a contact's: match or create the contact as without one
    if contact is not None and contact not in contacts_by_email(call, email):
        raise Reject("bad_request", "contactId names a contact that does not have this email")
    given = body.get("registration_identifiers") or body.get("contactIdentifiers") or {}
    if contact is None and given:
        matches = _identifiers_match(call, portal, given)
        if not matches:
            raise Reject("bad_request", "the registration identifiers do not identify exactly one contact "
                                        "(all of the portal's registration identifiers, exact values)")
        contact = matches[0]
    if contact is None:
        found = contacts_by_email(call, email)
        contact = found[0] if found else None
    if contact is None:
        if portal.get("self_registration_setting") not in (None, "ALLOW_WITH_CONTACT_CREATION"):
            raise Reject("bad_request", "no contact matches this registration and the portal does not create contacts")
        contact = c.create_entity(call, "contact", {
            "first_name": body.get("first_name", ""), "last_name": body.get("last_name", ""),
            "email": [{"email": email, "_tags": ["Primary"]}], "_tags": ["portal-registration"]})
    user_attrs: dict[str, Any] = {"email": email, "first_name": body.get("first_name"),
                                  "last_name": body.get("last_name"), "registration_status": EMAIL_SENT,
                                  "access_status": True, "portal_id": portal["portal_id"],
                                  "origin": portal.get("origin", "END_CUSTOMER_PORTAL"), "_title": email}
    user_attrs = {k: v for k, v in user_attrs.items() if v is not None}
    c.add_relation(user_attrs, "contact", contact)
    user = c.create_entity(call, "portal_user", user_attrs)
    token = f"confirm-{c.world(call).new_id()}"
    c.store(call).record_put("confirmation", token, {"portal_user_id": user["_id"], "token": token})
    domain = portal.get("domain") or portal.get("epilot_domain") or "portal.example.com"
    send_mail(call, email, "Bitte bestätigen Sie Ihre Registrierung", "confirm_account",
              portal_user_id=user["_id"], confirmation_link_token=token,
              link=f"https://{domain}/confirm?confirmation_link_token={token}")
    return call.json({"message": "User created. A confirmation email has been sent."}, status=201)


@behaviours("createUser")
def create_user(call: Call) -> Any:
    return _register(call, portal_by(call, origin=call.params["origin"]))


@behaviours("createUserV3")
def create_user_v3(call: Call) -> Any:
    return _register(call, portal_of_call(call))


def _confirm(call: Call, user: dict[str, Any]) -> bool:
    already = user.get("registration_status") == REGISTERED
    if not already:
        c.save(call, c.apply_patch(call, user, {"registration_status": REGISTERED}))
    return already


@behaviours("confirmUser")
def confirm_user(call: Call) -> Any:
    record = c.store(call).record_get("confirmation", call.params["confirmation_link_token"])
    if record is None:
        raise Reject("not_found", "Unknown or expired confirmation link token")
    user = c.store(call).get(record["portal_user_id"])
    if user is None:
        raise Reject("not_found", "the user of this confirmation link no longer exists")
    already = _confirm(call, user)
    if call.params.get("use_redirect"):
        return _to_login(call, user.get("portal_id"))
    return call.json({"confirmed": True, "user_already_confirmed": already})


def _to_login(call: Call, portal_id: str | None) -> Any:
    """301 to the login page of the user's portal (as the published confirmation links do)."""
    try:
        portal = portal_by_id(call, portal_id) if portal_id else portal_of_call(call)
        domain = portal.get("domain") or portal.get("epilot_domain")
    except Reject:
        domain = None
    location = f"https://{domain or 'portal.epilot.cloud'}/login?confirmed=true"
    return MockResponse(301, NO_BODY, None, {"Location": location})


@behaviours("confirmUserWithUserId")
def confirm_user_with_user_id(call: Call) -> Any:
    if call.params["org_id"] != c.world(call).org_id:
        raise Reject("not_found", f"organization {call.params['org_id']} not found")
    user = c.store(call).get(call.params["id"])
    if user is None or user.get("_schema") != "portal_user":
        raise Reject("not_found", f"portal user {call.params['id']} not found")
    _confirm(call, user)
    return _to_login(call, user.get("portal_id"))


@behaviours("resendConfirmationEmail")
def resend_confirmation_email(call: Call) -> Any:
    user = c.load(call, call.params["id"], "portal_user", kind="not_found")
    tokens = [r for r in c.store(call).record_list("confirmation") if r["portal_user_id"] == user["_id"]]
    if not tokens:
        raise Reject("bad_request", f"portal user {user['_id']} has nothing to confirm")
    send_mail(call, user["email"], "Bitte bestätigen Sie Ihre Registrierung", "confirm_account",
              portal_user_id=user["_id"], confirmation_link_token=tokens[-1]["token"])
    return call.json({"message": "Confirmation email sent"})


def _exists(call: Call, portal_id: str | None) -> Any:
    if call.params.get("org_id", c.world(call).org_id) != c.world(call).org_id:
        return call.json({"exists": False})
    return call.json({"exists": bool(users_by_email(call, call.params["email"], portal_id))})


@behaviours("userExists")
def user_exists(call: Call) -> Any:
    try:
        portal_id = portal_of_call(call)["portal_id"]
    except Reject:
        return call.json({"exists": False})
    return _exists(call, portal_id)


@behaviours("userExistsV3")
def user_exists_v3(call: Call) -> Any:
    try:
        portal_id = portal_of_call(call)["portal_id"]
    except Reject:
        return call.json({"exists": False})
    return _exists(call, portal_id)


@behaviours("getUserEntryPoint")
def get_user_entry_point(call: Call) -> Any:
    try:
        portal_id: str | None = portal_by(call, domain=call.params["domain"])["portal_id"]
    except Reject:
        portal_id = None
    users = users_by_email(call, call.params["email"], portal_id) if portal_id else []
    return call.json({"user_exists": bool(users), "entry_point": "PASSWORD", "is_soft_deleted": False})


def _contact_exists(call: Call) -> Any:
    body = call.body
    if body["org_id"] != c.world(call).org_id:
        return call.json({"exists": False})
    try:
        portal = portal_of_call(call)
    except Reject:  # no such portal (any more): no contact can be registered in it
        return call.json({"exists": False})
    matches = _identifiers_match(call, portal, body["registration_identifiers"])
    if not matches:
        return call.json({"exists": False})
    return call.json({"exists": True, "contactId": matches[0]["_id"]})


@behaviours("checkContactExists")
def check_contact_exists(call: Call) -> Any:
    return _contact_exists(call)


@behaviours("checkContactExistsV3")
def check_contact_exists_v3(call: Call) -> Any:
    portal_of_call(call)  # portal_id or domain: an unknown portal is a 404
    return _contact_exists(call)


@behaviours("fetchPortalUsersByRelatedEntity")
def fetch_portal_users_by_related_entity(call: Call) -> Any:
    entity = c.store(call).get(call.params["entity_id"])
    if entity is None:
        return call.json({"portalUsers": []})
    contacts = [entity] if entity["_schema"] == "contact" else c.related(call, entity, "contact")
    users: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        for user in c.related(call, contact, "portal_user"):
            users[user["_id"]] = user
    return call.json({"portalUsers": list(users.values())})


@behaviours("loginToPortalAsUser")
def login_to_portal_as_user(call: Call) -> Any:
    body = call.body
    portal = portal_of_call(call, body)
    if not body.get("email"):
        raise Reject("not_found", "no portal user given: email names the user to log in as")
    users = users_by_email(call, body["email"], portal["portal_id"])
    if not users:
        raise Reject("not_found", f"no portal user {body['email']} in the portal {portal['portal_id']}")
    return call.json({"login_as_token": c.world(call).mint_login(users[0])})


@behaviours("validateToken")
def validate_token(call: Call) -> Any:
    return call.empty(204)  # the pipeline has already checked the token


@behaviours("revokeToken")
def revoke_token(call: Call) -> Any:
    token = call.body["refresh_token"]
    if call.services.tokens.lookup(token) is not None and token.startswith("portal-"):
        call.services.tokens.remove(token)
        c.store(call).record_delete("portal_login", token)
    return call.json({"message": "Token revoked successfully"})


@behaviours("deletePortalUser")
def delete_portal_user(call: Call) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("unauthorized", "the portal user of this token no longer exists")
    c.store(call).delete(user["_id"])
    c.world(call).emit({"type": "entity.deleted", "schema": "portal_user", "entity": user,
                        "source": call.op.api.name, "operation": call.op.id})
    return call.json({"message": "User deleted", "data": user["_id"]})


@behaviours("updatePortalUserEmail")
def update_portal_user_email(call: Call) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("unauthorized", "the portal user of this token no longer exists")
    email = call.body["email"]
    if users_by_email(call, email, user.get("portal_id")):
        raise Reject("conflict", f"{email} is already used by another portal user")
    c.save(call, c.apply_patch(call, user, {"email": email, "_title": email}))
    send_mail(call, email, "Ihre E-Mail-Adresse wurde geändert", "confirm_email_update", portal_user_id=user["_id"])
    return call.json({"message": "Email updated"})


# -- partners ------------------------------------------------------------------------------------

def _partner_item(partner: dict[str, Any]) -> dict[str, Any]:
    emails = [e.get("email") for e in partner.get("email") or [] if isinstance(e, dict)]
    email = partner.get("invitation_email") or (emails[0] if emails else None)
    item: dict[str, Any] = {"_id": partner["_id"], "_title": partner.get("_title") or partner.get("name", ""),
                            "has_portal_user": partner.get("status") == "Active",
                            "registration_status": REGISTERED if partner.get("status") == "Active" else EMAIL_SENT,
                            "access_status": partner.get("status") != "Deactivated"}
    if email:
        item["email"] = email
    return item


def _partner(call: Call) -> dict[str, Any]:
    partner = c.store(call).get(call.params["partner_id"])
    if partner is None or partner.get("_schema") != "partner" or partner.get("status") == "Deleted":
        raise Reject("not_found", f"partner {call.params['partner_id']} not found")
    return partner


@behaviours("invitePartner")
def invite_partner(call: Call) -> Any:
    email = call.body["email"]
    partner = c.create_entity(call, "partner", {"name": email.split("@")[-1], "invitation_email": email,
                                                "status": "Pending", "partner_type": "installer",
                                                "email": [{"email": email, "_tags": ["Primary"]}]})
    send_mail(call, email, "Einladung zum Partnerportal", "partner_invitation", partner_id=partner["_id"])
    return call.json({"message": "Partner invited successfully"})


@behaviours("listBusinessPartners")
def list_business_partners(call: Call) -> Any:
    page = c.store(call).query(Query(schemas=("partner",), limit=1000))
    return call.json({"data": [_partner_item(p) for p in page.items if p.get("status") != "Deleted"]})


@behaviours("resendPartnerInvitation")
def resend_partner_invitation(call: Call) -> Any:
    partner = _partner(call)
    item = _partner_item(partner)
    if "email" not in item:
        raise Reject("forbidden", f"partner {partner['_id']} has no email to invite")
    send_mail(call, item["email"], "Einladung zum Partnerportal", "partner_invitation", partner_id=partner["_id"])
    return call.json({"message": "Invitation resent successfully"})


def _set_partner_status(call: Call, status: str, message: str) -> Any:
    partner = _partner(call)
    c.save(call, c.apply_patch(call, partner, {"status": status}))
    return call.json({"message": message})


@behaviours("revokePartner")
def revoke_partner(call: Call) -> Any:
    return _set_partner_status(call, "Deleted", "Partner revoked from portal successfully")


@behaviours("disablePartner")
def disable_partner(call: Call) -> Any:
    return _set_partner_status(call, "Deactivated", "Partner disabled from portal successfully")


@behaviours("enablePartner")
def enable_partner(call: Call) -> Any:
    return _set_partner_status(call, "Active", "Partner enabled from portal successfully")
