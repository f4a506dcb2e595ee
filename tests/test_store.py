"""The store, on both backends (SQLite, and PostgreSQL when a server is available): the equality index
agrees with a full scan and stays current, versions, reset, snapshots; visibility caching; and what
sharing one PostgreSQL database between replicas guarantees."""

from __future__ import annotations

import random

import pytest

from mockserver.engine.store.base import Filter, Query, Store
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


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request):
    """Makes stores of the parametrized backend; with PostgreSQL, all of one test share a database
    (as replicas do)."""
    made: list[Store] = []
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None

    def make() -> Store:
        if url is None:
            store: Store = SQLiteStore()
        else:
            from mockserver.engine.store.postgres import PostgresStore

            store = PostgresStore(url)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def scan_ids(store: Store, f: Filter) -> set[str]:
    """The ids matching ``f`` in the backend's unindexed form."""
    if isinstance(store, SQLiteStore):
        sql, args = _clause(f)
        return {r[0] for r in store.conn.execute(f"SELECT id FROM entities WHERE {sql}", args)}
    from mockserver.engine.store.pg_sql import filter_sql

    sql, args = filter_sql(f, frozenset(), store._fold)
    return {r[0] for r in store._rows(f"SELECT id FROM entities WHERE {sql}", args)}


@pytest.mark.parametrize("seed", range(3))
def test_equality_index_matches_a_full_scan_and_follows_writes(seed, new_store):
    rng = random.Random(seed)
    store = new_store()
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


def test_long_values_and_reset_fall_back_correctly(new_store):
    store = new_store()
    store.put({"_id": "a", "_schema": "contact", "note": "x" * 600, "last_name": "Kurz"})
    store.checkpoint()
    assert [e["_id"] for e in store.query(Query(all_of=(Filter("note", "eq", "x" * 600),))).items] == ["a"]
    assert [e["_id"] for e in store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items] == ["a"]
    store.put({"_id": "b", "_schema": "contact", "last_name": "Kurz"})
    store.reset()
    assert [e["_id"] for e in store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items] == ["a"]
    store.put({"_id": "c", "_schema": "contact", "last_name": "Kurz"})
    assert {e["_id"] for e in store.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items} == {"a", "c"}


def test_version_moves_on_every_write_and_links_and_schemas_read_without_documents(new_store):
    store = new_store()
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


def test_a_transaction_that_writes_nothing_keeps_the_version(new_store):
    store = new_store()
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


QUERIES = [
    Query(schemas=("contact",), limit=1000),
    Query(all_of=(Filter("last_name", "eq", "Müller"),), limit=1000),
    Query(all_of=(("or", (Filter("email", "eq", "K-1"), Filter("_tags", "eq", "K-2"))),), limit=1000),
    Query(all_of=(("not", Filter("last_name", "exists")),), limit=1000),
    Query(all_of=(Filter("*", "contains", "mü"),), limit=1000),
    Query(all_of=(Filter("last_name", "prefix", "mü"),), limit=1000),
    Query(all_of=(Filter("_created_at", "gte", "2026-01-15"),), sort=(("_created_at", False),), limit=7, offset=3),
    Query(schemas=("contract",), sort=(("last_name", True),), limit=1000),
    Query(all_of=(Filter("last_name", "in", ["K-1", "Schmidt"]),), limit=1000),
    Query(all_of=(Filter("last_name", "ne", "Schmidt"),), limit=1000),
    # searches (analysed text): the token index narrows, the shared matchers decide
    Query(all_of=(Filter("last_name", "match", "müller"),), limit=1000),
    Query(all_of=(Filter("email.email", "match", "k"),), limit=1000),
    Query(all_of=(Filter("last_name", "wildcard", "mü*"),), limit=1000),
    Query(all_of=(Filter("last_name", "wildcard", "*idt"),), limit=1000),
    Query(all_of=(Filter("last_name", "fuzzy", ("schmit", 1)),), limit=1000),
    Query(all_of=(Filter("*", "match", "müller"),), limit=1000),
    Query(all_of=(Filter("_tags", "present"),), limit=1000),
    Query(all_of=(Filter("last_name", "range", ("K", "N", True, False)),), limit=1000),
    Query(all_of=(("not", Filter("last_name", "match", "müller")),), limit=1000),
    Query(all_of=(("or", (Filter("last_name", "match", "k-1"), ("not", Filter("_tags", "present")))),),
          sort=(("_created_at", True),), limit=5, offset=2),
    Query(schemas=("contact",), all_of=(Filter("email", "eq", "K-1"), Filter("last_name", "wildcard", "*")),
          limit=1000),
]


