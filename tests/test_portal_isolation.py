"""Portal isolation: one customer never reaches another customer's data (issue 11, item 4).

One test per attack that was seen working, then a walk over every Customer Portal operation with
another customer's ids in every id-like parameter.
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app
from mockserver.epilot.world.extension import WorldServices

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


# -- the walk: every portal operation with the other customer's ids ----------------------------------

ID_KEYS = ("id", "entity_id", "entityId", "contactId", "contact_id", "meter_id", "entity_ids", "file_entity_ids",
           "entities", "targets", "purposes")
SCHEMA_KEYS = ("slug", "entity_type", "entity_schema", "schema", "_schema")
PATH_SCHEMAS = (("/contract/", "contract"), ("/order/", "order"), ("/opportunities/", "opportunity"),
                ("/billing/accounts/", "billing_account"), ("/user/file/", "file"),
                ("entities-by-payment", "billing_account"), ("allowed-range", "meter"), ("/entity/", "contract"))


def _owned(client: TestClient, headers: dict) -> dict[str, str]:
    """Ids of one customer's own entities (not shared catalogue entities), by id -> schema."""
    owned: dict[str, str] = {}
    contact = client.get("/v2/portal/contact", headers=headers).json()["entity"]
    owned[contact["_id"]] = "contact"
    for path, key in (("/v2/portal/contract?size=100", "data"), ("/v2/portal/order?size=100", "data"),
                      ("/v2/portal/opportunity?size=100", "data"), ("/v2/portal/billing/events?size=100", "results"),
                      ("/v2/portal/user/files?from=0&size=100", "results")):
        for item in client.get(path, headers=headers).json().get(key, []):
            owned[item["_id"]] = item.get("_schema", "entity")
    for contract_id in [i for i, s in owned.items() if s == "contract"]:
        detail = client.get(f"/v2/portal/contract/{contract_id}", headers=headers).json()
        for meter in detail.get("meters", []):
            owned[meter["_id"]] = "meter"
        for rel in detail.get("relations", []):
            if rel["_schema"] in ("billing_account", "billing_event", "ticket", "message"):
                owned[rel["_id"]] = rel["_schema"]
    return owned


def _pick(owned: dict[str, str], schema: str) -> str:
    return next((i for i, s in owned.items() if s == schema), next(i for i, s in owned.items() if s == "contract"))


def _substitute(value, owned, schema):
    """The generated value with every id-like field set to one of ``owned``'s ids (of ``schema``)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in SCHEMA_KEYS and isinstance(item, str):
                out[key] = schema
            elif key in ID_KEYS or (key.endswith("_id") and isinstance(item, str)):
                wanted = "meter" if key == "meter_id" else "contact" if key in ("contactId", "contact_id") else schema
                target = _pick(owned, wanted)
                out[key] = [target] if isinstance(item, list) else target
            else:
                out[key] = _substitute(item, owned, schema)
        return out
    if isinstance(value, list):
        return [_substitute(v, owned, schema) for v in value]
    return value


def _walk_request(op, owned, seed):
    gen = op.api.generator
    op.compile()
    schema = next((s for marker, s in PATH_SCHEMAS if marker in op.path), "contract")
    target = _pick(owned, schema)
    path, query = op.path, {}
    for p in op.params.params:
        value, _ = gen.generate(p.schema, seed)
        if p.name in ("id", "entity_id", "meter_id", "contactId", "entity_ids", "entities"):
            value = _pick(owned, "meter") if p.name == "meter_id" else target
            value = [value] if p.kind == "array" else value
        elif p.name in ("slug", "schema") and not (p.schema or {}).get("enum"):
            value = schema
        elif p.name == "workflow_id":
            value = f"wf-{target}"
        elif p.name == "context_entities":
            value = [json.dumps({"entity_schema": schema, "entity_id": target})]
        elif p.location == "query" and not p.required:
            continue
        text = value if isinstance(value, list) else ("true" if value is True else "false" if value is False
                                                      else str(value))
        if p.location == "path":
            path = path.replace("{" + p.name + "}", str(text[0] if isinstance(text, list) else text) or "x")
        elif p.location == "query":
            query[p.name] = text
    body = None
    for ctype, (media_schema, _validator) in op.body_media.items():
        if "json" in ctype and media_schema is not None:
            body = _substitute(gen.generate(media_schema, seed)[0], owned, schema)
            break
    return path, query, body


FINGERPRINTS = ("customer_number", "contract_number", "meter_number", "billing_account_number", "order_number",
                "email", "last_name", "iban")


def _fingerprints(app, owned: dict[str, str]) -> set[str]:
    """Values only the owner's entities hold (numbers, names, e-mail addresses, IBANs)."""
    st = app.services.find(WorldServices).store
    found: set[str] = set()
    for entity_id in owned:
        entity = st.get(entity_id) or {}
        for key in FINGERPRINTS:
            value = entity.get(key)
            if isinstance(value, str) and len(value) >= 6:
                found.add(value)
    return found


def _walk(client: TestClient, app, headers: dict, owned: dict[str, str]) -> list[tuple[str, int, bool]]:
    """Call every portal operation with ``owned``'s ids; (operationId, status, leaked): a 2xx body that
    shows the owner's data, or an owned id that the request body did not carry (an echo of the body the
    caller sent is no leak)."""
    ops = sorted(app.services.apis["customer-portal"].operations,
                 key=lambda o: (o.method.upper() == "DELETE" and o.path.endswith("/user"), o.path, o.method))
    prints = _fingerprints(app, owned)
    seen = []
    for seed, op in enumerate(ops):
        path, query, body = _walk_request(op, owned, seed)
        r = client.request(op.method.upper(), path, params=query, json=body, headers=headers)
        assert r.status_code < 500, f"{op.id}: {r.status_code} {r.text[:300]}"
        sent = json.dumps(body)  # an id echoed from the body the caller sent is not a leak
        leaked = 200 <= r.status_code < 300 and (any(v in r.text for v in prints)
                                                 or any(i in r.text and i not in sent for i in owned))
        seen.append((op.id, r.status_code, leaked))
    return seen


def _state(app, ids) -> dict:
    st = app.services.find(WorldServices).store
    return {i: (st.get(i), sorted(st.links([i]))) for i in ids}


def test_every_portal_operation_refuses_another_customers_ids():
    app = create_app(MockConfig())
    with TestClient(app) as client:
        victim = _owned(client, VICTIM)
        mine = _owned(client, PORTAL)
        victim = {i: s for i, s in victim.items() if i not in mine}
        before = _state(app, victim)
        results = _walk(client, app, PORTAL, victim)
        assert len(results) == len(app.services.apis["customer-portal"].operations)
        leaks = [(op_id, status) for op_id, status, leaked in results if leaked]
        assert leaks == []
        assert _state(app, victim) == before, "another customer's entities or relations changed"


def test_the_walk_sees_data_when_the_ids_are_the_callers_own():
    """The walk's leak detection works: with the owner's token, the same requests return their data."""
    app = create_app(MockConfig())
    with TestClient(app) as client:
        owned = _owned(client, VICTIM)
        results = _walk(client, app, VICTIM, owned)
        shown = {op_id for op_id, _status, leaked in results if leaked}
    assert {"getContract", "getEntityActivityFeed", "getEntityWorkflows", "searchPaymentRelationsInEntities",
            "getBillingAccount"} <= shown, sorted(shown)
