"""Scenarios: the bundled flows pass in-process and over the network; failures are precise and safe."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from contracts.scenarios import ScenarioError, bundled_scenarios, load_scenario, run_scenarios
from contracts.serving import serve_in_thread
from mockserver.cli import main
from mockserver.engine.app import MockConfig, StartupError, create_app

from .broken_server import make_broken_app

BUNDLED = sorted(bundled_scenarios())


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_bundled_scenarios_are_the_documented_ones():
    assert BUNDLED == ["checkout-while-pricing-is-down", "customer-self-registration", "entity-schema-change",
                       "erp-file-import", "erp-keep-contract-in-sync", "erp-meter-reading-submission",
                       "erp-outbound-queue", "portal-customer-day", "pricing-offer"]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_passes_in_process(name):
    [result] = run_scenarios([name])
    assert result.ok, result.describe_failure()
    assert len(result.steps) >= 3


@pytest.mark.network
def test_bundled_scenarios_pass_against_a_real_server():
    app = create_app(MockConfig(seed=0))
    with serve_in_thread(app) as url:
        results = run_scenarios(BUNDLED, base_url=url)
    failed = [r.describe_failure() for r in results if not r.ok]
    assert not failed, "\n".join(failed)
    assert [r.name for r in results] == BUNDLED


WRONG_EXPECTATION = """
name: wrong-expectation
apis: [customer-portal]
steps:
  - name: read the contact
    operation: getContact
    expect:
      status: 200
  - name: the contact has an impossible name
    operation: getContact
    expect:
      status: 200
      body:
        - {path: "$.entity.first_name", equals: "Zzyzx-Nobody"}
"""


def test_wrong_expectation_names_the_step_and_the_path(tmp_path):
    [result] = run_scenarios([write(tmp_path, WRONG_EXPECTATION)])
    assert not result.ok
    assert [s.ok for s in result.steps] == [True, False]
    text = result.describe_failure()
    assert "the contact has an impossible name" in text
    assert "$.entity.first_name" in text and "Zzyzx-Nobody" in text
    assert "GET" in text and "/v2/portal/contact" in text


def test_cli_failure_shows_step_request_response_and_diff(tmp_path):
    junit, report = tmp_path / "s.xml", tmp_path / "s.md"
    out = CliRunner().invoke(main, ["scenario", "run", write(tmp_path, WRONG_EXPECTATION), "--junit-xml", str(junit),
                                    "--report", str(report)])
    assert out.exit_code == 1, out.output
    assert "✓ read the contact" in out.output
    assert "the contact has an impossible name" in out.output
    assert "$.entity.first_name" in out.output
    suite = ElementTree.parse(junit).getroot()
    cases = suite.iter("testcase")
    assert any(c.find("failure") is not None for c in cases)
    assert "wrong-expectation" in report.read_text() and "impossible name" in report.read_text()


def test_cli_lists_and_runs_bundled_scenarios():
    runner = CliRunner()
    listed = runner.invoke(main, ["scenario", "list"])
    assert listed.exit_code == 0
    for name in BUNDLED:
        assert name in listed.output
    ran = runner.invoke(main, ["scenario", "run", "customer-self-registration", "--var", "password=Another-Secret-9"])
    assert ran.exit_code == 0, ran.output
    assert "1/1 scenarios passed" in ran.output


@pytest.mark.parametrize("text, line, problem", [
    ("name: bad\nsteps:\n  - name: one\n    operation: getContact\n    expect: {status: 200, colour: red}\n",
     5, "colour"),
    ("name: bad\nsteps:\n  - name: one\n    operation: getContact\n  - operation: getContact\n", 5, "name"),
    ("name: bad\nsteps:\n  - name: one\n    operation: [getContact\n", 5, "YAML"),
    ("name: Bad Name\nsteps:\n  - {name: one, operation: getContact}\n", 1, "does not match"),
])
def test_malformed_scenario_is_rejected_with_line_before_any_request(tmp_path, text, line, problem):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path}:{line}:" in message, message
    assert problem in message
    app = create_app(MockConfig(seed=0))
    with pytest.raises(ScenarioError):
        run_scenarios([path], app=app)
    assert not app.services.journal.entries


def test_wait_until_that_never_holds_times_out_cleanly(tmp_path):
    path = write(tmp_path, """
