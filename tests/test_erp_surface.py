"""The rest of the ERP Integration surface on the same records: v1 integrations beside v2, use case history,
documentation pages, app mappings and v1 events, v3 events, the v1 simulation, the automation trigger,
monitoring computed from what the mock has seen, access logs, external spans and notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from contracts.serving import free_port, serve_in_thread
from mockserver.engine.app import MockConfig, create_app

from .conftest import ORG

CONTACTS = {"name": "Customers", "slug": "customers", "type": "inbound", "enabled": True, "configuration": {
    "entities": [{"entity_schema": "contact", "unique_ids": ["customer_number"], "fields": [
        {"attribute": "customer_number", "field": "number"}, {"attribute": "last_name", "field": "name"}]}]}}
APP = {"app_id": "3c5e7a9b-1d2f-4a6b-8c0d-e2f4a6b8c0d1", "component_id": "6e8a0c2d-4f1b-4c3d-9e5f-7a9b1c3d5e7f"}


def event(number: str, name: str = "Kraft", **extra) -> dict:
    return {"event_type": "UPDATE", "object_type": "customers", "timestamp": "2026-11-30T08:00:00Z",
            "format": "json", "payload": {"number": number, "name": name}, **extra}


@pytest.fixture
def erp(fresh_client):
    created = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "SAP", "use_cases": [CONTACTS]})
    assert created.status_code == 201
    return fresh_client, created.json()


def test_v1_integrations_are_the_v2_records(erp):
    client, integration = erp
    v1 = client.get(f"/v1/integrations/{integration['id']}", headers=ORG).json()
    assert "use_cases" not in v1 and v1["name"] == "SAP"
    assert [i["id"] for i in client.get("/v1/integrations", headers=ORG).json()["integrations"]] == [integration["id"]]
    created = client.post("/v1/integrations", headers=ORG, json={"name": "Billing", "integration_type": "connector"})
    assert created.status_code == 201 and created.json()["orgId"] == "739224"
    changed = client.put(f"/v1/integrations/{created.json()['id']}", headers=ORG, json={"description": "Billing"})
    assert changed.json()["name"] == "Billing" and changed.json()["description"] == "Billing"
    assert client.get(f"/v2/integrations/{created.json()['id']}", headers=ORG).json()["use_cases"] == []
    assert client.delete(f"/v1/integrations/{created.json()['id']}", headers=ORG).status_code == 200
    assert client.get(f"/v2/integrations/{created.json()['id']}", headers=ORG).status_code == 404
    missing = client.get(f"/v1/integrations/{created.json()['id']}", headers=ORG)
    assert missing.status_code == 404 and missing.content == b""  # published: 404 without a body


def test_use_case_history_keeps_each_replaced_version(erp):
    client, integration = erp
    use_case = integration["use_cases"][0]
    url = f"/v1/integrations/{integration['id']}/use-cases/{use_case['id']}"
    assert client.get(f"{url}/history", headers=ORG).json() == {"history": []}
    for name in ("Customers v2", "Customers v3"):
        client.put(url, headers=ORG, json={"name": name, "change_description": f"rename to {name}"})
    history = client.get(f"{url}/history", headers=ORG).json()["history"]
    assert [h["name"] for h in history] == ["Customers v2", "Customers"]
    assert history[0]["useCaseId"] == use_case["id"] and history[0]["type"] == "inbound"
    assert history[0]["change_description"] == "rename to Customers v2"


def test_documentation_pages_and_protected_integrations(erp):
    client, integration = erp
    base = f"/v1/integrations/{integration['id']}/documentation"
    page = client.put(f"{base}/overview", headers=ORG, json={"title": "Overview", "content": "# SAP"}).json()
    assert (page["scope"], page["created_by"]) == ("integration", page["updated_by"])
    use_case_id = integration["use_cases"][0]["id"]
    scoped = client.put(f"{base}/{use_case_id}", headers=ORG, json={"title": "Customers", "content": "..."}).json()
    assert (scoped["scope"], scoped["use_case_id"]) == ("use_case", use_case_id)
    assert [p["id"] for p in client.get(base, headers=ORG).json()["pages"]] == sorted(["overview", use_case_id])
    assert "content" not in client.get(base, headers=ORG).json()["pages"][0]
    assert client.get(f"{base}/overview", headers=ORG).json()["content"] == "# SAP"
    client.put(f"/v1/integrations/{integration['id']}", headers=ORG, json={"protected": True})
    assert client.put(f"{base}/overview", headers=ORG, json={"title": "x", "content": "y"}).status_code == 403
    assert client.delete(f"{base}/overview", headers=ORG).status_code == 403
    client.put(f"/v1/integrations/{integration['id']}", headers=ORG, json={"protected": False})
    assert client.delete(f"{base}/overview", headers=ORG).status_code == 200
    assert client.get(f"{base}/overview", headers=ORG).status_code == 404


def test_app_mappings_route_v1_events(erp):
    client, integration = erp
    body = {**APP, "meta": {"correlation_id": "v1-run"}, "events": [event("K-7001")]}
    unmapped = client.post("/v1/erp/updates/events", headers=ORG, json=body).json()["results"]
    assert unmapped[0]["status"] == "ignored" and "setIntegrationAppMapping" in unmapped[0]["message"]
    url = f"/v1/integrations/{integration['id']}/app-mapping"
    assert client.put(url, headers=ORG, json=APP).json() == {"integration_id": integration["id"], **APP}
    assert client.get(f"/v1/integrations/{integration['id']}", headers=ORG).json()["app_ids"] == [APP["app_id"]]
    mapped = client.post("/v1/erp/updates/events", headers=ORG, json=body).json()["results"]
    assert mapped[0]["status"] == "success"
    other = client.post("/v1/integrations", headers=ORG, json={"name": "Other"}).json()
    other_url = f"/v1/integrations/{other['id']}/app-mapping"
    assert client.put(other_url, headers=ORG, json=APP).status_code == 409
    assert client.put(other_url, headers=ORG, json={**APP, "overwrite": True}).status_code == 200
    assert client.get(f"/v1/integrations/{integration['id']}", headers=ORG).json()["app_ids"] == []
    assert client.request("DELETE", url, headers=ORG, json=APP).status_code == 404
    assert client.request("DELETE", other_url, headers=ORG, json=APP).status_code == 200


def test_v3_events_route_by_slug_and_event_name(erp):
    client, integration = erp
    results = client.post("/v3/erp/updates/events", headers=ORG, json={
        "integration_id": integration["id"], "correlation_id": "v3-run", "group_id": "g1", "events": [
            {"use_case_slug": "customers", "timestamp": "2026-11-30T08:00:00Z", "format": "json",
             "payload": {"number": "K-7101", "name": "Arndt"}, "deduplication_id": "K-7101-1"},
            {"event_name": "customers", "timestamp": "2026-11-30T08:00:01Z", "format": "xml",
             "payload": "<c><number>K-7102</number><name>Brandt</name></c>"},
            {"event_name": "unknown", "timestamp": "2026-11-30T08:00:02Z", "format": "json", "payload": {}},
            {"use_case_slug": "customers", "timestamp": "2026-11-30T08:00:00Z", "format": "json",
             "payload": {"number": "K-7101"}, "deduplication_id": "K-7101-1"}]}).json()["results"]
    assert [r["status"] for r in results] == ["success", "error", "ignored", "skipped"]  # xml: no `number` at the top
    events = client.post(f"/v1/integrations/{integration['id']}/events", headers=ORG,
                         json={"correlation_id": "v3-run"}).json()["data"]
    assert {e["object_type"] for e in events} == {"customers", "unknown"} and all(e["event_type"] for e in events)
    missing = client.post("/v3/erp/updates/events", headers=ORG, json={
        "integration_id": "00000000-0000-4000-8000-000000000000", "events": []})
    assert missing.status_code == 404


def test_v1_simulation_picks_the_object_type(erp):
    client, _ = erp
    config = {"entities": CONTACTS["configuration"]["entities"]}
    for version, table in (("1.0", "objects"), ("2.0", "events")):
        body = client.post("/v1/erp/updates/mapping_simulation", headers=ORG, json={
            "mapping_configuration": {"version": version, "mapping": {table: {"customer": config}}},
            "object_type": "customer", "format": "json", "payload": {"number": "K-1", "name": "Ott"}}).json()
        assert body["entity_updates"][0]["unique_identifiers"] == {"customer_number": "K-1"}
    none = client.post("/v1/erp/updates/mapping_simulation", headers=ORG, json={
        "mapping_configuration": {"mapping": {"objects": {}}}, "object_type": "customer", "format": "json",
        "payload": {}}).json()
    assert none["entity_updates"] == [] and "no mapping for 'customer'" in none["warnings"][0]["message"]


def test_monitoring_is_computed_from_the_events_seen(erp):
    client, integration = erp
    integration_id = integration["id"]
    client.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration_id,
                                                              "correlation_id": "run-1", "events": [
        event("K-7201"), event("K-7202"), {**event("K-7203"), "payload": {"name": "no number"}},
        {**event("K-7204"), "object_type": "nothing"}]})
    stats = client.post(f"/v1/integrations/{integration_id}/monitoring/stats", headers=ORG,
                        json={"inbound_group_by": ["status"]}).json()
    inbound = stats["inbound"]
    assert (inbound["total_events"], inbound["success_count"], inbound["error_count"], inbound["skipped_count"]) == (
        4, 2, 1, 1)
    assert inbound["total_correlations"] == 1 and inbound["success_rate"] == 50.0 and inbound["last_error_at"]
    assert {b["status"]: b["total_events"] for b in inbound["breakdown"]} == {"success": 2, "error": 1, "skipped": 1}
    assert stats["outbound"]["total_events"] == 0

    now = datetime.now(UTC)
    window = {"from_date": (now - timedelta(hours=2)).isoformat(), "to_date": (now + timedelta(minutes=1)).isoformat(),
              "interval": "1h"}
    series = client.post(f"/v1/integrations/{integration_id}/monitoring/timeseries", headers=ORG,
                         json={**window, "direction": "inbound"}).json()
    assert len(series["buckets"]) == 3 and all(b["outbound"] is None for b in series["buckets"])
    assert sum(b["inbound"]["total_count"] for b in series["buckets"]) == 4
    v2 = client.post(f"/v2/integrations/{integration_id}/monitoring/time-series", headers=ORG,
                     json={**window, "group_by": "use_case_type"}).json()
    assert sum(b["total_count"] for b in v2["buckets"]) == 4
    assert [item["use_case_type"] for b in v2["buckets"] for item in b["breakdown"]] == ["inbound"]

    errors = client.post(f"/v1/integrations/{integration_id}/monitoring/inbound-events", headers=ORG,
                         json={"status": "error"}).json()["data"]
    assert len(errors) == 1 and errors[0]["error_category"] == "validation"
    associated = client.get(f"/v2/integrations/{integration_id}/monitoring/events/{errors[0]['event_id']}/associated",
                            headers=ORG).json()
    assert associated["monitoring_events"][0]["level"] == "error"
    assert associated["inbound_event"]["payload"] == {"name": "no number"}
    assert client.get(f"/v2/integrations/{integration_id}/monitoring/traces/nope", headers=ORG).status_code == 404

    ingested = client.post(f"/v2/integrations/{integration_id}/monitoring/external-events", headers=ORG, json={
        "events": [{"correlation_id": "run-1", "level": "success", "use_case_slug": "customers",
                    "message": "exported by SAP CPI"},
                   {"level": "debug"}, {"level": "error", "use_case_slug": "nope"}]})
    assert ingested.status_code == 202
    assert ingested.json()["accepted"] == 1 and [r["status"] for r in ingested.json()["results"]] == [
        "accepted", "rejected", "rejected"]
    trace = client.get(f"/v2/integrations/{integration_id}/monitoring/traces/run-1", headers=ORG).json()
    assert trace["span_count"] == 5 and trace["status"] == "error"  # four events and the external span
    assert any(s["code"] == "EXTERNAL" for s in trace["spans"]) and trace["inbound_event"]["correlation_id"] == "run-1"


def test_access_logs_keep_the_calls_made_for_an_integration(erp):
    client, integration = erp
    integration_id = integration["id"]
    client.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration_id,
                                                              "events": [event("K-7301")]})
    assert client.put(f"/v1/integrations/{integration_id}/use-cases/{integration['use_cases'][0]['id']}",
                      headers=ORG, json={"type": "outbound"}).status_code == 400
    assert client.get(f"/v1/integrations/{integration_id}/outbound-status", headers=ORG).status_code == 200
    logs = client.post(f"/v1/integrations/{integration_id}/monitoring/access-logs", headers=ORG, json={}).json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in logs[:3]] == [
        ("GET", f"/v1/integrations/{integration_id}/outbound-status", 200),
        ("PUT", f"/v1/integrations/{integration_id}/use-cases/{integration['use_cases'][0]['id']}", 400),
        ("POST", "/v2/erp/updates/events", 200)]
    rejected_write_kept = client.get(f"/v1/integrations/{integration_id}/use-cases", headers=ORG).json()
    assert rejected_write_kept["use_cases"][0]["type"] == "inbound"
    only_posts = client.post(f"/v1/integrations/{integration_id}/monitoring/access-logs", headers=ORG,
                             json={"method": "POST", "path": "/v2/erp/*"}).json()["data"]
    assert [e["path"] for e in only_posts] == ["/v2/erp/updates/events"]


def test_notifications_alert_on_errors_and_test_sends_are_recorded(erp):
    client, integration = erp
    integration_id = integration["id"]
    settings = {"notifications": {
        "enabled": True, "recipients": [{"user_id": "10014532"}], "defaultChannels": {"email": True, "in_app": False},
        "rules": [{"id": "critical", "type": "critical_error", "enabled": True},
                  {"id": "auto", "type": "error_threshold", "enabled": True, "threshold": "auto",
                   "fallbackThreshold": 3}],
        "digest": {"enabled": False, "frequency": "daily", "timeOfDay": "08:00", "timezone": "Europe/Berlin",
                   "channels": {"email": True, "in_app": False}, "includeHealthy": False, "skipIfEmpty": True}}}
    client.put(f"/v1/integrations/{integration_id}", headers=ORG, json={"settings": settings})
    status = client.get(f"/v2/integrations/{integration_id}/notifications/status", headers=ORG).json()
    assert status["health"] == "healthy" and [r["state"] for r in status["rules"]] == ["ok", "ok"]
    client.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration_id, "events": [
        {**event("x"), "payload": {"name": "no number"}}]})
    status = client.get(f"/v2/integrations/{integration_id}/notifications/status",
                        headers=ORG, params={"include": "baseline_series"}).json()
    assert status["health"] == "alerting"
    critical, auto = status["rules"]
    assert critical["state"] == "alerting" and critical["last_fired_at"]
    assert auto["state"] == "ok" and auto["baseline"]["is_mature"] is False and auto["baseline"]["buckets"]
    history = client.get(f"/v2/integrations/{integration_id}/notifications/history", headers=ORG).json()["history"]
    assert [(h["type"], h["state_transition"], h["recipients"]) for h in history] == [
        ("critical_error", "ok->alerting", ["10014532"])]
    sent = client.post(f"/v2/integrations/{integration_id}/notifications/test", headers=ORG, json={"kind": "alert"})
    assert sent.status_code == 202
    assert sent.json()["channels"] == ["email"] and sent.json()["recipient"] == "10014532"
    tests = client.get(f"/v2/integrations/{integration_id}/notifications/history", headers=ORG,
                       params={"type": "test"}).json()["history"]
    assert [t["id"] for t in tests] == [sent.json()["notification_id"]]
    settings["notifications"]["muteUntil"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    client.put(f"/v1/integrations/{integration_id}", headers=ORG, json={"settings": settings})
    assert client.get(f"/v2/integrations/{integration_id}/notifications/status", headers=ORG).json()[
        "health"] == "muted"


@pytest.mark.network
def test_the_automation_trigger_sends_the_entity_once():
    calls = []

    async def hook(request: Request):
        calls.append((dict(request.headers), await request.json()))
        return JSONResponse({"received": True})

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve_in_thread(receiver, free_port()) as base, TestClient(create_app(MockConfig())) as client:
        client.post("/v2/integrations", headers=ORG, json={"name": "SAP", "use_cases": [
            {"name": "Contracts out", "slug": "contracts-out", "type": "outbound", "enabled": True, "configuration": {
                "event_catalog_event": "Nothing", "mappings": [{
                    "name": "sap", "enabled": True, "jsonata_expression": "{'contract': entity.contract_name, "
                                                                           "'flow': flow_name}",
                    "delivery": {"type": "webhook", "webhook_id": "sap-contracts",
                                 "webhook_url": f"{base}/hook"}}]}}]})
        contract = client.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contract", "limit": 1}).json()[
            "results"][0]
        body = {"execution_id": "e1", "org_id": "739224", "webhook_id": "sap-contracts", "flow_id": "f1",
                "created_at": "2026-11-30T09:30:00Z", "action_id": "a1", "flow_action_id": "fa1",
                "flow_name": "Send contracts", "activity_id": "act1", "entity_id": contract["_id"]}
        done = client.post("/v1/erp/trigger", headers=ORG, json=body).json()
        assert done["status"] == "succeeded" and done["status_code"] == "200" and done["body"] == {"received": True}
        assert calls[0][1] == {"contract": contract["contract_name"], "flow": "Send contracts"}
        assert calls[0][0]["x-epilot-signature"].startswith("sha256=")
        unknown = client.post("/v1/erp/trigger", headers=ORG, json={**body, "webhook_id": "nope"}).json()
        assert (unknown["status"], unknown["code"]) == ("failed", "WEBHOOK_NOT_FOUND")
        assert len(calls) == 1
