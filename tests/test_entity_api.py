"""The Entity API as the published contract describes it, on the world: parameter forms, status codes,
schemas in the store (validation, search, portal), relations shown in the portal, and the trash."""

from __future__ import annotations

import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app
from mockserver.epilot.behaviours.entity import schema_store as entity_schema_store
from mockserver.epilot.behaviours.entity.catalogue import blueprints
from mockserver.epilot.behaviours.entity.validation import validate
from mockserver.epilot.world import generate_world
from mockserver.epilot.world.extension import world_of

from .conftest import ORG, PORTAL


@pytest.fixture(scope="module")
def api():
    """One app for the module's tests; each test that writes uses its own entities or resets."""
    with TestClient(create_app(MockConfig())) as client:
        yield client


def _contact(client):
    return client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]


def _search(client, q, **body):
    r = client.post("/v1/entity:search", headers=ORG, json={"q": q, **body})
    assert r.status_code == 200, r.text
    return r.json()


# -- the published parameter forms and status codes ------------------------------------------------

def test_comma_separated_list_parameters_are_read_as_lists(api):
    r = api.get("/v1/entity/schemas", headers=ORG, params={"include": "contact,contract"})
    assert sorted(s["slug"] for s in r.json()["results"]) == ["contact", "contract"]
    r = api.get("/v2/entity/schemas", headers=ORG, params={"exclude": "contact,contract"})
    slugs = {s["slug"] for s in r.json()["results"]}
    assert "contact" not in slugs and "contract" not in slugs and "meter" in slugs
    contract = _search(api, "_schema:contract AND status:active", size=1)["results"][0]
    rels = api.get(f"/v1/entity/contract/{contract['_id']}/relations", headers=ORG,
                   params={"include_schemas": "meter,billing_account"}).json()
    assert rels and {r["_schema"] for r in rels} <= {"meter", "billing_account"}
    assert len({r["_schema"] for r in rels}) == 2
    entity = api.get(f"/v2/entity/contract/{contract['_id']}", headers=ORG,
                     params={"fields": "contract_number,status"}).json()
    assert {"contract_number", "status", "_id"} <= set(entity) and "contract_name" not in entity
    # The same list sent as repeated parameters (as some clients spell arrays) means the same.
    r = api.get("/v1/entity/schemas", headers=ORG, params=[("include", "contact"), ("include", "contract,meter")])
    assert sorted(s["slug"] for s in r.json()["results"]) == ["contact", "contract", "meter"]


def test_bodies_the_published_contract_leaves_optional_are_optional(api):
    r = api.post("/v1/entity:search", headers=ORG)
    assert r.status_code == 200 and r.json()["hits"] > 100
    r = api.post("/v1/entity/ticket", headers=ORG)
    assert r.status_code == 201 and r.json()["_schema"] == "ticket"
    r = api.patch("/v1/entity/ticket:upsert", headers=ORG)
    assert r.status_code == 201  # no unique key: nothing can match, an entity is created


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("post", "/v1/entity:wipeAllEntities", {"schemas": ["no_such_schema"]}, 201),
    ("post", "/v1/entity/view", {"name": "x"}, 201),
    ("post", "/v1/entity/taxonomies", {"name": "Status code probe"}, 201),
    ("post", "/v1/entity:abortImport?job_id=nothing&schema=contact", None, 404),
    ("patch", "/v1/entity/contact/5da0a718-c822-403d-9f5d-20d4584e0528:restore", {}, 404),
])
def test_published_status_codes(api, method, path, body, status):
    r = api.request(method.upper(), path, headers=ORG, json=body)
    assert r.status_code == status, r.text
    if status == 404:
        assert r.content == b""  # published: no body


def test_search_results_never_carry_null_sort_values(api):
    # Published: sort_end items are `string nullable | number nullable`; null would match both branches.
    one_of = {"type": "array", "items": {"oneOf": [{"type": ["string", "null"]}, {"type": ["number", "null"]}]}}
    validator = jsonschema_rs.validator_for(one_of)
    assert not validator.is_valid([None])  # the check below would catch a null
    for sort in ("_created_at:desc", "termination_date:asc", "contract_name"):
        body = _search(api, "_schema:contract", sort=sort, size=3)
        assert validator.is_valid(body.get("sort_end", [])), body.get("sort_end")


