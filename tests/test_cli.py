"""The command line: specs list/check, and `serve` as a real server on a loopback port."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from contracts.serving import free_port
from mockserver.cli import CONFIG_ENV, app_from_env, main

from .conftest import ROOT, corpus
from .test_specs import inventory

EXE = [sys.executable, "-m", "mockserver.cli"]


def test_specs_list_prints_each_api_with_its_operation_count():
    result = CliRunner().invoke(main, ["specs", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    counts = {api: len(ops) for api, ops in inventory().items()}
    for api, count in counts.items():
        assert f"{count} operations" in lines[api]
    assert f"{sum(counts.values())} operations" in lines["total"]


def test_specs_check_passes_good_and_fails_bad_specs(tmp_path: Path):
    good = CliRunner().invoke(main, ["specs", "check", corpus("recursive.yaml")])
    assert good.exit_code == 0 and "ok: " in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n"
                   "        '200':\n          description: ok\n          content:\n            application/json:\n"
                   "              schema: {type: integer}\n              example: nope\n")
    result = CliRunner().invoke(main, ["specs", "check", str(bad)])
    assert result.exit_code == 1 and "example does not validate" in result.output


def test_serve_rejects_an_unreadable_spec_with_one_line(tmp_path: Path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("openapi: [\n")
    proc = subprocess.run([*EXE, "serve", "--spec", str(bad), "--port", str(free_port())], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.yaml" in errors[0] and "invalid YAML" in errors[0]


@pytest.mark.network
def test_serve_answers_over_http_and_stops_cleanly():
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*EXE, "serve", "--port", str(port), "--seed", "3"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stderr.read() if proc.poll() is not None else "no start") from None
                time.sleep(0.1)
        assert health.json()["operations"] == sum(len(ops) for ops in inventory().values())
        assert httpx.get(f"{base}/v1/entity/schemas").status_code == 401
        r = httpx.get(f"{base}/v1/entity/schemas", headers={"Authorization": "Bearer demo-org-token"})
        assert r.status_code == 200 and r.json()["results"]
        r = httpx.post(f"{base}/v1/pricing:compute", headers={"Authorization": "Bearer demo-org-token"},
                       content=b"{broken", timeout=5)
        assert r.status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0


def test_serve_latency_is_checked_and_reaches_the_app(monkeypatch):
    result = CliRunner().invoke(main, ["serve", "--latency", "soon", "--port", str(free_port())])
    assert result.exit_code == 2 and "--latency" in result.output and "not a duration" in result.output

    monkeypatch.setenv(CONFIG_ENV, json.dumps({"config": {"behaviours": False, "latency": "50ms..300ms"}}))
    assert app_from_env().services.latency.describe() == "50ms..300ms"
