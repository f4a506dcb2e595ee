"""Hostile queries: over a limit they are a 400 naming the limit (never a RecursionError or an SQLite
error), and at the limits they are answered, by the store's SQL too."""

from __future__ import annotations

import pytest

from mockserver.engine.store.base import Query
from mockserver.engine.store.sqlite import SQLiteStore
from mockserver.epilot.behaviours.entity_query import QueryError, parse_query
from mockserver.epilot.pricing.catalog_query import matches, parse_catalog_query
from mockserver.epilot.query import MAX_DEPTH, MAX_LENGTH, MAX_TERM_LENGTH, MAX_TERMS
from tests.test_search_query import ENTITIES

ORG = {"Authorization": "Bearer demo-org-token"}
PORTAL = {"Authorization": "Bearer demo-portal-token"}

HOSTILE = {
    "50,000 characters": ("a" * 50_000, f"the limit is {MAX_LENGTH}"),
    "20,000 ORs": (" OR ".join(["a"] * 20_000), f"the limit is {MAX_LENGTH}"),
    "5,000 nested parentheses": ("(" * 5_000 + "a" + ")" * 5_000, f"the limit is {MAX_DEPTH}"),
    "5,000 NOTs": ("NOT " * 5_000 + "a", f"the limit is {MAX_DEPTH}"),
    "10,000 NOTs": ("NOT " * 10_000 + "a", f"the limit is {MAX_LENGTH}"),
    "5,000 !": ("! " * 5_000 + "a", f"the limit is {MAX_DEPTH}"),
    "1,000 glued !": ("!" * 1_000 + "a", f"the limit is {MAX_DEPTH}"),
    "5,000 -": ("- " * 5_000 + "a", f"the limit is {MAX_DEPTH}"),
    "nested field groups": ("f:(" * 40 + "a" + ")" * 40, f"the limit is {MAX_DEPTH}"),
    "NOT and parentheses": ("NOT (" * 20 + "a" + ")" * 20, f"the limit is {MAX_DEPTH}"),
    "too many terms": (" OR ".join(["ab"] * (MAX_TERMS + 1)), f"the limit is {MAX_TERMS}"),
    "too many adjacent terms": (" ".join(["ab"] * (MAX_TERMS + 1)), f"the limit is {MAX_TERMS}"),
    "too many ranges": (" ".join(["f:[1 TO 2]"] * (MAX_TERMS // 2 + 1)), f"the limit is {MAX_TERMS}"),
    "a huge term": ("x" * (MAX_TERM_LENGTH + 1), f"the limit is {MAX_TERM_LENGTH}"),
    "a huge phrase": ('"' + "x " * MAX_TERM_LENGTH + '"', f"the limit is {MAX_TERM_LENGTH}"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_over_a_limit_both_parsers_name_it(name: str) -> None:
    q, limit = HOSTILE[name]
    for parse_one in (parse_query, parse_catalog_query):
        with pytest.raises(QueryError) as caught:
            parse_one(q)
        assert limit in str(caught.value)


@pytest.mark.parametrize("name", ["50,000 characters", "20,000 ORs", "5,000 nested parentheses", "5,000 NOTs",
                                  "1,000 glued !", "too many terms"])
@pytest.mark.parametrize(("path", "headers", "body", "prefix"), [
    ("/v1/entity:search", ORG, {}, "invalid query"),
    ("/v2/portal/entity:search", PORTAL, {"slug": "contract"}, "invalid query"),
    ("/v1/catalog", ORG, {}, "invalid catalog query"),
    ("/v1/public/catalog", {}, {}, "invalid catalog query"),
])
def test_over_a_limit_every_search_answers_400(client, name: str, path: str, headers: dict, body: dict,
                                               prefix: str) -> None:
    q, limit = HOSTILE[name]
    r = client.post(path, json={**body, "q": q}, headers=headers)
    assert r.status_code == 400, r.text[:300]
    assert prefix in r.text and limit in r.text, r.text[:300]


@pytest.fixture(scope="module")
def store() -> SQLiteStore:
    store = SQLiteStore()
    store.put_many(ENTITIES)
    return store


def _entity(store: SQLiteStore, q: str) -> list[str]:
    schemas, clause = parse_query(q)
    page = store.query(Query(schemas=schemas, all_of=(clause,) if clause else (), sort=(("_created_at", False),)))
    return [e["_id"] for e in page.items]


def _catalog(q: str) -> list[str]:
    node = parse_catalog_query(q)
    return [e["_id"] for e in ENTITIES if matches(node, e)]


@pytest.mark.parametrize("form", ["last_name:n{i}", "n{i}*", "last_name:*n{i}?", "age:[{i} TO *]", "zq{i}x~1",
                                  "_exists_:f{i}"])
def test_the_most_terms_allowed_are_answered_by_the_store(store: SQLiteStore, form: str) -> None:
    # SQLite refuses expressions deeper than 1,000 levels: long OR lists must not become one
    count = MAX_TERMS // 2 if "TO" in form else MAX_TERMS
    q = " OR ".join(form.format(i=i) for i in range(count - 1)) + " OR last_name:müller"
    assert len(q) <= MAX_LENGTH
    expected = ["c1", "c2", "c3"] if "age" in form else ["c1"]
    assert _entity(store, q) == expected
    assert _catalog(q) == expected


def test_the_deepest_nesting_allowed_is_answered(store: SQLiteStore) -> None:
    q = "(" * (MAX_DEPTH - 1) + "last_name:müller" + ")" * (MAX_DEPTH - 1)
    assert _entity(store, q) == _catalog(q) == ["c1"]
    q = "NOT " * (MAX_DEPTH - 2) + "last_name:müller"  # an even number of NOTs
    assert _entity(store, q) == _catalog(q) == ["c1"]


def test_the_longest_query_and_term_allowed_are_answered(store: SQLiteStore) -> None:
    word = "ü" * (MAX_TERM_LENGTH - 2)  # 2 KB of UTF-8 in one LIKE pattern (and room for '~2')
    for q in (word, f"{word}*", f"*{word}", f"last_name:{word}", f"last_name:{word}~2", f'"{word}"'):
        assert _entity(store, q) == _catalog(q) == []
    filler = " OR ".join(["last_name:" + "y" * 100] * ((MAX_LENGTH - 40) // 115))
    q = (filler + " OR last_name:müller").ljust(MAX_LENGTH)
    assert len(q) == MAX_LENGTH
    assert _entity(store, q) == _catalog(q) == ["c1"]


def test_a_hostile_wildcard_is_linear(store: SQLiteStore) -> None:
    # '*a*a*…*b' against 'aaaa…' backtracks exponentially in a naive matcher
    long_value = {**ENTITIES[0], "_id": "long", "note": "a" * 500}
    fresh = SQLiteStore()
    fresh.put_many([long_value])
    q = "note:" + "*a" * 200 + "*b"
    assert _entity(fresh, q) == []
    assert not matches(parse_catalog_query(q), long_value)
