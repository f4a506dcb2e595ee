"""Inbound events write what the mapping produced: readings are checked when they are written, and a reading
that cannot be stored fails its event alone, with a monitoring entry (the simulation returns it as mapped)."""

from __future__ import annotations

import pytest

from .conftest import ORG

READINGS_CONFIG = {
    "entities": [{"entity_schema": "meter", "unique_ids": ["meter_number"], "fields": [
        {"attribute": "meter_number", "field": "meter"}, {"attribute": "sector", "constant": "power"}]}],
    "meter_readings": [{
        "meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter"}]},
        "fields": [{"attribute": "external_id", "field": "id"}, {"attribute": "timestamp", "field": "at"},
                   {"attribute": "value", "jsonataExpression": "$string(v)"},
                   {"attribute": "source", "constant": "ERP"}, {"attribute": "reason", "field": "reason"}],
    }],
}


@pytest.fixture
def integration(fresh_client):
    created = fresh_client.post("/v2/integrations", headers=ORG, json={
        "name": "readings", "use_cases": [{"name": "Readings", "slug": "readings", "type": "inbound",
                                           "enabled": True, "configuration": READINGS_CONFIG}]})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _event(reading: dict) -> dict:
    return {"event_type": "CREATE", "object_type": "readings", "timestamp": "2026-11-01T08:00:00Z", "format": "json",
            "payload": {"meter": "1ESY-INBOUND-1", "at": "2026-10-31T23:00:00Z", **reading}}


def test_a_reading_that_cannot_be_stored_fails_its_event_alone(fresh_client, integration):
    readings = [{"id": "R-1", "v": 1200.5, "reason": "regular"},
                {"id": "R-2", "v": 1300, "reason": "monthly_billing"},
                {"id": "R-3", "v": "n/a", "reason": "regular"}]
    simulated = fresh_client.post("/v2/erp/updates/mapping_simulation", headers=ORG, json={
        "event_configuration": READINGS_CONFIG, "format": "json", "payload": _event(readings[1])["payload"]}).json()
    assert simulated["meter_readings_updates"][0]["attributes"]["value"] == "1300"  # returned as mapped
    assert simulated["meter_readings_updates"][0]["attributes"]["reason"] == "monthly_billing"

    results = fresh_client.post("/v2/erp/updates/events", headers=ORG, json={
        "integration_id": integration, "correlation_id": "readings-1",
        "events": [_event(r) for r in readings]}).json()["results"]
    assert [r["status"] for r in results] == ["success", "error", "error"]
    assert "`reason` must be one of" in results[1]["message"] and "monthly_billing" in results[1]["message"]
    assert "`value` must be a number or a numeric string" in results[2]["message"]

    errors = fresh_client.post(f"/v2/integrations/{integration}/monitoring/events", headers=ORG,
                               json={"level": "error"}).json()["data"]
    assert sorted(e["event_id"] for e in errors) == sorted(r["event_id"] for r in results[1:])

    meter = fresh_client.post("/v1/entity:search", headers=ORG,
                              json={"q": "_schema:meter AND meter_number:1ESY-INBOUND-1"}).json()["results"][0]
    kept = stored_readings(fresh_client, meter["_id"])
    assert [(r["external_id"], r["value"]) for r in kept] == [("R-1", 1200.5)]  # the string "1200.5" stored as a number


def stored_readings(client, meter_id: str) -> list[dict]:
    records = client.get("/__admin/snapshot").json()["records"].get("meter_reading", [])
    return [r["doc"] for r in records if r["parent"] == meter_id]


def test_a_reading_for_an_unknown_meter_fails_its_event(fresh_client, integration):
    config = {"meter_readings": READINGS_CONFIG["meter_readings"]}
    fresh_client.put(f"/v2/integrations/{integration}", headers=ORG, json={
        "name": "readings", "use_cases": [{"name": "Readings", "slug": "readings", "type": "inbound",
                                           "enabled": True, "configuration": config}]})
    results = fresh_client.post("/v2/erp/updates/events", headers=ORG, json={
        "integration_id": integration, "events": [_event({"id": "R-9", "v": 1, "meter": "NOPE"})]}).json()["results"]
    assert results[0]["status"] == "error" and "no meter" in results[0]["message"]


PRUNE_CONFIG = {
    "entities": [
        {"entity_schema": "contract", "unique_ids": ["contract_number"], "fields": [
            {"attribute": "contract_number", "field": "number"}]},
        {"entity_schema": "meter", "unique_ids": ["meter_number"],
         "jsonataExpression": "meters.{'id': id, 'contract': $$.number}",
         "mode": "upsert-prune-scope-delete",
         "scope": {"scope_mode": "relations", "schema": "contract",
                   "unique_ids": [{"attribute": "contract_number", "field": "number"}]},
         "fields": [{"attribute": "meter_number", "field": "id"},
                    {"attribute": "contract", "relations": {"operation": "_set", "items": [
                        {"entity_schema": "contract", "unique_ids": [
                            {"attribute": "contract_number", "field": "contract"}]}]}}]}],
    "meter_readings": [{
        "jsonataExpression": "readings", "mode": "upsert-prune-scope", "scope": {"source": "ERP"},
        "meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter"}]},
        "fields": [{"attribute": "external_id", "field": "id"}, {"attribute": "timestamp", "field": "at"},
                   {"attribute": "value", "field": "v"}, {"attribute": "source", "constant": "ERP"}]}],
}


def test_prune_scopes_delete_what_the_erp_no_longer_sends(fresh_client):
    created = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "prune", "use_cases": [
        {"name": "Contracts", "slug": "contracts", "type": "inbound", "enabled": True,
         "configuration": PRUNE_CONFIG}]}).json()

    def push(meters, readings):
        event = {"event_type": "UPDATE", "object_type": "contracts", "timestamp": "2026-11-01T08:00:00Z",
                 "format": "json", "payload": {"number": "PRUNE-1", "meters": [{"id": m} for m in meters],
                                               "readings": readings}}
        results = fresh_client.post("/v2/erp/updates/events", headers=ORG, json={
            "integration_id": created["id"], "events": [event]}).json()["results"]
        assert results[0]["status"] == "success", results

    def meters():
        found = fresh_client.post("/v1/entity:search", headers=ORG,
                                  json={"q": "_schema:meter AND meter_number:PRUNE*", "limit": 10}).json()
        return sorted(m["meter_number"] for m in found["results"])

    reading = {"meter": "PRUNE-M1", "at": "2026-10-31T23:00:00Z"}
    push(["PRUNE-M1", "PRUNE-M2"], [{**reading, "id": "PR-1", "v": 1}, {**reading, "id": "PR-2", "v": 2}])
    assert meters() == ["PRUNE-M1", "PRUNE-M2"]
    m1 = fresh_client.post("/v1/entity:search", headers=ORG,
                           json={"q": "_schema:meter AND meter_number:PRUNE-M1"}).json()["results"][0]["_id"]
    assert sorted(r["external_id"] for r in stored_readings(fresh_client, m1)) == ["PR-1", "PR-2"]
    push(["PRUNE-M1"], [{**reading, "id": "PR-1", "v": 1}])
    assert meters() == ["PRUNE-M1"]
    assert [r["external_id"] for r in stored_readings(fresh_client, m1)] == ["PR-1"]
