"""pytest plugin for projects that test against epilot-mock.

Loaded automatically once epilot-mock is installed (entry point ``epilot_mock``), or explicitly
with ``pytest -p contracts.pytest_plugin``. It gives:

- ``epilot_mock``: the mock in-process (an ASGI app plus a ``TestClient`` bound to it), seeded with
  ``--epilot-mock-seed`` (default 0); configure it per test module with
  ``@pytest.mark.epilot_mock(specs=[...], seed=1, scenarios=[...])``.
- ``epilot_mock_server``: the mock as a real server on a free loopback port (``.url``).
- ``epilot_mock_scenario``: a factory that runs a bundled or file scenario against the mock.
- ``contract_tests(spec, ...)``: turns a spec into parametrized contract tests (one per operation),
  run with schemathesis against the in-process mock or ``--epilot-mock-base-url``.
- ``epilot_mock_container``: the mock's Docker image (``--epilot-mock-image``, default
  ``epilot-mock:latest``) in a container started with docker-py, removed after the test; configure
  it with ``@pytest.mark.epilot_mock_container(specs=[...], seed=1, state=path, image=...)``. Skipped
  when no Docker engine or image is there, an error instead with ``EPILOT_MOCK_REQUIRE_DOCKER=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .serving import serve_in_thread


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("epilot-mock")
    group.addoption("--epilot-mock-seed", type=int, default=0, help="Seed of the mock's world (default 0).")
    group.addoption("--epilot-mock-base-url", default=None,
                    help="Run contract_tests against this server instead of the in-process mock.")
    group.addoption("--epilot-mock-image", default=os.environ.get("EPILOT_MOCK_IMAGE", "epilot-mock:latest"),
                    help="Image of the epilot_mock_container fixture (default $EPILOT_MOCK_IMAGE or "
                         "epilot-mock:latest).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "epilot_mock(specs=None, seed=None, scenarios=None, auth=None): "
                                       "configure the epilot_mock fixtures of a test")
    config.addinivalue_line("markers", "epilot_mock_container(image=None, specs=None, seed=None, state=None, "
                                       "auth=None, scenarios=None, args=(), env=None, timeout=60): "
                                       "configure the epilot_mock_container fixture of a test")


@dataclass
class MockHandle:
    app: Any
    client: Any  # starlette TestClient
    url: str | None = None

    @property
    def services(self) -> Any:
        return self.app.services

    def token(self, kind: str = "org") -> str:
        token = self.app.services.tokens.token_for(kind)
        if token is None:
            raise LookupError(f"the mock has no {kind} token")
        return token


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("epilot_mock")
    return {k: v for k, v in (marker.kwargs if marker else {}).items() if v is not None}


def _mock_config(request: pytest.FixtureRequest) -> Any:
    """The marker's keywords: MockConfig fields (specs, seed, auth, state...); any other keyword is
    a plugin option (world_size=..., webhook_retries=...)."""
    from dataclasses import fields

    from mockserver.engine import MockConfig

    options = _marker_options(request)
    options.pop("scenarios", None)
    seed = options.pop("seed", None)
    config = MockConfig(seed=request.config.getoption("--epilot-mock-seed") if seed is None else seed)
    known = {f.name for f in fields(MockConfig)}
    for key, value in options.items():
        if key in known:
            setattr(config, key, list(value) if key == "specs" else value)
        else:
            config.options[key] = value
    return config


def _create(request: pytest.FixtureRequest) -> Any:
    """The configured app, with the marker's scenarios preloaded."""
    from mockserver.engine import create_app

    from .scenarios import preload

    app = create_app(_mock_config(request))
    scenarios = _marker_options(request).get("scenarios")
    if scenarios:
        preload(app, list(scenarios))
    return app


@pytest.fixture
def epilot_mock(request: pytest.FixtureRequest) -> Iterator[MockHandle]:
    from starlette.testclient import TestClient

    app = _create(request)
    with TestClient(app) as client:
        yield MockHandle(app, client)


