"""`epilot-mock contract run` and `contract diff` as a user runs them: exit codes, reports, diffs."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner

from contracts.diff import diff_specs
from contracts.serving import serve_in_thread
from mockserver.cli import main

from .broken_server import TOKEN, make_broken_app
from .conftest import corpus

BROKEN_SPEC = corpus("broken_target.yaml")

BASE = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/orders/{id}": {
            "get": {
                "operationId": "getOrder",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "expand", "in": "query", "schema": {"type": "boolean"}},
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Order"}}}}},
            },
        },
        "/orders": {
            "post": {
                "operationId": "createOrder",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sku"],
                    "properties": {"sku": {"type": "string"}, "note": {"type": "string"},
                                   "channel": {"type": "string", "enum": ["web", "shop", "phone"]}}}}}},
                "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Order"}}}}},
            },
            "get": {"operationId": "listOrders",
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Order"}}}}}}},
        },
    },
    "components": {"schemas": {"Order": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "amount": {"type": "integer"}, "currency": {"type": "string"},
                       "status": {"type": "string", "enum": ["open", "paid", "cancelled"]}},
    }}},
}


def variant(edit) -> dict:
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    edit(spec)
    return spec


def order(spec):
    return spec["components"]["schemas"]["Order"]["properties"]


def create_body(spec):
    return spec["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]


BREAKING = {
    "removed operation": lambda s: s["paths"]["/orders"].pop("get"),
    "new required parameter": lambda s: s["paths"]["/orders/{id}"]["get"]["parameters"][1].update(required=True),
    "new required field": lambda s: create_body(s)["required"].append("note"),
    "changed type": lambda s: order(s)["amount"].update(type="string"),
    "removed enum value": lambda s: create_body(s)["properties"]["channel"]["enum"].remove("phone"),
    "removed response field": lambda s: order(s).pop("currency"),
}


@pytest.mark.parametrize("kind", sorted(BREAKING))
def test_diff_finds_each_kind_of_breaking_change(kind):
    changes = diff_specs(BASE, variant(BREAKING[kind]))
    assert kind in {c.kind for c in changes}, [str(c) for c in changes]


def test_diff_finds_nothing_in_a_compatible_change():
    def compatible(s):
        order(s)["created_at"] = {"type": "string", "format": "date-time"}  # new response field
        order(s)["status"]["enum"].append("refunded")  # a new value a client never sends
        create_body(s)["properties"]["channel"]["enum"].append("app")  # a new value a client may send
        create_body(s)["properties"]["coupon"] = {"type": "string"}  # new optional field
        s["paths"]["/orders/{id}"]["get"]["parameters"].append(
            {"name": "lang", "in": "query", "schema": {"type": "string"}})  # new optional parameter
        s["paths"]["/orders/{id}"]["delete"] = {"operationId": "deleteOrder",
                                                "responses": {"204": {"description": "gone"}}}
    assert diff_specs(BASE, variant(compatible)) == []
    assert diff_specs(BASE, BASE) == []


def test_contract_diff_cli_exit_codes(tmp_path: Path):
    old, same, broken = tmp_path / "old.yaml", tmp_path / "same.yaml", tmp_path / "new.yaml"
    old.write_text(yaml.safe_dump(BASE))
    same.write_text(yaml.safe_dump(BASE))
    broken.write_text(yaml.safe_dump(variant(BREAKING["removed operation"])))
    runner = CliRunner()
    ok = runner.invoke(main, ["contract", "diff", str(old), str(same)])
    assert ok.exit_code == 0 and "no breaking changes" in ok.output
    bad = runner.invoke(main, ["contract", "diff", str(old), str(broken)])
    assert bad.exit_code == 1
    assert "removed operation" in bad.output and "GET /orders" in bad.output
    missing = runner.invoke(main, ["contract", "diff", str(old), str(tmp_path / "nope.yaml")])
    assert missing.exit_code not in (0, 1) and "nope.yaml" in missing.output


def test_contract_run_in_process_passes_with_reports(tmp_path: Path):
    md, html, junit = tmp_path / "r.md", tmp_path / "r.html", tmp_path / "r.xml"
    runner = CliRunner()
    args = ["contract", "run", "--spec", "customer-portal", "--operation-id", "getContact",
            "--operation-id", "getAllContracts", "--max-examples", "3", "--junit-xml", str(junit)]
    out = runner.invoke(main, [*args, "--report", str(md)])
    assert out.exit_code == 0, out.output
    assert "PASSED" in out.output
    text = md.read_text()
    assert text.startswith("# Contract run: in-process mock")
    assert "**PASSED: 2 operations, 0 failing" in text
    assert "`GET /v2/portal/contact`" in text and "`GET /v2/portal/contract`" in text
    out = runner.invoke(main, [*args, "--report", str(html)])
    assert out.exit_code == 0
    assert "<html" in html.read_text() and "PASSED" in html.read_text()
    suite = ElementTree.parse(junit).getroot()
    cases = list(suite.iter("testcase"))
    assert len(cases) == 2 and not any(c.find("failure") is not None for c in cases)


@pytest.mark.network
def test_contract_run_against_a_broken_server_fails_with_reproductions(tmp_path: Path):
    md, junit = tmp_path / "broken.md", tmp_path / "broken.xml"
    app, _journal = make_broken_app()
    with serve_in_thread(app) as url:
        out = CliRunner(env={"BROKEN_TOKEN": TOKEN}).invoke(main, [
            "contract", "run", "--spec", BROKEN_SPEC, "--base-url", url, "--token-env", "BROKEN_TOKEN",
            "--allow-writes", "--max-examples", "10", "--seed", "1", "--report", str(md), "--junit-xml", str(junit)])
    assert out.exit_code == 1, out.output
    text = md.read_text()
    assert "**FAILED" in text
    for operation, check in (("GET /counters/{id}", "response_schema_conformance"),
                             ("GET /teapots", "status_code_conformance"),
                             ("GET /search", "not_a_server_error"),
                             ("POST /notes", "ignored_auth")):
        assert f"`{operation}`" in text and check in text, (operation, check)
    assert "curl " in text and url in text
    assert TOKEN not in text and TOKEN not in out.output and TOKEN not in junit.read_text()
    failures = [c for c in ElementTree.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert len(failures) >= 4


@pytest.mark.network
def test_contract_run_is_read_only_against_a_real_server_by_default():
    app, journal = make_broken_app()
    with serve_in_thread(app) as url:
        out = CliRunner().invoke(main, ["contract", "run", "--spec", BROKEN_SPEC, "--base-url", url, "--token", TOKEN,
                                        "--max-examples", "5"])
    assert "read-only" in out.output
    assert journal and {method for method, _ in journal} <= {"GET", "HEAD", "OPTIONS"}


def test_contract_run_rejects_bad_options():
    runner = CliRunner()
    out = runner.invoke(main, ["contract", "run", "--base-url", "ftp://example", "--spec", "pricing"])
    assert out.exit_code != 0 and "http" in out.output
    out = runner.invoke(main, ["contract", "run", "--spec", "no-such-api"])
    assert out.exit_code != 0 and "no-such-api" in out.output