def test_activity_id_accepts_any_string_and_an_empty_one(api):
    ticket = api.post("/v1/entity/ticket", headers=ORG, json={"subject": "a"}).json()
    for value in ("", "not-a-ulid"):
        r = api.patch(f"/v1/entity/ticket/{ticket['_id']}", headers=ORG, params={"activity_id": value},
                      json={"subject": "b"})
        assert r.status_code == 200


# -- schemas: the world's, in the store --------------------------------------------------------------

def test_core_schemas_describe_every_attribute_the_world_generator_makes():
    schemas = {s["slug"]: s for s in blueprints()}
    world = generate_world(0)
    assert set(schemas) == {e["_schema"] for e in world.entities}
    schema_of = {e["_id"]: e["_schema"] for e in world.entities}
    for entity in world.entities:
        schema = schemas[entity["_schema"]]
        names = {a["name"]: a for a in schema["attributes"]}
        assert {k for k in entity if not k.startswith("_")} <= set(names), entity["_schema"]
        for key, value in entity.items():
            if isinstance(value, dict) and "$relation" in value and names[key]["allowedSchemas"]:
                assert {schema_of[i["entity_id"]] for i in value["$relation"]} <= set(names[key]["allowedSchemas"])
        assert validate(schema, entity) == [], entity["_schema"]


def test_validation_reports_errors_in_both_published_forms(api):
    r = api.post("/v1/entity/contract:validate", headers=ORG, json={"status": "bogus", "start_date": "nope"})
    assert r.status_code == 422
    codes = {(e["code"], tuple(e["path"])) for e in r.json()["errors"]}
    assert ("enum", ("status",)) in codes and ("format", ("start_date",)) in codes
    r = api.post("/v2/entity/contract:validate", headers=ORG, json={"status": "bogus"})
    assert r.status_code == 422 and r.json()["errors"][0]["instance_path"] == "/status"
    r = api.post("/v2/entity/contract:validate", headers=ORG, json={"status": "active"})
    assert r.json() == {"status": "success", "errors": []}


def test_a_new_required_attribute_shows_in_validation_json_schema_search_and_the_portal(fresh_client):
    c = fresh_client
    r = c.post("/v1/entity/schemas/attributes", headers=ORG, json={
        "schema": "contact", "name": "wallbox_power", "label": "Wallbox (kW)", "type": "number", "required": True})
    assert r.status_code == 201 and r.json()["composite_id"].startswith("contact:")
    assert c.get("/v1/entity/schemas/attributes/contact:wallbox_power", headers=ORG).json()["type"] == "number"
    schema = c.get("/v1/entity/schemas/contact", headers=ORG).json()
    assert schema["version"] == 2 and any(a["name"] == "wallbox_power" for a in schema["attributes"])
    assert c.get("/v1/entity/schemas/contact/json/schema", headers=ORG).json()["required"] == ["wallbox_power"]
    errors = c.post("/v1/entity/contact:validate", headers=ORG, json={"last_name": "Kraft"}).json()["errors"]
    assert errors == [{"code": "required", "params": {"property": "wallbox_power"}, "path": ["wallbox_power"],
                       "message": '"wallbox_power" is a required property'}]
    r = c.post("/v1/entity/contact", headers=ORG, params={"validate": "true"}, json={"wallbox_power": "elf"})
    assert r.status_code == 422 and r.json()["errors"][0]["keyword"] in ("type", "required")
    contact = _contact(c)
    c.patch(f"/v1/entity/contact/{contact['_id']}", headers=ORG, json={"wallbox_power": 11})
    hits = _search(c, "_schema:contact AND wallbox_power:11")
    assert [e["_id"] for e in hits["results"]] == [contact["_id"]]
    portal = entity_schema_store.list_schemas(world_of(c.app.services).store, ["contact"])
    assert any(a["name"] == "wallbox_power" for a in portal[0]["attributes"])
    versions = c.get("/v1/entity/schemas/contact/versions", headers=ORG).json()
    assert [v["version"] for v in versions["versions"]] == [2, 1] and versions["versions_more"] is False


