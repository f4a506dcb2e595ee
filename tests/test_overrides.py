"""Runtime overrides through the admin API: matching, answers checked against the spec, counts,
sequences, priority, reset, the journal, and what the admin API documents about them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver.engine.admin import admin_spec
from mockserver.engine.app import create_app
from mockserver.engine.oas_schema import SchemaCompiler, first_error

from .conftest import ORG, PORTAL, checked

CHECKOUT = "/v1/public/cart:checkout"
IVY = {"X-Ivy-Org-ID": "739224"}
UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
DOWN = {"message": "Pricing is down for maintenance", "status": 503}


@pytest.fixture(scope="module")
def mock():
    """Every bundled spec, answered from the spec (no world); every response checked against its spec."""
    app = create_app(checked(behaviours=False, auth="off"))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def c(mock):
    mock.delete("/__admin/overrides")
    yield mock
    mock.delete("/__admin/overrides")


def add(client, **fields):
    r = client.post("/__admin/overrides", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


def checkout(client, **headers):
    return client.post(CHECKOUT, json={"cart": "c6a1f0d2"}, headers={**IVY, **headers})


def admin_schema_problem(name: str, value) -> str | None:
    compiler = SchemaCompiler(admin_spec(), "response")
    return first_error(compiler.compile({"$ref": f"#/components/schemas/{name}"}), value)


def test_fail_twice_then_pass(c):
    created = add(c, id="pricing-down", match={"operation_id": "$checkoutCart"},
                  answer={"status": 503, "body": DOWN}, times=2)
    assert created["operations"] == ["$checkoutCart"] and created["remaining"] == 2 and created["hits"] == 0
    answers = [checkout(c) for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 200]
    assert answers[0].json() == DOWN and answers[0].headers["content-type"] == "application/json"
    state = c.get("/__admin/overrides/pricing-down").json()
    assert (state["hits"], state["remaining"], state["active"]) == (2, 0, False)
    journal = c.get("/__admin/requests", params={"operation_id": "$checkoutCart"}).json()["requests"]
    assert [(e["status"], e["override"]) for e in journal] == [(503, "pricing-down"), (503, "pricing-down"),
                                                                (200, None)]
    assert c.app.services.overrides.by_op == {}  # used up: off the request path again


def test_a_sequence_of_answers_then_the_usual_answer(c):
    add(c, id="flaky", match={"operation_id": "$checkoutCart"},
        sequence=[{"status": 503}, {"pass": True}, {"status": 400, "body": {"status": 400, "message": "cart is empty"}},
                  {"delay": 10}])
    statuses = [checkout(c).status_code for _ in range(5)]
    assert statuses == [503, 200, 400, 200, 200]
    state = c.get("/__admin/overrides/flaky").json()
    assert (state["hits"], state["remaining"], state["active"]) == (4, 0, False)
    journal = c.get("/__admin/requests", params={"operation_id": "$checkoutCart"}).json()["requests"][-5:]
    # A pass answers as usual (nothing to name); a delay shaped the answer.
    assert [e["override"] for e in journal] == ["flaky", None, "flaky", "flaky", None]


def test_a_status_without_a_body_answers_the_documented_body(c):
    add(c, match={"operation_id": "$checkoutCart"}, answer={"status": 503, "headers": {"Retry-After": "2"}})
    r = checkout(c)
    assert r.status_code == 503 and r.json() == {"message": "Service Unavailable", "status": 503}
    assert r.headers["retry-after"] == "2"


def test_priority_lower_wins_then_newest_then_the_next_when_used_up(c):
    add(c, id="low", match={"operation_id": "$checkoutCart"}, answer={"status": 400}, priority=9)
    add(c, id="first", match={"operation_id": "$checkoutCart"}, answer={"status": 404}, priority=1, times=1)
    add(c, id="older", match={"operation_id": "$checkoutCart"}, answer={"status": 503}, times=1)
    add(c, id="newer", match={"operation_id": "$checkoutCart"}, answer={"status": 503, "body": DOWN}, times=1)
    assert [o["id"] for o in c.get("/__admin/overrides").json()["overrides"]] == ["first", "newer", "older", "low"]
    got = [checkout(c) for _ in range(5)]
    assert [r.status_code for r in got] == [404, 503, 503, 400, 400]
    assert got[1].json() == DOWN and got[2].json() != DOWN  # the newest of equal priority first


def test_a_body_that_violates_the_spec_is_refused_naming_the_violation(c):
    r = c.post("/__admin/overrides", json={"match": {"operation_id": "$checkoutCart"},
                                           "answer": {"status": 503, "body": {"message": 42}}})
    assert r.status_code == 400
    message = r.json()["message"]
    assert "does not match the spec of $checkoutCart 503" in message and "42" in message and "string" in message
    assert "unchecked" in message
    assert c.get("/__admin/overrides").json()["count"] == 0  # nothing was installed
    r = c.post("/__admin/overrides", json={"match": {"operation_id": "$checkoutCart"},
                                           "answer": {"status": 503, "body": {"status": 503}}})
    assert r.status_code == 400 and '"message" is a required property' in r.json()["message"]


def test_unchecked_answers_are_sent_as_given(c):
    add(c, match={"operation_id": "$checkoutCart"}, answer={"status": 418, "body": {"tea": True}, "unchecked": True})
    r = checkout(c)  # this app validates every response, and still sends it: the user asked for it
    assert r.status_code == 418 and r.json() == {"tea": True}


def test_an_undocumented_status_is_refused(c):
    r = c.post("/__admin/overrides", json={"match": {"operation_id": "$checkoutCart"}, "answer": {"status": 502}})
    assert r.status_code == 400
    assert r.json()["message"] == ('answer: status 502 is not documented for $checkoutCart (documented: 200, 400, 401, '
                                   '404, 503); set "unchecked": true to send it anyway')


@pytest.mark.parametrize("body,says", [
    ([], "an override is a JSON object"),
    ({"match": {}, "respond": {}}, "unknown field 'respond'"),
    ({"match": {}}, "either an 'answer' or a 'sequence'"),
    ({"answer": {"status": 200}, "sequence": [{"status": 200}]}, "either an 'answer' or a 'sequence'"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {}}, "needs a status, a fault, a delay"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"status": 99}}, "must be an HTTP status"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"body": {}}}, "body needs a status"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"fault": "boom"}}, "fault must be one of"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"fault": "reset", "status": 503}}, "sends no status"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"pass": True, "status": 200}}, "takes no status"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"delay": "soon"}}, "not a duration"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"status": 503}, "times": 0}, "positive integer"),
    ({"match": {"operation_id": "$checkoutCart"}, "sequence": []}, "non-empty list"),
    ({"match": {"operation_id": "$checkoutCart"}, "sequence": [{"status": 503}], "times": 2}, "drop 'times'"),
    ({"match": {"operation_id": "$checkoutCart"}, "answer": {"status": 503}, "priority": "high"}, "integer"),
    ({"id": "no spaces", "match": {}, "answer": {"delay": 1}}, "'id' must be"),
    ({"match": {"operation_id": "noSuchOperation"}, "answer": {"delay": 1}}, "names no operation"),
    ({"match": {"api": "nope"}, "answer": {"delay": 1}}, "no API 'nope'"),
    ({"match": {"method": "FETCH"}, "answer": {"delay": 1}}, "not an HTTP method"),
    ({"match": {"path": "v1/x"}, "answer": {"delay": 1}}, "must start with '/'"),
    ({"match": {"body": [{"path": "$.a["}]}, "answer": {"delay": 1}}, "is not a JSONPath"),
    ({"match": {"body": {"$.a": 1}}, "answer": {"delay": 1}}, "must be a list"),
    ({"match": {"headers": {"x": {"nested": 1}}}, "answer": {"delay": 1}}, "must be a string"),
])
def test_bad_overrides_get_a_clear_400(c, body, says):
    r = c.post("/__admin/overrides", json=body)
    assert r.status_code == 400 and says in r.json()["message"], r.text


def test_not_json_gets_a_400(c):
    r = c.post("/__admin/overrides", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]


def test_match_on_headers_query_and_body(c):
    add(c, id="by-header", match={"operation_id": "$checkoutCart", "headers": {"X-Client": "kiosk"}},
        answer={"status": 404})
    conditions = [{"path": "$.mode", "equals": "create_quote"}, {"path": "$.cart.line_items[?@.quantity > 9]"}]
    add(c, id="by-body", match={"operation_id": "$checkoutCart", "body": conditions}, answer={"status": 400})
    assert checkout(c, **{"X-Client": "kiosk"}).status_code == 404
    assert checkout(c, **{"X-Client": "web"}).status_code == 200
    big = {"mode": "create_quote", "cart": {"line_items": [{"price_id": "p", "quantity": 10}]}}
    small = {"mode": "create_quote", "cart": {"line_items": [{"price_id": "p", "quantity": 1}]}}
    order = {**big, "mode": "create_order"}
    assert c.post(CHECKOUT, json=big, headers=IVY).status_code == 400
    assert c.post(CHECKOUT, json=small, headers=IVY).status_code == 200
    assert c.post(CHECKOUT, json=order, headers=IVY).status_code == 200
    add(c, id="by-query", match={"method": "GET", "path": "/v1/entity/schemas", "query": {"unpublished": True}},
        answer={"status": 400})
    assert c.get("/v1/entity/schemas", params={"unpublished": "true"}).status_code == 400
    assert c.get("/v1/entity/schemas", params={"unpublished": "false"}).status_code == 200
    hits = {o["id"]: o["hits"] for o in c.get("/__admin/overrides").json()["overrides"]}
    assert hits == {"by-header": 1, "by-body": 1, "by-query": 1}


def test_path_patterns_reach_the_operations_they_route_to(c):
    one = add(c, match={"method": "GET", "path": "/v1/entity/contact/*"}, answer={"status": 404})
    assert one["operations"] == ["getEntity"]
    many = add(c, match={"path": "/v1/entity/{slug}/{id}"}, answer={"delay": 1})
    # A pattern matches paths, so /v1/entity/schemas/{slug} (getSchema) and /v1/entity/view/{id} are
    # among them too; one-segment paths (/v1/entity/schemas) are not.
    assert {"deleteEntity", "getEntity", "getSchema", "patchEntity", "updateEntity", "getSavedView",
            "getActivity"} <= set(many["operations"])
    assert "listSchemas" not in many["operations"] and "getRelations" not in many["operations"]
    rest = add(c, match={"method": "GET", "path": "/v1/entity/**"}, answer={"delay": 1})
    assert {"getEntity", "getSchema", "listSchemas", "getRelations"} <= set(rest["operations"])
    for newer in (many, rest):  # newer overrides of the same priority would answer first
        c.delete(f"/__admin/overrides/{newer['id']}")
    # A path without wildcards is routed like a request: literal segments beat parameters.
    exact = add(c, match={"method": "GET", "path": "/v1/entity/schemas/contact"}, answer={"status": 401})
    assert exact["operations"] == ["getSchema"]
    assert c.get(f"/v1/entity/contact/{UUID}", headers=ORG).status_code == 404
    assert c.get(f"/v1/entity/opportunity/{UUID}", headers=ORG).status_code == 200  # not /contact/*
    assert c.get("/v1/entity/schemas/contact").status_code == 401
    assert c.get("/v1/entity/schemas/opportunity").status_code == 200  # the exact path only


def test_overrides_answer_valid_requests_only(c):
    add(c, match={"operation_id": "$checkoutCart"}, answer={"status": 503})
    r = c.post(CHECKOUT, json={"cart": 5}, headers=IVY)  # an invalid body still gets its 400
    assert r.status_code == 400


def test_get_delete_one_and_all(c):
    add(c, id="a", match={"operation_id": "$checkoutCart"}, answer={"status": 503})
    add(c, id="b", match={"operation_id": "$checkoutCart"}, answer={"status": 404})
    r = c.get("/__admin/overrides/a")
    assert r.status_code == 200 and r.json()["id"] == "a"
    assert c.delete("/__admin/overrides/a").status_code == 204
    missing = c.delete("/__admin/overrides/a")
    assert missing.status_code == 404 and missing.json()["message"].startswith("no override 'a'")
    assert c.get("/__admin/overrides/a").status_code == 404
    assert c.put("/__admin/overrides/b").status_code == 405
    assert checkout(c).status_code == 404  # b is still there
    assert c.delete("/__admin/overrides").status_code == 204
    assert c.get("/__admin/overrides").json() == {"overrides": [], "count": 0}
    assert checkout(c).status_code == 200


def test_posting_an_existing_id_replaces_it(c):
    add(c, id="x", match={"operation_id": "$checkoutCart"}, answer={"status": 503})
    add(c, id="x", match={"operation_id": "$checkoutCart"}, answer={"status": 404})
    assert c.get("/__admin/overrides").json()["count"] == 1
    assert checkout(c).status_code == 404


def test_reset_drops_overrides_unless_persistent_which_start_over(c):
    add(c, id="gone", match={"operation_id": "$checkoutCart"}, answer={"status": 404}, priority=1)
    add(c, id="kept", match={"operation_id": "$checkoutCart"}, answer={"status": 503}, times=1, persistent=True)
    assert checkout(c).status_code == 404
    c.delete("/__admin/overrides/gone")
    assert checkout(c).status_code == 503 and checkout(c).status_code == 200  # kept is used up
    add(c, id="gone", match={"operation_id": "$checkoutCart"}, answer={"status": 404}, priority=1)
    assert c.post("/__admin/reset").status_code == 200
    listing = c.get("/__admin/overrides").json()["overrides"]
    assert [(o["id"], o["hits"], o["active"]) for o in listing] == [("kept", 0, True)]
    assert checkout(c).status_code == 503  # re-armed


def test_health_counts_active_overrides(c):
    add(c, match={"operation_id": "$checkoutCart"}, answer={"status": 503}, times=1)
    health = c.get("/__admin/health").json()
    assert health["overrides"] == 1 and health["latency"] is None
    checkout(c)
    assert c.get("/__admin/health").json()["overrides"] == 0


def test_admin_answers_are_what_the_admin_api_documents(c):
    created = add(c, id="doc", match={"operation_id": "$checkoutCart", "body": [{"path": "$.cart"}]},
                  answer={"status": 503, "body": DOWN}, times=1, priority=2)
    assert admin_schema_problem("OverrideState", created) is None
    assert admin_schema_problem("Override", {k: created[k] for k in ("id", "match", "answer", "times")}) is None
    for item in c.get("/__admin/overrides").json()["overrides"]:
        assert admin_schema_problem("OverrideState", item) is None
    assert admin_schema_problem("OverrideState", {"id": "x"}) is not None  # the check can fail


# -- with the world: principals, and nothing written by a refused call -------------------------------


@pytest.fixture(scope="module")
def world():
    with TestClient(create_app(checked())) as client:
        yield client


def test_match_on_the_caller(world):
    sybille = world.get("/__admin/tokens").json()["tokens"][1]
    assert sybille["token"] == "demo-portal-token"
    add(world, id="sybille", match={"operation_id": "getContact", "principal": {"email": sybille["email"]}},
        answer={"status": 404})
    add(world, id="portal-users", match={"operation_id": "getContact", "principal": {"kind": "portal_user"}},
        answer={"delay": 1}, priority=9)
    try:
        assert world.get("/v2/portal/contact", headers=PORTAL).status_code == 404
        other = {"Authorization": "Bearer demo-portal-token-2"}
        assert world.get("/v2/portal/contact", headers=other).status_code == 200
        hits = {o["id"]: o["hits"] for o in world.get("/__admin/overrides").json()["overrides"]}
        assert hits == {"sybille": 1, "portal-users": 1}
    finally:
        world.delete("/__admin/overrides")


def test_a_refused_checkout_writes_nothing(world):
    store = world.app.services.store
    before = store.counts_by_schema()["order"]
    add(world, match={"operation_id": "$checkoutCart"}, answer={"status": 503, "body": DOWN}, times=1)
    add(world, match={"operation_id": "$checkoutCart"}, answer={"fault": "reset"}, times=1, priority=1)
    price = {"_id": "p1", "unit_amount_decimal": "10", "pricing_model": "per_unit", "type": "one_time"}
    cart = {"mode": "create_order", "cart": {"customer": {"email": "sybille.salz@example.de"},
                                             "line_items": [{"price_id": "p1", "quantity": 1, "_price": price}]}}
    from mockserver.engine.faults import ConnectionFault

    with pytest.raises(ConnectionFault):
        world.post(CHECKOUT, json=cart, headers=IVY)
    assert world.post(CHECKOUT, json=cart, headers=IVY).status_code == 503
    assert store.counts_by_schema()["order"] == before
    assert world.post(CHECKOUT, json=cart, headers=IVY).status_code == 200
    assert store.counts_by_schema()["order"] == before + 1
