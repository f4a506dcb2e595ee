"""Customer Portal admin/users side: published contract points and world-backed behaviours."""

from __future__ import annotations

from mockserver.epilot.world.extension import WorldServices

ORG = {"Authorization": "Bearer demo-org-token"}
PORTAL = {"Authorization": "Bearer demo-portal-token"}


def test_validate_token_answers_204(client):
    assert client.post("/v2/portal/token/validate", headers=PORTAL).status_code == 204


def test_portal_config_takes_a_portal_or_an_epilot_token_and_origin_is_optional(client):
    mine = client.get("/v2/portal/config", headers=PORTAL)
    assert mine.status_code == 200 and mine.json()["origin"] == "END_CUSTOMER_PORTAL"
    assert mine.json()["identity_providers"][0]["provider_type"] == "OIDC"
    admin = client.get("/v2/portal/config", params={"origin": "INSTALLER_PORTAL"}, headers=ORG)
    assert admin.json()["origin"] == "INSTALLER_PORTAL"
    assert client.get("/v2/portal/config").status_code == 401


def test_epilot_tokens_read_pages(client):
    domain = client.get("/v2/portal/config", headers=PORTAL).json()["domain"]
    pages = client.get("/v2/portal/pages", params={"domain": domain}, headers=ORG)
    assert pages.status_code == 200 and pages.json()
    page = pages.json()[0]
    assert client.get(f"/v2/portal/pages/{page['id']}", headers=ORG).status_code == 200
    assert client.get(f"/v2/portal/pages/{page['id']}/blocks", headers=ORG).status_code == 200


def test_page_and_block_creation_answer_200(fresh_client):
    domain = fresh_client.get("/v2/portal/config", headers=PORTAL).json()["domain"]
    page = fresh_client.post("/v2/portal/pages", params={"domain": domain}, headers=ORG,
                             json={"slug": "news", "order": 50})
    assert page.status_code == 200
    block = fresh_client.post(f"/v2/portal/pages/{page.json()['id']}/blocks", headers=ORG,
                              json={"type": "header", "order": 1})
    assert block.status_code == 200


def test_v3_public_operations_take_a_domain(client):
    domain = client.get("/v2/portal/config", headers=PORTAL).json()["domain"]
    widgets = client.get("/v3/portal/public/widgets", params={"domain": domain})
    assert widgets.status_code == 200 and widgets.json()["widgets"]
    exists = client.get("/v3/portal/public/user/exists", params={"domain": domain, "email": "nobody@example.com"})
    assert exists.json() == {"exists": False}


def test_sso_redirect_accepts_multipart_and_answers_301(client):
    r = client.post("/v2/portal/public/sso/redirect", params={"web_uri": "https://portal.example.com/login"},
                    files={"code": (None, "abc"), "state": (None, "xyz")}, follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "https://portal.example.com/login?code=abc&state=xyz"


def test_revoke_token_sends_its_documented_body(client):
    r = client.post("/v2/portal/token/revoke", headers=PORTAL, json={"refresh_token": "x"})
    assert r.json() == {"message": "Token revoked successfully"}


def test_sso_login_creates_a_portal_user_for_a_new_identity(fresh_client):
    config = fresh_client.get("/v2/portal/config", headers=PORTAL).json()
    provider = config["identity_providers"][0]
    tokens = fresh_client.post("/v2/portal/public/sso/callback", params={"domain": config["domain"]}, json={
        "provider_slug": provider["slug"], "token_endpoint": "https://idp/token", "grant_type": "authorization_code",
        "code": "neu.kunde@example.de", "redirect_uri": "https://x/login", "client_id": "kundenportal",
        "code_verifier": "v"}).json()
    login = fresh_client.post("/v2/portal/public/sso/login", params={"origin": "END_CUSTOMER_PORTAL",
                                                                     "org_id": config["organization_id"]},
                              headers={"Authorization": f"Bearer {tokens['id_token']}"}, json={})
    assert login.status_code == 200 and login.json()["email"] == "neu.kunde@example.de"
    me = fresh_client.get("/v2/portal/user", headers={"Authorization": f"Bearer {login.json()['token']}"})
    assert me.json()["data"]["email"] == "neu.kunde@example.de"
    # an org token is not an ID token
    assert fresh_client.post("/v2/portal/public/sso/login", params={"origin": "END_CUSTOMER_PORTAL",
                             "org_id": config["organization_id"]}, headers=ORG, json={}).status_code == 401


def test_external_links_are_resolved_for_the_customer(client):
    links = client.get("/v2/portal/external-links", headers=PORTAL).json()
    customer = client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["customer_number"]
    tariff = next(link for link in links if link["type"] == "link")
    assert tariff["link"].endswith(f"kunde={customer}")
    raw = client.get("/v2/portal/external-links", params={"origin": "END_CUSTOMER_PORTAL"}, headers=ORG).json()
    assert "{{contact.customer_number}}" in next(link for link in raw if link["type"] == "link")["link"]


def test_entity_access_event_is_recorded_and_emitted(client, app):
    contract = client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]["_id"]
    seen = []
    world = app.services.get(WorldServices)
    world.listeners.append(seen.append)
    try:
        r = client.post("/v2/portal/entity/contract/access", headers=PORTAL,
                              params={"entity_id": contract, "origin": "END_CUSTOMER_PORTAL"})
    finally:
        world.listeners.remove(seen.append)
    assert r.status_code == 200
    event = world.store.record_get("entity_access_event", r.json()["eventId"])
    assert event["entity_id"] == contract
    assert any(e["type"] == "portal.entity_accessed" for e in seen)


def test_portal_proxy_refuses_what_is_not_configured(client):
    r = client.post("/v2/portal/proxy/execute", headers=PORTAL,
                    json={"integration_id": "8b5f2a1c-3d4e-4f6a-9b7c-0d1e2f3a4b5c", "use_case_slug": "x"})
    assert r.status_code == 404 and "message" in r.json()


def test_clone_copies_pages_and_widgets(fresh_client):
    source = fresh_client.get("/v2/portal/config", headers=PORTAL).json()
    clone = fresh_client.post("/v3/portal/config/clone", headers=ORG, json={"source_portal_id": source["portal_id"]})
    assert clone.status_code == 201
    widgets = fresh_client.get("/v3/portal/widgets", params={"portal_id": clone.json()["portal_id"]}, headers=ORG)
    assert len(widgets.json()["widgets"]) == len(fresh_client.get("/v3/portal/widgets", params={
        "portal_id": source["portal_id"]}, headers=ORG).json()["widgets"])
