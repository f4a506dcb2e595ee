"""The bundled specs: inventory, validity, examples, richness, and the checker's own negative controls."""

import csv
from pathlib import Path

import pytest
import yaml

from mockserver.engine.bundled import bundled_apis
from mockserver.engine.loader import bundle, iter_operations
from mockserver.engine.openapi import SpecView
from mockserver.engine.speccheck import check_document, check_source, undeclared_properties

from .conftest import ROOT

INVENTORY = ROOT / "tests" / "data" / "inventory.tsv"
# Operations a bundled spec has beyond the documented inventory (none today).
ADDITIONS: dict[str, set[tuple[str, str, str]]] = {}
APIS = sorted(bundled_apis())
# Published error shapes beside each API's own: entity validation, portal edit rules, ERP managed calls.
ALTERNATIVE_ERROR_SHAPES = ("EntityValidationV2ResultError", "EntityValidationResultError", "FailedRuleErrorResp",
                            "ManagedCallErrorResponse")


def inventory() -> dict[str, set[tuple[str, str, str]]]:
    out: dict[str, set[tuple[str, str, str]]] = {}
    with INVENTORY.open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            out.setdefault(row["api"], set()).add((row["operationId"], row["method"].upper(), row["path"]))
    return out


def test_every_inventory_api_is_bundled():
    assert set(inventory()) == set(APIS)
    assert {api: len(ops) for api, ops in inventory().items()} == {
        "customer-portal": 162, "pricing": 22, "erp-integration": 68, "entity": 88}


@pytest.mark.parametrize("api", APIS)
def test_operations_match_the_inventory_exactly(api):
    spec, _ = bundle(str(bundled_apis()[api]))
    have = {(op.get("operationId"), method.upper(), path) for path, method, op, _ in iter_operations(spec)}
    want = inventory()[api] | ADDITIONS.get(api, set())
    assert sorted(want - have) == [], "missing from the spec"
    assert sorted(have - want) == [], "in the spec but not in the inventory"


@pytest.mark.parametrize("api", APIS)
def test_spec_is_valid_with_examples_that_validate_and_declare_their_properties(api):
    spec, _ = bundle(str(bundled_apis()[api]))
    findings = check_document(spec, name=api)
    assert [str(f) for f in findings] == []


@pytest.mark.parametrize("api", APIS)
def test_every_operation_documents_its_errors_in_the_api_error_shape(api):
    spec, _ = bundle(str(bundled_apis()[api]))
    error_schema = {"customer-portal": "ErrorResp", "pricing": "Error", "erp-integration": "ErrorResponseBase",
                    "entity": "ErrorObject"}[api]
    for path, method, op, _ in iter_operations(spec):
        responses = op["responses"]
        assert "401" in responses or not op.get("security", spec.get("security")) or \
            any(req == {} for req in op.get("security", [])), f"{method} {path}"
        for code, response in responses.items():
            if not code.startswith("4") or "content" not in response:
                continue
            schema = response["content"]["application/json"]["schema"]
            refs = str(schema)
            assert error_schema in refs or any(name in refs for name in ALTERNATIVE_ERROR_SHAPES), \
                f"{method} {path} {code}: {schema}"


def test_declared_property_counts_per_api():
    counts = {}
    for api in APIS:
        spec, _ = bundle(str(bundled_apis()[api]))
        counts[api] = sum(len(s.get("properties") or {}) + sum(len(b.get("properties") or {})
                          for b in s.get("allOf") or [] if isinstance(b, dict))
                          for s in spec["components"]["schemas"].values() if isinstance(s, dict))
    print("declared properties:", counts)
    assert all(n > 300 for n in counts.values()), counts


def test_all_core_entities_are_components_with_base_fields():
    doc = yaml.safe_load((ROOT / "specs/components/entities.yaml").read_text())
    names = ["Contact", "Account", "Partner", "Ticket", "Opportunity", "Order", "Product", "Price", "Tax", "Coupon",
             "Contract", "BillingAccount", "BillingEvent", "Meter", "MeterCounter", "Journey", "Submission", "Message",
             "EmailTemplate", "Campaign", "Target", "ProductRecommendation", "File", "Comment", "PortalUser"]
    base = set(doc["BaseEntityFields"]["properties"])
    assert {"_id", "_title", "_org", "_schema", "_tags", "_created_at", "_updated_at"} <= base
    for name in names:
        assert name in doc and f"{name}Attributes" in doc, name
        assert doc[name]["allOf"][0] == {"$ref": "#/BaseEntity"}


# -- the checker catches what it should (negative controls) ----------------------------------------

BROKEN = {
    "openapi": "3.0.3", "info": {"title": "broken", "version": "1"},
    "paths": {"/things/{id}": {"get": {
        "operationId": "getThing",
        "security": [{"Bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"allOf": [{"type": "string"}]}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            "example": {"name": 42, "colour": "red"}}}}}}}},
    "components": {"securitySchemes": {}},
}


def test_checker_reports_invalid_examples_undeclared_properties_and_lint():
    messages = [str(f) for f in check_document(BROKEN, name="broken")]
    text = "\n".join(messages)
    assert "example does not validate: name: 42 is not of type" in text
    assert "example property /colour is not declared" in text
    assert "security scheme 'Bearer' is not defined" in text
    assert "parameter schema has no 'type'" in text
    assert "documents no 404" in text and "does not document 401" in text


def test_richness_walks_nested_arrays_and_refs():
    spec = {"components": {"schemas": {"Item": {"type": "object", "properties": {"a": {"type": "string"}}}}}}
    schema = {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
    assert list(undeclared_properties(SpecView(spec), schema, [{"a": "x"}, {"a": "y", "b": 1}])) == ["/1/b"]


def test_dangling_ref_and_bad_yaml_are_one_line_errors(tmp_path: Path):
    (tmp_path / "dangling.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n"
        "        '200':\n          description: ok\n          content:\n            application/json:\n"
        "              schema: {$ref: 'models.yaml#/Missing'}\n")
    (tmp_path / "models.yaml").write_text("Present: {type: string}\n")
    (tmp_path / "bad.yaml").write_text("openapi: 3.0.3\ninfo: [unclosed\n")
    dangling = check_source(str(tmp_path / "dangling.yaml"))
    assert len(dangling) == 1 and "dangling $ref" in dangling[0].message and "Missing" in dangling[0].message
    bad = check_source(str(tmp_path / "bad.yaml"))
    assert len(bad) == 1 and "invalid YAML at line" in bad[0].message and "\n" not in str(bad[0])
