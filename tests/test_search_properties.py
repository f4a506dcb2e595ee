"""Properties of the search language: rendered trees parse back to themselves, the store and the
in-memory matcher agree on random trees, and the text primitives agree with slow reference versions."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.engine.store import text
from mockserver.engine.store.base import Query
from mockserver.engine.store.sqlite import SQLiteStore
from mockserver.epilot.query import And, MatchAll, Node, Not, Or, Range, Term, escape, matches, parse, render, to_clause
from tests.test_search_query import ENTITIES

FIELDS = st.sampled_from(["name", "last_name", "_price.type", "a-b", "$relation", "@at", "x.keyword_not"])
# letters, digits, Unicode, spaces and every reserved character
CHARS = st.sampled_from(list("abcxyzÄöüßé€09 _.,'") + list('\\+-=&|><!(){}[]^"~*?:/'))
TEXT = st.text(CHARS, min_size=1, max_size=10)


def _wildcard() -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(["*", "?"]), TEXT.map(escape))
    pattern = st.lists(piece, min_size=2, max_size=5).map("".join)
    # a lone trailing '*' is a prefix term, a lone '*' means "any value": neither is a wildcard term
    return pattern.filter(lambda p: any(c in "*?" for c in p.replace("\\*", "").replace("\\?", ""))
                          and not _prefix_only(p) and p != "*" and "**" not in p)


def _prefix_only(pattern: str) -> bool:
    body = pattern[:-1] if pattern.endswith("*") and not pattern.endswith("\\*") else None
    return body is not None and "*" not in body.replace("\\*", "") and "?" not in body.replace("\\?", "")


def _terms() -> st.SearchStrategy[Node]:
    field = st.one_of(st.none(), FIELDS)
    return st.one_of(
        st.builds(Term, field, TEXT),
        st.builds(lambda f, v: Term(f, v, phrase=True), field, st.text(CHARS, max_size=10)),
        st.builds(lambda f, v: Term(f, v, prefix=True), field, TEXT),
        st.builds(lambda f, v: Term(f, v, wildcard=True), field, _wildcard()),
        st.builds(lambda f, v, n: Term(f, v, fuzzy=n), field, TEXT, st.integers(0, 2)),
        st.builds(lambda f: Term(f, "", exists=True), FIELDS),
        st.builds(Range, FIELDS, st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT), st.booleans(),
                  st.booleans()),
        st.just(MatchAll()),
    )


def _compound(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def operands(kind: type) -> st.SearchStrategy[tuple[Node, ...]]:
        return st.lists(children.filter(lambda c: not isinstance(c, kind)), min_size=2, max_size=4).map(tuple)
    return st.one_of(st.builds(And, operands(And)), st.builds(Or, operands(Or)), st.builds(Not, children))


TREES = st.recursive(_terms(), _compound, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(TREES)
def test_a_rendered_tree_parses_back_to_itself(tree: Node) -> None:
    q = render(tree)
    assert parse(q, "OR") == tree, q
    assert parse(q, "AND") == tree, q


# -- the store and the in-memory matcher agree ---------------------------------------------------

DATA_FIELDS = st.sampled_from(["last_name", "first_name", "city", "age", "active", "_tags", "email", "code",
                               "address.street", "_price.type", "unit_amount_decimal", "birthdate", "nickname"])
DATA_WORDS = st.sampled_from(["müller", "Mueller", "Straße", "strasse", "42", "42.5", "7", "true", "vip", "gas",
                              "oeko-24", "a:b/c", "hauptstraße 5", "recurring", "0.3249", "2017-11-30", "zoë",
                              "schmidt öztürk", "des 17", "x"])


def _data_terms() -> st.SearchStrategy[Node]:
    field = st.one_of(st.none(), DATA_FIELDS)
    word = DATA_WORDS.map(text.fold)
    return st.one_of(
        st.builds(Term, field, DATA_WORDS),
        st.builds(lambda f, v: Term(f, v, phrase=True), field, DATA_WORDS),
        st.builds(lambda f, v, n: Term(f, v[:n], prefix=True), field, word, st.integers(1, 4)),
        st.builds(lambda f, v: Term(f, "*" + escape(v[1:-1]) + "?", wildcard=True), field,
                  word.filter(lambda w: len(w) > 2)),
        st.builds(lambda f, v, n: Term(f, v, fuzzy=n), field, word, st.integers(0, 2)),
        st.builds(lambda f: Term(f, "", exists=True), DATA_FIELDS),
        st.builds(Range, DATA_FIELDS, st.one_of(st.none(), DATA_WORDS), st.one_of(st.none(), DATA_WORDS),
                  st.booleans(), st.booleans()),
    )


_STORE = SQLiteStore()
_STORE.put_many(ENTITIES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_data_terms(), _compound, max_leaves=6))
def test_the_store_and_the_matcher_agree(tree: Node) -> None:
    in_memory = [e["_id"] for e in ENTITIES if matches(tree, e)]
    page = _STORE.query(Query(all_of=(to_clause(tree),), sort=(("_created_at", False),), limit=100))
    assert [e["_id"] for e in page.items] == in_memory, render(tree)


# -- text primitives against slow references -----------------------------------------------------

def _reference_distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the full table."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@settings(max_examples=500, deadline=None)
@given(st.text("abcü", max_size=8), st.text("abcü", max_size=8), st.integers(0, 3))
def test_banded_edit_distance_matches_the_full_table(a: str, b: str, limit: int) -> None:
    assert text.edit_distance_within(a, b, limit) == (_reference_distance(a, b) <= limit)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "ü", "*", "?", "\\*", "."]), max_size=8).map("".join),
       st.text("abü*.", max_size=10))
def test_wildcards_match_like_a_regular_expression(pattern: str, token: str) -> None:
    regex = "".join(".*" if p == "*" else "." if p == "?" else re.escape(p[-1])
                    for p in re.findall(r"\\.|.", pattern, flags=re.DOTALL))
    assert text.match_wildcard_token(pattern, token) == (re.fullmatch(regex, token, flags=re.DOTALL) is not None)


# -- any text: a tree, or a QueryError; never another exception ---------------------------------

QUERY_TEXT = st.lists(st.sampled_from([*"ab1 _.:*?~^\\\"'()[]{}<>=!+-&|/,ü", " AND ", " OR ", "NOT ", " TO "]),
                      max_size=20).map("".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(QUERY_TEXT, st.text(max_size=30)))
def test_any_text_is_a_tree_or_a_query_error(q: str) -> None:
    from mockserver.epilot.behaviours.entity_query import QueryError, parse_query
    from mockserver.epilot.pricing.catalog_query import parse_catalog_query
    for default in ("AND", "OR"):
        try:
            tree = parse(q, default)
        except QueryError:
            continue
        assert parse(render(tree), default) == tree, (q, render(tree))
        assert all(isinstance(matches(tree, e), bool) for e in ENTITIES)
    try:
        parse_catalog_query(q)
        schemas, clause = parse_query(q)
    except QueryError:
        return
    try:
        _STORE.query(Query(schemas=schemas, all_of=(clause,) if clause else (), limit=5))
    except ValueError as exc:  # the behaviours answer these with a 400 (an attribute name SQL cannot hold)
        assert "attribute" in str(exc)
