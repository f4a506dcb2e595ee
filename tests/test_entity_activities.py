"""Activities written by every API's changes, saved views per user, taxonomies with bulk jobs,
changesets, and export/import jobs of the Entity API."""

from __future__ import annotations

from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.auth import Principal
from mockserver.epilot.behaviours.entity import activity as entity_activity
from mockserver.epilot.world.extension import world_of

from .conftest import ORG, PORTAL

CONTRACT_SYNC = {"entities": [{"entity_schema": "contract", "unique_ids": ["contract_number"], "fields": [
    {"attribute": "contract_number", "field": "$.number"}, {"attribute": "contract_name", "field": "$.name"}]}]}


def _feed(client, slug, entity_id, **params):
    r = client.get(f"/v1/entity/{slug}/{entity_id}/activity", headers=ORG, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_portal_meter_reading_an_erp_upsert_and_an_order_each_leave_an_activity(fresh_client):
    c = fresh_client
    # a portal meter reading: on the meter's feed
    contract = next(x for x in c.get("/v2/portal/contract", headers=PORTAL).json()["data"] if x.get("billing_account"))
    meter = c.get(f"/v2/portal/contract/{contract['_id']}", headers=PORTAL).json()["meters"][0]["_id"]
    allowed = c.get(f"/v2/portal/metering/reading/allowed-range/{meter}", headers=PORTAL).json()["data"][0]
    r = c.post("/v2/portal/metering/reading", headers=PORTAL, json={
        "meter_id": meter, "counter_id": allowed["meter_counter_id"], "value": allowed["min_value"] + 3,
        "source": "ECP"})
    assert r.status_code in (200, 201), r.text
    feed = _feed(c, "meter", meter, type="MeterReadingAdded,EntityUpdated")
    reading = next(a for a in feed["results"] if a["type"] == "MeterReadingAdded")
    assert reading["payload"]["value"] == allowed["min_value"] + 3 and reading["source"] == "customer-portal"
    assert meter in reading["entities"]

    # an ERP upsert: on the contract's feed, with the operation's source
    integration = c.post("/v2/integrations", headers=ORG, json={
        "name": "ERP", "use_cases": [{"name": "Contracts", "slug": "contracts", "type": "inbound", "enabled": True,
                                      "configuration": CONTRACT_SYNC}]}).json()
    result = c.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration["id"], "events": [
        {"event_type": "CREATE", "object_type": "contracts", "timestamp": "2026-11-30T08:00:00Z", "format": "json",
         "payload": {"number": "ERP-1", "name": "Ökostrom"}}]}).json()["results"]
    assert result[0]["status"] == "success"
    erp = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contract AND contract_number:ERP-1"})
    erp_id = erp.json()["results"][0]["_id"]
    created = _feed(c, "contract", erp_id)["results"][0]
    assert created["type"] == "EntityCreated" and created["source"] == "erp-inbound"
    assert created["operations"][0]["source_context"]["source"] == "erp"

    # an order (checked out through the Pricing API): on the order's feed and, with relations, the contact's
    me = c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]
    product = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:product", "size": 1}).json()["results"][0]
    price_id = product["price_options"]["$relation"][0]["entity_id"]
    order = c.post("/v1/public/cart:checkout", headers={**ORG, "X-Ivy-Org-ID": "739224"}, json={
        "mode": "create_order", "cart": {"customer": {"email": me["email"][0]["email"], "first_name": me["first_name"],
                                                      "last_name": me["last_name"]},
                                         "line_items": [{"product_id": product["_id"], "price_id": price_id,
                                                         "quantity": 1}]}})
    assert order.status_code == 200, order.text
    order_id = order.json()["order"]["_id"]
    assert _feed(c, "order", order_id)["results"][0]["type"] == "EntityCreated"
    around = _feed(c, "contact", me["_id"], include_relations="true", size=100)["results"]
    assert any(order_id in a["entities"] for a in around)