@pytest.fixture
def epilot_mock_server(request: pytest.FixtureRequest) -> Iterator[MockHandle]:
    from starlette.testclient import TestClient

    app = _create(request)
    with serve_in_thread(app) as url, TestClient(app) as client:
        yield MockHandle(app, client, url)


@pytest.fixture
def epilot_mock_scenario(epilot_mock: MockHandle) -> Any:
    """``run(name_or_path, **variables)`` runs a scenario against ``epilot_mock`` and returns its result;
    it fails the test if the scenario fails."""

    def run(name: str, **variables: Any) -> Any:
        from contracts.scenarios import run_scenarios

        results = run_scenarios([name], app=epilot_mock.app, variables={k: str(v) for k, v in variables.items()})
        failed = [r for r in results if not r.ok]
        if failed:
            pytest.fail("\n".join(r.describe_failure() for r in failed))
        return results[0]

    return run


def contract_tests(spec: str, *, operation_ids: list[str] | None = None, max_examples: int = 5,
                   phases: tuple[str, ...] = ("examples", "coverage", "fuzzing"), seed: int = 0) -> Any:
    """A parametrized test function: one contract test per operation of ``spec``.

    In a test module::

        from contracts.pytest_plugin import contract_tests
        test_pricing_contract = contract_tests("pricing", operation_ids=["$calculatePricingDetails"])
    """
    from mockserver.engine.bundled import parse_spec_arg
    from mockserver.engine.loader import bundle, iter_operations

    source = parse_spec_arg(spec).source
    document, _ = bundle(source)
    ids = [op.get("operationId") for _, _, op, _ in iter_operations(document)]
    selected = [i for i in ids if i and (not operation_ids or i in operation_ids)]

    @pytest.mark.parametrize("operation_id", selected)
    def test_contract(operation_id: str, request: pytest.FixtureRequest) -> None:
        from contracts.runner import RunOptions, run_contracts
        from contracts.targets import in_process, remote

        base_url = request.config.getoption("--epilot-mock-base-url")
        if base_url:
            target = remote(base_url)
        else:
            target = in_process(_create(request))
        result = run_contracts(RunOptions(specs=[spec], operation_ids=[operation_id], max_examples=max_examples,
                                          phases=phases, seed=seed), target)
        problems = [f"{op.label}: {f.check}: {f.title}\n{f.message}\n{f.curl}"
                    for op in result.failed_operations for f in op.failures]
        problems += [e for op in result.operations.values() for e in op.errors] + result.errors
        assert not problems, "\n\n".join(problems)

    return test_contract


REQUIRE_DOCKER_ENV = "EPILOT_MOCK_REQUIRE_DOCKER"


def docker_or_skip(image: str | None) -> Any:
    """A docker-py client whose engine has ``image``; otherwise skip the test, or fail it when
    ``EPILOT_MOCK_REQUIRE_DOCKER=1`` (so that CI cannot skip silently)."""
    from contracts.container import DockerUnavailable, docker_client

    try:
        return docker_client(image)
    except DockerUnavailable as exc:
        if os.environ.get(REQUIRE_DOCKER_ENV) == "1":
            pytest.fail(f"epilot_mock_container: {exc} ({REQUIRE_DOCKER_ENV}=1)", pytrace=False)
        pytest.skip(f"epilot_mock_container: {exc}")


@pytest.fixture
def epilot_mock_container(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The image in a Docker container for this test (``.url``, ``.container``), removed afterwards."""
    from contracts.container import run_container

    marker = request.node.get_closest_marker("epilot_mock_container")
    options = {k: v for k, v in (marker.kwargs if marker else {}).items() if v is not None}
    options.setdefault("image", request.config.getoption("--epilot-mock-image"))
    options.setdefault("seed", request.config.getoption("--epilot-mock-seed"))
    with run_container(client=docker_or_skip(options["image"]), **options) as handle:
        yield handle
