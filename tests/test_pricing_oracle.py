"""Our pricing engine against epilot's own library (``@epilot/pricing`` 5.6.9), field by field.

One Node process runs the library for the whole session (``tests/oracles/epilot-pricing``). Every
generated cart and every case of the regression corpus (``tests/data/pricing_oracle_corpus.json``)
must come back identical: same fields, same integers, same ``_decimal`` strings. The tests skip
only where ``node`` is missing; the corpus also holds the library's answers, so it runs without it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.pricing_oracle import Oracle, carts, differences, load_corpus, ours

GENERATED_CARTS = 2_000
NODE_MISSING = "node is not installed: the differential test needs it to run epilot's pricing library"


@pytest.fixture(scope="session")
def oracle() -> Iterator[Oracle]:
    if shutil.which("node") is None:
        pytest.skip(NODE_MISSING)
    process = Oracle()
    yield process
    process.close()


def check_cart(oracle: Oracle, cart: dict[str, Any], engine: Any = ours) -> None:
    expected = oracle.price(cart)
    found = differences(expected, engine(cart))
    assert not found, (f"{len(found)} differences from epilot's library for the cart\n{json.dumps(cart)}\n"
                       + "\n".join(found[:40]))


def test_generated_carts_price_exactly_as_the_library(oracle: Oracle) -> None:
    compared = 0
    started = time.perf_counter()

    @settings(max_examples=GENERATED_CARTS, deadline=None, suppress_health_check=list(HealthCheck))
    @given(carts())
    def same_as_library(cart: dict[str, Any]) -> None:
        nonlocal compared
        check_cart(oracle, cart)
        compared += 1

    same_as_library()
    elapsed = time.perf_counter() - started
    print(f"\n{compared} generated carts identical to epilot's library in {elapsed:.1f} s")
    assert compared >= GENERATED_CARTS


@pytest.mark.parametrize("case", load_corpus(), ids=lambda case: case["name"])
def test_corpus_case_prices_as_the_library_did(case: dict[str, Any]) -> None:
    found = differences(case["expected"], ours(case["body"]))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("case", load_corpus(), ids=lambda case: case["name"])
def test_corpus_answers_are_the_library_s_current_ones(oracle: Oracle, case: dict[str, Any]) -> None:
    assert differences(oracle.price(case["body"]), case["expected"]) == []


def _one_field_changed(body: dict[str, Any]) -> dict[str, Any]:
    result = ours(body)
    result["items"][0]["amount_total"] += 1
    return result


def test_the_harness_fails_when_one_field_of_our_output_changes(oracle: Oracle) -> None:
    cart = load_corpus()[0]["body"]
    check_cart(oracle, cart)  # the unchanged engine passes...
    with pytest.raises(AssertionError, match=r"\$\.items\[0\]\.amount_total: library 2499, ours 2500"):
        check_cart(oracle, cart, engine=_one_field_changed)  # ...one changed field fails


def test_the_comparison_sees_missing_extra_and_changed_fields() -> None:
    library = {"a": 1, "b": {"c": "1.5", "d": [1, 2]}}
    assert differences(library, {"a": 1, "b": {"c": "1.5", "d": [1, 2]}}) == []
    assert differences(library, {"a": 1.0, "b": {"c": "1.5", "d": [1, 2]}}) == ["$.a: library 1, ours 1.0"]
    assert differences(library, {"a": 1, "b": {"c": "1.50", "d": [1, 2]}}) == [
        '$.b.c: library "1.5", ours "1.50"']
    assert differences(library, {"a": 1, "b": {"c": "1.5", "d": [1]}}) == [
        "$.b.d: 2 entries in the library's result, 1 in ours"]
    assert differences(library, {"b": {"c": "1.5", "d": [1, 2]}, "x": 0}) == [
        "$.a: missing in ours (library: 1)", "$.x: not in the library's result (ours: 0)"]
    assert differences({"error": "boom"}, {"items": []}) != []
    # only the documented additions may be ours alone, and only where they are documented
    assert differences({"items": [{}]}, {"items": [{"pricing_model": "per_unit"}]}) == []
    assert differences({"x": {}}, {"x": {"pricing_model": "per_unit"}}) == [
        '$.x.pricing_model: not in the library\'s result (ours: "per_unit")']
