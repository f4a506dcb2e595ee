"""The JSONata sandbox: each hostile expression of the security review fails its own evaluation with
the limit named (mapping simulation, inbound events, outbound mappings), the pool recovers, results
are those of in-process evaluation, and other requests are served while a runaway is stopped."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time

import httpx
import pytest
from starlette.testclient import TestClient

from contracts.serving import free_port
from mockserver.engine.app import create_app
from mockserver.engine.config import StartupError
from mockserver.epilot.erp import sandbox_worker
from mockserver.epilot.erp.jsonata import UNDEFINED, JsonataError, compile_expression
from mockserver.epilot.erp.mapping import MappingError, map_event
from mockserver.epilot.erp.sandbox import JsonataLimitError, JsonataSandbox

from .conftest import ORG, PORTAL, ROOT, checked
from .test_erp_loop import EVENT, INBOUND

TAIL_RECURSION = "( $f := function($x){ $f($x) }; $f(1) )"
CROSS_PRODUCT = "$count([1..10000].([1..10000]))"
DOUBLING = '( $d := function($s, $n){ $n = 0 ? $s : $d($s & $s, $n - 1) }; $length($d("ab", 40)) )'
BIG_JOIN = "$join([1..10000000].$string())"


@pytest.fixture(scope="module")
def sandbox():
    box = JsonataSandbox(timeout=1.0, memory_mb=256, workers=2)
    yield box
    box.close()


def test_tail_recursion_is_stopped_at_the_time_limit(sandbox):
    with pytest.raises(JsonataLimitError, match="time limit of 1 s") as caught:
        sandbox.evaluate_sync(TAIL_RECURSION, {})
    assert caught.value.limit == "time"
    assert caught.value.expression == TAIL_RECURSION
    assert sandbox.evaluate_sync("a + 1", {"a": 1}) == 2  # a fresh worker took its place


def test_a_string_that_doubles_itself_is_stopped_at_the_memory_limit():
    box = JsonataSandbox(timeout=10.0, memory_mb=128, workers=1)
    try:
        with pytest.raises(JsonataLimitError, match="memory limit of 128 MB") as caught:
            box.evaluate_sync(DOUBLING, {})
        assert caught.value.limit == "memory"
        assert box.evaluate_sync("$uppercase(s)", {"s": "ok"}) == "OK"
        assert box.stats["stopped_memory"] == 1
    finally:
        box.close()


@pytest.mark.parametrize("expression", [CROSS_PRODUCT, BIG_JOIN])
def test_huge_allocations_are_stopped(sandbox, expression):
    # Whichever limit they reach first (the memory cap, or the clock while they allocate) stops them.
    with pytest.raises(JsonataLimitError, match=r"(time|memory) limit of (1 s|256 MB)") as caught:
        sandbox.evaluate_sync(expression, {})
    assert caught.value.limit in ("time", "memory")
    assert sandbox.evaluate_sync("$sum(xs)", {"xs": [1, 2, 3]}) == 6


def test_results_and_errors_are_those_of_in_process_evaluation(sandbox):
    cases = [("a * 2", {"a": 21}), ("missing", {}), ("$formatNumber(0.125, '#0.00')", None),
             ("{'n': 1e21, 'w': 2.0, 'big': a}", {"a": 2**70}), ("$string([1, 'x', null])", None),
             ("$ & '!'", UNDEFINED)]
    for source, data in cases:
        assert sandbox.evaluate_sync(source, data) == compile_expression(source).evaluate(data), source
    assert sandbox.evaluate_sync("missing", {}) is UNDEFINED
    assert sandbox.evaluate_sync("$prefix & name", {"name": "Ada"}, {"prefix": "<"}) == "<Ada"
    for broken in ("a.(", "1 / 0 > $x(", "$number('x') + {}"):
        with pytest.raises(JsonataError) as in_sandbox:
            sandbox.evaluate_sync(broken, {})
        with pytest.raises(JsonataError) as in_process:
            compile_expression(broken).evaluate({})
        assert type(in_sandbox.value) is JsonataError
        assert in_sandbox.value.message == in_process.value.message


def test_a_mapping_maps_as_in_process(sandbox):
    expected = map_event(INBOUND, EVENT).to_simulation_response()
    assert sandbox.map_event_sync(INBOUND, EVENT).to_simulation_response() == expected
    with pytest.raises(MappingError, match="unique id") as caught:
        sandbox.map_event_sync(INBOUND, {"contract": {}})
    assert caught.value.entity == "entities[0] (contact)"


def test_workers_are_reused_and_compile_once(sandbox):
    sandbox.evaluate_sync("1", None)
    started = sandbox.stats["started"]
    for i in range(50):
        assert sandbox.evaluate_sync("$string(n)", {"n": i}) == str(i)
    assert sandbox.stats["started"] == started
    assert sandbox.run_sync(sandbox_worker.echo, {"a": [1, 2]}) == {"a": [1, 2]}


def test_a_result_beyond_the_reply_limit_is_refused():
    box = JsonataSandbox(workers=1, max_result_bytes=1024)
    try:
        with pytest.raises(JsonataLimitError, match="reply limit") as caught:
            box.evaluate_sync("$pad('', 5000, 'x')", None)
        assert caught.value.limit == "result"
    finally:
        box.close()


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        JsonataSandbox(timeout=0)
    with pytest.raises(StartupError, match="JSONata time limit, memory limit and worker count must be positive"):
        create_app(checked(options={"jsonata_memory": 0}))


# -- through the API -------------------------------------------------------------------------------


def _runaway_config(expression):
    return {"entities": [{"entity_schema": "contact", "unique_ids": ["customer_number"], "fields": [
        {"attribute": "customer_number", "field": "$.customer.number"},
        {"attribute": "last_name", "jsonataExpression": expression}]}]}


@pytest.fixture(scope="module")
def mock():
    with TestClient(create_app(checked())) as client:
        yield client


def test_a_runaway_simulation_answers_422_naming_the_limit(mock):
    response = mock.post("/v2/erp/updates/mapping_simulation", headers=ORG, json={
        "event_configuration": _runaway_config(TAIL_RECURSION), "format": "json", "payload": EVENT})
    assert response.status_code == 422, response.text
    assert "time limit of 1 s" in response.json()["message"]
    fine = mock.post("/v2/erp/updates/mapping_simulation", headers=ORG, json={
        "event_configuration": INBOUND, "format": "json", "payload": EVENT})
    assert fine.status_code == 200


def test_a_runaway_inbound_event_fails_alone(mock):
    created = mock.post("/v2/integrations", headers=ORG, json={
        "name": "runaway", "use_cases": [
            {"name": "bad", "slug": "bad", "type": "inbound", "enabled": True,
             "configuration": _runaway_config(TAIL_RECURSION)},
            {"name": "good", "slug": "good", "type": "inbound", "enabled": True, "configuration": INBOUND}]})
    assert created.status_code == 201, created.text
    integration = created.json()["id"]
    results = mock.post("/v2/erp/updates/events", headers=ORG, json={"integration_id": integration, "events": [
        {"event_type": "UPDATE", "object_type": "bad", "timestamp": "2026-11-01T08:00:00Z", "format": "json",
         "payload": EVENT},
        {"event_type": "UPDATE", "object_type": "good", "timestamp": "2026-11-01T08:00:01Z", "format": "json",
         "payload": EVENT}]})
    assert results.status_code == 200, results.text
    bad, good = results.json()["results"]
    assert bad["status"] == "error" and "time limit of 1 s" in bad["message"]
    assert good["status"] == "success"


def test_a_runaway_outbound_mapping_fails_its_delivery(mock):
    created = mock.post("/v2/integrations", headers=ORG, json={"name": "runaway out", "use_cases": [
        {"name": "out", "slug": "out", "type": "outbound", "enabled": True, "configuration": {
            "event_catalog_event": "ContactUpdated", "mappings": [
                {"name": "bad", "enabled": True, "jsonata_expression": DOUBLING,
                 "delivery": {"type": "webhook", "webhook_id": "w", "webhook_url": "http://127.0.0.1:9/never"}}]}}]})
    assert created.status_code == 201, created.text
    integration = created.json()["id"]
    contact = mock.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    patched = mock.patch(f"/v1/entity/contact/{contact}", headers=ORG, json={"first_name": "Sybille"})
    assert patched.status_code == 200, patched.text
    deadline = time.monotonic() + 20
    deliveries: list = []
    while not deliveries and time.monotonic() < deadline:
        deliveries = mock.get(f"/__admin/deliveries?integration_id={integration}").json()["deliveries"]
        time.sleep(0.05)
    assert deliveries and deliveries[0]["status"] == "failed"
    assert "limit" in deliveries[0]["error"] and deliveries[0]["attempts"] == []


def measure_during_runaway(base: str) -> tuple[list[float], dict]:
    """Latencies of plain requests sent while a runaway mapping simulation is evaluated, and how the
    runaway itself was answered."""
    with httpx.Client(base_url=base, timeout=10) as client:
        # warm up: the sandbox's workers are running, and the plain request's caches are filled
        assert client.post("/v2/erp/updates/mapping_simulation", headers=ORG, json={
            "event_configuration": INBOUND, "format": "json", "payload": EVENT}).status_code == 200
        assert client.get("/v2/portal/contract", headers=PORTAL).status_code == 200
        outcome: dict = {}

        def runaway() -> None:
            started = time.monotonic()
            outcome["response"] = httpx.post(f"{base}/v2/erp/updates/mapping_simulation", headers=ORG, timeout=30,
                                             json={"event_configuration": _runaway_config(TAIL_RECURSION),
                                                   "format": "json", "payload": EVENT})
            outcome["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=runaway, daemon=True)
        thread.start()
        time.sleep(0.3)  # the runaway is evaluating now
        latencies = []
        give_up = time.monotonic() + 12
        while thread.is_alive() and time.monotonic() < give_up:
            started = time.monotonic()
            with contextlib.suppress(httpx.TimeoutException):  # counted as the 5 s it waited
                assert client.get("/v2/portal/contract", headers=PORTAL, timeout=5).status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.02)
        thread.join(timeout=15)
    return latencies, outcome


@pytest.mark.network
def test_other_requests_are_served_while_a_runaway_is_stopped():
    # A real server in its own process: a runaway that froze it could not freeze the test too.
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("the server did not start") from None
                time.sleep(0.1)
        latencies, outcome = measure_during_runaway(base)
    finally:
        proc.kill()
        proc.wait(timeout=15)
    assert latencies, "no plain request ran while the runaway was evaluated"
    assert max(latencies) < 1.0, f"plain requests took up to {max(latencies):.3f} s during the runaway"
    assert outcome["response"].status_code == 422
    assert "time limit" in outcome["response"].json()["message"]
    assert outcome["seconds"] < 10
