"""SSO against the portal's configured identity providers, with the mock standing in for the provider.

The flow a portal front end runs:

1. ``ssoRedirect``: the provider posts ``code`` and ``state`` (form post); the mock answers 301 to
   ``web_uri`` with them in the query.
2. ``ssoCallback``: the front end exchanges the code. The mock's provider signs in the identity the
   code names: a code that is an e-mail address is that person, any other code an external identity
   derived from it. It answers provider tokens; the ``id_token`` is a bearer token for step 3.
3. ``ssoLogin``: with ``Authorization: Bearer <id_token>`` (security ``ExternalOIDCAuth``), the
   identity is matched to a portal user by e-mail (the provider's ``entity_matching``), created with its
   contact when the provider allows it, and a portal token is returned.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from mockserver.engine.auth import Principal
from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.response import NO_BODY, MockResponse

from .. import common as c
from . import behaviours
from .config import portal_by, portal_of_call, portals
from .users import REGISTERED, contacts_by_email, users_by_email

OIDC_KIND = "oidc_identity"  # records: identities the mock provider signed in, by id token


def public_provider(provider: dict[str, Any]) -> dict[str, Any]:
    """What the login page may see of a provider: never its client secret."""
    out = {k: v for k, v in provider.items() if k in ("slug", "display_name", "provider_type", "oidc_config",
                                                         "mobile_oidc_config")}
    for key in ("oidc_config", "mobile_oidc_config"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k != "client_secret"}
    return out


def provider_of(portal: dict[str, Any], slug: str | None) -> dict[str, Any]:
    providers = [p for p in portal.get("identity_providers") or [] if isinstance(p, dict)]
    for provider in providers:
        if slug is None or provider.get("slug") == slug:
            return provider
    raise Reject("not_found", f"the portal has no identity provider {slug!r}" if slug else
                 "the portal has no identity provider")


@behaviours("getSSOProvider")
def get_sso_provider(call: Call) -> Any:
    portal = portal_of_call(call)
    return call.json(public_provider(provider_of(portal, call.params["provider_slug"])))


@behaviours("ssoRedirect")
def sso_redirect(call: Call) -> Any:
    form = call.body if isinstance(call.body, dict) else {}
    target = urlsplit(call.params["web_uri"])
    extra = {k: str(form[k]) for k in ("code", "state", "id_token", "error", "error_description") if form.get(k)}
    query = "&".join(q for q in (target.query, urlencode(extra)) if q)
    return MockResponse(301, NO_BODY, None, {"Location": urlunsplit(target._replace(query=query))})


def _identity(code: str) -> dict[str, Any]:
    if "@" in code and " " not in code.strip():
        email = code.strip()
        name = email.split("@")[0].replace(".", " ").title().split(" ")
    else:
        digest = hashlib.sha256(code.encode()).hexdigest()[:12]
        email, name = f"sso-{digest}@idp.example.com", ["SSO", digest]
    return {"email": email, "given_name": name[0], "family_name": " ".join(name[1:]) or name[0]}


@behaviours("ssoCallback")
def sso_callback(call: Call) -> Any:
    body = call.body
    if call.params.get("domain"):
        portal = portal_by(call, domain=call.params["domain"])
    else:
        with_sso = [p for p in portals(call) if p.get("identity_providers")]
        portal = with_sso[0] if with_sso else portal_of_call(call)
    provider = provider_of(portal, body.get("provider_slug"))
    w = c.world(call)
    identity = {**_identity(body["code"]), "portal_id": portal["portal_id"], "provider_slug": provider.get("slug"),
                "client_id": body["client_id"]}
    id_token = f"oidc-{w.new_id()}"
    c.store(call).record_put(OIDC_KIND, id_token, identity)
    call.services.tokens.add(id_token, Principal("oidc", identity["email"], identity["email"], identity))
    scope = (provider.get("oidc_config") or {}).get("scope", "openid profile email")
    return call.json({"access_token": f"idp-access-{w.new_id()}", "token_type": "Bearer", "expires_in": 3600,
                      "refresh_token": f"idp-refresh-{w.new_id()}", "id_token": id_token, "scope": scope})


def _login(call: Call, portal: dict[str, Any]) -> Any:
    claims = call.principal.claims or {}
    email = claims.get("email")
    if call.principal.kind != "oidc" or not email:
        raise Reject("unauthorized", "the bearer token is not an ID token of the portal's identity provider")
    provider = provider_of(portal, (call.body or {}).get("provider_slug") or claims.get("provider_slug"))
    users = users_by_email(call, email, portal["portal_id"])
    if users:
        user = users[0]
    elif not (provider.get("entity_matching") or {}).get("auto_create_cognito_user", True):
        raise Reject("forbidden", f"{email} has no portal user and the provider does not create them")
    else:
        user = _create_user(call, portal, claims)
    return call.json({"token": c.world(call).mint_login(user), "email": user["email"]})


def _create_user(call: Call, portal: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    email = claims["email"]
    contact = c.store(call).get(call.params["contact_id"]) if call.params.get("contact_id") else None
    if contact is None or contact.get("_schema") != "contact":
        found = contacts_by_email(call, email)
        contact = found[0] if found else c.create_entity(call, "contact", {
            "first_name": claims.get("given_name", ""), "last_name": claims.get("family_name", ""),
            "email": [{"email": email, "_tags": ["Primary"]}], "_tags": ["sso"]})
    attrs: dict[str, Any] = {"email": email, "first_name": claims.get("given_name"),
                             "last_name": claims.get("family_name"), "registration_status": REGISTERED,
                             "access_status": True, "portal_id": portal["portal_id"],
                             "origin": portal.get("origin", "END_CUSTOMER_PORTAL"), "_title": email,
                             "_tags": ["sso"]}
    c.add_relation(attrs, "contact", contact)
    return c.create_entity(call, "portal_user", attrs)


@behaviours("ssoLogin")
def sso_login(call: Call) -> Any:
    org = call.params["org_id"]
    if org != c.world(call).org_id:
        raise Reject("not_found", f"organization {org} has no portal here")
    return _login(call, portal_by(call, origin=call.params["origin"]))


@behaviours("ssoLoginV3")
def sso_login_v3(call: Call) -> Any:
    org = call.params.get("org_id")
    if org is not None and org != c.world(call).org_id:
        raise Reject("not_found", f"organization {org} has no portal here")
    claims = call.principal.claims or {}
    if not any(call.params.get(k) for k in ("portal_id", "domain")) and claims.get("portal_id"):
        return _login(call, portal_of_call(call, {"portal_id": claims["portal_id"]}))
    return _login(call, portal_of_call(call))
