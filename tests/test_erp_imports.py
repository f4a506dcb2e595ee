"""ERP imports: a CSV or XLSX file in the mock's S3 becomes a job, is validated row by row against an inbound
use case, and executed through the same mapping as inbound events: entities land in the store, show in the
Entity API and the customer's portal, and monitoring traces the rows."""

from __future__ import annotations

import io

import pytest

from .conftest import ORG, PORTAL

BUCKET = "epilot-erp-imports"
CONTRACTS = {
    "name": "Keep Contract In Sync", "slug": "contract-sync", "type": "inbound", "enabled": True,
    "configuration": {"entities": [{
        "entity_schema": "contract", "unique_ids": ["contract_number"],
        "fields": [
            {"attribute": "contract_number", "field": "contract_number"},
            {"attribute": "contract_name", "field": "contract_name"},
            {"attribute": "start_date", "field": "start_date"},
            {"attribute": "status", "jsonataExpression": "status = 'ACTIVE' ? 'active' : 'terminated'"},
            {"attribute": "billing_period", "field": "billing_period"},
            {"attribute": "customer", "relations": {"operation": "_set", "items": [
                {"entity_schema": "contact", "unique_ids": [{"attribute": "customer_number",
                                                             "field": "customer_number"}]}]}}]}]},
}


def upload(client, key: str, content: bytes) -> None:
    r = client.put("/__admin/erp/files", params={"bucket": BUCKET, "key": key}, content=content)
    assert r.status_code == 200, r.text
    assert r.json()["size_bytes"] == len(content)


@pytest.fixture
def setup(fresh_client):
    created = fresh_client.post("/v2/integrations", headers=ORG, json={"name": "SAP IS-U", "use_cases": [CONTRACTS]})
    assert created.status_code == 201, created.text
    customer = fresh_client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["customer_number"]
    return fresh_client, created.json()["id"], customer


def csv_file(customer: str) -> bytes:
    return (f"customer_number;contract_number;contract_name;start_date;status\n"
            f"{customer};IMP-1;Ökostrom Import;2027-01-01;ACTIVE\n"
            f"{customer};IMP-2;Erdgas Import;2027-02-01;ENDED\n"
            f"{customer};;Ohne Nummer;2027-03-01;ACTIVE\n").encode()


def test_a_csv_import_end_to_end(setup):
    client, integration_id, customer = setup
    upload(client, "739224/contracts.csv", csv_file(customer))

    created = client.post("/v2/erp/imports", headers=ORG, json={
        "s3_reference": {"bucket": BUCKET, "key": "739224/contracts.csv"}, "include_preview": True})
    assert created.status_code == 201, created.text
    job = created.json()["job"]
    assert (job["status"], job["format"], job["column_count"]) == ("PENDING", "csv", 5)
    assert created.json()["preview"]["columns"][:2] == ["customer_number", "contract_number"]
    assert created.json()["preview"]["rows"][0][1:3] == ["IMP-1", "Ökostrom Import"]
    import_id = job["import_id"]

    early = client.post(f"/v2/erp/imports/{import_id}:execute", headers=ORG, json={})
    assert early.status_code == 409 and "validate it first" in early.json()["message"]

    suggested = client.post(f"/v2/erp/imports/{import_id}:suggest-use-cases", headers=ORG).json()
    assert suggested["file_columns"] == 5
    assert suggested["suggestions"][0]["use_case_slug"] == "contract-sync"
    assert suggested["suggestions"][0]["matched_columns"] == 5

    validated = client.post(f"/v2/erp/imports/{import_id}:validate", headers=ORG,
                            json={"integration_id": integration_id, "use_case_slug": "contract-sync"})
    assert validated.status_code == 202
    job = validated.json()
    assert job["status"] == "READY"
    validation = job["validation"]
    assert (validation["total_rows"], validation["blocking"], validation["entities"]) == (3, 0, {"contract": 2})
    codes = [(i["code"], i["severity"], i.get("row")) for i in validation["issues"]]
    assert ("MALFORMED_ROW", "warning", 4) in codes  # the row without a contract number, row 4 of the file
    assert ("MAPPED_COLUMN_MISSING", "warning", None) in codes  # billing_period is mapped but not in the file
    assert validation["warnings"] == 2

    unacknowledged = client.post(f"/v2/erp/imports/{import_id}:execute", headers=ORG, json={})
    assert unacknowledged.status_code == 422 and "ack_warnings" in unacknowledged.json()["message"]
    executed = client.post(f"/v2/erp/imports/{import_id}:execute", headers=ORG, json={"ack_warnings": True})
    assert executed.status_code == 202
    job = executed.json()
    assert job["status"] == "IMPORTED" and job["progress"] == {"processed_rows": 3, "total_rows": 3}

    found = client.post("/v1/entity:search", headers=ORG,
                        json={"q": "_schema:contract AND contract_number:IMP-1"}).json()
    assert found["hits"] == 1 and found["results"][0]["status"] == "active"
    portal = client.get("/v2/portal/contract?size=100", headers=PORTAL).json()["data"]
    assert {c["contract_number"] for c in portal if str(c.get("contract_number", "")).startswith("IMP-")} == {
        "IMP-1", "IMP-2"}

    trace = client.get(f"/v2/integrations/{integration_id}/monitoring/traces/{job['correlation_id']}",
                       headers=ORG).json()
    assert trace["span_count"] == 3 and trace["status"] == "error"
    assert sorted(s["level"] for s in trace["spans"]) == ["error", "success", "success"]
    inbound = client.post(f"/v1/integrations/{integration_id}/monitoring/inbound-events", headers=ORG,
                          json={"correlation_id": job["correlation_id"], "status": "error"}).json()["data"]
    assert len(inbound) == 1 and "contract_number" in inbound[0]["error_message"]

    again = client.post(f"/v2/erp/imports/{import_id}:execute", headers=ORG, json={"ack_warnings": True})
    assert again.status_code == 409
    assert client.post(f"/v2/erp/imports/{import_id}:abort", headers=ORG).status_code == 409
    assert client.get(f"/v2/erp/imports/{import_id}", headers=ORG).json()["status"] == "IMPORTED"


