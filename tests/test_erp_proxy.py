"""Secure proxies and managed calls forward only to URLs a whitelist allows, through the one forwarding
function and its outbound policy; nothing ever leaves loopback here (local receivers, injected resolvers).
Type generation learns the managed calls' shapes from the calls they made."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from contracts.serving import free_port, serve_in_thread
from mockserver.engine.app import MockConfig, create_app
from mockserver.epilot.erp.forwarding import ForwardRefused, check_outbound_policy, whitelist_refusal
from mockserver.epilot.world.extension import outbound_dispatcher

from .conftest import ORG

pytestmark = pytest.mark.network


class Upstream:
    """The ERP's API on a loopback port: records requests, answers balances and OAuth tokens."""

    def __init__(self):
        self.requests: list[dict] = []

        async def any_path(request: Request):
            body = await request.body()
            self.requests.append({"method": request.method, "path": request.url.path,
                                  "raw_path": request.scope["raw_path"].decode(), "query": request.url.query,
                                  "headers": dict(request.headers), "body": body})
            if request.url.path == "/oauth/token":
                form = dict(x.split("=") for x in body.decode().split("&"))
                if form.get("client_secret") != "s3cret":
                    return JSONResponse({"error": "invalid_client"}, 401)
                return JSONResponse({"access_token": "tok-1", "token_type": "Bearer"})
            if request.url.path.endswith("/broken"):
                return JSONResponse({"error": "boom"}, 500)
            if request.url.path.endswith("/text"):
                return PlainTextResponse("hello")
            return JSONResponse({"balance": -42.5, "path": request.url.path})

        self.app = Starlette(routes=[Route("/{path:path}", any_path, methods=["GET", "POST", "PUT", "DELETE"])])


@pytest.fixture
def world():
    upstream = Upstream()
    port = free_port()
    with serve_in_thread(upstream.app, port) as base, TestClient(create_app(MockConfig())) as client:
        dispatcher = outbound_dispatcher(client.app.services)
        names = {"erp.example.test": "127.0.0.1", "metadata.example.test": "169.254.169.254"}

        async def resolver(host: str, port: int) -> list[str]:
            await asyncio.sleep(0)
            if host not in names:
                raise OSError(f"unknown host {host}")
            return [names[host]]

        dispatcher.resolver = resolver
        dispatcher.timeout = 5.0
        created = client.post("/v2/integrations", headers=ORG, json={
            "name": "Powercloud", "integration_type": "connector",
            "connector_config": {"base_url": f"http://erp.example.test:{port}/v1", "auth": {
                "type": "oauth2_client_credentials", "token_url": f"http://erp.example.test:{port}/oauth/token",
                "client_id": "epilot", "client_secret": "{{env.CLIENT_SECRET}}"}},
            "use_cases": [
                {"name": "Static IP", "slug": "static-ip", "type": "secure_proxy", "enabled": True,
                 "configuration": {"vpc_mode": "static_ip", "allowed_domains": ["*.example.test"],
                                   "allowed_ips": ["127.0.0.0/8"]}},
                {"name": "Contract balance", "slug": "balance", "type": "managed_call", "enabled": True,
                 "configuration": {
                     "operation": {"method": "GET", "path": "/contracts/{{contract_number}}/balance",
                                   "headers": {"x-tenant": "{{tenant}}"}, "query_params": {"at": "{{day}}"}},
                     "request_mapping": "{'contract_number': contract.number, 'tenant': 'SW', 'day': '2026-11-30'}",
                     "response_mapping": "{'balance': data.balance, 'currency': 'EUR', 'status': status}"}}]})
        assert created.status_code == 201, created.text
        client.put("/__admin/erp/environments", params={"integration_id": created.json()["id"]},
                   json={"CLIENT_SECRET": "s3cret"})
        yield client, created.json(), upstream, base, port


def _proxy(client, integration_id, url, method="GET", **extra):
    return client.post("/v1/secure-proxy", headers=ORG, json={
        "integration_id": integration_id, "use_case_slug": "static-ip", "url": url, "method": method, **extra})


