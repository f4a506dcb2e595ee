"""Portal isolation: one customer never reaches another customer's data (issue 11, item 4).

One test per attack that was seen working, then a walk over every Customer Portal operation with
another customer's ids in every id-like parameter.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app

from .conftest import PORTAL

VICTIM = {"Authorization": "Bearer demo-portal-token-2"}


@pytest.fixture
def world_client():
    with TestClient(create_app(MockConfig())) as c:
        yield c


def _victim(client: TestClient) -> dict:
    """The other customer's ids, read through their own portal login."""
    contact = client.get("/v2/portal/contact", headers=VICTIM).json()["entity"]
    contracts = client.get("/v2/portal/contract", headers=VICTIM).json()["data"]
    detail = client.get(f"/v2/portal/contract/{contracts[0]['_id']}", headers=VICTIM).json()
    accounts = [r for r in detail["relations"] if r["_schema"] == "billing_account"]
    return {"contact": contact, "contracts": contracts, "contract": contracts[0], "meters": detail["meters"],
            "billing_account": accounts[0] if accounts else None}


def _my_contract_ids(client: TestClient) -> set[str]:
    return {k["_id"] for k in client.get("/v2/portal/contract?size=500", headers=PORTAL).json()["data"]}


# -- attacks that worked before -------------------------------------------------------------------

@pytest.mark.parametrize("body", [{"contract": {"status": "active"}}, {"contact": {"_schema": "contact"}}],
                         ids=["status-active", "schema-contact"])
def test_identifiers_that_identify_nobody_claim_nothing(world_client, body):
    before = _my_contract_ids(world_client)
    r = world_client.post("/v2/portal/contract/by-identifiers", json=body, headers=PORTAL)
    assert r.status_code == 403, r.text
    assert "message" in r.json()
    assert _my_contract_ids(world_client) == before


def test_a_claimed_contract_of_another_customer_stays_unreadable(world_client):
    victim = _victim(world_client)
    world_client.post("/v2/portal/contract/by-identifiers", json={"contract": {"status": "active"}}, headers=PORTAL)
    contract_id = victim["contract"]["_id"]
    assert world_client.get(f"/v2/portal/contract/{contract_id}", headers=PORTAL).status_code in (403, 404)
    r = world_client.patch(f"/v2/portal/contract/{contract_id}", json={"contract_name": "mine now"}, headers=PORTAL)
    assert r.status_code in (403, 404)
    meter = victim["meters"][0]["_id"]
    assert world_client.get(f"/v2/portal/metering/reading/allowed-range/{meter}", headers=PORTAL).status_code in (
        403, 404)
    account = victim["billing_account"]["_id"]
    assert world_client.get(f"/v2/portal/billing/accounts/{account}", headers=PORTAL).status_code in (403, 404)


def test_contract_claim_needs_every_configured_identifier(world_client):
    victim = _victim(world_client)
    number = victim["contract"]["contract_number"]
    only_number = {"contract": {"contract_number": number}}
    r = world_client.post("/v2/portal/contract/by-identifiers", json=only_number, headers=PORTAL)
    assert r.status_code == 403 and "contact.last_name" in r.json()["message"]
    wrong_name = {"contract": {"contract_number": number}, "contact": {"last_name": "Niemand"}}
    assert world_client.post("/v2/portal/contract/by-identifiers", json=wrong_name,
                             headers=PORTAL).status_code == 403
    prefix = {"contract": {"contract_number": number[:-1]}, "contact": {"last_name": victim["contact"]["last_name"]}}
    assert world_client.post("/v2/portal/contract/by-identifiers", json=prefix, headers=PORTAL).status_code == 403
    # All configured identifiers, exact: exactly that one contract is assigned.
    full = {"contract": {"contract_number": number}, "contact": {"last_name": victim["contact"]["last_name"]}}
    r = world_client.post("/v2/portal/contract/by-identifiers", json=full, headers=PORTAL)
    assert r.status_code == 200, r.text
    assert r.json()["hits"] == 1 and [k["_id"] for k in r.json()["data"]] == [victim["contract"]["_id"]]
    assert victim["contract"]["_id"] in _my_contract_ids(world_client)


@pytest.mark.parametrize("request_for", [
    lambda v: ("GET", f"/v2/portal/entity/contract/{v['contract']['_id']}/activity", None, None),
    lambda v: ("GET", f"/v2/portal/entity/contract/{v['contract']['_id']}/workflows", None, None),
    lambda v: ("GET", f"/v2/portal/entities-by-payment/{v['billing_account']['_id']}", None, None),
    lambda v: ("GET", f"/v2/portal/entities-by-payment/{v['contract']['_id']}", None, None),
    lambda v: ("PUT", "/v2/portal/entity/activity", {"entities": v["contract"]["_id"]},
               {"type": "PortalUserResetPassword"}),
], ids=["activity", "workflows", "payment-relations", "payment-relations-contract", "put-activity"])
def test_another_customers_ids_are_refused(world_client, request_for):
    method, path, params, body = request_for(_victim(world_client))
    r = world_client.request(method, path, params=params, json=body, headers=PORTAL)
    assert r.status_code in (403, 404), f"{method} {path}: {r.status_code} {r.text[:200]}"
    assert set(r.json()) == {"message"}


def test_registration_cannot_take_over_a_contact_by_id(world_client):
    victim = _victim(world_client)
    body = {"email": "attacker@example.org", "contactId": victim["contact"]["_id"], "password": "Geheim123!"}
    r = world_client.post("/v2/portal/public/user", params={"origin": "END_CUSTOMER_PORTAL"}, json=body)
    assert r.status_code == 400, r.text
    users = world_client.get("/v2/portal/users/by-related-entity",
                             params={"entity_id": victim["contact"]["_id"]},
                             headers={"Authorization": "Bearer demo-org-token"}).json()
    assert "attacker@example.org" not in str(users)


def test_registration_identifiers_that_identify_nobody_link_nobody(world_client):
    body = {"email": "attacker2@example.org", "password": "Geheim123!",
            "registration_identifiers": {"contact": {"_schema": "contact"}}}
    r = world_client.post("/v2/portal/public/user", params={"origin": "END_CUSTOMER_PORTAL"}, json=body)
    assert r.status_code == 400, r.text
    assert "registration identifiers" in r.json()["message"]
