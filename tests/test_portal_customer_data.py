"""Customer Portal, customer-data side: published parameter forms and status codes, and the
world-backed behaviours (activity, workflows, files, costs and prices, reading lists, templates)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app

from .conftest import ORG, PORTAL

RANGE = {"from": "2024-01-01T00:00:00Z", "to": "2025-12-31T00:00:00Z", "interval": "P1M", "extensionId": "x"}


@pytest.fixture(scope="module")
def mock():
    with TestClient(create_app(MockConfig())) as c:
        yield c


def _contract(mock) -> dict:
    contracts = mock.get("/v2/portal/contract", headers=PORTAL).json()["data"]
    detail = mock.get(f"/v2/portal/contract/{contracts[0]['_id']}", headers=PORTAL).json()
    return detail


def _context(entity: dict) -> str:
    return json.dumps({"entity_schema": entity["_schema"], "entity_id": entity["_id"]})


# -- published parameter forms and status codes ---------------------------------------------------

def test_consumption_takes_context_entities_as_objects_without_meter_app_or_hook(mock):
    contract = _contract(mock)["entity"]
    r = mock.get("/v2/portal/consumption", params={**RANGE, "context_entities": [_context(contract)]}, headers=PORTAL)
    assert r.status_code == 200, r.text
    points = r.json()["consumptions"]
    assert points and all(p["timestamp"].endswith("-01T00:00:00.000Z") for p in points)  # monthly buckets
    as_array = mock.get("/v2/portal/consumption", headers=PORTAL,
                        params={**RANGE, "context_entities": json.dumps([json.loads(_context(contract))])})
    assert as_array.json() == r.json()


def test_context_entities_of_another_customer_are_refused(mock):
    other = mock.get("/v2/portal/contract", headers={"Authorization": "Bearer demo-portal-token-2"}).json()["data"][0]
    r = mock.get("/v2/portal/costs", params={**RANGE, "context_entities": [_context(other)]}, headers=PORTAL)
    assert r.status_code in (403, 404)


def test_interval_is_one_of_the_published_durations(mock):
    r = mock.get("/v2/portal/prices", params={**RANGE, "interval": "PT5M"}, headers=PORTAL)
    assert r.status_code == 400


def test_prices_and_costs_come_from_the_contracts_tariff(mock):
    detail = _contract(mock)
    contract, meter = detail["entity"], detail["meters"][0]
    order = mock.get(f"/v2/portal/order/{detail['orders'][0]['_id']}", headers=PORTAL).json()["entity"]
    energy = next(i for i in order["line_items"] if i["_price"].get("unit") not in ("month", "year"))
    base = next(i for i in order["line_items"] if i["_price"].get("unit") == "month")
    params = {**RANGE, "context_entities": [_context(contract)]}
    prices = mock.get("/v2/portal/prices", params=params, headers=PORTAL).json()["prices"]
    assert len(prices) == 24 and {p["unit_amount_decimal"] for p in prices} == {
        str(Decimal(energy["unit_amount_decimal"]).normalize())}
    assert prices[0]["tax_rate"] == 19 and prices[0]["tax_behavior"] == "inclusive"
    costs = mock.get("/v2/portal/costs", params=params, headers=PORTAL).json()["costs"]
    usage = {p["timestamp"]: p["value"] for p in mock.get("/v2/portal/consumption", params={
        **RANGE, "meter_id": meter["_id"]}, headers=PORTAL).json()["consumptions"]}
    assert costs
    for cost in costs:  # a month's energy at the per-unit price plus the monthly base price
        expected = Decimal(str(usage[cost["timestamp"]])) * Decimal(energy["unit_amount_decimal"]) + Decimal(
            base["unit_amount_decimal"])
        assert abs(Decimal(cost["unit_amount_decimal"]) - expected) < Decimal("0.000001")
        assert cost["unit_amount"] == int((expected * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def test_prices_of_a_composite_tariff_come_from_its_energy_component(mock):
    contracts = mock.get("/v2/portal/contract", headers=PORTAL).json()["data"]
    composite = None
    for contract in contracts:
        order = mock.get(f"/v2/portal/contract/{contract['_id']}", headers=PORTAL).json()["orders"][0]
        composite = next((i for i in order["line_items"] if i.get("is_composite_price")), None)
        if composite is not None:
            break
    assert composite is not None, "the demo customer has a composite tariff (Ökostrom Flex)"
    energy = next(i for i in composite["item_components"] if i["_price"]["unit"] == "kwh")
    params = {**RANGE, "context_entities": [_context(contract)]}
    prices = mock.get("/v2/portal/prices", params=params, headers=PORTAL).json()["prices"]
    assert {p["unit_amount_decimal"] for p in prices} == {energy["unit_amount_decimal"]} != {"0"}


def test_billing_event_filters_are_date_times(mock):
    everything = mock.get("/v2/portal/billing/events?size=100", headers=PORTAL).json()["results"]
    cut = sorted(e["due_date"] for e in everything)[len(everything) // 2]
    r = mock.get("/v2/portal/billing/events", params={"size": 100, "date_after": f"{cut}T00:00:00.000Z"},
                 headers=PORTAL)
    assert r.status_code == 200
    assert {e["due_date"] for e in r.json()["results"]} == {e["due_date"] for e in everything if e["due_date"] >= cut}
    assert mock.get("/v2/portal/billing/events", params={"date_after": "2024-01-01"}, headers=PORTAL).status_code == 400


def test_activity_feed_accepts_an_epilot_token_too(mock):
    contract = _contract(mock)["entity"]
    path = f"/v2/portal/entity/contract/{contract['_id']}/activity"
    assert mock.get(path, headers=ORG).status_code == 200
    assert mock.get(path, headers=PORTAL).status_code == 200


def test_create_meter_reading_answers_200(fresh_client):
    contract = fresh_client.get("/v2/portal/contract", headers=PORTAL).json()["data"]
    meter = fresh_client.get(f"/v2/portal/contract/{contract[0]['_id']}", headers=PORTAL).json()["meters"][0]
    low = fresh_client.get(f"/v2/portal/metering/reading/allowed-range/{meter['_id']}",
                           headers=PORTAL).json()["data"][0]
    body = {"meter_id": meter["_id"], "counter_id": low["meter_counter_id"], "value": low["min_value"] + 1,
            "source": "ECP"}
    r = fresh_client.post("/v2/portal/metering/reading", json=body, headers=PORTAL)
    assert r.status_code == 200, r.text
    feed = fresh_client.get(f"/v2/portal/entity/meter/{meter['_id']}/activity", headers=PORTAL).json()
    # One feed for every API: the reading the Entity API recorded, once (not again from the history)
    added = [a for a in feed["results"] if a["type"] == "MeterReadingAdded" and a["payload"]["value"] == body["value"]]
    assert len(added) == 1 and added[0]["payload"]["entity"] == {"id": meter["_id"], "schema": "meter"}
    assert not any(a["type"] == "MeterReadingCreated" and a["payload"]["reading"]["value"] == body["value"]
                   for a in feed["results"])
    via_entity_api = fresh_client.get(f"/v1/entity/meter/{meter['_id']}/activity", headers=ORG).json()
    assert added[0]["_id"] in {a["_id"] for a in via_entity_api["results"]}


def test_files_are_stored_listed_previewed_counted_and_deleted_with_202(fresh_client):
    contract = fresh_client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]
    body = {"entity_id": contract["_id"], "entity_type": "contract",
            "files": [{"filename": "Zählerfoto.pdf", "s3ref": {"bucket": "b", "key": "k/Zählerfoto.pdf"}}]}
    created = fresh_client.post("/v2/portal/entity/file", json=body, headers=PORTAL)
    assert created.status_code == 201
    file_id = created.json()["createdFiles"][0]["_id"]
    listed = fresh_client.get("/v2/portal/user/files", params={"from": 0, "size": 100, "entity_ids": contract["_id"]},
                              headers=PORTAL).json()
    assert file_id in [f["_id"] for f in listed["results"]]
    counts = {r["entity_id"]: r["file_count"] for r in fresh_client.get("/v2/portal/user/files/count-by-entity",
                                                                        headers=PORTAL).json()}
    assert counts[contract["_id"]] >= 1
    assert fresh_client.get(f"/v2/portal/user/file/{file_id}/preview", headers=PORTAL).json()["kind"] == "pdf"
    assert fresh_client.get(f"/v2/portal/user/file/{file_id}", headers=PORTAL).json()["file"]["is_new"] is True
    fresh_client.post(f"/v2/portal/user/file/{file_id}/downloaded", headers=PORTAL)
    assert fresh_client.get(f"/v2/portal/user/file/{file_id}", headers=PORTAL).json()["file"]["is_new"] is False
    r = fresh_client.request("DELETE", "/v2/portal/entity/file", headers=PORTAL,
                             json={"entity_id": contract["_id"], "entity_type": "contract",
                                   "file_entity_ids": [file_id]})
    assert r.status_code == 202 and r.json() == {"deletedFiles": [file_id]}
    assert fresh_client.get(f"/v2/portal/user/file/{file_id}", headers=PORTAL).status_code == 404


def test_portal_files_are_file_entities_the_entity_api_reads(fresh_client):
    portal_id = fresh_client.get("/__admin/tokens").json()["tokens"][1]["portal_id"]
    body = {"origin": "END_CUSTOMER_PORTAL", "files": [{"file_type": "orderRightTeaser", "filename": "teaser.jpeg"}]}
    r = fresh_client.post("/v3/portal/portal/files", params={"portal_id": portal_id}, json=body, headers=ORG)
    assert r.status_code == 201, r.text
    file_id = r.json()["createdFiles"][0]["_id"]
    stored = fresh_client.get(f"/v1/entity/file/{file_id}", headers=ORG).json()["entity"]
    assert stored["portal_file_type"] == "orderRightTeaser" and stored["portal_id"] == portal_id


# -- history: activity, notifications, edit rules, workflows ---------------------------------------

def test_changes_show_in_the_activity_feed_and_notifications_flip_status(fresh_client):
    contract = fresh_client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]
    fresh_client.patch(f"/v2/portal/contract/{contract['_id']}", json={"installment_amount": 9900}, headers=PORTAL)
    path = f"/v2/portal/entity/contract/{contract['_id']}/activity"
    feed = fresh_client.get(path, headers=PORTAL).json()["results"]
    update = next(a for a in feed if a["type"] == "EntityUpdated" and a["payload"].get("attributes"))
    assert update["payload"]["attributes"] == ["installment_amount"]
    r = fresh_client.put("/v2/portal/notifications/entity:status", headers=PORTAL,
                         json={"notifications": [{"id": update["_id"], "status": "read"}]})
    assert r.status_code == 200
    again = next(a for a in fresh_client.get(path, headers=PORTAL).json()["results"] if a["_id"] == update["_id"])
    assert again["payload"]["notification_status"] == "read"
    assert fresh_client.put("/v2/portal/notifications/entity:status", headers=PORTAL, json={
        "notifications": [{"id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "status": "important"}]}).status_code == 404


def test_custom_activity_and_access_event_are_recorded(fresh_client):
    contract = fresh_client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]
    r = fresh_client.put("/v2/portal/entity/activity", params={"entities": contract["_id"]},
                         json={"type": "PortalUserResetPassword"}, headers=PORTAL)
    assert r.status_code == 201 and r.json()["type"] == "PortalUserResetPassword"
    event = fresh_client.post("/v2/portal/entity/contract/access", headers=PORTAL,
                              params={"entity_id": contract["_id"], "origin": "END_CUSTOMER_PORTAL"}).json()["eventId"]
    ids = [a["_id"] for a in fresh_client.get(f"/v2/portal/entity/contract/{contract['_id']}/activity",
                                              headers=PORTAL).json()["results"]]
    assert r.json()["_id"] in ids and event in ids
    context = fresh_client.get("/v2/portal/automation-context", params={"activity_id": event, "type": "file"},
                               headers=ORG).json()
    assert context["contract"]["_id"] == contract["_id"]


def test_cadence_rule_blocks_after_the_allowed_changes(fresh_client):
    contract = fresh_client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]
    path = f"/v2/portal/contract/{contract['_id']}:validateRule"
    assert fresh_client.get(path, params={"attribute": "installment_amount"}, headers=PORTAL).json()[
        "isBlockedByRules"] is False
    for amount in (10000, 10100):
        fresh_client.patch(f"/v2/portal/contract/{contract['_id']}", json={"installment_amount": amount},
                           headers=PORTAL)
    r = fresh_client.get(path, params={"attribute": "installment_amount"}, headers=PORTAL).json()
    assert r["isBlockedByRules"] is True and r["failedRule"]["rule_type"] == "cadence"


def test_workflow_steps_marked_done_show_in_both_workflow_views(fresh_client):
    order = fresh_client.get("/v2/portal/order", headers=PORTAL).json()["data"]
    open_order = next((o for o in order if o.get("status") != "completed"), order[0])
    base = f"/v2/portal/entity/order/{open_order['_id']}"
    flows = fresh_client.get(f"{base}/workflows/linearized", headers=PORTAL).json()["portal_workflows"][0]
    todo = [t for t in flows["tasks"] if t["status"] != "COMPLETED"]
    if not todo:
        pytest.skip("every step of this order's workflow is done")
    step = fresh_client.put(f"/v2/portal/workflow/{flows['id']}/{todo[0]['id']}:markDone", headers=PORTAL)
    assert step.status_code == 200 and step.json()["status"] == "COMPLETED"
    after = fresh_client.get(f"{base}/workflows/linearized", headers=PORTAL).json()["portal_workflows"][0]
    assert next(t for t in after["tasks"] if t["id"] == todo[0]["id"])["status"] == "COMPLETED"
    executions = fresh_client.get(f"{base}/workflows", headers=PORTAL).json()["workflow_executions"][0]
    assert next(s for s in executions["flow"] if s["id"] == todo[0]["id"])["status"] == "COMPLETED"
    batch = fresh_client.post("/v2/portal/entities/workflows/linearized/batch", headers=PORTAL,
                              json={"entities": [{"id": open_order["_id"], "slug": "order"}]}).json()
    assert batch["results"][0]["portal_workflows"] == [after]


# -- templates, reading lists, portal user entities -------------------------------------------------

def test_contract_templates_and_reading_lists_render(mock):
    detail = _contract(mock)
    contract, meter = detail["entity"], detail["meters"][0]
    r = mock.post(f"/v2/portal/contract/{contract['_id']}/resolve-templates", headers=PORTAL,
                  json={"templates": {"title": "{{contract.contract_name}} / {{meter.meter_number}}"}})
    assert r.status_code == 200
    assert r.json()["entity"]["templates_output"]["title"].startswith(contract["contract_name"] + " / ")
    assert r.json()["meters"][0]["templates_output"]["title"].endswith(meter["meter_number"])
    counter = mock.get(f"/v2/portal/metering/reading/allowed-range/{meter['_id']}",
                       headers=PORTAL).json()["data"][0]["meter_counter_id"]
    readings = mock.post("/v2/portal/metering/readings", headers=PORTAL, json={
        "meter_id": meter["_id"], "counter_id": counter, "size": 3, "templates": {"v": "{{reading.value}}"},
        "counter_templates": {"m": "{{meter.meter_number}}"}}).json()
    assert len(readings["results"]) == 3 and readings["hits"] >= 3
    assert readings["results"][0]["templates_output"]["v"] == str(readings["results"][0]["value"])
    assert readings["counter_templates_output"]["m"] == meter["meter_number"]


def test_portal_user_entities_are_created_and_patched(fresh_client):
    r = fresh_client.post("/v2/portal/entity/asset", json={"name": "Wärmepumpe"}, headers=PORTAL)
    assert r.status_code == 201
    asset = r.json()["result"]
    r = fresh_client.patch(f"/v2/portal/entity/asset/{asset['_id']}", json={"name": "Wärmepumpe Keller"},
                           headers=PORTAL)
    assert r.status_code == 200 and r.json()["result"]["name"] == "Wärmepumpe Keller"
    found = fresh_client.post("/v1/entity:search", json={"q": f"_id:{asset['_id']}"}, headers=ORG).json()
    assert [e["name"] for e in found["results"]] == ["Wärmepumpe Keller"]


def test_schemas_come_from_the_portals_grants(mock):
    slugs = {s["slug"] for s in mock.get("/v2/portal/schemas", headers=PORTAL).json()["schemas"]}
    assert {"contract", "meter", "billing_account"} <= slugs
