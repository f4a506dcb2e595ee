"""The admin API's protection (token, no cross-origin calls, masked secrets) and CORS on the APIs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from starlette.testclient import TestClient

from contracts.serving import free_port
from mockserver.engine.admin_guard import MASK, mask_secrets, restore_masked
from mockserver.engine.app import create_app
from mockserver.engine.config import StartupError

from .conftest import ORG, PORTAL, ROOT, checked

TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "whsec-very-private"


def _with_secret(client: TestClient, headers: dict[str, str] | None = None) -> str:
    created = client.post("/v2/integrations", headers=ORG, json={"name": "with a secret"})
    assert created.status_code == 201, created.text
    integration = created.json()["id"]
    put = client.put(f"/__admin/erp/environments?integration_id={integration}", headers=headers or {},
                     json={"WEBHOOK_SECRET": SECRET, "API_URL": "http://erp.test"})
    assert put.status_code == 200, put.text
    return integration


# -- the admin token ------------------------------------------------------------------------------------

@pytest.fixture
def protected():
    with TestClient(create_app(checked(admin_token=TOKEN))) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/__admin/tokens"), ("GET", "/__admin/snapshot"), ("POST", "/__admin/reset"),
    ("DELETE", "/__admin/requests"), ("GET", "/__admin/requests"),
    ("PUT", "/__admin/erp/environments?integration_id=x"),
    ("GET", "/__admin/erp/environments?integration_id=x"), ("GET", "/__admin/deliveries"), ("PUT", "/__admin/clock"),
    ("GET", "/__admin/no-such-thing"),
])
def test_without_the_token_the_admin_api_answers_401(protected, method, path):
    response = protected.request(method, path, json={})
    assert response.status_code == 401, response.text
    assert "admin token" in response.json()["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = protected.request(method, path, json={}, headers={"Authorization": "Bearer demo-org-token"})
    assert wrong.status_code == 401


def test_with_the_token_the_admin_api_works_and_the_world_survives_attempts_without(protected):
    kept = protected.post("/v1/entity/contact", headers=ORG, json={"first_name": "Kept"}).json()
    kept_id = kept.get("_id") or kept["entity"]["_id"]
    assert protected.post("/__admin/reset").status_code == 401
    assert protected.get(f"/v1/entity/contact/{kept_id}", headers=ORG).status_code == 200
    assert protected.get("/__admin/tokens", headers=ADMIN).status_code == 200
    assert protected.post("/__admin/reset", headers=ADMIN).status_code == 200
    assert protected.get(f"/v1/entity/contact/{kept_id}", headers=ORG).status_code == 404


def test_health_and_the_admin_docs_stay_open(protected):
    assert protected.get("/__admin/health").status_code == 200
    assert protected.get("/__admin/openapi.json").status_code == 200


def test_the_apis_keep_their_own_auth(protected):
    assert protected.get("/v2/portal/contract", headers=PORTAL).status_code == 200
    assert protected.get("/v2/portal/contract", headers=ADMIN).status_code == 401


# -- secrets --------------------------------------------------------------------------------------------

def test_secrets_are_masked_without_the_token_and_shown_with_it(protected):
    integration = _with_secret(protected, ADMIN)
    masked = protected.get(f"/__admin/erp/environments?integration_id={integration}", headers=ADMIN).json()
    assert masked["values"]["WEBHOOK_SECRET"] == SECRET  # the token shows it
    snapshot = protected.get("/__admin/snapshot", headers=ADMIN).text
    assert SECRET in snapshot


def test_on_loopback_without_a_token_secrets_are_masked(fresh_client):
    integration = _with_secret(fresh_client)
    values = fresh_client.get(f"/__admin/erp/environments?integration_id={integration}").json()["values"]
    assert values == {"WEBHOOK_SECRET": MASK, "API_URL": "http://erp.test"}
    snapshot = fresh_client.get("/__admin/snapshot")
    assert snapshot.status_code == 200 and SECRET not in snapshot.text and MASK in snapshot.text
    # a masked snapshot imports without losing the secret the mock has
    assert fresh_client.put("/__admin/snapshot", content=snapshot.content,
                            headers={"content-type": "application/json"}).status_code == 200
    app = fresh_client.app
    from mockserver.epilot.world.extension import world_of

    stored = world_of(app.services).store.record_get("erp_environment", integration)
    assert stored["WEBHOOK_SECRET"] == SECRET


def test_masking_and_restoring():
    doc = {"WEBHOOK_SECRET": "a", "client_secret": "b", "Password": "c", "api_key": "d", "name": "e",
           "nested": [{"private_key": "f", "value": 1}], "secret_count": 3, "empty_secret": ""}
    masked = mask_secrets(doc)
    assert masked == {"WEBHOOK_SECRET": MASK, "client_secret": MASK, "Password": MASK, "api_key": MASK, "name": "e",
                      "nested": [{"private_key": MASK, "value": 1}], "secret_count": 3, "empty_secret": ""}
    assert restore_masked(masked, doc) == doc
    assert restore_masked({"WEBHOOK_SECRET": MASK, "x": 1}, {}) == {"x": 1}  # nothing to restore: dropped


# -- cross-origin requests to the admin API ---------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:3000"])
def test_the_admin_api_refuses_cross_origin_requests(fresh_client, origin):
    kept = fresh_client.post("/v1/entity/contact", headers=ORG, json={"first_name": "Kept"}).json()
    kept_id = kept.get("_id") or kept["entity"]["_id"]
    response = fresh_client.post("/__admin/reset", headers={"Origin": origin})
    assert response.status_code == 403 and "cross-origin" in response.json()["message"]
    assert "access-control-allow-origin" not in response.headers
    assert fresh_client.get(f"/v1/entity/contact/{kept_id}", headers=ORG).status_code == 200  # not reset
    preflight = fresh_client.options("/__admin/reset", headers={"Origin": origin,
                                                                "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert fresh_client.get("/__admin/tokens", headers={"Origin": origin}).status_code == 403


def test_same_origin_and_originless_admin_requests_are_served(fresh_client):
    assert fresh_client.get("/__admin/health", headers={"Origin": "http://testserver"}).status_code == 200
    assert fresh_client.get("/__admin/health").status_code == 200


# -- CORS on the APIs ---------------------------------------------------------------------------------------

def test_cors_default_is_any_origin_without_credentials(client):
    for origin in ("http://evil.example", "null", "http://localhost:3000"):
        response = client.get("/v2/portal/contract", headers={**PORTAL, "Origin": origin})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers


def test_cors_with_listed_origins_allows_credentials_for_those_only():
    app = create_app(checked(cors_origins=["http://localhost:3000", "https://portal.example.com/"]))
    with TestClient(app) as client:
        ok = client.get("/v2/portal/contract", headers={**PORTAL, "Origin": "http://localhost:3000"})
        assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert "origin" in ok.headers["vary"].lower()
        for origin in ("http://evil.example", "null", "http://localhost:3001"):
            refused = client.get("/v2/portal/contract", headers={**PORTAL, "Origin": origin})
            assert refused.headers.get("access-control-allow-origin") in (None, "*") and \
                refused.headers.get("access-control-allow-origin") != origin
            preflight = client.options("/v2/portal/contract", headers={"Origin": origin,
                                                                       "Access-Control-Request-Method": "GET"})
            assert preflight.headers.get("access-control-allow-origin") != origin
        preflight = client.options("/v2/portal/contract", headers={"Origin": "https://portal.example.com",
                                                                   "Access-Control-Request-Method": "PATCH",
                                                                   "Access-Control-Request-Headers": "authorization"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://portal.example.com"


@pytest.mark.parametrize("origins", [["null"], ["localhost:3000"], ["http://x.example/path"], ["ftp://x.example"]])
def test_unreadable_cors_origins_stop_the_start(origins):
    with pytest.raises(StartupError, match="--cors-origins"):
        create_app(checked(behaviours=False, cors_origins=origins))


# -- the server as Docker starts it: beyond loopback ------------------------------------------------------

def _start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), *args], cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/__admin/health", timeout=1)
            return proc, base
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(proc.stderr.read()) from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


@pytest.mark.network
def test_binding_beyond_loopback_generates_and_prints_an_admin_token():
    proc, base = _start(["--host", "0.0.0.0", "--no-behaviours"], env={"EPILOT_MOCK_ADMIN_TOKEN": ""})
    try:
        assert httpx.post(f"{base}/__admin/reset").status_code == 401
        assert httpx.get(f"{base}/__admin/health").status_code == 200
        assert httpx.get(f"{base}/v2/portal/contract", headers=PORTAL).status_code == 200  # the APIs as before
    finally:
        err = _stop(proc)
    token = re.search(r"admin token \(generated; set EPILOT_MOCK_ADMIN_TOKEN to choose one\): (\S+)", err)
    assert token, err
    proc, base = _start(["--host", "0.0.0.0", "--no-behaviours", "--admin-token", token.group(1)])
    try:
        assert httpx.post(f"{base}/__admin/reset", headers={"Authorization": f"Bearer {token.group(1)}"}
                          ).status_code == 200
    finally:
        _stop(proc)


@pytest.mark.network
def test_the_admin_token_comes_from_the_environment_and_loopback_stays_open_without_one():
    proc, base = _start(["--no-behaviours"], env={"EPILOT_MOCK_ADMIN_TOKEN": TOKEN})
    try:
        assert httpx.get(f"{base}/__admin/tokens").status_code == 401
        assert httpx.get(f"{base}/__admin/tokens", headers=ADMIN).status_code == 200
    finally:
        err = _stop(proc)
    assert TOKEN not in err  # a token the user chose is not printed
    proc, base = _start(["--no-behaviours"], env={"EPILOT_MOCK_ADMIN_TOKEN": ""})
    try:
        assert httpx.get(f"{base}/__admin/tokens").status_code == 200
    finally:
        err = _stop(proc)
    assert "admin token" not in err
