"""Tried as a real client would: epilot's published SDK clients (npm) against a real mock server.

``tests/sdk/`` pins ``@epilot/customer-portal-client``, ``@epilot/entity-client`` and
``@epilot/pricing-client`` (exact versions, lock file); ``drive.js`` runs each API's main flows with
them: operation ids, parameter styles, tokens, and error bodies read from ``err.response`` as the SDK
hands them over. The packages are installed once with ``npm ci`` into a cache outside the repository
(``~/.cache/epilot-mock/sdk-<lock hash>``, or ``$EPILOT_MOCK_CACHE_DIR``). Skips only without node/npm.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.pytest_plugin import serve_in_thread
from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.loader import cache_dir

SDK = Path(__file__).parent / "sdk"
APIS = ("customer-portal", "entity", "pricing")

pytestmark = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")


def _modules() -> Path:
    """A node_modules for the pinned clients, installed once per lock file."""
    lock = (SDK / "package-lock.json").read_bytes()
    home = cache_dir() / f"sdk-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (home / "node_modules" / "@epilot" / "customer-portal-client").is_dir():
        home.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(SDK / name, home / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=home, check=True,
                       timeout=300, capture_output=True)
    return home / "node_modules"


@pytest.fixture(scope="module")
def sdk_run():
    modules = _modules()
    app = create_app(MockConfig(seed=0))
    tokens = {item["kind"]: item for item in reversed(app.services.tokens.listing())}
    portal = [t["token"] for t in app.services.tokens.listing() if t["kind"] == "portal_user"]
    env_tokens = {"org": app.services.tokens.token_for("org"), "portal": portal[0], "portal2": portal[1],
                  "org_id": tokens["portal_user"].get("org_id")}
    with serve_in_thread(app) as url:
        proc = subprocess.run(["node", str(SDK / "drive.js"), url], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "NODE_PATH": str(modules),
                                   "EPILOT_MOCK_TOKENS": json.dumps(env_tokens)})
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert results, f"the SDK driver reported nothing: {proc.stderr[-2000:]}"
    return results


@pytest.mark.parametrize("api", APIS)
def test_sdk_flows(sdk_run, api):
    flows = [r for r in sdk_run if r["api"] == api]
    assert len(flows) >= 2, f"{api}: too few flows ran"
    failed = [f"{r['flow']}: {r['error']}" for r in flows if not r["ok"]]
    assert failed == []


def test_a_failing_flow_is_reported(tmp_path):
    """The driver's verdict can fail: a flow against a server that is not there reports ok=false."""
    modules = _modules()
    proc = subprocess.run(["node", str(SDK / "drive.js"), "http://127.0.0.1:9", "pricing"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NODE_PATH": str(modules),
                                                       "EPILOT_MOCK_TOKENS": json.dumps({"org": "x"})})
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert results and not any(r["ok"] for r in results)
    assert proc.returncode == 1
