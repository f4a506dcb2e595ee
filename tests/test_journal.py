"""The journal: headers with secrets masked, bounded bodies, find/count by every criterion, the live
feed; the docs pages and the world browser's admin routes."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from starlette.testclient import TestClient

from contracts.serving import serve_in_thread
from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.journal_query import PatternError, glob_regex, parse_pattern

ORG = {"Authorization": "Bearer demo-org-token"}
PORTAL = {"Authorization": "Bearer demo-portal-token"}


@pytest.fixture(scope="module")
def journal_client():
    app = create_app(MockConfig(journal_body_limit=256, journal_mask=["X-Tenant-Key"]))
    with TestClient(app) as client:
        yield client


def find(client, **pattern):
    r = client.post("/__admin/requests/find", json=pattern)
    assert r.status_code == 200, r.text
    return r.json()["requests"]


def test_headers_are_recorded_with_secrets_masked(journal_client):
    c = journal_client
    c.delete("/__admin/requests")
    c.get("/v2/portal/contract", headers={**PORTAL, "Cookie": "session=abc", "X-Tenant-Key": "k-123",
                                          "X-Api-Token": "t-9", "X-Trace": "trace-1"})
    [entry] = find(c, operation_id="getAllContracts")
    headers = entry["request"]["headers"]
    assert headers["authorization"] == "Bearer ***"
    assert headers["cookie"] == headers["x-tenant-key"] == headers["x-api-token"] == "***"
    assert headers["x-trace"] == "trace-1"
    assert "demo-portal-token" not in json.dumps(entry) and "k-123" not in json.dumps(entry)
    assert entry["response"]["headers"]["content-type"] == "application/json"
    assert entry["response"]["truncated"] and entry["response"]["body_size"] > len(entry["response"]["body"])


def test_secret_query_parameters_are_masked(journal_client):
    journal_client.get("/v1/entity/schemas", params={"api_token": "zzz-secret", "size": "5"}, headers=ORG)
    entry = journal_client.post("/__admin/requests/find", json={"operation_id": "listSchemas"}).json()["requests"][-1]
    assert entry["query"] == "api_token=***&size=5"
    assert "zzz-secret" not in json.dumps(entry)


def test_bodies_are_bounded_and_secret_fields_masked(journal_client):
    c = journal_client
    c.delete("/__admin/requests")
    c.post("/v1/entity/contact", headers=ORG, json={"first_name": "Ida", "password": "hunter2",
                                                     "notes": "x" * 400})
    [entry] = find(c, operation_id="createEntity")
    request = entry["request"]
    assert request["truncated"] and request["body_size"] > 400 and len(request["body"]) <= 256
    assert "hunter2" not in request["body"] and '"password":"***"' in request["body"]  # masked even when cut
    assert "json" not in request  # a cut body is no longer JSON
    c.post("/v1/entity/contact", headers=ORG, json={"first_name": "Jo", "client_secret": "s3"})
    entry = find(c, operation_id="createEntity")[-1]
    assert entry["request"]["json"] == {"first_name": "Jo", "client_secret": "***"}
    assert not entry["request"]["truncated"]


def test_non_utf8_bodies_are_kept_as_base64(journal_client):
    c = journal_client
    c.delete("/__admin/requests")
    c.post("/v1/entity/contact", headers={**ORG, "Content-Type": "application/json"}, content=b'{"a": "\xff"}')
    [entry] = find(c, path="/v1/entity/contact")
    assert entry["request"]["body_encoding"] == "base64" and entry["status"] == 400


def test_find_and_count_match_by_every_criterion(journal_client):
    c = journal_client
    c.delete("/__admin/requests")
    c.get("/v2/portal/contract", headers=PORTAL)
    c.get("/v2/portal/contract")  # 401
    c.post("/v1/entity/contact", headers={**ORG, "X-Trace": "t-1"}, json={"first_name": "Ada", "age": 3})
    c.get("/nowhere")
    first = find(c)[0]["id"]

    def count(**pattern):
        r = c.post("/__admin/requests/count", json=pattern)
        assert r.status_code == 200, r.text
        return r.json()["count"]

    assert count() == 4
    assert count(method="get") == 3
    assert count(path="/v2/portal/contract") == 2 and count(path="/v2/portal") == 0
    assert count(path_pattern="/v2/.*/contract") == 2 and count(path_pattern="/v2") == 0  # a full match
    assert count(path_glob="/v2/*/contract") == 2 and count(path_glob="/v2/*") == 0 and count(path_glob="/v2/**") == 2
    assert count(operation_id="getAllContracts") == 2 and count(api="entity") == 1
    assert count(status=401) == 1 and count(status="2xx") == 2 and count(status=[401, 404]) == 2
    assert count(unmatched=True) == 1
    assert count(headers={"x-trace": "t-1"}) == 1 and count(headers={"X-Trace": "t-2"}) == 0
    assert count(body="$.first_name") == 1 and count(body="$.last_name") == 0
    assert count(body={"jsonpath": "$.first_name", "equals": "Ada"}) == 1
    assert count(body={"jsonpath": "$.age", "equals": 3.0}) == 1
    assert count(body={"jsonpath": "$.age", "equals": "3"}) == 0
    assert count(body={"jsonpath": "$.first_name", "matches": "^A"}) == 1
    assert count(body=["$.first_name", {"jsonpath": "$.age", "equals": 4}]) == 0  # every check must hold
    assert count(response_body={"jsonpath": "$._schema", "equals": "contact"}) == 1
    assert count(response_body="$.message") == 2  # the 401 and the 404 (the list answer is cut: not JSON)
    assert count(since_id=first) == 3
    assert count(include_admin=True, path_glob="/__admin/**") >= 3  # the journal's own calls, on request
    assert [e["path"] for e in find(c, limit=1)] == ["/nowhere"]  # the newest
    assert count(method="POST", status=201, body={"jsonpath": "$.first_name", "equals": "Ada"}) == 1


@pytest.mark.parametrize("pattern, problem", [
    ({"nope": 1}, "unknown field(s) nope"),
    ({"status": "abc"}, "'status' must be"),
    ({"status": 99}, "'status' must be"),
    ({"path_pattern": "("}, "not a valid regular expression"),
    ({"path_pattern": "a", "path_glob": "b"}, "not both"),
    ({"body": "$["}, "is not a JSONPath"),
    ({"body": {"jsonpath": "$.a", "like": 1}}, "unknown field(s) like"),
    ({"limit": -1}, "'limit' must be"),
    ({"unmatched": "yes"}, "'unmatched' must be"),
    ([], "must be a JSON object"),
])
def test_bad_patterns_are_a_400_naming_the_field(journal_client, pattern, problem):
    with pytest.raises(PatternError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        parse_pattern(pattern)
    for route in ("find", "count"):
        r = journal_client.post(f"/__admin/requests/{route}", json=pattern)
        assert r.status_code == 400 and problem in r.json()["message"]
    r = journal_client.post("/__admin/requests/find", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_glob_segments():
    assert glob_regex("/v1/*/x") == "/v1/[^/]*/x"
    assert parse_pattern({"path_glob": "/a/**/c?"}).path_regex.fullmatch("/a/b/b/cd")


def test_entries_carry_what_other_middleware_adds_and_the_list_keeps_its_query_filters():
    """``scope["mock.extras"]`` (say, the id of a runtime override) shows in the entry's ``extras``."""
    app = create_app(MockConfig())
    inner = app.app

    async def tagging(scope, receive, send):
        if scope["type"] == "http":
            scope.setdefault("mock.extras", {})["override"] = "ov-1"
        await inner(scope, receive, send)

    app.app = tagging
    with TestClient(app) as c:
        c.get("/v2/portal/contract", headers=PORTAL)
        app.app = inner
        listed = c.get("/__admin/requests", params={"path": "/v2/portal", "status": "200"}).json()
        assert [e["extras"] for e in listed["requests"]] == [{"override": "ov-1"}]
        assert listed["capacity"] == 1000


