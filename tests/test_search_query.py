"""One search language: every query of the table gets the same answer from the entity search (the
store's SQL) and from the catalog search (the in-memory matcher), and the answer the table expects."""

from __future__ import annotations

import pytest

from mockserver.engine.store.base import Query
from mockserver.engine.store.sqlite import SQLiteStore
from mockserver.epilot.behaviours.entity_query import QueryError, parse_query
from mockserver.epilot.pricing.catalog_query import CatalogQueryError, matches, parse_catalog_query
from mockserver.epilot.query import And, Not, Or, Range, Term, parse

ENTITIES = [
    {"_id": "c1", "_schema": "contact", "_title": "Jürgen Müller", "_created_at": "2024-01-01T00:00:00Z",
     "first_name": "Jürgen", "last_name": "Müller", "email": [{"email": "j.mueller@example.de", "_tags": ["work"]}],
     "city": "Straße des 17. Juni", "age": 42, "active": True, "_tags": ["vip", "Privatkunde"],
     "address": {"street": "Hauptstraße 5", "postal_code": "10115"}, "birthdate": "1982-03-04"},
    {"_id": "c2", "_schema": "contact", "_title": "Anna Mueller", "_created_at": "2024-01-02T00:00:00Z",
     "first_name": "Anna", "last_name": "Mueller", "age": 7, "active": False, "_tags": ["gas"],
     "note": 'say "hi" (now)', "code": "A:B/C", "birthdate": "2017-11-30", "email": []},
    {"_id": "c3", "_schema": "contact", "_title": "Zoë Schmidt-Öztürk", "_created_at": "2024-01-03T00:00:00Z",
     "first_name": "Zoë", "last_name": "Schmidt-Öztürk", "age": 42.5, "nickname": None, "city": "Strasse 1",
     "address": {"street": "Am Ring 1", "postal_code": "20095"}},
    {"_id": "p1", "_schema": "product", "_title": "Öko Strom Flex", "_created_at": "2024-01-04T00:00:00Z",
     "name": "Öko Strom Flex", "description": "Grüner Strom", "active": True, "code": "OEKO-24", "price": 29.9,
     "_tags": ["energy", "Privatkunde"]},
    {"_id": "p2", "_schema": "price", "_title": "Arbeitspreis", "_created_at": "2024-01-05T00:00:00Z",
     "description": "Arbeitspreis", "unit_amount": 3249, "unit_amount_decimal": "0.3249",
     "_price": {"type": "recurring", "billing_period": "monthly"}, "valid_from": "2024-05-01",
     "prices": {"$relation": [{"entity_id": "aaa-1"}, {"entity_id": "bbb-2"}]}},
]
ALL = ["c1", "c2", "c3", "p1", "p2"]

