"""Points where the bundled ERP Integration spec follows epilot's published contract, one test each."""

from __future__ import annotations

import pytest

from mockserver.engine.bundled import bundled_apis
from mockserver.engine.loader import bundle, iter_operations

from .conftest import ORG


@pytest.fixture(scope="module")
def operations():
    spec, _ = bundle(str(bundled_apis()["erp-integration"]))
    return {op["operationId"]: op for _, _, op, _ in iter_operations(spec)}


def test_deprecated_event_endpoints_are_marked_and_still_work(operations, fresh_client):
    assert operations["processErpUpdatesEventsV2"].get("deprecated") is True
    assert operations["processErpUpdatesEvents"].get("deprecated") is True
    assert not operations["processErpUpdatesEventsV3"].get("deprecated")
    created = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "x"}).json()
    r = fresh_client.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": created["id"], "events": [
        {"event_type": "CREATE", "object_type": "nothing", "timestamp": "2026-11-30T08:00:00Z", "format": "json",
         "payload": {}}]})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "ignored"


def test_operations_carry_the_published_tags(operations):
    assert operations["queryMonitoringEventsV2"]["tags"] == ["monitoring", "integrations"]
    assert operations["simulateMappingV2"]["tags"] == ["erp"]
    assert operations["createErpImport"]["tags"] == ["erp-imports"]
    assert operations["managedCallExecute"]["tags"] == ["managed-call"]


def test_page_sizes_and_lists_have_no_bounds_the_contract_lacks(fresh_client):
    integration = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "x"}).json()["id"]
    events = fresh_client.post(f"/v1/integrations/{integration}/events", headers=ORG, json={"limit": 0})
    assert events.status_code == 200 and events.json()["has_more"] is False
    monitoring = fresh_client.post(f"/v2/integrations/{integration}/monitoring/events", headers=ORG,
                                   json={"limit": -5})
    assert monitoring.status_code == 200
    replay = fresh_client.post(f"/v1/integrations/{integration}/events/replay", headers=ORG, json={"event_ids": []})
    assert replay.status_code == 200 and replay.json() == {"replayed": 0, "results": [], "event_ids": []}


def test_documented_bodyless_404s_have_no_body(fresh_client):
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (f"/v2/integrations/{missing}", f"/v1/integrations/{missing}/use-cases/{missing}"):
        r = fresh_client.get(path, headers=ORG)
        assert r.status_code == 404 and r.content == b""
    ack = fresh_client.post("/v1/erp/tracking/acknowledgement", headers=ORG, json={"ack_id": "unknown"})
    assert ack.status_code == 404 and ack.content == b""


def test_monitoring_success_rates_are_percentages(fresh_client):
    integration = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "x", "use_cases": [
        {"name": "c", "slug": "c", "type": "inbound", "enabled": True, "configuration": {"entities": [
            {"entity_schema": "contact", "unique_ids": ["customer_number"],
             "fields": [{"attribute": "customer_number", "field": "n"}]}]}}]}).json()["id"]
    events = [{"event_type": "UPDATE", "object_type": "c", "timestamp": "2026-11-30T08:00:00Z", "format": "json",
               "payload": payload} for payload in ({"n": "K-1"}, {"n": "K-2"}, {"n": "K-3"}, {})]
    fresh_client.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration, "events": events})
    stats = fresh_client.post(f"/v2/integrations/{integration}/monitoring/stats", headers=ORG, json={}).json()
    assert stats["success_rate"] == 75.0


def test_webhook_deliveries_without_a_url_are_saved(fresh_client):
    """`webhook_url` is optional in the published schema: a use case without it is stored, not refused."""
    r = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "x", "use_cases": [
        {"name": "o", "slug": "o", "type": "outbound", "enabled": True, "configuration": {
            "event_catalog_event": "ContactUpdated", "mappings": [
                {"name": "m", "enabled": True, "delivery": {"type": "webhook", "webhook_id": "w"}}]}}]})
    assert r.status_code == 201, r.text