def test_an_xlsx_import_keeps_numbers_and_dates(setup):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    client, integration_id, customer = setup
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_number", "contract_number", "contract_name", "start_date", "status"])
    sheet.append([customer, "XL-1", "Wärme Import", dt.date(2027, 4, 1), "ACTIVE"])
    buffer = io.BytesIO()
    book.save(buffer)
    upload(client, "739224/contracts.xlsx", buffer.getvalue())
    job = client.post("/v2/erp/imports", headers=ORG, json={
        "s3_reference": {"bucket": BUCKET, "key": "739224/contracts.xlsx"}, "import_id": "xlsx-1"}).json()["job"]
    assert (job["import_id"], job["format"], job["column_count"]) == ("xlsx-1", "xlsx", 5)
    client.post("/v2/erp/imports/xlsx-1:validate", headers=ORG,
                json={"integration_id": integration_id, "use_case_slug": "contract-sync"})
    executed = client.post("/v2/erp/imports/xlsx-1:execute", headers=ORG, json={"ack_warnings": True}).json()
    assert executed["status"] == "IMPORTED"
    contract = client.post("/v1/entity:search", headers=ORG,
                           json={"q": "_schema:contract AND contract_number:XL-1"}).json()["results"][0]
    assert contract["start_date"] == "2027-04-01"


def test_blocking_issues_fail_validation_and_another_use_case_can_fix_it(setup):
    client, integration_id, _customer = setup
    upload(client, "739224/no-ids.csv", b"name,status\nFoo,ACTIVE\n")
    import_id = client.post("/v2/erp/imports", headers=ORG, json={
        "s3_reference": {"bucket": BUCKET, "key": "739224/no-ids.csv"}}).json()["job"]["import_id"]
    job = client.post(f"/v2/erp/imports/{import_id}:validate", headers=ORG,
                      json={"integration_id": integration_id, "use_case_slug": "contract-sync"}).json()
    assert job["status"] == "FAILED" and job["error"]["code"] == "VALIDATION_BLOCKED"
    missing = next(i for i in job["validation"]["issues"] if i["code"] == "UNIQUE_ID_COLUMN_MISSING")
    assert missing["severity"] == "blocking" and {"name": "contract_number", "entity": "contract"} in missing["columns"]
    assert client.post(f"/v2/erp/imports/{import_id}:execute", headers=ORG, json={}).status_code == 409
    assert client.post(f"/v2/erp/imports/{import_id}:abort", headers=ORG).json()["status"] == "CANCELLED"