def test_activities_created_attached_and_grouping_changes(fresh_client):
    c = fresh_client
    tickets = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:ticket", "size": 2}).json()["results"]
    first, second = (t["_id"] for t in tickets)
    r = c.post("/v1/entity/activity", headers=ORG, params={"entities": first},
               json={"type": "CustomerCalled", "title": "Rückruf", "message": "{{caller}} rief an"})
    assert r.status_code == 200
    activity = r.json()
    assert activity["entities"] == [first] and activity["caller"]["EpilotAuth"]["token"]["sub"] == "demo-org-user"
    attached = c.post(f"/v1/entity/activity/{activity['_id']}:attach", headers=ORG, params={"entities": second})
    assert attached.json()["entities"] == [first, second]
    # a change with ?activity_id= is one more operation of that activity
    c.patch(f"/v1/entity/ticket/{first}", headers=ORG, params={"activity_id": activity["_id"]},
            json={"priority": "high"})
    got = c.get(f"/v1/entity/activity/{activity['_id']}", headers=ORG).json()
    assert got["operations_total"] == 1 and got["operations"][0]["diff"]["updated"] == {"priority": "high"}
    assert _feed(c, "ticket", second, type="CustomerCalled")["total"] == 1
    assert _feed(c, "ticket", second, exclude_activity_groups="Customer")["total"] == 0
    assert _feed(c, "ticket", second, after="2999-01-01T00:00:00Z")["total"] == 0
    assert c.get("/v1/entity/activity/01HQ3Z8K4M6N2P5R7S9T1V3W5X", headers=ORG).status_code == 404


def test_the_feed_function_the_portal_can_call(fresh_client):
    c = fresh_client
    ticket = c.post("/v1/entity/ticket", headers=ORG, json={"subject": "Zählerwechsel"}).json()
    store = world_of(c.app.services).store
    total, items = entity_activity.feed(store, [ticket["_id"]])
    assert total == 1 and items[0]["type"] == "EntityCreated" and items[0]["operations"][0]["entity"] == ticket["_id"]


# -- saved views ------------------------------------------------------------------------------------

def test_saved_views_persist_per_user_and_favourites(fresh_client):
    c = fresh_client
    c.app.services.tokens.add("second-org-token", Principal("org", "second-user", "Second", {"org_id": "739224"}))
    other = {"Authorization": "Bearer second-org-token"}
    private = c.post("/v1/entity/view", headers=ORG, json={"slug": ["contract"], "name": "Meine Verträge"})
    shared = c.post("/v1/entity/view", headers=ORG, json={"slug": ["contract"], "name": "Alle", "shared": True})
    assert private.status_code == shared.status_code == 201
    mine = c.get("/v1/entity/views", headers=ORG, params={"slug": "contract"}).json()
    theirs = c.get("/v1/entity/views", headers=other).json()
    assert mine["hits"] == 2 and [v["name"] for v in theirs["results"]] == ["Alle"]
    assert c.get(f"/v1/entity/view/{private.json()['id']}", headers=other).status_code == 404
    c.patch(f"/v1/entity/view/{shared.json()['id']}", headers=other, json={"isFavoritedBy": ["second-user"]})
    assert [v["name"] for v in c.get("/v1/entity/views/favorites", headers=other).json()["results"]] == ["Alle"]
    assert c.get("/v1/entity/views/favorites", headers=ORG).json()["results"] == []
    replaced = c.put(f"/v1/entity/view/{private.json()['id']}", headers=ORG, json={"name": "Neu"}).json()
    assert replaced["name"] == "Neu" and replaced["created_by"]["user_id"] == "demo-org-user"
    assert c.delete(f"/v1/entity/view/{private.json()['id']}", headers=ORG).status_code == 200
    assert c.get(f"/v1/entity/view/{private.json()['id']}", headers=ORG).status_code == 404


# -- taxonomies --------------------------------------------------------------------------------------

