"""Shared fixtures: the mock app in-process, clients, and spec paths."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app

warnings.filterwarnings("ignore", category=DeprecationWarning)
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
ORG = {"Authorization": "Bearer demo-org-token"}
PORTAL = {"Authorization": "Bearer demo-portal-token"}

os.environ.setdefault("EPILOT_MOCK_CACHE_DIR", str(ROOT / ".cache" / "specs"))


def checked(**fields) -> MockConfig:  # type: ignore[no-untyped-def]
    """A config for tests: every response is validated against its spec, so a behaviour that drifts
    from the spec fails the test that calls it (a 500 naming the operation)."""
    return MockConfig(validate_responses=True, **fields)


@pytest.fixture(scope="session")
def app():
    """Every bundled spec with behaviours and the seeded world (seed 0)."""
    return create_app(checked())


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def stateless_app():
    """Every bundled spec answered from the spec alone (no behaviours, no world)."""
    return create_app(checked(behaviours=False))


@pytest.fixture(scope="session")
def stateless(stateless_app):
    with TestClient(stateless_app) as c:
        yield c


@pytest.fixture
def fresh_client():
    """A client on a new app with its own world, for tests that write."""
    with TestClient(create_app(checked())) as c:
        yield c


def corpus(name: str) -> str:
    return str(CORPUS / name)

pytest_plugins = ["pytester"]