def test_both_backends_answer_queries_alike(postgres_url):
    """The same entities in SQLite and PostgreSQL: the same ids, in the same order, for each query."""
    from mockserver.engine.store.postgres import PostgresStore

    rng = random.Random(7)
    entities = [random_entity(rng, i) for i in range(120)]
    lite, pg = SQLiteStore(), PostgresStore(postgres_url)
    try:
        for store in (lite, pg):
            store.put_many(entities)
        for query in QUERIES:
            a, b = lite.query(query), pg.query(query)
            assert [e["_id"] for e in a.items] == [e["_id"] for e in b.items], query
            assert a.total == b.total, query
        assert lite.counts_by_schema() == pg.counts_by_schema()
        assert lite.find_by("contact", {"last_name": "Müller"}) == pg.find_by("contact", {"last_name": "Müller"})
    finally:
        pg.close()


def test_a_snapshot_moves_between_backends(postgres_url):
    from mockserver.engine.store.postgres import PostgresStore

    lite = SQLiteStore()
    lite.put({"_id": "c1", "_schema": "contact", "big": 123456789012345678901234567890, "nul": "a\u0000b"})
    lite.put({"_id": "k1", "_schema": "contract", "customer": {"$relation": [{"entity_id": "c1", "_tags": ["x"]}]}})
    lite.record_put("reading", "r1", {"value": 1.5}, parent="m1")
    lite.meta_set("world", "seed=1")
    pg = PostgresStore(postgres_url)
    try:
        assert pg.load(lite.export()) == {"entities": 2, "records": 1}
        assert pg.export() == lite.export()  # long integers and NUL characters survive
        assert pg.relations("c1", reverse=True)[0].tags == ("x",)
        assert pg.record_list("reading", parent="m1") == [{"value": 1.5}]
        with pytest.raises(ValueError, match="format"):
            pg.load({"entities": []})
        assert pg.count() == 2  # a rejected snapshot changes nothing
    finally:
        pg.close()


def test_replicas_on_one_database_see_each_others_writes_at_once(postgres_url):
    from mockserver.engine.store.postgres import PostgresStore

    a, b = PostgresStore(postgres_url), PostgresStore(postgres_url)
    try:
        a.put({"_id": "c1", "_schema": "contact", "last_name": "Kurz"})
        assert b.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).total == 1  # b builds the index
        seen = b.version()
        a.put({"_id": "c2", "_schema": "contact", "last_name": "Kurz"})  # a keeps b's index current
        assert b.version() != seen
        assert {e["_id"] for e in b.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).items} == {"c1", "c2"}
        a.record_put("login", "t1", {"token": "t1"})
        assert b.record_get("login", "t1") == {"token": "t1"}
        a.checkpoint()
        b.put({"_id": "c3", "_schema": "contact"})
        b.checkpoint()  # a replica starting later keeps the first checkpoint
        a.reset()
        assert b.get("c3") is None and b.get("c2") is not None
        assert b.query(Query(all_of=(Filter("last_name", "eq", "Kurz"),))).total == 2  # the index came back
    finally:
        a.close()
        b.close()


def test_concurrent_read_modify_writes_on_two_replicas_lose_no_update(postgres_url):
    """Each transaction reads the entity, adds one attribute and writes it back; two replicas, four
    threads each: every attribute is there at the end (the write lock spans the read)."""
    from concurrent.futures import ThreadPoolExecutor

    from mockserver.engine.store.postgres import PostgresStore

    replicas = [PostgresStore(postgres_url), PostgresStore(postgres_url)]
    replicas[0].put({"_id": "c1", "_schema": "contact"})

    def work(n: int) -> None:
        store = replicas[n % 2]
        for i in range(15):
            with store.transaction():
                entity = store.get("c1")
                assert entity is not None
                entity[f"a{n}_{i}"] = i
                store.put(entity)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(work, range(8)))
        final = replicas[1].get("c1")
        assert final is not None
        missing = [f"a{n}_{i}" for n in range(8) for i in range(15) if f"a{n}_{i}" not in final]
        assert not missing, f"lost updates: {missing}"
    finally:
        for store in replicas:
            store.close()


def test_a_bad_postgres_url_is_one_clear_line():
    from mockserver.engine.store import StoreOpenError, open_store

    with pytest.raises(StoreOpenError, match=r"cannot connect to PostgreSQL at postgresql://nobody:\*\*\*@127\.0\.0\.1:1/"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")


def test_an_or_clause_beside_other_clauses_keeps_its_own_precedence(new_store):
    st = new_store()
    for i, (status, branch) in enumerate([("active", "gas"), ("active", "power"), ("approved", "gas"),
                                          ("terminated", "power")]):
        st.put({"_id": f"c{i}", "_schema": "contract", "status": status, "branch": branch})
    st.put({"_id": "x", "_schema": "meter", "status": "active"})
    either = ("or", (Filter("status", "eq", "active"), Filter("status", "eq", "approved")))
    not_gas = ("not", Filter("branch", "eq", "gas"))
    for clauses in ((either, not_gas), (not_gas, either)):
        page = st.query(Query(schemas=("contract",), all_of=clauses))
        assert [e["_id"] for e in page.items] == ["c1"], clauses