def test_taxonomies_classify_world_entities_and_bulk_jobs_complete(fresh_client):
    c = fresh_client
    slugs = {t["slug"] for t in c.get("/v1/entity/taxonomies", headers=ORG).json()["results"]}
    assert {"purpose", "product_category"} <= slugs
    contract = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:contract", "size": 1}).json()["results"][0]
    c.patch(f"/v1/entity/contract/{contract['_id']}", headers=ORG, json={"_purpose": ["strom", "privatkunden"]})
    used = c.get("/v1/entity/schemas/contract/taxonomy/purpose", headers=ORG, params={"query": "str"}).json()
    assert [x["id"] for x in used["results"]] == ["strom"]
    oeko = c.post("/v2/entity/taxonomies/classifications", headers=ORG, json={"slug": "oekostrom", "name": "Ökostrom"})
    assert oeko.status_code == 201 and oeko.json()["taxonomy"] == "purpose"
    job = c.post("/v1/entity/taxonomies/classifications:merge", headers=ORG,
                 json={"target_classification": "oekostrom", "classification_ids": ["strom"]}).json()
    assert job["status"] == "COMPLETED"
    done = c.get(f"/v1/entity/taxonomies/bulk-jobs/{job['job_id']}", headers=ORG).json()
    assert done["output"]["affected_entities_count"] >= 1 and done["action_type"] == "MERGE_CLASSIFICATIONS"
    purposes = c.get(f"/v2/entity/contract/{contract['_id']}", headers=ORG).json()["_purpose"]
    assert purposes == ["privatkunden", "oekostrom"]
    assert c.get("/v2/entity/taxonomies/classifications/strom", headers=ORG).status_code == 404
    assert c.post(f"/v1/entity/taxonomies/bulk-jobs/{job['job_id']}/cancel", headers=ORG).json()["job_status"] == \
        "COMPLETED"
    assert c.delete("/v2/entity/taxonomies/classifications/gas", headers=ORG).status_code == 403
    found = c.post("/v1/entity/taxonomies/classifications:search", headers=ORG,
                   json={"classificationIds": [{"pattern": "*kunden"}]}).json()
    assert {x["id"] for x in found["results"]} == {"privatkunden", "gewerbekunden"}
    created = c.post("/v1/entity/taxonomies", headers=ORG, json={"slug": "tarifgruppe", "name": "Tarifgruppe"})
    assert created.status_code == 201
    assert c.post("/v1/entity/taxonomies", headers=ORG, json={"slug": "tarifgruppe"}).status_code == 409
    batch = c.post("/v1/entity/taxonomies/tarifgruppe/classifications", headers=ORG,
                   json={"create": [{"slug": "fix", "name": "Festpreis"}]}).json()
    assert [x["taxonomy"] for x in batch["created"]] == ["tarifgruppe"]
    moved = c.post("/v1/entity/taxonomies/classifications:move", headers=ORG,
                   json={"target_taxonomy": "product_category", "classification_ids": ["fix"]}).json()
    assert c.get(f"/v1/entity/taxonomies/bulk-jobs/{moved['job_id']}", headers=ORG).json()["job_status"] == "COMPLETED"
    assert c.get("/v2/entity/taxonomies/classifications/fix", headers=ORG).json()["taxonomy"] == "product_category"
    assert c.delete("/v1/entity/taxonomies/tarifgruppe", headers=ORG).status_code == 204
    assert c.get("/v1/entity/taxonomies/tarifgruppe", headers=ORG).status_code == 404


# -- changesets ---------------------------------------------------------------------------------------