def test_a_deleted_schema_refuses_its_entities_until_it_is_put_back(fresh_client):
    c = fresh_client
    ticket = _search(c, "_schema:ticket", size=1)["results"][0]
    assert c.delete("/v1/entity/schemas/ticket", headers=ORG).status_code == 200
    assert c.get("/v1/entity/schemas/ticket", headers=ORG).status_code == 404
    assert c.get(f"/v1/entity/ticket/{ticket['_id']}", headers=ORG).status_code == 404
    assert c.post("/v1/entity/ticket", headers=ORG, json={}).status_code == 404
    assert _search(c, "_schema:ticket")["hits"] == 0
    assert all(e["_schema"] != "ticket" for e in _search(c, "*", size=1000)["results"])
    blueprint = next(s for s in c.get("/v1/entity/schemas/blueprints", headers=ORG).json()["results"]
                     if s["slug"] == "ticket")
    assert c.put("/v1/entity/schemas/ticket", headers=ORG, json=blueprint).status_code == 200
    assert c.get(f"/v1/entity/ticket/{ticket['_id']}", headers=ORG).status_code == 200


def test_a_custom_schema_holds_entities_and_a_frozen_one_refuses_changes(fresh_client):
    c = fresh_client
    r = c.put("/v1/entity/schemas/wallbox", headers=ORG, json={
        "slug": "wallbox", "name": "Wallbox", "plural": "Wallboxen", "capabilities": [],
        "attributes": [{"name": "serial_number", "label": "Seriennummer", "type": "string", "required": True}]})
    assert r.status_code == 200 and r.json()["version"] == 1
    created = c.post("/v1/entity/wallbox", headers=ORG, params={"validate": "true"}, json={"serial_number": "WB-1"})
    assert created.status_code == 201
    assert _search(c, "_schema:wallbox AND serial_number:WB-1")["hits"] == 1
    assert c.post("/v1/entity/wallbox", headers=ORG, params={"validate": "true"}, json={}).status_code == 422
    assert c.post("/v1/entity/schemas/wallbox/freeze", headers=ORG, json={}).json()["frozen"] is True
    assert c.put("/v1/entity/schemas/wallbox", headers=ORG, json=r.json()).status_code == 409
    assert c.delete("/v1/entity/schemas/wallbox", headers=ORG).status_code == 409
    assert c.post("/v1/entity/schemas/wallbox/unfreeze", headers=ORG).json()["frozen"] is False
    assert c.delete("/v1/entity/schemas/wallbox", headers=ORG).status_code == 200


def test_schema_parts_by_composite_id(fresh_client):
    c = fresh_client
    group = c.post("/v1/entity/schemas/group", headers=ORG, json={"schema": "contact", "label": "E-Mobilität"}).json()
    assert group["composite_id"] == "contact:e_mobilit_t"
    headline = c.post("/v1/entity/schemas/headline", headers=ORG, json={
        "composite_id": "contact:box", "name": "box", "label": "Wallbox", "group": group["id"], "type": "headline"})
    assert headline.status_code == 201
    cap = c.post("/v1/entity/schemas/capabilities", headers=ORG, json={"schema": "meter", "name": "wallbox"}).json()
    assert c.get(f"/v1/entity/schemas/capabilities/{cap['composite_id']}", headers=ORG).json()["name"] == "wallbox"
    available = c.get("/v1/entity/schemas/meter/capabilities/available", headers=ORG).json()["results"]
    assert "notes" not in {a["name"] for a in available} and "tasks" in {a["name"] for a in available}
    assert c.delete(f"/v1/entity/schemas/group/{group['composite_id']}", headers=ORG).status_code == 200
    assert c.get(f"/v1/entity/schemas/group/{group['composite_id']}", headers=ORG).status_code == 404
    assert c.get("/v1/entity/schemas/attributes/nocolon", headers=ORG).status_code == 404


