"""The README's walkthroughs work verbatim: each marked shell block runs against a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from contracts.serving import free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def walkthrough(name: str) -> list[str]:
    """The ```sh blocks from the `<!-- walkthrough: NAME -->` marker to the next section heading."""
    start = README.index(f"<!-- walkthrough: {name} -->")
    end = README.find("\n## ", start)
    section = README[start:end if end != -1 else None]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    if not shutil.which("jq") or not shutil.which("curl"):
        if os.environ.get("CI"):
            pytest.fail("the README walkthroughs need curl and jq")
        pytest.skip("curl and jq are needed for the README walkthroughs")
    port, hook_port = free_port(), free_port()
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", work / "examples")
    mock = subprocess.Popen([str(BIN / "epilot-mock"), "serve", "--port", str(port)], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    listener = subprocess.Popen([str(BIN / "epilot-mock"), "webhook", "listen", "--port", str(hook_port),
                                 "--secret", "epilot-mock-webhook-secret"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/__admin/health", mock)
        wait_for(f"http://127.0.0.1:{hook_port}/", listener)
        yield work, port, hook_port, listener
    finally:
        for proc in (mock, listener):
            proc.terminate()
            proc.wait(timeout=20)


def run(blocks: list[str], work: Path, port: int, hook_port: int) -> str:
    script = "set -euo pipefail\n" + "\n".join(blocks)
    script = script.replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}")
    script = script.replace("http://127.0.0.1:9999", f"http://127.0.0.1:{hook_port}")
    done = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.network
def test_portal_walkthrough(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("portal"), work, port, hook_port).splitlines()
    assert out[0] == "401"
    assert '"phone":"+49 221 555 0101"' in out[-6] and out[-6] == out[-5].replace("entity", "data")
    assert out[-3].startswith('{"meter_id"') and '"status":"valid"' in out[-3]
    assert out[-2].endswith(" 400") and "below the previous reading" in out[-2]
    costs = json.loads(out[-1])  # "What else a customer can do": costs of the first contract's meter
    assert costs["unit_amount"] > 0 and costs["timestamp"].startswith("2025-01")


@pytest.mark.network
def test_pricing_walkthrough_gives_the_documented_numbers(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("pricing"), work, port, hook_port).strip()
    shown = re.search(r"```json\n(.*?)```", README[README.index("<!-- walkthrough: pricing -->"):], re.S).group(1)
    assert out == re.sub(r"\s*\n\s*", "", shown)


@pytest.mark.network
def test_erp_walkthrough(servers):
    work, port, hook_port, listener = servers
    out = run(walkthrough("erp"), work, port, hook_port)
    assert '"status":"success"' in out and '"status":"skipped"' in out
    assert out.count('"status":"error"') == 1
    assert '"contract_number":"SAP-4712","contract_name":"Erdgas Klima","status":"active"' in out
    assert '"status":"acknowledged"' in out
    lines = [listener.stdout.readline() for _ in range(2)]  # the start-up probe, then the delivery
    delivered = next(line for line in lines if '"path": "/sap"' in line)
    assert '"signature": "valid"' in delivered and '"meter_number"' in delivered and '"ack_id": null' not in delivered


@pytest.mark.network
def test_erp_import_walkthrough(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("erp-import"), work, port, hook_port).splitlines()
    assert out[0] == '{"key":"contracts.csv","size_bytes":' + out[0].split(":")[-1]
    assert out[1].startswith('{"status":"PENDING","columns":["customer_number","contract_number"')
    assert out[2] == '{"use_case_slug":"contract-import","matched_columns":5}'
    assert out[3] == ('{"status":"READY","rows":3,"entities":{"contract":2},"issues":[{"code":"MALFORMED_ROW",'
                      '"row":4}]}')
    assert out[4] == '{"status":"IMPORTED","progress":{"processed_rows":3,"total_rows":3}}'
    assert sorted(out[5:7]) == ['{"contract_number":"IMP-1001","contract_name":"Ökostrom Import","status":"active"}',
                        '{"contract_number":"IMP-1002","contract_name":"Erdgas Import","status":"terminated"}']
    assert out[7] == '{"status":"error","span_count":3,"levels":["success","success","error"]}'


@pytest.mark.network
def test_faults_walkthrough_fails_checkout_twice_then_passes(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("faults"), work, port, hook_port).splitlines()
    shown = re.search(r"```text\n(.*?)```", README[README.index("<!-- walkthrough: faults -->"):], re.S).group(1)
    expected = shown.strip().splitlines()
    assert out[:3] == expected[:3]
    order = re.fullmatch(r"try 3: 200 order (OR-\S+), 110\.91 EUR", out[3])
    assert order and expected[3] == "try 3: 200 order OR-…, 110.91 EUR", out[3]
    assert out[4:8] == expected[4:8]
    rest = out[8:]
    assert rest[:4] == ["reset: curl exit 56", "empty: curl exit 52", "malformed: curl exit 18",
                        "timeout: curl exit 28"]
    slow = re.fullmatch(r"200 in ([0-9.]+) s", rest[4])
    assert slow and float(slow.group(1)) >= 1.9, rest[4]
    assert rest[5] == '{"id":"flaky-schemas","operations":["listSchemas"],"remaining":3}'
    assert rest[6:10] == ["try 1: 200", "try 2: 200", "try 3: 000", "curl exit 56"]
    listing = [json.loads(line) for line in rest[10:]]
    assert {o["id"]: (o["hits"], o["remaining"]) for o in listing} == {
        "pricing-down": (2, 0), "slow-sybille": (1, None), "flaky-schemas": (3, 0)}
    assert httpx.get(f"http://127.0.0.1:{port}/__admin/overrides").json()["count"] == 0  # the walkthrough cleans up


@pytest.mark.network
def test_security_walkthrough(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("security"), work, port, hook_port).splitlines()
    shown = re.search(r"```text\n(.*?)```", README[README.index("<!-- walkthrough: security -->"):], re.S).group(1)
    assert out == shown.splitlines()


@pytest.mark.network
def test_journal_walkthrough_gives_the_documented_answers(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("journal"), work, port, hook_port).strip()
    shown = re.search(r"```json\n(.*?)```", README[README.index("<!-- walkthrough: journal -->"):], re.S).group(1)
    assert out.splitlines() == shown.strip().splitlines()


@pytest.mark.network
def test_entity_walkthrough(servers):
    work, port, hook_port, _ = servers
    out = run(walkthrough("entity"), work, port, hook_port).splitlines()
    assert out[0].startswith('{"slug":"contact","version":1,"attributes":') and out[1].startswith('{"slug":"meter"')
    assert out[2].startswith('{"composite_id":"contact:') and out[2].endswith('"type":"number","required":true}')
    assert out[3] == '{"code":"required","path":["wallbox_kw"]}'
    assert out[4].endswith('"wallbox_kw":11}') and out[5] == '{"hits":1}'
    assert out[6] == '{"_schema":"contract","attribute":"contracts"}' and out[7] == "true"
    assert out[8] == '{"type":"EntityUpdated","operation":"relationsAdded","diff":null}'
    assert out[9] == '{"type":"EntityUpdated","operation":"updateEntity","diff":{"added":{"wallbox_kw":11}}}'