name: never
apis: [customer-portal]
steps:
  - name: wait for a contract that never comes
    operation: getAllContracts
    wait_until: {timeout: 0.6, interval: 0.1}
    expect:
      status: 200
      body:
        - {path: "$.data", length: 9999}
""")
    app = create_app(MockConfig(seed=0))
    [result] = run_scenarios([path], app=app)
    assert not result.ok
    step = result.steps[0]
    assert "timed out" in step.problem and "0.6" in step.problem
    assert "$.data" in step.problem
    tries = [e for e in app.services.journal.entries if e.operation_id == "getAllContracts"]
    assert 2 <= len(tries) <= 8  # retried every 0.1 s, then gave up: 0.6 s / 0.1 s, give or take one


def test_captures_feed_later_steps_and_templates_compute(tmp_path):
    path = write(tmp_path, """
name: captures
apis: [customer-portal]
variables: {bump: 2}
steps:
  - name: list contracts
    operation: getAllContracts
    expect: {status: 200}
    capture: {contract_id: "$.data[0]._id"}
  - name: read the first contract
    operation: getContract
    params: {id: "{{ contract_id }}"}
    expect:
      status: 200
      body:
        - {path: "$.entity._id", equals: "{{ contract_id }}"}
        - {path: "$.entity._schema", equals: contract}
        - {path: "$.entity._id", matches: "^[0-9a-f-]{36}$"}
        - {path: "$.entity.missing_field", exists: false}
""")
    [result] = run_scenarios([path])
    assert result.ok, result.describe_failure()
    assert result.variables["contract_id"]


@pytest.mark.network
def test_writing_scenario_refuses_a_real_target_without_allow_writes():
    app, journal = make_broken_app()
    with serve_in_thread(app) as url:
        with pytest.raises(ScenarioError, match="--allow-writes"):
            run_scenarios(["customer-self-registration"], base_url=url, token="t")
        out = CliRunner().invoke(main, ["scenario", "run", "portal-customer-day", "--base-url", url, "--token", "t"])
    assert out.exit_code != 0
    assert "--allow-writes" in out.output
    # The refusal comes before any step: at most the read-only probe for a mock's admin API reached it.
    assert all(method == "GET" for method, _ in journal), journal
    assert not any(path.startswith("/v2/portal") for _, path in journal), journal


def test_serve_scenario_preloads_state(monkeypatch):
    from mockserver.cli import CONFIG_ENV, app_from_env

    plain = create_app(MockConfig(seed=0)).services.store.counts_by_schema()
    monkeypatch.setenv(CONFIG_ENV, json.dumps({"config": {"seed": 0}, "scenarios": ["pricing-offer"]}))
    app = app_from_env()
    assert app.services.store.counts_by_schema()["order"] == plain["order"] + 1
    monkeypatch.setenv(CONFIG_ENV, json.dumps({"config": {"seed": 0}, "scenarios": ["no-such-flow"]}))
    with pytest.raises(StartupError, match="no scenario 'no-such-flow'"):
        app_from_env()


def test_scenario_schema_is_valid_json_schema():
    import jsonschema_rs

    schema = json.loads((Path(__file__).parent.parent / "contracts" / "scenario.schema.json").read_text())
    jsonschema_rs.validator_for(schema)
    for path in bundled_scenarios().values():
        load_scenario(str(path))


def test_pytest_plugin_runs_a_scenario(epilot_mock_scenario, epilot_mock):
    result = epilot_mock_scenario("customer-self-registration")
    assert result.ok
    sent = {(e.method, e.operation_id) for e in epilot_mock.services.journal.entries}
    assert ("POST", "createUserV3") in sent or ("POST", "createUser") in sent, sent


FAULTS = """
name: faults
apis: [entity]
steps:
  - name: schemas reset, then come back empty, cut and late
    override:
      id: bad-day
      match: {operation_id: listSchemas}
      sequence: [{fault: reset}, {fault: empty}, {fault: malformed}, {fault: timeout, delay: 100}]
  - {name: reset, operation: listSchemas, expect: {fault: reset}}
  - {name: empty, operation: listSchemas, expect: {fault: empty}}
  - {name: malformed, operation: listSchemas, expect: {fault: malformed}}
  - {name: timeout, operation: listSchemas, timeout: 20, expect: {fault: timeout}}
  - {name: then the usual answer, operation: listSchemas, expect: {status: 200}}
  - name: a slow one
    override: {match: {operation_id: listSchemas}, answer: {delay: 10}, persistent: true}
  - name: a refused override
    override: {match: {operation_id: listSchemas}, answer: {status: 599}}
