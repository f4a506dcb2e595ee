"""The ERP Toolkit loop, end to end: integration and use cases, simulation, inbound events into the world,
deduplication, a failing event and its replay, an outbound signed webhook, ACK, and retries while the
receiver is down. In-process mock plus a real webhook receiver on a loopback port."""

import hashlib
import hmac
import time

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from contracts.serving import free_port, serve_in_thread
from mockserver.engine.app import MockConfig, create_app
from mockserver.epilot.erp.outbound import DEFAULT_SECRET

from .conftest import ORG, PORTAL

EVENT = {
    "customer": {"number": "K-900001", "first_name": "Jens", "last_name": "Kraft", "email": "jens.kraft@example.de"},
    "contract": {"number": "V-900001", "name": "Ökostrom Flex", "start": "2026-01-01", "status": "ACTIVE"},
    "meter": {"number": "1ESY9000001", "counters": [{"id": "1ESY9000001-HT", "obis": "1-0:1.8.1", "tariff": "ht"},
                                                     {"id": "1ESY9000001-NT", "obis": "1-0:1.8.2", "tariff": "nt"}]},
    "readings": [{"id": "R-1", "counter": "1ESY9000001-HT", "at": "2026-10-31T23:00:00Z", "value": "1200.5"},
                 {"id": "R-2", "counter": "1ESY9000001-NT", "at": "2026-10-31T23:00:00Z", "value": "800"}],
}


def _unique(schema, attribute, field):
    return {"entity_schema": schema, "unique_ids": [{"attribute": attribute, "field": field}]}


INBOUND = {
    "entities": [
        {"entity_schema": "contact", "unique_ids": ["customer_number"], "fields": [
            {"attribute": "customer_number", "field": "$.customer.number"},
            {"attribute": "first_name", "field": "$.customer.first_name"},
            {"attribute": "last_name", "field": "$.customer.last_name"},
            {"attribute": "email", "jsonataExpression": "[{'email': customer.email, '_tags': ['Primary']}]"}]},
        {"entity_schema": "contract", "unique_ids": ["contract_number"], "fields": [
            {"attribute": "contract_number", "field": "$.contract.number"},
            {"attribute": "contract_name", "field": "$.contract.name"},
            {"attribute": "start_date", "field": "$.contract.start"},
            {"attribute": "status", "jsonataExpression": "contract.status = 'ACTIVE' ? 'active' : 'terminated'"},
            {"attribute": "branch", "constant": "power"},
            {"attribute": "customer", "relations": {"operation": "_set", "items": [
                _unique("contact", "customer_number", "$.customer.number")]}}]},
        {"entity_schema": "meter", "unique_ids": ["meter_number"], "fields": [
            {"attribute": "meter_number", "field": "$.meter.number"},
            {"attribute": "sector", "constant": "power"},
            {"attribute": "contract", "relations": {"operation": "_set", "items": [
                _unique("contract", "contract_number", "$.contract.number")]}}]},
        {"entity_schema": "meter_counter", "unique_ids": ["external_id"],
         "jsonataExpression": "meter.counters.$merge([$, {'meter_number': %.number}])", "fields": [
             {"attribute": "external_id", "field": "id"},
             {"attribute": "obis_number", "field": "obis"},
             {"attribute": "tariff_type", "field": "tariff"},
             {"attribute": "direction", "constant": "feed-out"},
             {"attribute": "unit", "constant": "kWh"},
             {"attribute": "meter", "relations": {"operation": "_set", "items": [
                 _unique("meter", "meter_number", "meter_number")]}}]},
    ],
    "meter_readings": [{
        "jsonataExpression": "readings.$merge([$, {'meter_number': %.meter.number}])",
        "meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter_number"}]},
        "meter_counter": {"unique_ids": [{"attribute": "external_id", "field": "counter"}]},
        "fields": [{"attribute": "external_id", "field": "id"}, {"attribute": "timestamp", "field": "at"},
                   {"attribute": "value", "jsonataExpression": "$number(value)"},
                   {"attribute": "source", "constant": "ERP"}],
    }],
}


