"""The catalog search ``q`` language and ``sort``: parsing, matching, precedence and errors."""

from __future__ import annotations

import pytest

from mockserver.epilot.pricing import CatalogQueryError, matches, parse_catalog_query, parse_sort
from mockserver.epilot.pricing.catalog_query import And, MatchAll, Not, Or, Term, sort_entities

OKO = {"_id": "1233432", "_schema": "product", "name": "Öko Strom Flex", "description": "Grüner Strom",
       "active": True, "_tags": ["energy", "Privatkunde"], "code": "OEKO-24"}
GAS = {"_id": "123432454", "_schema": "product", "name": "Gas Basis", "description": "product a", "active": False,
       "_tags": ["gas"]}
PRICE = {"_id": "23445433", "_schema": "price", "description": "Arbeitspreis", "unit_amount": 3249,
         "unit_amount_decimal": "0.3249", "type": "recurring", "active": True,
         "prices": {"$relation": [{"entity_id": "aaa-1"}, {"entity_id": "bbb-2"}]},
         "_price": {"type": "recurring", "billing_period": "monthly"}}
OTHER = {"_id": "999", "_schema": "price", "description": "Grundpreis", "type": "one_time", "active": True}
CATALOG = [OKO, GAS, PRICE, OTHER]


def hits(q: str | None) -> list[str]:
    node = parse_catalog_query(q)
    return [e["_id"] for e in CATALOG if matches(node, e)]


@pytest.mark.parametrize("q", [None, "", "   ", "*"])
def test_empty_and_star_match_everything(q: str | None) -> None:
    assert parse_catalog_query(q) == MatchAll()
    assert hits(q) == ["1233432", "123432454", "23445433", "999"]


def test_ids_joined_by_or_as_in_the_documentation() -> None:
    assert hits("_id:1233432 OR _id:123432454 OR _id:23445433") == ["1233432", "123432454", "23445433"]


def test_id_list_in_parentheses() -> None:
    node = parse_catalog_query("_id:(1233432 OR 999)")
    assert node == Or((Term("_id", "1233432"), Term("_id", "999")))
    assert hits("_id:(1233432 OR 999)") == ["1233432", "999"]


@pytest.mark.parametrize(("q", "expected"), [
    ("_schema:product", ["1233432", "123432454"]),
    ("_schema:PRODUCT", ["1233432", "123432454"]),  # case-insensitive
    ("active:true", ["1233432", "23445433", "999"]),  # booleans
    ("active:false", ["123432454"]),
    ("unit_amount:3249", ["23445433"]),  # numbers
    ("unit_amount_decimal:0.3249", ["23445433"]),
    ("description:product", ["123432454"]),  # a word of the value
    ("name:öko", ["1233432"]),
    ("code:oeko-24", ["1233432"]),  # the whole value
    ("name:Strom*", ["1233432"]),  # prefix of a word
    ("description:Arbeits*", ["23445433"]),
    ("_tags:privatkunde", ["1233432"]),  # arrays match when any element does
    ("_price.type:recurring", ["23445433"]),  # dotted paths walk nested objects
    ("prices.$relation.entity_id:bbb-2", ["23445433"]),  # ... and arrays of objects
    ("code:*", ["1233432"]),  # the attribute is set
    ("missing:x", []),
])
def test_field_values(q: str, expected: list[str]) -> None:
    assert hits(q) == expected


def test_quoted_phrase() -> None:
    assert parse_catalog_query('name:"Öko Strom"') == Term("name", "Öko Strom", phrase=True)
    assert hits('name:"Öko Strom"') == ["1233432"]
    # the words must be consecutive
    assert hits('name:"Öko Flex"') == []
    assert hits(r'name:"say \"hi\""') == []


def test_bare_terms_search_every_string_attribute() -> None:
    assert hits("grundpreis") == ["999"]
    assert hits("strom") == ["1233432"]
    assert hits("gas") == ["123432454"]  # the name and a tag
    assert hits('"grüner strom"') == ["1233432"]
    assert hits("arbeit*") == ["23445433"]


