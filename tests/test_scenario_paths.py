"""Scenario paths: RFC 9535 JSONPath (python-jsonpath) with the documented extensions, and errors that
name the path and the position."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from contracts.assertions import MISSING, PathError, check, find, finds_many

ROOT = Path(__file__).resolve().parent.parent
DATA = {
    "data": [
        {"_id": "1", "status": "active", "branch": "power", "billing_account": None, "contract_number": "A-1",
         "tags": ["x"]},
        {"_id": "2", "status": "active", "branch": "gas", "contract_number": "A-2",
         "billing_account": {"$relation": [{"entity_id": "b1"}]}, "tags": []},
        {"_id": "3", "status": "closed", "branch": "power", "billing_account": "", "contract_number": "A.3"},
    ],
    "headers": {"x-epilot-ack-id": "ack"},
    "order": {"customer": {"$relation": [{"entity_id": "c"}]}},
}


@pytest.mark.parametrize(("path", "expected"), [
    # the forms scenarios have always used
    ("$", DATA),
    ("$.data[0]._id", "1"),
    ("$.data[-1]._id", "3"),
    ("$.data[*]._id", ["1", "2", "3"]),
    ("$['headers']['x-epilot-ack-id']", "ack"),
    ("$.headers.x-epilot-ack-id", "ack"),  # extension: '-', '$' and '@' after a dot
    ("$.order.customer.$relation[0].entity_id", "c"),
    ("$.data[?(@.contract_number == 'A.3')].status", ["closed"]),
    ("$.data[?(@.contract_number == 'A-2')][0]._id", "2"),  # extension: the index picks a match
    ("$.data[?(@.billing_account)]._id", ["2"]),  # extension: the parenthesised bare test means non-empty
    ("$.data[?(@.billing_account)][0].billing_account.$relation[0].entity_id", "b1"),
    ("$.data[?(@.tags)][0]._id", "1"),
    ("$.data[?(@.k)][0]", MISSING),
    ("$.missing", MISSING),
    # RFC 9535
    ("$.data[?@.billing_account]._id", ["1", "2", "3"]),  # existence
    ("$.data[?@.status == 'active' && @.branch == 'power']._id", ["1"]),
    ("$.data[?(@.status == 'closed' || @.branch == 'gas')]._id", ["2", "3"]),
    ("$.data[?!(@.status == 'active')]._id", ["3"]),
    ("$.data[?length(@.branch) > 3]._id", ["1", "3"]),
    ("$.data[?count(@.tags[*]) == 1]._id", ["1"]),
    ("$.data[?match(@.contract_number, 'A-[12]')]._id", ["1", "2"]),
    ("$.data[?search(@.branch, 'ow')]._id", ["1", "3"]),
    ("$.data[0:2]._id", ["1", "2"]),
    ("$.data[::-1]._id", ["3", "2", "1"]),
    ("$..entity_id", ["b1", "c"]),
    ("$.data[0,2]._id", ["1", "3"]),
    ("$.data[?@.status == 'active'][-1]._id", "2"),
])
def test_paths(path: str, expected: object) -> None:
    assert find(DATA, path) == expected


@pytest.mark.parametrize(("path", "many"), [
    ("$.data[0]._id", False), ("$.data[*]._id", True), ("$.data[?(@.k)][0]._id", False), ("$..x", True),
    ("$.data[?(@.k)][0].items[*]", True), ("$.data[1:]", True),
])
def test_singular_paths_find_one_value(path: str, many: bool) -> None:
    assert finds_many(path) is many


@pytest.mark.parametrize(("path", "message"), [
    ("data", "a JSON path starts with '$': 'data'"),
    ("$.data[", "cannot read JSON path '$.data[' at position 7: unbalanced '['"),
    ("$.data[?@.x ==]", "cannot read JSON path '$.data[?@.x ==]' at position 14: unexpected end of expression"),
    ("$.data[?(@.a == 'x)]", "cannot read JSON path \"$.data[?(@.a == 'x)]\" at position 20: unterminated string"),
    ("$.a b", "cannot read JSON path '$.a b' at position 3: unexpected ' '"),
    ("$.data[?nope(@.a)]", "cannot read JSON path '$.data[?nope(@.a)]' at position 8"),
    # a later stage, after a normalised name: the position is still the one in the path as written
    ("$.data[?(@.a-b == 1)][0].x[?@.y ==]",
     "cannot read JSON path '$.data[?(@.a-b == 1)][0].x[?@.y ==]' at position 34: unexpected end of expression"),
])
def test_errors_name_the_path_and_the_position(path: str, message: str) -> None:
    with pytest.raises(PathError) as caught:
        find(DATA, path)
    assert str(caught.value).startswith(message)
    # in an assertion, the error is the assertion's failure, not a crash
    assert str(check({"path": path, "exists": True}, DATA)).startswith(message)


def test_every_bundled_scenario_path_compiles() -> None:
    paths = []
    for scenario in sorted((ROOT / "scenarios").glob("*.yaml")):
        text = re.sub(r"\{\{[^}]*\}\}", "x", scenario.read_text())
        for step in yaml.safe_load(text)["steps"]:
            expect = step.get("expect") or {}
            paths += [a["path"] for a in expect.get("body") or [] if "path" in a]
            paths += list((step.get("capture") or {}).values())
            paths += [a["path"] for a in (step.get("expect_webhook") or {}).get("match") or [] if "path" in a]
    assert len(paths) > 20
    for path in paths:
        finds_many(path)  # raises PathError on a path the library cannot read
