"""The SQLite store: the equality index agrees with a full scan and stays current; visibility caching."""

from __future__ import annotations

import random

import pytest

from mockserver.engine.store.base import Filter, Query
from mockserver.engine.store.sqlite import SQLiteStore, _clause

VALUES = ["Müller", "Schmidt", "müller", "K-1", "K-2", "", "x" * 600]


def random_entity(rng: random.Random, i: int) -> dict:
    def value():
        kind = rng.randrange(6)
        if kind == 0:
            return rng.choice(VALUES)
        if kind == 1:
            return [rng.choice(VALUES) for _ in range(rng.randrange(3))]
        if kind == 2:
            return [{"email": rng.choice(VALUES), "_tags": ["Privat"]} for _ in range(rng.randrange(3))]
        if kind == 3:
            return {"a": rng.choice(VALUES), "b": {"last_name": rng.choice(VALUES)}}
        if kind == 4:
            return rng.randrange(3)
        return None

    entity = {"_id": f"id-{i}", "_schema": rng.choice(["contact", "contract"]),
              "_created_at": f"2026-01-{i % 28 + 1:02d}"}
    for attr in ("last_name", "email", "_tags"):
        v = value()
        if v is not None:
            entity[attr] = v
    return entity


def scan_ids(store: SQLiteStore, f: Filter) -> set[str]:
    sql, args = _clause(f)  # the unindexed form
    return {r[0] for r in store.conn.execute(f"SELECT id FROM entities WHERE {sql}", args)}


@pytest.mark.parametrize("seed", range(3))
def test_equality_index_matches_a_full_scan_and_follows_writes(seed):
    rng = random.Random(seed)
    store = SQLiteStore()
    store.put_many([random_entity(rng, i) for i in range(150)])
    filters = [Filter(attr, "eq", v) for attr in ("last_name", "email", "_tags") for v in VALUES[:5]]
    for f in filters:  # the first query of each attribute builds its index
        assert {e["_id"] for e in store.query(Query(all_of=(f,), limit=1000)).items} == scan_ids(store, f), f
    for _ in range(60):  # writes after the index exists keep it current
        if rng.random() < 0.2:
            store.delete(f"id-{rng.randrange(150)}")
        else:
            store.put(random_entity(rng, rng.randrange(200)))
    for f in filters:
        found = store.query(Query(schemas=("contact",), all_of=(("and", (f,)),), limit=1000))
        expected = {i for i, schema in store.schemas_of(sorted(scan_ids(store, f))).items() if schema == "contact"}
        assert {e["_id"] for e in found.items} == expected, f
        assert found.total == len(found.items)
    assert {e["_id"] for e in store.find_by("contract", {"last_name": "Müller"})} == {
        i for i, s in store.schemas_of(list(scan_ids(store, Filter("last_name", "eq", "Müller")))).items()
        if s == "contract"}


def test_long_values_and_reset_fall_back_correctly():
    store = SQLiteStore()
    store.put({"_id": "a", "_schema": "contact", "note": "x" * 600, "last_name": "Kurz"})
    store.checkpoint()
    assert [e["_id"] for e in store.query(Query(all_of=(Filter("note", "eq", "x" * 600),))).items] == ["a"]
    assert [e["_id"] for e in store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items] == ["a"]
    store.put({"_id": "b", "_schema": "contact", "last_name": "Kurz"})
    store.reset()
    assert [e["_id"] for e in store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items] == ["a"]
    store.put({"_id": "c", "_schema": "contact", "last_name": "Kurz"})
    assert {e["_id"] for e in store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items} == {"a", "c"}


def test_version_moves_on_every_write_and_links_and_schemas_read_without_documents():
    store = SQLiteStore()
    v0 = store.version()
    store.put({"_id": "c1", "_schema": "contact"})
    store.put({"_id": "k1", "_schema": "contract", "customer": {"$relation": [{"entity_id": "c1"}]}})
    assert store.version() != v0
    assert store.schemas_of(["c1", "k1", "nope"]) == {"c1": "contact", "k1": "contract"}
    assert store.links(["c1"]) == [("k1", "c1")]
    v1 = store.version()
    store.delete("k1")
    assert store.version() != v1 and store.links(["c1"]) == []


def test_portal_visibility_follows_new_relations(fresh_client):
    portal = {"Authorization": "Bearer demo-portal-token"}
    org = {"Authorization": "Bearer demo-org-token"}

    def my_contracts() -> set[str]:
        listed = fresh_client.get("/v2/portal/contract", params={"size": 100}, headers=portal).json()["data"]
        return {c["_id"] for c in listed}

    before = my_contracts()
    contact_id = fresh_client.get("/v2/portal/contact", headers=portal).json()["entity"]["_id"]
    created = fresh_client.post("/v1/entity/contract", headers=org, json={
        "contract_name": "Neu", "customer": {"$relation": [{"entity_id": contact_id}]}}).json()
    assert my_contracts() == before | {created["_id"]}
    fresh_client.delete(f"/v1/entity/contract/{created['_id']}", headers=org)
    assert my_contracts() == before


def test_a_transaction_that_writes_nothing_keeps_the_version():
    store = SQLiteStore()
    store.put({"_id": "c1", "_schema": "contact", "last_name": "Kurz"})
    store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),)))  # the first one builds the index
    before = store.version()
    with store.transaction():  # what a read-only POST (a search) runs in
        store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),)))
    assert store.version() == before
    with store.transaction():
        store.put({"_id": "c2", "_schema": "contact"})
    assert store.version() != before


def test_read_only_posts_take_no_write_lock_and_writes_do():
    from contextlib import contextmanager

    from starlette.testclient import TestClient

    from mockserver.engine.app import MockConfig, create_app

    app = create_app(MockConfig())
    taken: list[str] = []
    real = app.services.hooks.transaction

    @contextmanager
    def counting():
        taken.append("tx")
        with real():
            yield

    app.services.hooks.transaction = counting
    org = {"Authorization": "Bearer demo-org-token"}
    with TestClient(app) as client:
        assert client.post("/v1/entity:search", json={"q": "_schema:contact"}, headers=org).status_code == 200
        assert client.post("/v1/pricing:compute", json={"line_items": []}, headers=org).status_code == 200
        assert taken == []
        assert client.post("/v1/entity/contact", json={"first_name": "Ida"}, headers=org).status_code == 201
        assert taken == ["tx"]
