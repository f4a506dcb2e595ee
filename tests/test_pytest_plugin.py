"""The pytest plugin, as a user's project loads it: fixtures, the marker and generated contract tests."""

from __future__ import annotations

USER_TESTS = '''
import httpx
import pytest
from contracts.pytest_plugin import contract_tests

PORTAL = {"Authorization": "Bearer demo-portal-token"}


def test_in_process(epilot_mock):
    r = epilot_mock.client.get("/v2/portal/contract", headers=PORTAL)
    assert r.status_code == 200 and r.json()["data"]
    assert epilot_mock.token("org") == "demo-org-token"


@pytest.mark.epilot_mock(specs=["pricing"], seed=3)
def test_real_port_and_marker(epilot_mock_server):
    assert epilot_mock_server.url.startswith("http://127.0.0.1:")
    health = httpx.get(epilot_mock_server.url + "/__admin/health").json()
    assert [a["name"] for a in health["apis"]] == ["pricing"]


def test_fresh_world_per_test(epilot_mock):
    r = epilot_mock.client.patch("/v2/portal/contact", json={"first_name": "Zora"}, headers=PORTAL)
    assert r.status_code == 200


def test_scenario_fixture(epilot_mock_scenario):
    assert epilot_mock_scenario("pricing-offer").ok


test_pricing_contract = contract_tests("pricing", operation_ids=["$calculatePricingDetails", "$searchCatalog"],
                                       max_examples=2, phases=("examples",))
'''


def test_plugin_fixtures_and_contract_tests_in_a_user_project(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*6 passed*"])