# -- relations and the portal -------------------------------------------------------------------------

def test_a_relation_added_in_the_entity_api_shows_in_the_portal(fresh_client):
    c = fresh_client
    contact = _contact(c)
    mine = {x["_id"] for x in c.get("/v2/portal/contract?size=100", headers=PORTAL).json()["data"]}
    other = next(e for e in _search(c, "_schema:contract", size=100)["results"] if e["_id"] not in mine)
    r = c.post(f"/v1/entity/contact/{contact['_id']}/relations", headers=ORG,
               json=[{"entity_id": other["_id"], "attribute": "contracts", "_tags": ["Mitbenutzer"]}])
    assert r.status_code == 200 and r.json()["_schema"] == "contract"
    listed = {x["_id"] for x in c.get("/v2/portal/contract?size=100", headers=PORTAL).json()["data"]}
    assert other["_id"] in listed
    count = c.get(f"/v2/entity/contact/{contact['_id']}/relations/count", headers=ORG).json()["hits"]
    v3 = c.get(f"/v3/entity/contact/{contact['_id']}/relations", headers=ORG, params={"mode": "both"}).json()
    assert v3["hits"] >= count > 0
    r = c.put(f"/v1/entity/contact/{contact['_id']}/relations/contracts/{other['_id']}", headers=ORG,
              json={"_tags": ["Hauptvertrag"]})
    assert r.json()["_tags"] == ["Hauptvertrag"]
    assert c.delete(f"/v1/entity/contact/{contact['_id']}/relations/contracts/{other['_id']}",
                    headers=ORG).status_code == 204
    listed = {x["_id"] for x in c.get("/v2/portal/contract?size=100", headers=PORTAL).json()["data"]}
    assert other["_id"] not in listed
    assert c.delete(f"/v1/entity/contact/{contact['_id']}/relations/contracts/{other['_id']}",
                    headers=ORG).status_code == 404


def test_graph_query_walks_relations_from_the_seed(api):
    contact = _contact(api)
    body = {"seed": {"entity_id": contact["_id"], "node_id": "me"}, "hydrate": True,
            "graph": {"nodes": [{"id": "me", "schema": "contact", "cardinality": "one"},
                                {"id": "contracts", "schema": "contract"}, {"id": "meters", "schema": "meter"}],
                      "edges": [{"from": "contracts", "to": "meters"}, {"from": "me", "to": "contracts"}]}}
    out = api.post("/v1/entity:graph", headers=ORG, json=body).json()
    contracts = {x["_id"] for x in api.get("/v2/portal/contract?size=100", headers=PORTAL).json()["data"]}
    assert set(out["nodes"]["contracts"]) == contracts and out["nodes"]["meters"]
    assert out["entityNodes"]["me"]["_id"] == contact["_id"]
    assert api.post("/v1/entity:graph", headers=ORG, json={**body, "seed": {
        "entity_id": "5da0a718-c822-403d-9f5d-20d4584e0528", "node_id": "me"}}).status_code == 404


# -- list, autocomplete, trash -------------------------------------------------------------------------

def test_entity_list_filters(api):
    body = {"filter": [{"term": {"_schema": "contract"}}, {"terms": {"status": ["active", "approved"]}},
                       {"$not": [{"term": {"branch": "gas"}}]}], "size": 100}
    out = api.post("/v1/entity:list", headers=ORG, json=body).json()
    assert out["hits"] > 0
    assert all(e["status"] in ("active", "approved") and e.get("branch") != "gas" for e in out["results"])
    cities = api.get("/v1/entity:autocomplete", headers=ORG, params={"attribute": "address.city", "slug": "contact",
                                                                      "input": "k"}).json()
    assert cities["results"] and all(v.lower().startswith("k") for v in cities["results"])