"""


def _fault_steps(result):
    return [(s.name, s.ok, s.problem) for s in result.steps]


def test_scenario_steps_set_overrides_and_expect_faults_in_process(tmp_path):
    app = create_app(MockConfig(specs=["entity"], behaviours=False, auth="off"))
    [result] = run_scenarios([write(tmp_path, FAULTS)], app=app)
    steps = _fault_steps(result)
    assert all(ok for _, ok, _ in steps[:-1]), steps
    # In-process the timeout is the app's own exception at once: the mock cannot see a client give up.
    name, ok, problem = steps[-1]
    assert name == "a refused override" and not ok and "the mock refused the override (400)" in problem
    assert "status" in problem and "599" in problem
    assert app.services.overrides.items == {}  # what the scenario set is gone (persistent or not)


@pytest.mark.network
def test_scenario_fault_steps_against_a_real_mock(tmp_path):
    app = create_app(MockConfig(specs=["entity"], behaviours=False, auth="off"))
    with serve_in_thread(app) as url:
        [result] = run_scenarios([write(tmp_path, FAULTS)], base_url=url)
    steps = _fault_steps(result)
    assert all(ok for _, ok, _ in steps[:-1]), steps
    assert not steps[-1][1]
    assert app.services.overrides.items == {}


def test_an_unexpected_fault_fails_the_step_and_names_it(tmp_path):
    flow = FAULTS.replace("expect: {fault: empty}", "expect: {status: 200}")
    [result] = run_scenarios([write(tmp_path, flow)], app=create_app(MockConfig(specs=["entity"], behaviours=False,
                                                                                   auth="off")))
    failed = next(s for s in result.steps if not s.ok)
    assert failed.name == "empty" and failed.problem == "the connection failed: 'empty' fault"
    flow = FAULTS.replace("expect: {fault: reset}", "expect: {fault: timeout}")
    [result] = run_scenarios([write(tmp_path, flow)], app=create_app(MockConfig(specs=["entity"], behaviours=False,
                                                                                   auth="off")))
    failed = next(s for s in result.steps if not s.ok)
    assert failed.problem == "the connection failed: 'reset' fault (expected 'timeout')"


def test_expecting_a_fault_that_does_not_come_fails(tmp_path):
    flow = FAULTS.replace("sequence: [{fault: reset}", "sequence: [{pass: true}")
    [result] = run_scenarios([write(tmp_path, flow)], app=create_app(MockConfig(specs=["entity"], behaviours=False,
                                                                                   auth="off")))
    failed = next(s for s in result.steps if not s.ok)
    assert failed.name == "reset" and failed.problem == "expected a 'reset' fault, got status 200"


@pytest.mark.network
def test_override_steps_refuse_a_server_that_is_not_a_mock():
    app, journal = make_broken_app()
    refusal = r"sets runtime overrides .* only an epilot-mock"
    with serve_in_thread(app) as url, pytest.raises(ScenarioError, match=refusal):
        run_scenarios(["checkout-while-pricing-is-down"], base_url=url, token="t", allow_writes=True)
    assert all(method == "GET" for method, _ in journal), journal  # only the probe for a mock's admin API


@pytest.mark.parametrize("step,problem", [
    ("{name: x, override: {match: {}, answer: {status: 200}}, operation: getContact}", "valid under more than one"),
    ("{name: x, clear_overrides: false}", "steps/0/clear_overrides"),
    ("{name: x, override: {match: {}, respond: {}}}", "respond"),
    ("{name: x, operation: getContact, expect: {fault: slow}}", "slow"),
])
def test_override_steps_are_checked_before_anything_is_sent(tmp_path, step, problem):
    path = write(tmp_path, f"name: bad\napis: [customer-portal]\nsteps:\n  - {step}\n")
    with pytest.raises(ScenarioError, match=problem):
        load_scenario(path)
