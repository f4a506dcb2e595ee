"""Two servers, two processes, one PostgreSQL database: each sees the other's writes at once,
concurrent writes to the same entity lose no update, the world is seeded once, and reset, snapshots
and the journal are shared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contracts.serving import free_port

ORG = {"Authorization": "Bearer demo-org-token"}
PORTAL = {"Authorization": "Bearer demo-portal-token"}
THREADS, WRITES = 6, 10


def spawn(url: str, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--state", url]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_healthy(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def two_servers(postgres_url):
    ports = [free_port(), free_port()]
    procs = [spawn(postgres_url, port) for port in ports]  # started together: the world is seeded once
    try:
        for proc, port in zip(procs, ports, strict=True):
            wait_healthy(proc, port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            stop(proc)


@pytest.mark.network
def test_two_servers_share_one_world(two_servers, postgres_url):
    a, b = two_servers
    world = [httpx.get(f"{u}/__admin/health").json()["world"] for u in (a, b)]
    assert world[0]["by_schema"] == world[1]["by_schema"]
    from mockserver.engine.app import MockConfig, create_app

    assert world[0]["entities"] == create_app(MockConfig()).services.hooks.health["world"]()["entities"]

    # A write acknowledged by one server is what the other answers next, in every API.
    created = httpx.post(f"{a}/v1/entity/contact", json={"first_name": "Ida", "last_name": "Geteilt"},
                         headers=ORG).json()
    assert httpx.get(f"{b}/v1/entity/contact/{created['_id']}", headers=ORG).json()["entity"]["first_name"] == "Ida"
    contact = httpx.get(f"{b}/v2/portal/contact", headers=PORTAL).json()["entity"]
    r = httpx.patch(f"{b}/v2/portal/contact", json={"first_name": "Sybille-Marie"}, headers=PORTAL)
    assert r.status_code == 200, r.text
    assert httpx.get(f"{a}/v1/entity/contact/{contact['_id']}", headers=ORG).json()["entity"]["first_name"] \
        == "Sybille-Marie"
    # A search on the other server finds it (its caches follow the shared version).
    found = httpx.post(f"{a}/v1/entity:search", json={"q": "_schema:contact AND last_name:Geteilt"}, headers=ORG)
    assert [e["_id"] for e in found.json()["results"]] == [created["_id"]]

    # Concurrent writes through both servers to one entity: no update is lost.
    def work(t: int) -> list[str]:
        ids = []
        with httpx.Client(base_url=(a, b)[t % 2], headers=ORG, timeout=60) as client:
            for i in range(WRITES):
                r = client.patch(f"/v1/entity/contact/{created['_id']}", json={f"note_{t}_{i}": f"{t}-{i}"})
                assert r.status_code == 200, r.text
                r = client.post("/v1/entity/contact", json={"first_name": f"Writer{t}", "last_name": f"N{i}"})
                assert r.status_code == 201, r.text
                ids.append(r.json()["_id"])
        return ids

    with ThreadPoolExecutor(THREADS) as pool:
        made = [i for ids in pool.map(work, range(THREADS)) for i in ids]
    assert len(set(made)) == THREADS * WRITES  # random ids: the replicas draw no duplicates
    for url in (a, b):
        entity = httpx.get(f"{url}/v1/entity/contact/{created['_id']}", headers=ORG).json()["entity"]
        missing = [f"note_{t}_{i}" for t in range(THREADS) for i in range(WRITES)
                   if entity.get(f"note_{t}_{i}") is None]
        assert not missing, f"lost updates: {missing}"
        hits = httpx.post(f"{url}/v1/entity:search", json={"q": "_schema:contact AND first_name:Writer*", "size": 100},
                          headers=ORG).json()
        assert {e["_id"] for e in hits["results"]} == set(made)

    # The journal is shared: each server lists the other's requests (a replica writes its entries
    # in batches, so they show up elsewhere within a moment), with secrets masked there too.
    def find(pattern: dict, at_least: int) -> list[dict]:
        deadline = time.monotonic() + 10
        while True:
            found = httpx.post(f"{a}/__admin/requests/find", json=pattern).json()["requests"]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    assert len(find({"operation_id": "createEntity"}, THREADS * WRITES + 1)) == THREADS * WRITES + 1
    httpx.post(f"{b}/v1/entity/contact", json={"first_name": "Geheim", "password": "hunter2"}, headers=ORG)
    [secret] = find({"body": {"jsonpath": "$.first_name", "equals": "Geheim"}}, 1)
    assert secret["request"]["json"]["password"] == "***"
    assert secret["request"]["headers"]["authorization"] == "Bearer ***"
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        stored = conn.execute("SELECT string_agg(entry, '') FROM journal").fetchone()[0]
    assert "hunter2" not in stored and "demo-org-token" not in stored

    # A snapshot taken from one server and a reset through the other: both are back at the seed.
    snapshot = httpx.get(f"{b}/__admin/snapshot").json()
    assert any(e["_id"] == created["_id"] for e in snapshot["entities"])
    assert httpx.post(f"{b}/__admin/reset").status_code == 200
    for url in (a, b):
        assert httpx.get(f"{url}/v1/entity/contact/{created['_id']}", headers=ORG).status_code == 404
        assert httpx.get(f"{url}/v2/portal/contact", headers=PORTAL).json()["entity"]["first_name"] \
            == contact["first_name"]
    assert httpx.post(f"{a}/__admin/requests/count", json={"operation_id": "createEntity"}).json()["count"] == 0
    # ...and the snapshot brings the writes back, for both.
    assert httpx.put(f"{a}/__admin/snapshot", json=snapshot).status_code == 200
    assert httpx.get(f"{b}/v1/entity/contact/{created['_id']}", headers=ORG).status_code == 200


def test_the_compose_file_puts_two_replicas_of_one_database_behind_one_port():
    """compose.yaml cannot run here (no image registry): check what it wires together."""
    import re
    from pathlib import Path
    from urllib.parse import urlsplit

    import yaml

    root = Path(__file__).resolve().parent.parent
    services = yaml.safe_load((root / "compose.yaml").read_text())["services"]
    replicas = {name: s for name, s in services.items() if "serve" in (s.get("command") or [])}
    assert len(replicas) == 2
    database = services["postgres"]["environment"]
    for service in replicas.values():
        command = service["command"]
        url = urlsplit(command[command.index("--state") + 1])
        assert url.scheme == "postgresql" and url.hostname == "postgres"
        assert (url.username, url.password, url.path.strip("/")) == (
            database["POSTGRES_USER"], database["POSTGRES_PASSWORD"], database["POSTGRES_DB"])
        assert command[command.index("--host") + 1] == "0.0.0.0" and command[command.index("--port") + 1] == "8080"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    proxy = services["proxy"]
    assert proxy["ports"] == ["8080:8080"]
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro"))
    conf = (root / mount.split(":")[0]).read_text()
    assert set(re.findall(r"server (\S+):8080;", conf)) == set(replicas)
    assert "listen 8080;" in conf and "proxy_buffering off;" in conf  # the console's live feed
