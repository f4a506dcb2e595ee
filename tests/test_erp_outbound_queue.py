"""Outbound messages are a real queue: poll leases, ACKs with lease tokens, redelivery when a lease runs
out, dead letters after the allowed attempts (and for webhook deliveries that fail every retry),
redrive, a poison message that blocks the stream until it is unblocked, and the outbound status."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from contracts.serving import free_port, serve_in_thread
from mockserver.engine.app import MockConfig, create_app

from .conftest import ORG
from .test_erp_loop import wait_for


def poll_use_case(**delivery) -> dict:
    return {"name": "Contacts to SAP", "slug": "contacts-out", "type": "outbound", "enabled": True,
            "configuration": {"event_catalog_event": "ContactUpdated", "mappings": [
                {"name": "queue", "enabled": True,
                 "jsonata_expression": "{'contact': entity._id, 'phone': entity.phone[0].phone}",
                 "delivery": {"type": "poll", **delivery}}]}}


def setup(client, *, visibility: int = 30, **delivery) -> tuple[str, str]:
    created = client.post("/v2/integrations", headers=ORG, json={"name": "queue", "use_cases": [
        poll_use_case(**delivery)]})
    assert created.status_code == 201, created.text
    integration_id = created.json()["id"]
    client.put("/__admin/erp/environments", params={"integration_id": integration_id},
               json={"OUTBOUND_VISIBILITY_TIMEOUT_SECONDS": visibility})
    contacts = client.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contact", "limit": 2}).json()
    return integration_id, contacts["results"][0]["_id"]


def change(client, contact_id: str, phone: str) -> None:
    r = client.patch(f"/v1/entity/contact/{contact_id}", headers=ORG, json={"phone": [{"phone": phone}]})
    assert r.status_code == 200, r.text


def poll(client, integration_id: str, **body) -> dict:
    r = client.post(f"/v1/integrations/{integration_id}/outbound/messages/poll", headers=ORG, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def ack(client, integration_id: str, *pairs) -> list[dict]:
    r = client.post(f"/v1/integrations/{integration_id}/outbound/messages/ack", headers=ORG,
                    json={"acks": [{"id": i, "lease_token": t} for i, t in pairs]})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_poll_and_ack_in_group_order(fresh_client):
    client = fresh_client
    integration_id, contact_id = setup(client)
    change(client, contact_id, "+49 1")
    change(client, contact_id, "+49 2")
    first = poll(client, integration_id, limit=10)
    assert first["visibility_timeout_seconds"] == 30 and first["has_more"] is False
    assert len(first["messages"]) == 1  # one message per group (the contact) at a time
    message = first["messages"][0]
    assert (message["event_name"], message["group"], message["payload"]) == (
        "ContactUpdated", contact_id, {"contact": contact_id, "phone": "+49 1"})
    assert poll(client, integration_id)["messages"] == []  # leased: not delivered again before its lease ends
    assert ack(client, integration_id, (message["id"], "wrong")) == [
        {"id": message["id"], "status": "rejected", "reason": "stale_lease"}]
    assert ack(client, integration_id, ("nope", "x")) == [{"id": "nope", "status": "rejected", "reason": "not_found"}]
    assert ack(client, integration_id, (message["id"], message["lease_token"]))[0]["status"] == "accepted"
    second = poll(client, integration_id)["messages"]
    assert [m["payload"]["phone"] for m in second] == ["+49 2"]
    assert ack(client, integration_id, (second[0]["id"], second[0]["lease_token"]))[0]["status"] == "accepted"
    status = client.get(f"/v1/integrations/{integration_id}/outbound-status", headers=ORG).json()["useCases"][0]
    assert status["status"] == "ok" and status["poll"]["queue_depth"] == 0 and status["poll"]["last_ack_at"]


def test_unacknowledged_messages_are_redelivered_then_dead_lettered_and_redriven(fresh_client):
    client = fresh_client
    integration_id, contact_id = setup(client, visibility=0, max_delivery_attempts=2)
    change(client, contact_id, "+49 3")
    leases = [poll(client, integration_id)["messages"][0] for _ in range(2)]
    assert [m["delivery_attempts"] for m in leases] == [1, 2]
    assert ack(client, integration_id, (leases[0]["id"], leases[0]["lease_token"]))[0]["reason"] == "stale_lease"
    assert poll(client, integration_id)["messages"] == []  # the third delivery would exceed the attempts
    dlq = client.get(f"/v1/integrations/{integration_id}/outbound/messages/dlq", headers=ORG).json()["items"]
    assert [(d["id"], d["delivery_attempts"]) for d in dlq] == [(leases[0]["id"], 2)]
    assert "not acknowledged after 2 deliveries" in dlq[0]["reason"] and dlq[0]["expires_at"]
    status = client.get(f"/v1/integrations/{integration_id}/outbound-status", headers=ORG).json()["useCases"][0]
    assert status["status"] == "conflict" and status["poll"]["dlq_count"] == 1
    assert [c["type"] for c in status["conflicts"]] == ["dlq_items_present"]

    redriven = client.post(f"/v1/integrations/{integration_id}/outbound/messages/dlq/redrive", headers=ORG,
                           json={"ids": [leases[0]["id"], "nope"]}).json()["results"]
    assert redriven == [{"id": leases[0]["id"], "status": "redriven"}, {"id": "nope", "status": "not_found"}]
    again = poll(client, integration_id)["messages"][0]
    assert again["id"] == leases[0]["id"] and again["delivery_attempts"] == 1
    assert ack(client, integration_id, (again["id"], again["lease_token"]))[0]["status"] == "accepted"
    assert client.get(f"/v1/integrations/{integration_id}/outbound/messages/dlq", headers=ORG).json()["items"] == []


def test_a_poison_message_blocks_the_stream_until_unblocked(fresh_client):
    client = fresh_client
    integration_id, contact_id = setup(client, visibility=0, max_delivery_attempts=1, poison_policy="block")
    other = client.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contact", "limit": 2}).json()[
        "results"][1]["_id"]
    change(client, contact_id, "+49 4")
    change(client, other, "+49 5")
    first = poll(client, integration_id, limit=1)
    assert len(first["messages"]) == 1 and first["has_more"] is True
    assert poll(client, integration_id)["messages"] == []  # the first message is poison: the whole stream blocks
    status = client.get(f"/v1/integrations/{integration_id}/outbound-status", headers=ORG).json()["useCases"][0]
    assert status["poll"]["blocked"] is True and "stream_blocked" in [c["type"] for c in status["conflicts"]]
    unblocked = client.post(f"/v1/integrations/{integration_id}/outbound/messages/unblock", headers=ORG,
                            json={"reason": "handled by hand"}).json()
    assert unblocked == {"unblocked": True, "dead_lettered_id": first["messages"][0]["id"]}
    assert poll(client, integration_id)["messages"][0]["group"] == other  # the stream flows again
    assert client.post(f"/v1/integrations/{integration_id}/outbound/messages/unblock", headers=ORG,
                       json={}).json() == {"unblocked": False}


class Receiver:
    def __init__(self):
        self.up = False
        self.calls = 0

        async def hook(request: Request):
            self.calls += 1
            return JSONResponse({"ok": True}) if self.up else JSONResponse({"down": True}, 503)

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.mark.network
def test_webhook_deliveries_that_fail_every_retry_are_dead_lettered_and_redriven():
    receiver = Receiver()
    with serve_in_thread(receiver.app, free_port()) as hook_base, \
            TestClient(create_app(MockConfig(options={"webhook_retries": 2, "webhook_backoff": 0.05}))) as client:
        created = client.post("/v2/integrations", headers=ORG, json={"name": "hooks", "use_cases": [
            {"name": "Contacts", "slug": "contacts", "type": "outbound", "enabled": True, "configuration": {
                "event_catalog_event": "ContactUpdated", "mappings": [{"name": "sap", "enabled": True, "delivery": {
                    "type": "webhook", "webhook_id": "sap", "webhook_url": f"{hook_base}/hook"}}]}}]}).json()
        contact = client.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contact", "limit": 1}).json()[
            "results"][0]["_id"]
        change(client, contact, "+49 6")
        dlq_url = f"/v1/integrations/{created['id']}/outbound/messages/dlq"
        dead = wait_for(lambda: client.get(dlq_url, headers=ORG).json()["items"])[0]
        assert dead["delivery_attempts"] == 2 and "gave up" in dead["reason"]
        receiver.up = True
        redriven = client.post(f"{dlq_url}/redrive", headers=ORG, json={"ids": [dead["id"]]}).json()
        assert redriven["results"] == [{"id": dead["id"], "status": "redriven"}]
        delivered = wait_for(lambda: [d for d in client.get("/__admin/deliveries?status=delivered").json()[
            "deliveries"] if d["id"] == dead["id"]])[0]
        assert [a.get("status_code") for a in delivered["attempts"]] == [503, 503, 200]
        assert client.get(dlq_url, headers=ORG).json()["items"] == []
        outbound = client.post(f"/v1/integrations/{created['id']}/monitoring/outbound-events", headers=ORG,
                               json={"status": "succeeded"}).json()["data"]
        assert outbound[0]["webhook_config_id"] == "sap" and outbound[0]["http_response"] == {"status_code": 200}