def test_secure_proxy_forwards_only_what_the_whitelist_allows(world):
    client, integration, upstream, base, port = world
    ok = _proxy(client, integration["id"], f"{base}/v1/contracts/4711", "POST", body={"a": 1},
                headers={"x-trace": "t1"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status_code"] == 200 and ok.json()["body"]["balance"] == -42.5
    sent = upstream.requests[-1]
    assert (sent["method"], sent["body"], sent["headers"]["x-trace"]) == ("POST", b'{"a":1}', "t1")

    by_name = _proxy(client, integration["id"], f"http://erp.example.test:{port}/v1/text")
    assert by_name.status_code == 200 and by_name.json()["body"] == {"text": "hello"}
    assert upstream.requests[-1]["headers"]["host"] == f"erp.example.test:{port}"  # the checked address, named

    before = len(upstream.requests)
    refused = _proxy(client, integration["id"], "https://evil.example.com/steal")
    assert refused.status_code == 403 and "not in allowed_domains" in refused.json()["message"]
    metadata = _proxy(client, integration["id"], "http://metadata.example.test/latest/meta-data")
    assert metadata.status_code == 403 and "169.254.169.254" in metadata.json()["message"]
    assert len(upstream.requests) == before  # nothing was sent for either

    down = _proxy(client, integration["id"], f"http://127.0.0.1:{free_port()}/nobody")
    assert down.status_code == 502 and down.json()["message"] == "Upstream network error"
    unknown = client.post("/v1/secure-proxy", headers=ORG, json={
        "integration_id": integration["id"], "use_case_slug": "nope", "url": f"{base}/x", "method": "GET"})
    assert unknown.status_code == 403

    events = client.post(f"/v2/integrations/{integration['id']}/monitoring/events", headers=ORG,
                         json={"use_case_type": "secure_proxy"}).json()["data"]
    assert {e["code"] for e in events} >= {"FORWARDED", "NOT_WHITELISTED", "REFUSED", "ECONNREFUSED"}


def test_whitelists_change_with_history_and_a_disabled_proxy_is_unavailable(world):
    client, integration, _upstream, base, port = world
    proxy = next(u for u in integration["use_cases"] if u["type"] == "secure_proxy")
    url = f"/v2/integrations/{integration['id']}/use-cases/{proxy['id']}/secure-proxy-whitelist"
    assert client.get(url, headers=ORG).json() == {"vpc_mode": "static_ip", "allowed_domains": ["*.example.test"],
                                                   "allowed_ips": ["127.0.0.0/8"]}
    changed = client.put(url, headers=ORG, json={"allowed_ips": []}).json()
    assert changed["allowed_ips"] == [] and changed["allowed_domains"] == ["*.example.test"]
    history = client.get(f"{url}/history", headers=ORG).json()["history"]
    assert [h["configuration"]["allowed_ips"] for h in history] == [["127.0.0.0/8"]]
    assert _proxy(client, integration["id"], f"{base}/v1/x").status_code == 403  # 127.0.0.1 is no longer allowed
    listed = client.get("/v1/integrations/secure-proxies", headers=ORG).json()["secure_proxies"]
    assert [(p["slug"], p["integration_name"], p["allowed_ips"]) for p in listed] == [("static-ip", "Powercloud", [])]
    other = next(u for u in integration["use_cases"] if u["type"] == "managed_call")
    assert client.get(url.replace(proxy["id"], other["id"]), headers=ORG).status_code == 404

    client.put(f"/v1/integrations/{integration['id']}/use-cases/{proxy['id']}", headers=ORG,
               json={"enabled": False})
    disabled = _proxy(client, integration["id"], f"http://erp.example.test:{port}/v1/x")
    assert disabled.status_code == 503


def test_managed_calls_map_authenticate_and_respect_the_whitelist(world):
    client, integration, upstream, _base, _port = world
    url = "/v1/managed-call/balance/execute"
    done = client.post(url, headers=ORG, json={"integration_id": integration["id"],
                                               "payload": {"contract": {"number": "SAP 4711"}},
                                               "correlation_id": "portal-1"})
    assert done.status_code == 200, done.text
    assert done.json() == {"balance": -42.5, "currency": "EUR", "status": 200}
    token, call = upstream.requests[-2:]
    assert token["path"] == "/oauth/token" and b"client_secret=s3cret" in token["body"]
    assert call["raw_path"] == "/v1/contracts/SAP%204711/balance" and call["query"] == "at=2026-11-30"
    assert call["headers"]["authorization"] == "Bearer tok-1" and call["headers"]["x-tenant"] == "SW"
    trace = client.get(f"/v2/integrations/{integration['id']}/monitoring/traces/portal-1", headers=ORG).json()
    assert trace["status"] == "success" and trace["spans"][0]["use_case_type"] == "managed_call"

    missing = client.post(url, headers=ORG, json={"integration_id": integration["id"], "payload": {}})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "REQUEST_MAPPING_FAILED"
    assert client.post("/v1/managed-call/nope/execute", headers=ORG,
                       json={"integration_id": integration["id"]}).status_code == 404

    proxy = next(u for u in integration["use_cases"] if u["type"] == "secure_proxy")
    client.put(f"/v2/integrations/{integration['id']}/use-cases/{proxy['id']}/secure-proxy-whitelist", headers=ORG,
               json={"allowed_domains": ["api.example.de"], "allowed_ips": []})
    before = len(upstream.requests)
    refused = client.post(url, headers=ORG, json={"integration_id": integration["id"],
                                                  "payload": {"contract": {"number": "1"}}})
    assert refused.status_code == 403 and "erp.example.test" in refused.json()["message"]
    assert len(upstream.requests) == before


def test_types_are_learned_from_executed_calls(world):
    client, integration, _upstream, _base, _port = world
    integration_id = integration["id"]
    preview = client.post(f"/v1/integrations/{integration_id}/generate-types-preview", headers=ORG).json()
    assert preview["use_cases"][0]["response_shape"] == {"kind": "unknown", "source": "none"}
    client.post("/v1/managed-call/balance/execute", headers=ORG, json={
        "integration_id": integration_id, "payload": {"contract": {"number": "4711"}}})
    preview = client.post(f"/v1/integrations/{integration_id}/generate-types-preview", headers=ORG).json()
    shape = preview["use_cases"][0]["response_shape"]
    assert shape["source"] == "execution" and shape["properties"]["balance"] == {"kind": "number"}
    assert preview["suggested_version"] == "1.0.0"
    generated = client.post(f"/v1/integrations/{integration_id}/generate-types", headers=ORG,
                            json={"package_name": "@sw/powercloud", "version": "1.0.0"}).json()
    assert "export interface BalanceResponse {" in generated["files"]["index.d.ts"]
    assert "  balance: number;" in generated["files"]["index.d.ts"]
    assert client.post(f"/v1/integrations/{integration_id}/commit-types", headers=ORG, json={
        "package_name": "@sw/powercloud", "version": "1.0.0",
        "annotations": {"balance": {"response": {"balance": "number"}}}}).json() == {"committed": True,
                                                                                    "warnings": []}
    stored = client.get(f"/v1/integrations/{integration_id}", headers=ORG).json()["connector_config"]
    assert stored["latest_types_version"] == "1.0.0" and stored["types_versions"][0]["status"] == "active"
    client.put("/v1/integrations/" + integration_id + "/use-cases/" + next(
        u["id"] for u in integration["use_cases"] if u["type"] == "managed_call"), headers=ORG, json={
        "configuration": {"operation": {"method": "GET", "path": "/contracts/{{contract_number}}/balance"},
                          "request_mapping": "{'contract_number': contract.number}",
                          "response_mapping": "{'amount': data.balance}"}})
    client.post("/v1/managed-call/balance/execute", headers=ORG, json={
        "integration_id": integration_id, "payload": {"contract": {"number": "4711"}}})
    preview = client.post(f"/v1/integrations/{integration_id}/generate-types-preview", headers=ORG).json()
    assert preview["previous_version"] == "1.0.0" and preview["suggested_bump"] == "major"
    assert preview["suggested_version"] == "2.0.0"
    assert {(c["field"], c["type"]) for c in preview["detected_changes"]} >= {
        ("response.balance", "breaking"), ("response.amount", "non-breaking")}


def test_the_whitelist_and_policy_rules():
    allow = {"allowed_domains": ["*.example.de", "api.erp.test"], "allowed_ips": ["10.0.0.0/8", "::1", "bad/99"]}
    assert whitelist_refusal(allow, "https://a.example.de/x") is None
    assert whitelist_refusal(allow, "https://a.b.example.de/x") is None
    assert whitelist_refusal(allow, "https://example.de/x") is not None
    assert whitelist_refusal(allow, "https://API.ERP.TEST/x") is None
    assert whitelist_refusal(allow, "https://api.erp.test.evil.com/x") is not None
    assert whitelist_refusal(allow, "http://10.1.2.3:8080/x") is None
    assert whitelist_refusal(allow, "http://[::1]/x") is None
    assert whitelist_refusal(allow, "http://11.0.0.1/x") is not None
    assert whitelist_refusal(allow, "ftp://a.example.de/x") is not None
    for address in ("169.254.169.254", "0.0.0.0", "224.0.0.1", "fe80::1", "fd00:ec2::254"):
        with pytest.raises(ForwardRefused):
            check_outbound_policy("http://x/", address)
    check_outbound_policy("http://x/", "127.0.0.1")


def test_the_portal_proxy_goes_through_the_same_outbound_policy(world):
    client, _integration, upstream, _base, port = world
    portal = {"Authorization": "Bearer demo-portal-token"}
    created = client.post("/v2/integrations", headers=ORG, json={
        "name": "Portal actions", "integration_type": "connector",
        "connector_config": {"base_url": f"http://erp.example.test:{port}/v1"},
        "use_cases": [
            {"name": "Static IP", "slug": "static-ip", "type": "secure_proxy", "enabled": True,
             "configuration": {"vpc_mode": "static_ip", "allowed_domains": ["*.example.test"]}},
            {"name": "Meter check", "slug": "meter-check", "type": "managed_call", "enabled": True,
             "configuration": {"operation": {"method": "POST", "path": "/portal/check"}}},
            {"name": "Elsewhere", "slug": "elsewhere", "type": "managed_call", "enabled": True,
             "configuration": {"operation": {"method": "GET", "path": "/latest/meta-data"}}}]})
    assert created.status_code == 201, created.text
    integration_id = created.json()["id"]
    ok = client.post("/v2/portal/proxy/execute", headers=portal, json={
        "integration_id": integration_id, "use_case_slug": "meter-check", "payload": {"meter": "1ESY0001"}})
    assert ok.status_code == 200 and ok.json()["success"] is True, ok.text
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/portal/check" and sent["headers"]["host"] == f"erp.example.test:{port}"
    assert b'"meter":"1ESY0001"' in sent["body"] and sent["headers"]["x-epilot-portal-user-id"]
    before = len(upstream.requests)
    # The same call, with the connector pointed at a name that resolves to the metadata address:
    # the outbound policy refuses it before any connection.
    client.put(f"/v2/integrations/{integration_id}", headers=ORG, json={
        **created.json(), "connector_config": {"base_url": "http://metadata.example.test/v1"}})
    refused = client.post("/v2/portal/proxy/execute", headers=portal, json={
        "integration_id": integration_id, "use_case_slug": "elsewhere"})
    assert refused.status_code == 403 and "nothing was sent" in refused.json()["message"], refused.text
    assert "169.254.169.254" in refused.json()["message"]  # refused for its address, not its name
    assert len(upstream.requests) == before