class Receiver:
    """A webhook receiver on a loopback port; ``up`` False answers 503, as a down ERP would."""

    def __init__(self):
        self.calls = []
        self.up = True

        async def hook(request: Request):
            body = await request.body()
            self.calls.append({"headers": dict(request.headers), "body": body, "up": self.up})
            return JSONResponse({"ok": True}) if self.up else JSONResponse({"down": True}, 503)

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.network
def test_the_erp_toolkit_loop():
    receiver = Receiver()
    with serve_in_thread(receiver.app, free_port()) as hook_base, \
            TestClient(create_app(MockConfig(options={"webhook_retries": 6, "webhook_backoff": 0.1}))) as mock:
        # 1. an integration with an inbound and an outbound use case
        created = mock.post("/v2/integrations", headers=ORG, json={
            "name": "SAP IS-U", "integration_type": "erp", "use_cases": [
                {"name": "Keep Contract In Sync", "slug": "contract-sync", "type": "inbound", "enabled": True,
                 "configuration": INBOUND},
                {"name": "Meter Reading Submission", "slug": "meter-readings", "type": "outbound", "enabled": True,
                 "configuration": {"event_catalog_event": "MeterReadingCreated", "ack_tracking": "on", "mappings": [
                     {"name": "to SAP", "enabled": True,
                      "jsonata_expression": "{'meter': meter.meter_number, 'value': reading.value, "
                                            "'read_at': reading.timestamp}",
                      "delivery": {"type": "webhook", "webhook_id": "sap", "webhook_url": f"{hook_base}/hook"}}]}}]})
        assert created.status_code == 201, created.text
        integration = created.json()
        assert {u["type"] for u in integration["use_cases"]} == {"inbound", "outbound"}

        # 2. simulate: the mapping result, and no state change
        before = mock.get("/__admin/health").json()["world"]["entities"]
        sim = mock.post("/v2/erp/updates/mapping_simulation", headers=ORG,
                        json={"event_configuration": INBOUND, "format": "json", "payload": EVENT})
        assert sim.status_code == 200
        assert [u["entity_slug"] for u in sim.json()["entity_updates"]] == [
            "contact", "contract", "meter", "meter_counter", "meter_counter"]
        assert len(sim.json()["meter_readings_updates"]) == 2
        assert mock.get("/__admin/health").json()["world"]["entities"] == before

        # 3. push the batch: customer, contract, meter with two counters, readings
        batch = {"integration_id": integration["id"], "correlation_id": "batch-1", "events": [
            {"event_type": "UPDATE", "object_type": "contract-sync", "timestamp": "2026-11-01T08:00:00Z",
             "format": "json", "payload": EVENT, "deduplication_id": "sap-4711-1"}]}
        pushed = mock.post("/v2/erp/updates/events", headers=ORG, json=batch).json()["results"]
        assert pushed[0]["status"] == "success", pushed

        # 4. read it back through the Entity and Portal APIs
        found = mock.post("/v1/entity:search", headers=ORG,
                          json={"q": "_schema:contract AND contract_number:V-900001"}).json()
        assert found["hits"] == 1
        contract = found["results"][0]
        assert contract["status"] == "active" and contract["customer"]["$relation"][0]["_schema"] == "contact"
        contact_id = contract["customer"]["$relation"][0]["entity_id"]
        relations = mock.get(f"/v1/entity/contract/{contract['_id']}/relations?include_reverse=true",
                             headers=ORG).json()
        assert {r["_schema"] for r in relations} >= {"contact", "meter"}
        login = mock.post("/v2/portal/admin:login-as-user", headers=ORG,
                          json={"email": "jens.kraft@example.de", "origin": "END_CUSTOMER_PORTAL"})
        assert login.status_code == 404  # no portal user yet: register and confirm one
        assert mock.post("/v2/portal/public/user?origin=END_CUSTOMER_PORTAL",
                         json={"email": "jens.kraft@example.de", "first_name": "Jens"}).status_code == 201
        token = mock.get("/__admin/outbox?to=jens.kraft@example.de").json()["messages"][0]["confirmation_link_token"]
        assert mock.get(f"/v2/portal/user/confirm?confirmation_link_token={token}").json()["confirmed"] is True
        portal_token = mock.post("/v2/portal/admin:login-as-user", headers=ORG, json={
            "email": "jens.kraft@example.de", "origin": "END_CUSTOMER_PORTAL"}).json()["login_as_token"]
        jens = {"Authorization": f"Bearer {portal_token}"}
        assert mock.get("/v2/portal/contact", headers=jens).json()["entity"]["_id"] == contact_id
        portal_contracts = mock.get("/v2/portal/contract", headers=jens).json()["data"]
        assert [c["contract_number"] for c in portal_contracts] == ["V-900001"]
        meter = mock.get(f"/v2/portal/contract/{contract['_id']}", headers=jens).json()["meters"][0]
        ranges = mock.get(f"/v2/portal/metering/reading/allowed-range/{meter['_id']}", headers=jens).json()["data"]
        assert sorted(r["min_value"] for r in ranges) == [800, 1200.5]

        # 5. the same batch again: deduplicated
        again = mock.post("/v2/erp/updates/events", headers=ORG, json=batch).json()["results"]
        assert again[0]["status"] == "skipped"

        # 6. a bad event fails alone; the batch's good event still lands
        bad_payload = {**EVENT, "contract": {**EVENT["contract"], "number": None}}
        mixed = mock.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration["id"], "events": [
            {"event_type": "UPDATE", "object_type": "contract-sync", "timestamp": "2026-11-02T08:00:00Z",
             "format": "json", "payload": bad_payload},
            {"event_type": "UPDATE", "object_type": "contract-sync", "timestamp": "2026-11-02T08:00:01Z",
             "format": "json", "payload": {**EVENT, "customer": {**EVENT["customer"], "first_name": "Jens-Uwe"}}},
        ]}).json()["results"]
        assert [r["status"] for r in mixed] == ["error", "success"]
        assert "contract_number" in mixed[0]["message"]
        assert mock.get(f"/v1/entity/contact/{contact_id}", headers=ORG).json()["entity"]["first_name"] == "Jens-Uwe"

        # 7. fix the mapping (a fallback contract number) and replay the failed event: it succeeds
        fallback = "contract.number ? contract.number : 'V-900001'"
        fixed = orjson.loads(orjson.dumps(INBOUND))
        fixed["entities"][1]["fields"][0] = {"attribute": "contract_number", "jsonataExpression": fallback}
        fixed["entities"][2]["fields"][2]["relations"]["items"][0]["unique_ids"] = [
            {"attribute": "contract_number", "jsonataExpression": fallback}]
        inbound_id = next(u["id"] for u in integration["use_cases"] if u["type"] == "inbound")
        updated = mock.put(f"/v1/integrations/{integration['id']}/use-cases/{inbound_id}", headers=ORG,
                           json={"name": "Keep Contract In Sync", "enabled": True, "configuration": fixed})
        assert updated.status_code == 200, updated.text
        replay = mock.post(f"/v1/integrations/{integration['id']}/events/replay", headers=ORG,
                           json={"event_ids": [mixed[0]["event_id"]]}).json()
        assert replay["replayed"] == 1 and replay["results"][0]["status"] == "success", replay
        stats = mock.post(f"/v2/integrations/{integration['id']}/monitoring/stats", headers=ORG, json={}).json()
        assert stats["error_count"] == 1 and stats["skipped_count"] == 1 and stats["success_count"] >= 3

        # 8. a portal meter reading produces a signed outbound event on the webhook
        counter_ht = next(r for r in ranges if r["min_value"] == 1200.5)["meter_counter_id"]
        reading = mock.post("/v2/portal/metering/reading", headers=jens, json={
            "meter_id": meter["_id"], "counter_id": counter_ht, "value": 1300.25, "source": "ECP"})
        assert reading.status_code == 200, reading.text
        call = wait_for(lambda: receiver.calls[:1])[0]
        assert orjson.loads(call["body"]) == {"meter": "1ESY9000001", "value": 1300.25,
                                              "read_at": reading.json()["data"]["timestamp"]}
        expected = "sha256=" + hmac.new(DEFAULT_SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert call["headers"]["x-epilot-signature"] == expected
        ack_id = call["headers"]["x-epilot-ack-id"]
        delivery = wait_for(lambda: [d for d in mock.get("/__admin/deliveries").json()["deliveries"]
                                     if d["ack_id"] == ack_id and d["status"] == "delivered"])[0]

        # 9. ACK it: the delivery is marked processed
        assert mock.post("/v1/erp/tracking/acknowledgement", headers=ORG, json={"ack_id": ack_id}).status_code == 200
        acked = mock.get(f"/__admin/deliveries?ack_id={ack_id}").json()["deliveries"][0]
        assert acked["status"] == "acknowledged" and acked["id"] == delivery["id"]
        assert mock.post("/v1/erp/tracking/acknowledgement", headers=ORG, json={"ack_id": "nope"}).status_code == 404

        # 10. take the receiver down: the delivery is retried, then succeeds when it is back
        receiver.up = False
        receiver.calls.clear()
        second = mock.post("/v2/portal/metering/reading", headers=jens, json={
            "meter_id": meter["_id"], "counter_id": counter_ht, "value": 1310, "source": "ECP"})
        assert second.status_code == 200
        wait_for(lambda: len(receiver.calls) >= 2)
        receiver.up = True
        done = wait_for(lambda: [d for d in mock.get("/__admin/deliveries?status=delivered").json()["deliveries"]
                                 if d.get("payload", {}).get("value") == 1310])[0]
        assert len(done["attempts"]) >= 3 and done["attempts"][0]["status_code"] == 503
        assert done["attempts"][-1]["status_code"] == 200

        # outbound delivery only targets configured URLs
        assert all(d["url"] == f"{hook_base}/hook" for d in mock.get("/__admin/deliveries").json()["deliveries"])
        # the demo login still works alongside the one minted for Jens
        assert mock.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"] != \
            mock.get("/v2/portal/contact", headers=jens).json()["entity"]["_id"]
