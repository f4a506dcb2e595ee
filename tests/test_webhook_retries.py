"""Webhook retries run on the app's scheduler: with `manual_time`, a test moves the clock and the
retries happen then, in order, with no sleeping (and none happen until it does)."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from contracts.serving import serve_in_thread
from mockserver.engine import MockConfig, create_app

from .conftest import ORG

pytestmark = pytest.mark.network


class FlakyReceiver:
    """Answers 503 to the first ``fails`` deliveries, then 200."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.calls: list[str] = []

        async def hook(request: Request) -> JSONResponse:
            self.calls.append(request.headers.get("x-epilot-delivery-id", ""))
            return JSONResponse({}, 503 if len(self.calls) <= self.fails else 200)

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def _integration(client: TestClient, url: str) -> None:
    created = client.post("/v2/integrations", headers=ORG, json={
        "name": "ERP", "use_cases": [{
            "name": "Contacts out", "slug": "contacts-out", "type": "outbound", "enabled": True,
            "configuration": {"event_catalog_event": "ContactCreated", "mappings": [{
                "name": "to ERP", "enabled": True, "jsonata_expression": "{'id': entity._id}",
                "delivery": {"type": "webhook", "webhook_id": "erp", "webhook_url": url}}]}}]})
    assert created.status_code == 201, created.text


def _delivery(client: TestClient) -> dict:
    for _ in range(200):  # the first attempt runs right after the write, in the background
        found = client.get("/__admin/deliveries").json()["deliveries"]
        if found and found[0]["attempts"]:
            return found[0]
        time.sleep(0.01)
    raise AssertionError("no delivery attempt was made")


def test_retries_wait_for_the_clock_and_follow_the_backoff():
    receiver = FlakyReceiver(fails=2)
    config = MockConfig(manual_time=True, options={"webhook_retries": 4, "webhook_backoff": 30.0})
    with serve_in_thread(receiver.app) as base, TestClient(create_app(config)) as client:
        client.put("/__admin/clock", json={"now": "2027-01-01T00:00:00Z"})
        _integration(client, f"{base}/hook")
        client.post("/v1/entity/contact", headers=ORG, json={"first_name": "Rita", "last_name": "Retry"})
        first = _delivery(client)
        assert first["status"] == "retrying" and len(receiver.calls) == 1
        # Nothing more happens by itself, however long we wait: the clock stands still.
        assert client.get("/__admin/deliveries").json()["deliveries"][0]["attempts"] == first["attempts"]
        client.put("/__admin/clock", json={"advance_seconds": 29})  # the first backoff is 30 s
        assert len(receiver.calls) == 1
        client.put("/__admin/clock", json={"advance_seconds": 1})
        assert len(receiver.calls) == 2  # the second attempt, failing again; the next in 60 s
        client.put("/__admin/clock", json={"advance_seconds": 60})
        done = client.get("/__admin/deliveries").json()["deliveries"][0]
    assert len(receiver.calls) == 3 and done["status"] == "delivered"
    assert [a.get("status_code") for a in done["attempts"]] == [503, 503, 200]
    assert [a["at"] for a in done["attempts"]] == ["2027-01-01T00:00:00.000Z", "2027-01-01T00:00:30.000Z",
                                                   "2027-01-01T00:01:30.000Z"]
