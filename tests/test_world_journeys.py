"""Real journeys through the stateful world, in-process: logins, patches, cross-API visibility,
meter readings, isolation between customers, reset, snapshots and determinism."""

import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, StartupError, create_app

from .conftest import ORG, PORTAL

OTHER = {"Authorization": "Bearer demo-portal-token-2"}


def test_a_portal_user_lists_their_contracts(client):
    contracts = client.get("/v2/portal/contract", headers=PORTAL).json()["data"]
    assert contracts and all(c["_schema"] == "contract" for c in contracts)
    contact = client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]
    ids = {i["entity_id"] for i in contact["contracts"]["$relation"]}
    assert {c["_id"] for c in contracts} == ids
    detail = client.get(f"/v2/portal/contract/{contracts[0]['_id']}", headers=PORTAL).json()
    assert detail["entity"]["_id"] == contracts[0]["_id"] and detail["meters"]


def test_contact_patch_is_visible_to_the_entity_api(fresh_client):
    c = fresh_client
    contact_id = c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    other_id = "5da0a718-c822-403d-9f5d-20d4584e0528"  # an _id in a patch body is ignored
    r = c.patch("/v2/portal/contact", headers=PORTAL, json={"first_name": "Renate", "_id": other_id})
    assert r.status_code == 200 and r.json()["data"]["first_name"] == "Renate"
    assert r.json()["data"]["_id"] == contact_id
    entity = c.get(f"/v1/entity/contact/{contact_id}", headers=ORG).json()["entity"]
    assert entity["first_name"] == "Renate"


def test_an_entity_created_through_the_entity_api_shows_in_search_and_in_the_portal(fresh_client):
    c = fresh_client
    contact_id = c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    created = c.post("/v1/entity/contract", headers=ORG, json={
        "contract_name": "Ökostrom Neu", "contract_number": "V-TEST-1", "status": "active", "branch": "power",
        "customer": {"$relation": [{"entity_id": contact_id, "_schema": "contact"}]}})
    assert created.status_code == 201
    contract_id = created.json()["_id"]
    hits = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contract AND contract_number:V-TEST-1"}).json()
    assert hits["hits"] == 1 and hits["results"][0]["_id"] == contract_id
    portal = c.get("/v2/portal/contract", headers=PORTAL).json()["data"]
    assert contract_id in {x["_id"] for x in portal}
    found = c.post("/v2/portal/entity:search", headers=PORTAL, json={"slug": "contract", "q": "Ökostrom Neu"}).json()
    assert contract_id in {x["_id"] for x in found["results"]}


def test_meter_readings_are_checked_stored_and_read_back(fresh_client):
    c = fresh_client
    contract = c.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]
    meter = c.get(f"/v2/portal/contract/{contract['_id']}", headers=PORTAL).json()["meters"][0]
    ranges = c.get(f"/v2/portal/metering/reading/allowed-range/{meter['_id']}", headers=PORTAL).json()["data"]
    assert ranges and all("min_value" in x for x in ranges)
    counter = ranges[0]
    low = counter["min_value"]
    body = {"meter_id": meter["_id"], "counter_id": counter["meter_counter_id"], "source": "ECP"}
    below = c.post("/v2/portal/metering/reading", headers=PORTAL, json={**body, "value": low - 1})
    assert below.status_code == 400 and "below the previous reading" in below.json()["message"]
    implausible = c.post("/v2/portal/metering/reading", headers=PORTAL, json={**body, "value": low + 10**7})
    assert implausible.status_code == 400 and "implausible" in implausible.json()["message"]
    ok = c.post("/v2/portal/metering/reading", headers=PORTAL, json={**body, "value": low + 12.5})
    assert ok.status_code == 200 and ok.json()["data"]["status"] == "valid"
    after = c.get(f"/v2/portal/metering/reading/allowed-range/{meter['_id']}", headers=PORTAL).json()["data"]
    assert next(x for x in after if x["meter_counter_id"] == counter["meter_counter_id"])["min_value"] == low + 12.5
    entity = c.get(f"/v1/entity/meter_counter/{counter['meter_counter_id']}", headers=ORG).json()["entity"]
    assert entity["last_reading"] == low + 12.5