@pytest.mark.network
def test_the_stream_sends_new_entries_as_server_sent_events():
    with serve_in_thread(create_app(MockConfig())) as url:
        events: list[dict] = []
        ready = threading.Event()

        def listen() -> None:
            with httpx.stream("GET", f"{url}/__admin/requests/stream", timeout=30) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                kind = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        if kind == "hello":
                            ready.set()
                        elif kind == "request":
                            events.append(json.loads(line[6:]))
                            if events[-1]["operation_id"] == "getAllContracts":
                                return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert ready.wait(15)
        httpx.get(f"{url}/v2/portal/contract", headers=PORTAL)
        thread.join(20)
        assert events and events[-1]["operation_id"] == "getAllContracts" and events[-1]["id"] > 0
        assert httpx.get(f"{url}/__admin/requests/stream", params={"since_id": "x"}).status_code == 400


# -- the docs pages ------------------------------------------------------------------------------


def test_docs_index_pages_and_documents(client):
    index = client.get("/__docs")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    for name in ("customer-portal", "entity", "erp-integration", "pricing"):
        assert f'href="/__docs/{name}"' in index.text
    page = client.get("/__docs/pricing")
    assert "/__docs/static/swagger-ui-bundle.js" in page.text and "https://" not in page.text  # no CDN
    assert client.get("/__docs/static/swagger-ui-bundle.js").headers["content-type"].endswith("javascript")
    assert client.get("/__docs/static/index.html").status_code == 404
    spec = client.get("/__docs/customer-portal/openapi.json").json()
    assert spec["servers"] == [{"url": "/", "description": "this mock"}]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["PortalAuth"]["x-mock-demo-tokens"][0] == "demo-portal-token"
    assert "demo-org-token" not in schemes["PortalAuth"]["x-mock-demo-tokens"]  # only the kinds it accepts
    assert "`demo-portal-token`" in schemes["PortalAuth"]["description"]
    assert client.get("/__docs/nope").status_code == 404
    assert client.post("/__docs/pricing").status_code == 405