# (q, expected ids): explicit operators, so both APIs' default operators give the same answer
TABLE = [
    # terms: case-insensitive, a word or the whole value, Unicode
    ("last_name:Müller", ["c1"]),
    ("last_name:müller", ["c1"]),
    ("last_name:MÜLLER", ["c1"]),
    ("last_name:Mueller", ["c2"]),
    ("last_name:öztürk", ["c3"]),
    ("last_name:Schmidt-Öztürk", ["c3"]),
    ("first_name:Zoë", ["c3"]),
    ("city:Straße", ["c1"]),
    ("city:strasse", ["c3"]),  # lower-casing only: ß is not ss
    ("first_name.keyword:Anna", ["c2"]),
    # phrases: consecutive words
    ('last_name:"Schmidt Öztürk"', ["c3"]),
    ('city:"des 17"', ["c1"]),
    ('"grüner strom"', ["p1"]),
    ('note:"say \\"hi\\""', ["c2"]),
    # bare terms: any string value
    ("Straße", ["c1"]),
    ("Müller", ["c1"]),
    ("strom", ["p1"]),
    ("müller OR anna", ["c1", "c2"]),
    # wildcards and prefixes
    ("last_name:Müll*", ["c1"]),
    ("last_name:M*ller", ["c1", "c2"]),
    ("last_name:M?ller", ["c1"]),
    ("last_name:m*", ["c1", "c2"]),
    ("str*", ["c1", "c3", "p1"]),
    ("*ürk", ["c3"]),
    ("name:*", ["p1"]),
    ("*", ALL),
    # fuzzy: at most N edits (AUTO without N)
    ("last_name:Muller~1", ["c1", "c2"]),
    ("last_name:Müler~", ["c1"]),
    ("last_name:Muler~0", []),
    # numbers, booleans, ranges
    ("age:42", ["c1"]),
    ("age:42.0", ["c1"]),
    ("age:42.5", ["c3"]),
    ("price:29.90", ["p1"]),
    ("unit_amount:3249", ["p2"]),
    ("unit_amount_decimal:0.3249", ["p2"]),
    ("active:true", ["c1", "p1"]),
    ("active:false", ["c2"]),
    ("age:[7 TO 42]", ["c1", "c2"]),
    ("age:{7 TO 42]", ["c1"]),
    ("age:[* TO 10]", ["c2"]),
    ("age:>=42", ["c1", "c3"]),
    ("age:>42", ["c3"]),
    ("age:<42", ["c2"]),
    ("age:<=7", ["c2"]),
    ("age:>=-5", ["c1", "c2", "c3"]),
    ("age:[-5 TO 8}", ["c2"]),
    ("unit_amount_decimal:[0.1 TO 0.5]", ["p2"]),
    ("birthdate:[2000-01-01 TO *]", ["c2"]),
    ("birthdate:{* TO 2017-11-30}", ["c1"]),
    ("valid_from:>=2024-01-01", ["p2"]),
    # presence
    ("_exists_:email", ["c1"]),  # an empty list is absent
    ("email:*", ["c1"]),
    ("_exists_:nickname", []),  # so is null
    ("_exists_:address.street", ["c1", "c3"]),
    ("NOT _exists_:address", ["c2", "p1", "p2"]),
    # dotted paths, arrays, multi-value attributes
    ("address.postal_code:10115", ["c1"]),
    ("address.street:hauptstraße", ["c1"]),
    ("_price.type:recurring", ["p2"]),
    ("prices.$relation.entity_id:bbb-2", ["p2"]),
    ("email:j.mueller@example.de", ["c1"]),
    ("email._tags:work", ["c1"]),
    ("_tags:privatkunde", ["c1", "p1"]),
    ("_tags:(vip OR gas)", ["c1", "c2"]),
    # schemas, boolean operators, grouping, boosts
    ("_schema:contact", ["c1", "c2", "c3"]),
    ("_schema:(product OR price)", ["p1", "p2"]),
    ("_schema:contact AND age:42", ["c1"]),
    ("_schema:contact AND NOT last_name:Müller", ["c2", "c3"]),
    ("_schema:contact && age:42", ["c1"]),
    ("age:7 || age:42", ["c1", "c2"]),
    ("NOT active:true", ["c2", "c3", "p2"]),
    ("!active:true", ["c2", "c3", "p2"]),
    ("-active:true", ["c2", "c3", "p2"]),
    ("+_schema:contact -first_name:anna", ["c1", "c3"]),
    ("_schema:contact AND (first_name:anna OR first_name:zoë)", ["c2", "c3"]),
    ("((_schema:contact AND (age:7 OR age:42)) AND active:true)", ["c1"]),
    ("age:42 OR age:7 AND active:false", ["c1", "c2"]),  # AND binds tighter
    ("last_name:müller^2", ["c1"]),
    ("(age:42 OR age:7)^3", ["c1", "c2"]),
    # escaped characters
    ("note:\\(now\\)", ["c2"]),
    ("code:A\\:B\\/C", ["c2"]),
    ("code:a\\:b*", ["c2"]),
    ("code:oeko\\-24", ["p1"]),
    ("code:OEKO-24", ["p1"]),
    ("last_name:M\\*ller", []),  # an escaped star is a literal
]


@pytest.fixture(scope="module")
def store() -> SQLiteStore:
    store = SQLiteStore()
    store.put_many(ENTITIES)
    return store


def entity_search(store: SQLiteStore, q: str) -> list[str]:
    schemas, clause = parse_query(q)
    page = store.query(Query(schemas=schemas, all_of=(clause,) if clause else (), sort=(("_created_at", False),),
                             limit=100))
    return [e["_id"] for e in page.items]


def catalog_search(q: str) -> list[str]:
    node = parse_catalog_query(q)
    return [e["_id"] for e in ENTITIES if matches(node, e)]