def test_empty_files_and_use_cases_that_cannot_import(setup):
    client, integration_id, _ = setup
    upload(client, "empty.csv", b"contract_number\n")
    import_id = client.post("/v2/erp/imports", headers=ORG, json={
        "s3_reference": {"bucket": BUCKET, "key": "empty.csv"}}).json()["job"]["import_id"]
    job = client.post(f"/v2/erp/imports/{import_id}:validate", headers=ORG,
                      json={"integration_id": integration_id, "use_case_slug": "contract-sync"}).json()
    assert next(i["code"] for i in job["validation"]["issues"]) == "EMPTY_FILE"
    unknown = client.post(f"/v2/erp/imports/{import_id}:validate", headers=ORG,
                          json={"integration_id": integration_id, "use_case_slug": "nope"})
    assert unknown.status_code == 404
    client.post(f"/v1/integrations/{integration_id}/use-cases", headers=ORG, json={
        "name": "Out", "slug": "out", "type": "outbound", "enabled": True,
        "configuration": {"event_catalog_event": "ContractCreated", "mappings": []}})
    outbound = client.post(f"/v2/erp/imports/{import_id}:validate", headers=ORG,
                           json={"integration_id": integration_id, "use_case_slug": "out"})
    assert outbound.status_code == 422 and "inbound" in outbound.json()["message"]


def test_create_list_get_delete_and_their_errors(setup):
    client, _, customer = setup
    upload(client, "a.csv", csv_file(customer))
    upload(client, "b.csv", csv_file(customer))
    upload(client, "c.json", b"[]")
    ref = {"bucket": BUCKET, "key": "a.csv"}
    first = client.post("/v2/erp/imports", headers=ORG, json={"s3_reference": ref, "import_id": "imp-a"})
    assert first.status_code == 201
    same = client.post("/v2/erp/imports", headers=ORG, json={"s3_reference": ref, "import_id": "imp-a"})
    assert same.status_code == 200 and same.json()["job"] == first.json()["job"]
    other = client.post("/v2/erp/imports", headers=ORG, json={"s3_reference": {**ref, "key": "b.csv"},
                                                               "import_id": "imp-a"})
    assert other.status_code == 409
    missing = client.post("/v2/erp/imports", headers=ORG, json={"s3_reference": {**ref, "key": "nope.csv"}})
    assert missing.status_code == 404 and missing.json()["message"].startswith("no file at s3://")
    unsupported = client.post("/v2/erp/imports", headers=ORG, json={"s3_reference": {**ref, "key": "c.json"}})
    assert unsupported.status_code == 400 and "CSV or XLSX" in unsupported.json()["message"]
    client.post("/v2/erp/imports", headers=ORG, json={"s3_reference": {**ref, "key": "b.csv"}, "import_id": "imp-b"})

    listed = client.get("/v2/erp/imports", headers=ORG, params={"limit": 1}).json()
    assert [j["import_id"] for j in listed["results"]] == ["imp-b"] and listed["next_cursor"] == "imp-b"
    rest = client.get("/v2/erp/imports", headers=ORG, params={"cursor": listed["next_cursor"]}).json()
    assert [j["import_id"] for j in rest["results"]] == ["imp-a"] and rest["next_cursor"] is None
    assert client.delete("/v2/erp/imports/imp-a", headers=ORG).status_code == 204
    assert client.get("/v2/erp/imports/imp-a", headers=ORG).status_code == 404
    assert client.delete("/v2/erp/imports/imp-a", headers=ORG).status_code == 404
    files = client.get("/__admin/erp/files").json()
    assert files["count"] == 3 and "content" not in files["files"][0]


def test_a_corrupt_workbook_fails_the_job(setup):
    client, _, _ = setup
    upload(client, "broken.xlsx", b"PK\x03\x04 not really a zip")
    job = client.post("/v2/erp/imports", headers=ORG, json={
        "s3_reference": {"bucket": BUCKET, "key": "broken.xlsx"}}).json()["job"]
    assert job["status"] == "FAILED" and job["error"]["code"] == "FILE_FORMAT_UNSUPPORTED"