def test_docs_for_a_mounted_spec_under_a_prefix():
    from tests.conftest import corpus

    app = create_app(MockConfig(specs=[f"/legacy={corpus('colon_routes.yaml')}"], behaviours=False))
    with TestClient(app) as c:
        name = next(iter(app.services.apis))
        spec = c.get(f"/__docs/{name}/openapi.json").json()
        assert spec["servers"][0]["url"].startswith("/legacy")
        assert c.get(f"/__docs/{name}").status_code == 200


# -- the world browser ---------------------------------------------------------------------------


def test_world_browser_routes(client):
    schemas = client.get("/__admin/store/schemas").json()
    assert schemas["total"] == sum(s["count"] for s in schemas["schemas"]) > 0
    page = client.get("/__admin/store/entities", params={"schema": "contract", "limit": 2}).json()
    assert len(page["entities"]) == 2 and page["total"] > 2
    assert all(e["_schema"] == "contract" for e in page["entities"])
    contract = page["entities"][0]
    detail = client.get(f"/__admin/store/entities/{contract['_id']}").json()
    assert detail["entity"] == contract
    assert any(r["schema"] == "contact" and r["exists"] for r in detail["relations"])
    searched = client.get("/__admin/store/entities", params={"q": contract["_title"]}).json()
    assert contract["_id"] in {e["_id"] for e in searched["entities"]}
    assert client.get("/__admin/store/entities/nope").status_code == 404
    assert client.get("/__admin/store/entities", params={"limit": "x"}).status_code == 400


def test_world_browser_without_a_store(stateless):
    assert stateless.get("/__admin/store/schemas").status_code == 404
    assert stateless.get("/__admin/ui").status_code == 200  # the console works without a plugin
    assert "Webhook deliveries" in stateless.get("/__admin/ui").text
    assert "GET /__admin/deliveries" not in stateless.get("/__admin/health").json()["admin_routes"]


def test_the_admin_document_is_valid_and_names_every_engine_route(stateless):
    import re

    from openapi_spec_validator import validate

    doc = stateless.get("/__admin/openapi.json").json()
    validate(doc)
    documented = {f"{method.upper()} {re.sub(r'{[^}]+}', '{}', path)}"
                  for path, item in doc["paths"].items() for method in item}
    routes = {re.sub(r"{[^}]+}", "{}", r) for r in stateless.get("/__admin/health").json()["admin_routes"]}
    assert routes - documented == set()