def test_a_second_user_cannot_read_the_first_users_contract(client):
    mine = client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]["_id"]
    theirs = {x["_id"] for x in client.get("/v2/portal/contract", headers=OTHER).json()["data"]}
    assert mine not in theirs
    r = client.get(f"/v2/portal/contract/{mine}", headers=OTHER)
    assert r.status_code == 403 and r.json()["message"].endswith("is not accessible to this user")
    r = client.post("/v2/portal/entity:get", headers=OTHER, json={"slug": "contract", "entity_id": mine})
    assert r.status_code in (403, 404)
    assert client.get(f"/v2/portal/contract/{mine}", headers=ORG).status_code == 401  # wrong kind of token


def test_reset_restores_the_seeded_world(fresh_client):
    c = fresh_client
    before = c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]
    c.patch("/v2/portal/contact", headers=PORTAL, json={"last_name": "Changed"})
    c.delete(f"/v1/entity/contact/{before['_id']}", headers=ORG)
    assert c.get(f"/v1/entity/contact/{before['_id']}", headers=ORG).status_code == 404
    assert c.post("/__admin/reset").json() == {"status": "reset"}
    assert c.get("/v2/portal/contact", headers=PORTAL).json()["entity"] == before


def test_snapshot_export_and_import_round_trip(fresh_client):
    c = fresh_client
    c.patch("/v2/portal/contact", headers=PORTAL, json={"first_name": "Snapshot"})
    exported = c.get("/__admin/snapshot").json()
    assert exported["format"] == "epilot-mock-snapshot" and exported["entities"]
    c.post("/__admin/reset")
    assert c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["first_name"] != "Snapshot"
    r = c.put("/__admin/snapshot", json=exported)
    assert r.status_code == 200 and r.json()["entities"] == len(exported["entities"])
    assert c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["first_name"] == "Snapshot"
    assert c.get("/__admin/snapshot").json()["entities"] == exported["entities"]
    bad = c.put("/__admin/snapshot", json={"entities": []})
    assert bad.status_code == 400 and "format" in bad.json()["message"]


def test_the_same_seed_gives_the_same_world():
    def export(seed):
        with TestClient(create_app(MockConfig(seed=seed))) as c:
            return c.get("/__admin/snapshot").json()["entities"]
    assert export(5) == export(5)
    assert export(5) != export(6)


def test_the_world_cache_is_keyed_by_the_generator_and_the_pricing_engine(monkeypatch):
    """A changed generator or pricing engine (it prices the world's orders) is another cached world."""
    from pathlib import Path

    from mockserver.epilot.world import extension

    before = extension._world_cache(0, "small")
    package = Path(extension.__file__).parent.parent
    real = Path.read_bytes
    for changed in (package / "world" / "sales.py", package / "pricing" / "engine.py"):
        with monkeypatch.context() as m:
            m.setattr(Path, "read_bytes", lambda self, changed=changed: real(self) + (b"#" if self == changed else b""))
            assert extension._world_cache(0, "small") != before, changed
    assert extension._world_cache(0, "small") == before


def test_bad_world_size_is_a_startup_error():
    with pytest.raises(StartupError, match="--world-size"):
        create_app(MockConfig(options={"world_size": "gigantic"}))


def test_state_file_keeps_writes_across_restarts(tmp_path):
    state = str(tmp_path / "world.db")
    with TestClient(create_app(MockConfig(state=state))) as c:
        c.patch("/v2/portal/contact", headers=PORTAL, json={"first_name": "Persisted"})
    with TestClient(create_app(MockConfig(state=state))) as c:
        assert c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["first_name"] == "Persisted"
