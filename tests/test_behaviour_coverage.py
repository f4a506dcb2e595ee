"""Every bundled operation is backed by the world, the README says so truthfully, and the behaviours
follow any document named after a bundled API (a newer or edited copy)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from starlette.testclient import TestClient

from mockserver.engine import MockConfig, create_app
from mockserver.engine.bundled import bundled_apis
from mockserver.engine.loader import bundle

from .conftest import ORG, PORTAL, ROOT
from .test_specs import inventory


def test_every_bundled_operation_has_a_behaviour(client):
    health = client.get("/__admin/health").json()
    unbacked = {a["name"]: a["generic"] for a in health["apis"] if a["generic"]}
    assert unbacked == {}
    assert {a["name"]: a["behaviours"] for a in health["apis"]} == {api: len(ops) for api, ops in inventory().items()}


def test_the_readme_claims_what_the_mock_serves():
    readme = (ROOT / "README.md").read_text()
    counts = {api: len(ops) for api, ops in inventory().items()}
    total = sum(counts.values())
    assert f"Entity APIs ({total} operations)" in readme
    banner = re.search(r"epilot-mock serving (\d+) operations", readme)
    assert banner and int(banner.group(1)) == total
    for api, count in counts.items():
        assert re.search(rf"^  {re.escape(api)}\s+{count} operations", readme, re.M), api
    assert "Operations with behaviours (every bundled one" in readme


def test_a_newer_copy_of_a_bundled_spec_keeps_the_world(tmp_path: Path):
    """`--spec customer-portal=PATH`: one operation renamed and one added in the copy; the world still
    answers the rest, and health tells which are backed and which behaviour found nothing to attach to."""
    spec, _ = bundle(str(bundled_apis()["customer-portal"]))
    paths = spec["paths"]
    paths["/v2/portal/contract"]["get"]["operationId"] = "listMyContracts"  # renamed in the newer document
    paths["/v2/portal/brand-new"] = {"get": {
        "operationId": "getSomethingNew", "security": [{"PortalAuth": []}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["hello"], "properties": {"hello": {"type": "string"}}}}}}}}}
    copy = tmp_path / "customer-portal.yaml"
    copy.write_text(yaml.safe_dump(spec, allow_unicode=True))
    app = create_app(MockConfig(specs=[f"customer-portal={copy}", "entity"], validate_responses=True))
    with TestClient(app) as client:
        contact = client.get("/v2/portal/contact", headers=PORTAL)
        assert contact.status_code == 200 and contact.json()["entity"]["_schema"] == "contact"  # the world
        same = client.get(f"/v1/entity/contact/{contact.json()['entity']['_id']}", headers=ORG).json()["entity"]
        assert same["_id"] == contact.json()["entity"]["_id"]
        assert client.get("/v2/portal/contract", headers=PORTAL).status_code == 200  # generic, still valid
        assert client.get("/v2/portal/brand-new", headers=PORTAL).json().keys() == {"hello"}
        portal = next(a for a in client.get("/__admin/health").json()["apis"] if a["name"] == "customer-portal")
    assert portal["generic"] == ["getSomethingNew", "listMyContracts"]
    assert portal["unmounted"] == ["getAllContracts"]
    assert portal["behaviours"] == portal["operations"] - 2