def test_delete_moves_to_the_trash_and_restore_brings_it_back(fresh_client):
    c = fresh_client
    meter = _search(c, "_schema:meter", size=1)["results"][0]
    assert c.delete(f"/v1/entity/meter/{meter['_id']}", headers=ORG).status_code == 200
    assert c.get(f"/v1/entity/meter/{meter['_id']}", headers=ORG).status_code == 404
    only = _search(c, "_schema:meter", include_deleted="only")
    assert [e["_id"] for e in only["results"]] == [meter["_id"]] and only["results"][0]["_deleted_at"]
    r = c.patch(f"/v1/entity/meter/{meter['_id']}:restore", headers=ORG, json={})
    assert r.status_code == 200 and "_deleted_at" not in r.json()
    assert c.get(f"/v1/entity/meter/{meter['_id']}", headers=ORG).json()["relations"]


def test_wipe_is_limited_to_the_callers_organization_and_undone_by_reset(fresh_client):
    c = fresh_client
    before = _search(c, "_schema:ticket")["hits"]
    foreign = c.post("/v1/entity/ticket", headers=ORG, json={"_org": "1"}).json()  # _org is the store's
    assert foreign["_org"] == "739224"
    assert c.post("/v1/entity:wipeAllEntities", headers=ORG, json={"schemas": ["ticket"]}).status_code == 201
    assert _search(c, "_schema:ticket")["hits"] == 0
    assert _search(c, "_schema:contact")["hits"] > 0
    assert c.post("/__admin/reset").status_code == 200
    assert _search(c, "_schema:ticket")["hits"] == before


def test_the_entity_api_takes_organization_tokens_only(api):
    for headers in (PORTAL, {}):
        r = api.get("/v1/entity/schemas", headers=headers)
        assert r.status_code == 401 and set(r.json()) == {"status", "error"} and r.json()["status"] == 401


def test_deletes_answer_their_published_status_without_a_body(fresh_client):
    c = fresh_client
    ticket = c.post("/v1/entity/ticket", headers=ORG, json={"subject": "x"}).json()
    contract = _search(c, "_schema:contract", size=1)["results"][0]
    c.post(f"/v1/entity/ticket/{ticket['_id']}/relations", headers=ORG,
           json=[{"entity_id": contract["_id"], "attribute": "contract"}])
    r = c.request("DELETE", f"/v1/entity/ticket/{ticket['_id']}/relations", headers=ORG,
                  json=[{"entity_id": contract["_id"], "attribute": "contract"}])
    assert r.status_code == 204 and r.content == b""
    assert c.get(f"/v1/entity/ticket/{ticket['_id']}/relations", headers=ORG).json() == []
    r = c.delete(f"/v1/entity/ticket/{ticket['_id']}", headers=ORG, params={"purge": "true"})
    assert r.status_code == 200 and r.content == b""
    assert c.patch(f"/v1/entity/ticket/{ticket['_id']}:restore", headers=ORG, json={}).status_code == 404


def test_two_apps_in_one_process_keep_their_own_schemas():
    with TestClient(create_app(MockConfig())) as a, TestClient(create_app(MockConfig())) as b:
        a.post("/v1/entity/schemas/attributes", headers=ORG,
               json={"schema": "contact", "name": "only_in_a", "label": "A", "type": "string", "required": True})
        assert a.post("/v1/entity/contact:validate", headers=ORG, json={}).status_code == 422
        assert b.post("/v1/entity/contact:validate", headers=ORG, json={}).status_code == 200
        assert b.get("/v1/entity/schemas/contact", headers=ORG).json()["version"] == 1


def test_the_portal_sees_the_schemas_the_entity_api_has(fresh_client):
    portal = {"Authorization": "Bearer demo-portal-token"}
    before = {s["slug"] for s in fresh_client.get("/v2/portal/schemas", headers=portal).json()["schemas"]}
    assert "order" in before
    assert fresh_client.delete("/v1/entity/schemas/order", headers=ORG).status_code == 200
    after = {s["slug"] for s in fresh_client.get("/v2/portal/schemas", headers=portal).json()["schemas"]}
    assert after == before - {"order"}