def test_attributes_in_approval_mode_collect_changesets(fresh_client):
    c = fresh_client
    contact = c.get("/v2/portal/contact", headers=PORTAL).json()["entity"]
    phone = c.get("/v1/entity/schemas/attributes/contact:phone", headers=ORG).json()
    r = c.put("/v1/entity/schemas/attributes/contact:phone", headers=ORG, json={**phone, "edit_mode": "approval"})
    assert r.status_code == 200
    new_phone = [{"phone": "+49 221 555 0199"}]
    patched = c.patch(f"/v1/entity/contact/{contact['_id']}", headers=ORG, json={"phone": new_phone}).json()
    assert patched["phone"] == contact["phone"] and patched["_changesets"]["phone"]["proposed_value"] == new_phone
    assert list(c.get(f"/v1/entity/contact/{contact['_id']}/changesets", headers=ORG).json()) == ["phone"]
    preview = c.get(f"/v2/entity/contact/{contact['_id']}", headers=ORG, params={"apply_changesets": "true"}).json()
    assert preview["phone"] == new_phone
    applied = c.post(f"/v1/entity/contact/{contact['_id']}/changesets/phone:apply", headers=ORG).json()
    assert applied["phone"] == new_phone and "_changesets" not in applied
    assert c.post(f"/v1/entity/contact/{contact['_id']}/changesets/phone:dismiss", headers=ORG).status_code == 404
    direct = c.patch(f"/v1/entity/contact/{contact['_id']}", headers=ORG, params={"direct": "true"},
                     json={"phone": contact["phone"]}).json()
    assert direct["phone"] == contact["phone"]


# -- export and import ----------------------------------------------------------------------------------

def test_export_writes_a_file_that_import_reads_back(fresh_client):
    c = fresh_client
    r = c.post("/v1/entity:export", headers=ORG, params={"job_id": "export-1"},
               json={"q": "_schema:ticket", "fields": ["_id", "subject", "status"]})
    assert r.status_code == 201 and r.content == b""
    file = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:file AND export_job_id:export-1"}).json()
    assert file["hits"] == 1
    s3 = file["results"][0]["s3ref"]
    content = world_of(c.app.services).store.record_get("entity_file_content", f"{s3['bucket']}/{s3['key']}")
    header, *rows = content["content"].splitlines()
    tickets = c.post("/v1/entity:search", headers=ORG, json={"q": "_schema:ticket", "size": 100}).json()
    assert header == "_id,subject,status" and len(rows) == tickets["hits"]
    assert c.post("/v1/entity:export", headers=ORG, params={"job_id": "export-1"}, json={"q": "*"}).status_code == 409
    # change a ticket, then import the export: it is back to the exported subject
    ticket = tickets["results"][0]
    c.patch(f"/v1/entity/ticket/{ticket['_id']}", headers=ORG, json={"subject": "geändert"})
    r = c.post("/v1/entity:import", headers=ORG, params={"job_id": "import-1"},
               json={"S3Reference": s3, "schema": "ticket"})
    assert r.status_code == 201
    assert c.get(f"/v2/entity/ticket/{ticket['_id']}", headers=ORG).json()["subject"] == ticket["subject"]
    feed = c.get(f"/v1/entity/file/{file['results'][0]['_id']}/activity", headers=ORG).json()["results"]
    imported = next(a for a in feed if a["type"] == "EntityImport")
    assert imported["payload"]["written"] == tickets["hits"] and imported["payload"]["failed"] == []
    aborted = c.post("/v1/entity:abortImport", headers=ORG, params={"job_id": "import-1", "schema": "ticket"})
    assert aborted.status_code == 202 and aborted.json() == {"status": "aborted", "jobPollId": "import-1"}
    missing = c.post("/v1/entity:import", headers=ORG, json={"S3Reference": {"bucket": "b", "key": "k"},
                                                              "schema": "ticket"})
    assert missing.status_code == 404


def test_state_survives_in_a_state_file_and_reset_restores_it(tmp_path):
    state = str(tmp_path / "world.db")
    with TestClient(create_app(MockConfig(state=state))) as c:
        c.post("/v1/entity/schemas/attributes", headers=ORG,
               json={"schema": "meter", "name": "seal", "label": "Plombe"})
        c.post("/v1/entity/view", headers=ORG, json={"name": "Zähler"})
    with TestClient(create_app(MockConfig(state=state))) as c:
        assert c.get("/v1/entity/schemas/attributes/meter:seal", headers=ORG).status_code == 200
        assert c.get("/v1/entity/views", headers=ORG).json()["hits"] == 1
