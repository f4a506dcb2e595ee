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


# -- PostgreSQL (the shared store) ------------------------------------------------------------------
# Tests that need a server read its URL from EPILOT_MOCK_TEST_POSTGRES (CI starts a throwaway cluster
# with tools/pg-test-cluster). Without it they skip locally, and fail in CI (CI=true), where the
# server must be there.
POSTGRES_ENV = "EPILOT_MOCK_TEST_POSTGRES"


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        reason = (f"no PostgreSQL server: set {POSTGRES_ENV}=postgresql://... "
                  f"(eval \"$(tools/pg-test-cluster start /tmp/pg)\" starts one; needs apt-get install postgresql)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL whose tables live in a schema of their own, dropped after the test."""
    import uuid

    import psycopg

    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    glue = "&" if "?" in base else "?"
    yield f"{base}{glue}options=-csearch_path%3D{schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
