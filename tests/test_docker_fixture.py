"""The ``epilot_mock_container`` fixture (docker-py) against the image that ``make image`` builds.

Without a Docker engine or the image, the ``docker`` tests skip. ``.ci/docker-smoke`` builds the
image first and runs them with ``EPILOT_MOCK_REQUIRE_DOCKER=1``, where a skip is an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from contracts.container import LABEL, ContainerFailed, run_container
from contracts.pytest_plugin import REQUIRE_DOCKER_ENV, docker_or_skip

ROOT = Path(__file__).resolve().parent.parent
ORG = {"Authorization": "Bearer demo-org-token"}
PORTAL = {"Authorization": "Bearer demo-portal-token"}
IMAGE = os.environ.get("EPILOT_MOCK_IMAGE", "epilot-mock:latest")
APIS = ["customer-portal", "pricing"]


@pytest.mark.docker
@pytest.mark.epilot_mock_container(specs=APIS, seed=5)
@pytest.mark.epilot_mock(specs=APIS, seed=5)
def test_the_container_serves_the_seeded_world(epilot_mock_container, epilot_mock, client):
    url = epilot_mock_container.url
    health = httpx.get(url + "/__admin/health").json()
    assert sorted(api["name"] for api in health["apis"]) == APIS
    # The same seed gives the same world as in-process; another seed (the session's 0) another one.
    contact_id = httpx.get(url + "/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    assert contact_id == epilot_mock.client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    assert contact_id != client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    offer = json.loads((ROOT / "examples" / "tariff-offer.json").read_text())
    priced = httpx.post(url + "/v1/pricing:compute", json=offer, headers=ORG)
    assert priced.status_code == 200 and priced.json()["amount_total"] == 11091
    assert httpx.get(url + "/v2/portal/contact").status_code == 401


@pytest.mark.docker
def test_the_image_runs_unprivileged_and_its_healthcheck_tells_a_dead_port(epilot_mock_container):
    config = epilot_mock_container.container.image.attrs["Config"]
    assert config["User"] == "10001" and "8080/tcp" in config["ExposedPorts"]
    probe = config["Healthcheck"]["Test"]
    assert probe[0] == "CMD"
    alive = epilot_mock_container.container.exec_run(probe[1:])
    assert alive.exit_code == 0, alive.output
    dead = epilot_mock_container.container.exec_run(probe[1:], environment={"EPILOT_MOCK_PORT": "1"})
    assert dead.exit_code != 0


@pytest.mark.docker
def test_the_container_is_removed_afterwards():
    import docker

    engine = docker_or_skip(IMAGE)
    with run_container(IMAGE, specs=["pricing"], client=engine) as handle:
        container_id = handle.container.id
        assert engine.containers.get(container_id).labels.get(LABEL) == "1"
        assert httpx.get(handle.url + "/__admin/health").status_code == 200
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(container_id)


@pytest.mark.docker
def test_a_container_that_cannot_start_fails_with_its_logs_and_is_removed():
    engine = docker_or_skip(IMAGE)
    before = {c.id for c in engine.containers.list(all=True, filters={"label": LABEL})}
    with pytest.raises(ContainerFailed, match=r"(?s)stopped.*no-such-spec\.yaml"), \
            run_container(IMAGE, specs=["/no-such-spec.yaml"], client=engine, timeout=30):
        pass
    assert {c.id for c in engine.containers.list(all=True, filters={"label": LABEL})} == before


@pytest.mark.docker
def test_the_state_file_outlives_the_container(tmp_path):
    engine = docker_or_skip(IMAGE)
    state = tmp_path / "world.db"
    phone = [{"phone": "+49 221 555 0199", "_tags": ["Mobil"]}]
    with run_container(IMAGE, specs=["customer-portal"], state=state, client=engine) as first:
        written = httpx.patch(first.url + "/v2/portal/contact", json={"phone": phone}, headers=PORTAL)
        assert written.status_code == 200
    assert state.is_file()
    with run_container(IMAGE, specs=["customer-portal"], state=state, client=engine) as second:
        assert httpx.get(second.url + "/v2/portal/contact", headers=PORTAL).json()["entity"]["phone"] == phone


def test_without_an_engine_the_fixture_skips_unless_docker_is_required(pytester, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-engine.sock")
    monkeypatch.delenv(REQUIRE_DOCKER_ENV, raising=False)
    pytester.makepyfile(test_user="def test_x(epilot_mock_container):\n    raise AssertionError('ran')\n")
    skipped = pytester.runpytest("-q", "-rs", "-p", "no:cacheprovider")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*SKIPPED*epilot_mock_container: no Docker engine reachable*"])
    monkeypatch.setenv(REQUIRE_DOCKER_ENV, "1")
    required = pytester.runpytest("-q", "-p", "no:cacheprovider")
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines([f"*no Docker engine reachable*{REQUIRE_DOCKER_ENV}=1*"])