def test_the_table_covers_every_form() -> None:
    assert len(TABLE) >= 50
    assert len({q for q, _ in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("q", "expected"), TABLE, ids=[q for q, _ in TABLE])
def test_entity_and_catalog_search_agree(store: SQLiteStore, q: str, expected: list[str]) -> None:
    assert entity_search(store, q) == expected
    assert catalog_search(q) == expected


def test_writes_keep_the_token_index_current(store: SQLiteStore) -> None:
    fresh = SQLiteStore()
    fresh.put_many(ENTITIES)
    assert entity_search(fresh, "last_name:Müller") == ["c1"]  # builds the index of last_name
    fresh.put({**ENTITIES[1], "last_name": "Müller-Lüdenscheidt"})
    assert entity_search(fresh, "last_name:Müller") == ["c1", "c2"]
    fresh.delete("c1")
    assert entity_search(fresh, "last_name:Müller") == ["c2"]


def test_adjacent_terms_follow_each_apis_default_operator(store: SQLiteStore) -> None:
    # the entity search has always ANDed adjacent terms, the catalog search ORed them (Lucene's default)
    assert entity_search(store, "jürgen müller") == ["c1"]
    assert catalog_search("jürgen müller") == ["c1"]
    assert catalog_search("anna müller") == ["c1", "c2"]
    assert entity_search(store, "anna müller") == []
    # '+' makes a term required whatever the default
    assert catalog_search("+anna müller") == ["c2"]
    assert parse("a b", "AND") == And((Term(None, "a"), Term(None, "b")))
    assert parse("a b", "OR") == Or((Term(None, "a"), Term(None, "b")))


def test_the_tree_of_each_form() -> None:
    assert parse("f:{1 TO 5]") == Range("f", "1", "5", include_low=False, include_high=True)
    assert parse("f:<=-5") == Range("f", None, "-5")
    assert parse("_exists_:f") == parse("f:*") == Term("f", "", exists=True)
    assert parse("f:müler~") == Term("f", "müler", fuzzy=1)
    assert parse("f:abcdefg~") == Term("f", "abcdefg", fuzzy=2)
    assert parse("f:ab~7") == Term("f", "ab", fuzzy=2)  # never more than two edits
    assert parse("f:M*ll?r") == Term("f", "M*ll?r", wildcard=True)
    assert parse("f:Mü*") == Term("f", "Mü", prefix=True)
    assert parse("a && b || !c") == Or((And((Term(None, "a"), Term(None, "b"))), Not(Term(None, "c"))))
    assert parse("f:(a OR b)^2") == Or((Term("f", "a"), Term("f", "b")))


@pytest.mark.parametrize(("q", "problem"), [
    ("/joh?n(ath[oa]n)/", "regular expressions (/.../) are not supported at position 0"),
    ('name:"öko strom"~2', 'proximity searches ("..."~N) are not supported at position 5'),
    ("[1 TO 5]", "a range needs a field (field:[a TO b] or field:>=a) at position 0"),
    ("f:[1 TO 5", "unterminated range at position 2"),
    ("f:a*~2", "fuzzy search (~) applies to a single word without wildcards at position 2"),
    ("_exists_:(a b)", "_exists_ needs a field name at position 0"),
    ("a && || b", "dangling operator '&&' at position 2"),
    ("a:(b:c)", "unexpected ':' in the value of field 'a' at position 3"),
    ("f:[1 TO 2 TO 3]", "unexpected 'TO' at position 10"),
])
def test_unsupported_and_malformed_queries_name_the_problem(q: str, problem: str) -> None:
    for parse_one in (parse_query, parse_catalog_query):
        with pytest.raises(QueryError) as caught:
            parse_one(q)
        assert str(caught.value) == problem


def test_one_error_type_for_both_apis() -> None:
    assert CatalogQueryError is QueryError


@pytest.mark.parametrize(("path", "body", "problem"), [
    ("/v1/entity:search", {"q": "name:(a OR b"}, "invalid query: unbalanced parenthesis at position 5"),
    ("/v1/entity:search", {"q": "/re/"}, "invalid query: regular expressions (/.../) are not supported"),
    ("/v1/catalog", {"q": "name:(a OR b"}, "invalid catalog query: unbalanced parenthesis at position 5"),
    ("/v1/catalog", {"q": "/re/"}, "invalid catalog query: regular expressions (/.../) are not supported"),
])
def test_a_bad_query_is_a_400_in_the_apis_error_shape(client, path: str, body: dict, problem: str) -> None:
    r = client.post(path, json=body, headers={"Authorization": "Bearer demo-org-token"})
    assert r.status_code == 400, r.text
    assert problem in r.text


def test_searches_over_http_agree_with_the_language(client) -> None:
    org = {"Authorization": "Bearer demo-org-token"}
    products = client.post("/v1/catalog", json={"q": "_schema:product", "size": 500}, headers=org).json()
    entity = client.post("/v1/entity:search", json={"q": "_schema:product", "size": 500}, headers=org).json()
    assert products["hits"] == entity["hits"] > 0
    name = products["results"][0]["name"]
    word = name.split()[0]
    q = f"_schema:product AND name:{word.lower()}*"
    by_catalog = client.post("/v1/catalog", json={"q": q, "size": 500}, headers=org).json()
    by_entity = client.post("/v1/entity:search", json={"q": q, "size": 500}, headers=org).json()
    assert by_catalog["hits"] == by_entity["hits"] >= 1
    assert {e["_id"] for e in by_catalog["results"]} == {e["_id"] for e in by_entity["results"]}
