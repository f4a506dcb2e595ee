"""The contract harness finds defects (negative controls), stays read-only, and keeps tokens secret."""

import pytest

from contracts.runner import RunOptions, run_contracts
from contracts.serving import serve_in_thread
from contracts.targets import in_process, remote
from mockserver.engine.app import MockConfig, create_app

from .broken_server import TOKEN, make_broken_app
from .conftest import corpus

BROKEN_SPEC = corpus("broken_target.yaml")


@pytest.fixture(scope="module")
def broken():
    app, journal = make_broken_app()
    with serve_in_thread(app) as url:
        yield url, journal


def failures_by_operation(result):
    return {op.operation_id or op.label: set(op.failed) for op in result.failed_operations}


@pytest.mark.network
def test_harness_reports_each_defect_of_a_broken_server(broken):
    url, _journal = broken
    result = run_contracts(RunOptions(specs=[BROKEN_SPEC], max_examples=20, seed=1),
                           remote(url, token=TOKEN, allow_writes=True))
    found = failures_by_operation(result)
    assert not result.ok
    assert "response_schema_conformance" in found["getCounter"]
    assert "status_code_conformance" in found["listTeapots"]
    assert "not_a_server_error" in found["search"]
    assert "ignored_auth" in found["createNote"]
    assert "listNotes" not in found
    op = next(o for o in result.failed_operations if o.operation_id == "getCounter")
    failure = next(f for f in op.failures if f.check == "response_schema_conformance")
    assert failure.curl.startswith("curl ") and url in failure.curl and "/counters/" in failure.curl


@pytest.mark.network
def test_read_only_mode_sends_no_writes(broken):
    url, journal = broken
    journal.clear()
    result = run_contracts(RunOptions(specs=[BROKEN_SPEC], max_examples=10, seed=2), remote(url, token=TOKEN))
    assert result.read_only
    methods = {method for method, _ in journal}
    assert methods and methods <= {"GET", "HEAD", "OPTIONS"}, methods
    assert all(op.label.split()[0] in ("GET", "HEAD", "OPTIONS") for op in result.operations.values())


@pytest.mark.network
def test_tokens_never_appear_in_results(broken):
    url, _ = broken
    result = run_contracts(RunOptions(specs=[BROKEN_SPEC], max_examples=10, seed=3),
                           remote(url, token=TOKEN, allow_writes=True, headers={"X-Tenant": "tenant-secret-1"}))
    text = repr(result)
    assert TOKEN not in text and "tenant-secret-1" not in text
    assert any(f.curl for op in result.failed_operations for f in op.failures)


def test_in_process_suite_fails_when_the_mock_serves_a_non_conforming_body():
    app = create_app(MockConfig(specs=[corpus("colon_routes.yaml")], behaviours=False))
    op = next(o for o in app.services.apis["colon_routes"].operations if o.id == "getItem")
    op.compile()
    op.static_cache[("200", "application/json")] = b'{"id": 42}'  # violates Item: id is a uuid string, no name
    result = run_contracts(RunOptions(specs=[corpus("colon_routes.yaml")], max_examples=5), in_process(app))
    assert "response_schema_conformance" in failures_by_operation(result)["getItem"]


def test_in_process_suite_passes_on_the_tricky_corpus():
    specs = [corpus("colon_routes.yaml"), corpus("recursive.yaml"), corpus("overlapping.yaml"),
             corpus("split/openapi.yaml"), corpus("openapi31.json")]
    app = create_app(MockConfig(specs=specs, behaviours=False))
    result = run_contracts(RunOptions(specs=specs, max_examples=10), in_process(app))
    problems = [(op.label, f.check, f.message[:300]) for op in result.failed_operations for f in op.failures]
    problems += [(op.label, "error", e) for op in result.operations.values() for e in op.errors]
    assert problems == [] and not result.errors, problems or result.errors
