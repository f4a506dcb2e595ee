"""The engine's runtime pieces: the app clock (and `/__admin/clock`), the scheduler, atomic writes
across awaits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.engine import BehaviourSet, Builder, Call, Clock, MockConfig, MockResponse, Plugin, create_app
from mockserver.engine.scheduler import Scheduler

from .conftest import PORTAL

NOTES = Path(__file__).parent / "plugin_example" / "notes.yaml"


def test_the_clock_follows_the_wall_until_pinned_and_advances():
    wall = [1_000.0]
    clock = Clock(lambda: wall[0])
    assert clock.time() == 1_000.0 and not clock.pinned
    clock.set(datetime(2027, 1, 31, 12, tzinfo=UTC))
    wall[0] += 50
    assert clock.iso() == "2027-01-31T12:00:00.000Z"  # pinned: stands still
    clock.advance(90)
    assert clock.iso() == "2027-01-31T12:01:30.000Z"
    clock.set(datetime(2027, 1, 31, 12, tzinfo=UTC), running=True)
    wall[0] += 2
    assert clock.iso() == "2027-01-31T12:00:02.000Z"  # running from there
    clock.reset()
    assert clock.time() == wall[0]


def test_admin_clock_moves_what_behaviours_see(fresh_client):
    pinned = fresh_client.put("/__admin/clock", json={"now": "2027-03-01T08:00:00Z"}).json()
    assert pinned["now"] == "2027-03-01T08:00:00.000Z" and pinned["pinned"] is True
    contract = fresh_client.get("/v2/portal/contract", headers=PORTAL).json()["data"][0]["_id"]
    patched = fresh_client.patch(f"/v2/portal/contract/{contract}", json={"installment_amount": 4200}, headers=PORTAL)
    assert patched.json()["data"]["_updated_at"] == "2027-03-01T08:00:00.000Z"
    assert fresh_client.put("/__admin/clock", json={"advance_seconds": 86400}).json()["now"].startswith("2027-03-02")
    assert fresh_client.get("/__admin/health").json()["clock"]["now"].startswith("2027-03-02")
    assert fresh_client.delete("/__admin/clock").json()["pinned"] is False
    bad = fresh_client.put("/__admin/clock", json={"now": "next tuesday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["message"]
    assert fresh_client.put("/__admin/clock", json={"advance_seconds": "1e999"}).status_code == 400


def test_manual_scheduler_runs_due_jobs_in_order_without_sleeping():
    clock = Clock(lambda: 0.0)
    scheduler = Scheduler(clock, manual=True)
    ran: list[tuple[str, float]] = []

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            ran.append((name, clock.time()))
            if name == "first":  # a job may schedule the next one (a retry with backoff)
                scheduler.call_later(5, job("retry"))
        return run

    async def drive() -> None:
        scheduler.call_later(10, job("second"))
        scheduler.call_later(1, job("first"))
        assert await scheduler.advance(0.5) == 0
        assert await scheduler.advance(20) == 3
        assert scheduler.pending == 0

    asyncio.run(drive())
    assert ran == [("first", 1.0), ("retry", 6.0), ("second", 10.0)]
    assert clock.time() == 20.5


def test_real_scheduler_fires_after_the_delay():
    async def drive() -> list[str]:
        scheduler = Scheduler(Clock())
        ran: list[str] = []

        async def job() -> None:
            ran.append("done")

        scheduler.call_later(0.01, job)
        assert scheduler.pending == 1
        for _ in range(200):
            if ran:
                break
            await asyncio.sleep(0.01)
        await scheduler.drain()
        return ran

    assert asyncio.run(drive()) == ["done"]


def _counter_plugin(log: list[str]) -> Plugin:
    """A notes API whose create reads a counter, awaits, then writes it back: a lost update if
    two creates interleave."""
    bset = BehaviourSet("notes")

    @bset("createNote")
    async def create(call: Call) -> MockResponse:
        store = call.services.store
        assert store is not None
        current = (store.record_get("counter", "n") or {}).get("n", 0)
        log.append(f"read {current}")
        await asyncio.sleep(0.02)  # e.g. an outbound call in the middle of the write
        store.record_put("counter", "n", {"n": current + 1})
        if call.body["text"] == "fail":
            raise ValueError("boom")
        return call.json({"id": str(current + 1), "text": call.body["text"]}, 201)

    @bset("getNote")
    def get(call: Call) -> MockResponse:
        store = call.services.store
        assert store is not None
        return call.json({"id": "n", "text": str((store.record_get("counter", "n") or {}).get("n", 0))})

    def install(builder: Builder) -> None:
        builder.store()
        builder.behaviours(bset)

    return Plugin(name="counter", install=install, apis={"notes": NOTES})


def test_an_async_write_is_atomic_across_its_awaits_and_rolls_back_on_failure():
    import httpx

    log: list[str] = []
    app = create_app(MockConfig(specs=["notes"]), plugins=[_counter_plugin(log)])

    async def drive() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            posts = [client.post("/notes", json={"text": f"t{i}"}) for i in range(5)]
            statuses = [r.status_code for r in await asyncio.gather(*posts)]
            failed = await client.post("/notes", json={"text": "fail"})
            assert failed.status_code == 500
            count = (await client.get("/notes/n")).json()["text"]
        assert count == "5"  # five creates, no lost update; the failed one rolled back
        return statuses

    assert asyncio.run(drive()) == [201] * 5
    assert log[:5] == ["read 0", "read 1", "read 2", "read 3", "read 4"]


@pytest.mark.parametrize("internal", ["_set_defaults", "_build_middleware_stack"])
def test_the_connexion_internals_the_adapter_relies_on_exist(internal):
    """If a Connexion release renames these, this fails before anything else does."""
    from connexion.middleware.main import ConnexionMiddleware
    from connexion.spec import OpenAPISpecification

    owner = OpenAPISpecification if internal == "_set_defaults" else ConnexionMiddleware
    assert callable(getattr(owner, internal, None))


def test_the_connexion_adapter_builds_a_stack_and_routes_through_it():
    from connexion.middleware.abstract import ROUTING_CONTEXT

    from mockserver.engine.connexion_adapter import PreparedSpecification, base_path

    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "https://api.example/v9"}], "paths": {}}
    prepared = PreparedSpecification(spec)
    assert prepared.raw is spec and prepared.base_path == "/v9" and base_path(spec) == "/v9"
    assert ROUTING_CONTEXT == "connexion_routing"
    app = create_app(MockConfig(specs=[str(NOTES)], behaviours=False))
    with TestClient(app) as client:
        assert client.post("/notes", json={"text": "x"}, headers={"Authorization": "Bearer demo-org-token"}
                           ).status_code == 201
