
"""The engine over HTTP (in-process): auth, validation, error shapes, Prefer, CORS, limits, admin."""

import orjson
import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app

from .conftest import ORG, PORTAL, corpus
from .test_specs import inventory

PORTAL_ERROR = {"message"}
PRICING_ERROR = {"message", "status", "cause"}  # the published Pricing Error


def test_missing_and_unknown_tokens_get_401_in_the_documented_shape(stateless):
    r = stateless.get("/v1/entity/schemas")
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"status", "error"} and r.json()["status"] == 401  # Entity API ErrorObject
    r = stateless.get("/v2/integrations", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "unknown token" in r.json()["message"]  # ERP ErrorResponseBase
    r = stateless.post("/v1/order", json={}, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert r.status_code == 401 and set(r.json()) <= PRICING_ERROR


def test_a_token_of_the_wrong_kind_is_rejected(stateless_app):
    stateless_app.services.tokens.add("a-portal-login", __import__("mockserver.engine.auth", fromlist=["Principal"])
                                      .Principal("portal_user", "u1"))
    with TestClient(stateless_app) as c:
        r = c.get("/v1/entity/schemas", headers={"Authorization": "Bearer a-portal-login"})
    assert r.status_code == 401 and "not accepted" in r.json()["error"]


@pytest.mark.parametrize("mode,status", [("any", 200), ("off", 200), ("strict", 401)])
def test_auth_modes(mode, status):
    with TestClient(create_app(MockConfig(auth=mode, behaviours=False))) as c:
        headers = {} if mode == "off" else {"Authorization": "Bearer whatever-you-like"}
        assert c.get("/v1/entity/schemas", headers=headers).status_code == status


def test_public_operations_need_no_token(stateless):
    r = stateless.post("/v1/public/catalog", json={"q": "_schema:product"}, headers={"X-Ivy-Org-ID": "739224"})
    assert r.status_code == 200


def test_wrong_parameter_types_get_400_in_each_apis_error_shape(stateless):
    r = stateless.get("/v1/public/historicMarketPrices", params={"market": "day_ahead", "bidding_zone": "XX",
                                                                 "frequency": "PT1H", "from": "2025-01-01",
                                                                 "to": "2025-01-02"}, headers=ORG)
    assert r.status_code == 400 and set(r.json()) <= PRICING_ERROR and "bidding_zone" in r.json()["message"]
    r = stateless.get("/v2/integrations/not-a-uuid", headers=ORG)
    assert r.status_code == 400 and {"code", "message"} >= set(r.json()) and "integrationId" in r.json()["message"]


def test_missing_required_header_parameter(stateless):
    r = stateless.post("/v1/public/validate-promo-codes", json={"promo_codes": ["X"]}, headers=ORG)
    assert r.status_code == 400 and "X-Ivy-Org-ID" in r.json()["message"]


@pytest.mark.parametrize("body,content_type,fragment", [
    (b"{not json", "application/json", "malformed JSON"),
    (b'{"q": "\xff\xfe"}', "application/json", "not valid UTF-8"),
    (b'{"q": NaN}', "application/json", "malformed JSON"),
    (b"q=1", "text/plain", "unsupported content type"),
    (b'["an", "array"]', "application/json", "invalid request body"),
])
def test_bad_bodies_are_4xx_never_500(stateless, body, content_type, fragment):
    r = stateless.post("/v1/entity:search", content=body, headers={**ORG, "content-type": content_type})
    assert 400 <= r.status_code < 500, r.text
    assert fragment in r.json()["error"]


def test_malformed_multipart_is_400(stateless):
    # ssoRedirect is public and takes multipart/form-data: the body reaches the multipart parser.
    for body in (b"--x\r\nNoColonHeader\r\n\r\nv\r\n--x--\r\n", b"garbage without a boundary",
                 b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--"):
        r = stateless.post("/v2/portal/public/sso/redirect", params={"web_uri": "https://portal.example/login"},
                           content=body, headers={"content-type": "multipart/form-data; boundary=x"},
                           follow_redirects=False)
        assert r.status_code == 400, body
        assert r.json()["message"].startswith("malformed multipart body")


def test_oversized_bodies_get_413():
    with TestClient(create_app(MockConfig(behaviours=False, body_limit=1024))) as c:
        r = c.post("/v1/entity:search", content=b'{"q": "' + b"a" * 4096 + b'"}',
                   headers={**ORG, "content-type": "application/json"})
    assert r.status_code == 413 and "exceeds 1024 bytes" in r.json()["error"]


def test_wrong_method_is_405_with_allow(stateless):
    r = stateless.put("/v1/entity/schemas", headers=ORG)
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    r = stateless.options("/v2/integrations")
    assert r.status_code == 204 and r.headers["allow"] == "GET, POST"
    assert stateless.get("/no/such/path").status_code == 404


def test_cors_allows_any_origin_without_credentials_and_answers_preflights(stateless):
    r = stateless.get("/v2/portal/contract", headers={**PORTAL, "Origin": "http://localhost:3000"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    r = stateless.options("/v2/portal/contract", headers={"Origin": "http://app.local",
                                                          "Access-Control-Request-Method": "GET",
                                                          "Access-Control-Request-Headers": "authorization"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert "GET" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "authorization"


def test_cors_can_be_disabled():
    with TestClient(create_app(MockConfig(behaviours=False, cors=False))) as c:
        assert "access-control-allow-origin" not in c.get("/v2/portal/contract", headers={"Origin": "http://x"}).headers


def test_prefer_code_example_and_dynamic(stateless):
    r = stateless.get("/v2/integrations/8f2c1a3e-5b7d-4e9f-a1c2-3d4e5f6a7b8c", headers={**ORG, "Prefer": "code=404"})
    assert r.status_code == 404
    r = stateless.get("/v1/entity/schemas", headers={**ORG, "Prefer": "code=599"})
    assert r.status_code == 400 and "not documented" in r.json()["error"]
    r = stateless.get("/v1/entity/schemas", headers={**ORG, "Prefer": "example=nope"})
    assert r.status_code == 400 and "is not an example" in r.json()["error"]
    one = stateless.get("/v1/entity/schemas", headers={**ORG, "Prefer": "dynamic=true"}).json()
    two = stateless.get("/v1/entity/schemas", headers={**ORG, "Prefer": "dynamic=true"}).json()
    assert one != two
    static = stateless.get("/v1/entity/schemas", headers=ORG).json()
    assert static == stateless.get("/v1/entity/schemas", headers=ORG).json()


def test_named_examples_are_served():
    with TestClient(create_app(MockConfig(specs=[corpus("split/openapi.yaml")]))) as c:
        r = c.get("/v1/customers/6e0f0b0a-1b1c-4d8e-9a0a-0c0b0a090807", headers={"X-Api-Key": "demo-org-token"})
        assert r.status_code == 200 and r.json()["name"] == "Erika Mustermann"
        r = c.get("/v1/customers/6e0f0b0a-1b1c-4d8e-9a0a-0c0b0a090807", headers={"X-Api-Key": "demo-org-token",
                                                                                "Prefer": "example=default"})
        assert r.json()["name"] == "Erika Mustermann"
        assert c.get("/v1/customers/x", headers={"X-Api-Key": "nope"}).status_code == 401


def test_generated_bodies_are_deterministic_per_seed():
    def body(seed):
        with TestClient(create_app(MockConfig(specs=[corpus("recursive.yaml")], seed=seed))) as c:
            return c.get("/tree").content
    assert body(1) == body(1)
    assert body(1) != body(2)


def test_admin_health_lists_apis_and_counts(stateless):
    health = stateless.get("/__admin/health").json()
    counts = {a["name"]: a["operations"] for a in health["apis"]}
    assert counts == {api: len(ops) for api, ops in inventory().items()}
    assert health["operations"] == sum(counts.values())


def test_admin_journal_records_requests_and_filters(stateless):
    stateless.delete("/__admin/requests")
    stateless.get("/v1/entity/schemas", headers=ORG)
    stateless.get("/no/such/path")
    entries = stateless.get("/__admin/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["operation_id"]) for e in entries] == [
        ("DELETE", "/__admin/requests", 204, None), ("GET", "/v1/entity/schemas", 200, "listSchemas"),
        ("GET", "/no/such/path", 404, None)]
    only = stateless.get("/__admin/requests", params={"operation_id": "listSchemas"}).json()["requests"]
    assert len(only) == 1 and only[0]["started_at"].endswith("Z")
    assert stateless.get("/__admin/requests", params={"status": "abc"}).status_code == 400


def test_admin_openapi_document(stateless):
    doc = orjson.loads(stateless.get("/__admin/openapi.json").content)
    assert doc["openapi"].startswith("3.") and "/__admin/health" in doc["paths"]


def test_integers_beyond_64_bits_stay_exact_end_to_end(fresh_client):
    big = 123456789012345678901234567890
    body = b'{"first_name": "Gro\\u00df", "meter_count": 123456789012345678901234567890}'
    created = fresh_client.post("/v1/entity/contact", content=body,
                                headers={**ORG, "content-type": "application/json"})
    assert created.status_code == 201, created.text
    entity_id = created.json()["_id"]
    again = fresh_client.get(f"/v1/entity/contact/{entity_id}", headers=ORG)
    assert b"123456789012345678901234567890" in again.content
    assert again.json()["entity"]["meter_count"] == big


def test_an_invalid_body_names_the_specific_reason_inside_a_oneof(stateless):
    # A composite price item of the wrong shape deep inside an anyOf: the message names the field.
    body = {"line_items": [{"price_id": "p", "quantity": "three"}]}
    r = stateless.post("/v1/pricing:compute", json=body, headers=ORG)
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert "quantity" in message and "number" in message, message
    assert len(message) < 400


def test_demo_tokens_work_without_a_world(stateless):
    r = stateless.get("/v2/portal/contract", headers={"Authorization": "Bearer demo-portal-token"})
    assert r.status_code == 200, r.text
    assert stateless.get("/v2/portal/contract", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("amount", ["-0721.9001E+8196003", "1E+999999999", "12e20"])
def test_amounts_beyond_what_can_be_priced_are_a_400(client, amount):
    body = {"line_items": [{"price_id": "p", "quantity": 1, "_price": {
        "_id": "p", "pricing_model": "per_unit", "type": "one_time", "unit_amount_decimal": amount}}]}
    r = client.post("/v1/pricing:compute", json=body, headers=ORG)
    assert r.status_code == 400, r.text
    assert "is not a decimal amount" in r.json()["message"]
