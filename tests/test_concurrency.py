"""Many parallel writers lose no update and corrupt nothing: one process, and two workers on one file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from contracts.serving import free_port, serve_in_thread
from mockserver.engine.app import MockConfig, create_app

ORG = {"Authorization": "Bearer demo-org-token"}
THREADS, WRITES = 8, 12


def hammer(base_url: str, contact_id: str) -> tuple[list[str], list[int]]:
    """THREADS threads: each patches its own attributes of one shared contact and creates its own contacts."""

    def work(t: int) -> tuple[list[str], list[int]]:
        created, statuses = [], []
        with httpx.Client(base_url=base_url, headers=ORG, timeout=60) as client:
            for i in range(WRITES):
                r = client.patch(f"/v1/entity/contact/{contact_id}", json={f"note_{t}_{i}": f"{t}-{i}"})
                statuses.append(r.status_code)
                r = client.post("/v1/entity/contact", json={"first_name": f"Writer{t}", "last_name": f"N{i}",
                                                             "customer_number": f"W-{t}-{i}"})
                statuses.append(r.status_code)
                if r.status_code == 201:
                    created.append(r.json()["_id"])
        return created, statuses

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    return [i for ids, _ in results for i in ids], [s for _, codes in results for s in codes]


def check_world(base_url: str, contact_id: str, created: list[str]) -> None:
    with httpx.Client(base_url=base_url, headers=ORG, timeout=60) as client:
        contact = client.get(f"/v1/entity/contact/{contact_id}").json()["entity"]
        missing = [f"note_{t}_{i}" for t in range(THREADS) for i in range(WRITES)
                   if contact.get(f"note_{t}_{i}") != f"{t}-{i}"]
        assert not missing, f"lost updates: {missing[:10]} ({len(missing)})"
        found = client.post("/v1/entity:search", json={"q": "_schema:contact AND first_name:Writer*", "size": 1000})
        assert found.status_code == 200, found.text
        ids = {e["_id"] for e in found.json()["results"]}
        assert ids == set(created)
        for entity_id in created[:: max(1, len(created) // 10)]:
            assert client.get(f"/v1/entity/contact/{entity_id}").status_code == 200


def some_contact(base_url: str) -> str:
    r = httpx.post(f"{base_url}/v1/entity:search", json={"q": "_schema:contact", "size": 1}, headers=ORG)
    return r.json()["results"][0]["_id"]


@pytest.mark.network
def test_parallel_writers_in_one_process_lose_nothing():
    with serve_in_thread(create_app(MockConfig(seed=0))) as url:
        contact_id = some_contact(url)
        created, statuses = hammer(url, contact_id)
        assert set(statuses) == {200, 201}, sorted(set(statuses))
        assert len(created) == THREADS * WRITES == len(set(created))
        check_world(url, contact_id, created)


def start(state: Path, port: int, workers: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--workers", str(workers),
           "--state", str(state)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.network
def test_two_workers_share_one_state_file_and_keep_it_across_restarts(tmp_path: Path):
    state = tmp_path / "world.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(state, port, workers=2)
    try:
        contact_id = some_contact(url)
        created, statuses = hammer(url, contact_id)
        assert set(statuses) == {200, 201}, sorted(set(statuses))
        check_world(url, contact_id, created)
    finally:
        stop(proc)
    # Every acknowledged write survives a clean shutdown and a restart with one worker.
    proc = start(state, port, workers=1)
    try:
        check_world(url, contact_id, created)
    finally:
        stop(proc)