def test_and_binds_tighter_than_or() -> None:
    node = parse_catalog_query("_schema:price OR _schema:product AND active:false")
    assert node == Or((Term("_schema", "price"), And((Term("_schema", "product"), Term("active", "false")))))
    assert hits("_schema:price OR _schema:product AND active:false") == ["123432454", "23445433", "999"]
    # parentheses change the grouping
    assert hits("(_schema:price OR _schema:product) AND active:false") == ["123432454"]


def test_adjacent_terms_are_ored_and_not_negates() -> None:
    assert hits("_id:999 _id:1233432") == ["1233432", "999"]
    assert parse_catalog_query("NOT active:true") == Not(Term("active", "true"))
    assert hits("_schema:price AND NOT type:one_time") == ["23445433"]


def test_nested_groups() -> None:
    assert hits("((_schema:price AND (type:recurring OR type:one_time)) AND active:true)") == ["23445433", "999"]


@pytest.mark.parametrize(("q", "message"), [
    ("(_id:1 OR _id:2", "unbalanced parenthesis at position 0"),
    ("_schema:price) OR x", "unbalanced parenthesis at position 13"),
    ("_id:(1 OR (2)", "unbalanced parenthesis at position 4"),
    ("_schema:price AND", "dangling operator 'AND' at position 14"),
    ("OR _schema:price", "dangling operator 'OR' at position 0"),
    ("a OR AND b", "dangling operator 'OR' at position 2"),
    ("(a AND)", "dangling operator 'AND' at position 3"),
    ("NOT", "dangling operator 'NOT' at position 0"),
    ("name:", "missing value for field 'name' at position 0"),
    ("name: AND x", "missing value for field 'name' at position 0"),
    ("(name:)", "missing value for field 'name' at position 1"),
    ('name:"Öko Strom', "unterminated quote at position 5"),
    ("()", "empty parentheses at position 0"),
    (":value", "missing field name before ':' at position 0"),
    ("9field:x", "invalid field name '9field' at position 0"),
    ("a:b:c", "unexpected ':' in the value of field 'a' at position 2"),
])
def test_malformed_queries(q: str, message: str) -> None:
    with pytest.raises(CatalogQueryError) as caught:
        parse_catalog_query(q)
    assert str(caught.value) == message
    assert caught.value.position == int(message.rsplit(" ", 1)[1])


@pytest.mark.parametrize(("sort", "keys"), [
    ("description ASC", [("description", False)]),
    ("description desc", [("description", True)]),
    ("_created_at", [("_created_at", False)]),
    ("name ASC, _created_at DESC", [("name", False), ("_created_at", True)]),
    ("", []),
    (None, []),
])
def test_parse_sort(sort: str | None, keys: list[tuple[str, bool]]) -> None:
    assert parse_sort(sort) == keys


@pytest.mark.parametrize(("sort", "message"), [
    ("description UP", "unknown sort direction 'UP' (use ASC or DESC) at position 0"),
    ("name ASC, price DOWN", "unknown sort direction 'DOWN' (use ASC or DESC) at position 10"),
    ("name ASC extra", "unexpected 'extra' in sort key 'name ASC extra' at position 0"),
    ("name,,price", "empty sort key at position 5"),
])
def test_parse_sort_rejects_malformed(sort: str, message: str) -> None:
    with pytest.raises(CatalogQueryError) as caught:
        parse_sort(sort)
    assert str(caught.value) == message


def test_sort_entities() -> None:
    by_description = sort_entities(CATALOG, parse_sort("description DESC"))
    # case-insensitive: "product a" > "grüner strom" > "grundpreis" > "arbeitspreis"
    assert [e["_id"] for e in by_description] == ["123432454", "1233432", "999", "23445433"]
    # numbers compare as numbers, entities without the field come last in both directions
    rows = [{"_id": "a", "n": 10}, {"_id": "b"}, {"_id": "c", "n": 9}, {"_id": "d", "n": 10.5}]
    assert [e["_id"] for e in sort_entities(rows, [("n", False)])] == ["c", "a", "d", "b"]
    assert [e["_id"] for e in sort_entities(rows, [("n", True)])] == ["d", "a", "c", "b"]
    # several keys: schema ascending, then description descending
    keys = parse_sort("_schema ASC, description DESC")
    assert [e["_id"] for e in sort_entities(CATALOG, keys)] == ["999", "23445433", "123432454", "1233432"]
    assert sort_entities(CATALOG, []) == CATALOG
