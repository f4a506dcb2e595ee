"""Latency and connection faults, measured over loopback with real clients against a real server."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time

import httpx
import pytest
from starlette.testclient import TestClient

from contracts.serving import serve_in_thread
from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.config import StartupError
from mockserver.engine.faults import ConnectionFault, parse_delay

PATH = "/v1/entity/schemas"  # listSchemas, answered from the spec


@pytest.fixture(scope="module")
def server():
    app = create_app(MockConfig(specs=["entity"], behaviours=False, auth="off", validate_responses=True))
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def quiet_server(server, caplog):
    """The server, and afterwards a check that uvicorn never logged an error (no 500 on a broken connection)."""
    caplog.set_level(logging.WARNING)
    yield server
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


def raw_exchange(url: str, headers: str = "", timeout: float = 10) -> bytes:
    """One HTTP/1.1 request over a plain socket; every byte the server sent until it closed."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{headers}\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def override(url: str, **fields) -> dict:
    r = httpx.post(f"{url}/__admin/overrides", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


def causes(exc: BaseException) -> list[BaseException]:
    out = []
    while exc is not None:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


@pytest.mark.network
@pytest.mark.parametrize("how", ["prefer", "override"])
def test_reset_is_a_tcp_reset_before_any_byte(quiet_server, how):
    url, _ = quiet_server
    headers = {"Prefer": "fault=reset"} if how == "prefer" else {}
    if how == "override":
        override(url, id="reset", match={"operation_id": "listSchemas"}, answer={"fault": "reset"}, times=2)
    with pytest.raises(httpx.ReadError) as caught:
        httpx.get(url + PATH, headers=headers, timeout=10)
    assert any(isinstance(e, ConnectionResetError) or getattr(e, "errno", None) == errno.ECONNRESET
               for e in causes(caught.value)), repr(caught.value)
    with pytest.raises(ConnectionResetError):  # a plain socket: RST, not an orderly close, and no byte first
        raw_exchange(url, "".join(f"{k}: {v}\r\n" for k, v in headers.items()))
    assert httpx.get(url + PATH).status_code == 200  # the next call (the override is used up) is answered


@pytest.mark.network
@pytest.mark.parametrize("how", ["prefer", "override"])
def test_empty_closes_the_connection_without_a_byte(quiet_server, how):
    url, _ = quiet_server
    headers = {"Prefer": "fault=empty"} if how == "prefer" else {}
    if how == "override":
        override(url, id="empty", match={"method": "GET", "path": PATH}, answer={"fault": "empty"}, times=2)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.get(url + PATH, headers=headers, timeout=10)
    assert raw_exchange(url, "".join(f"{k}: {v}\r\n" for k, v in headers.items())) == b""
    assert httpx.get(url + PATH).status_code == 200


@pytest.mark.network
@pytest.mark.parametrize("how", ["prefer", "override"])
def test_malformed_cuts_the_body_after_a_valid_status_line(quiet_server, how):
    url, _ = quiet_server
    whole = httpx.get(url + PATH)
    headers = {"Prefer": "fault=malformed"} if how == "prefer" else {}
    if how == "override":
        override(url, id="malformed", match={"operation_id": "listSchemas"}, answer={"fault": "malformed"}, times=2)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        httpx.get(url + PATH, headers=headers, timeout=10)
    received = raw_exchange(url, "".join(f"{k}: {v}\r\n" for k, v in headers.items()))
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    length = int(next(line.split(":", 1)[1] for line in lines if line.lower().startswith("content-length:")))
    assert length == len(whole.content) and 0 < len(body) < length
    assert whole.content.startswith(body)  # the real answer, cut in the middle


@pytest.mark.network
def test_malformed_cuts_an_overrides_own_answer(quiet_server):
    url, _ = quiet_server
    override(url, id="bad-gateway", match={"operation_id": "listSchemas"}, times=1,
             answer={"status": 401, "body": {"status": 401, "error": "expired"}, "fault": "malformed"})
    received = raw_exchange(url)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ") and b'{"status":401,"error":"expired"}'.startswith(body) and body


@pytest.mark.network
def test_timeout_sends_nothing_within_the_clients_timeout(quiet_server):
    url, _ = quiet_server
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url + PATH, headers={"Prefer": "fault=timeout"}, timeout=0.5)
    assert time.monotonic() - started < 60  # the client gave up on its own timeout, not on a server close
    assert httpx.get(url + PATH, timeout=10).status_code == 200  # the held connection holds up nobody
    # With a delay, the connection is held that long and then closed without a byte.
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.get(url + PATH, headers={"Prefer": "fault=timeout, delay=200"}, timeout=30)


@pytest.mark.network
def test_a_documented_error_status_per_operation(quiet_server):
    url, app = quiet_server
    override(url, id="unauthorized", match={"operation_id": "listSchemas"}, answer={"status": 401}, times=1)
    r = httpx.get(url + PATH)
    op = app.services.operation("listSchemas")
    documented = op.responses["401"].pick_media()
    assert r.status_code == 401 and r.headers["content-type"] == documented.content_type
    assert app.services.operation("listSchemas").api.generator.validator(documented.schema).is_valid(r.json())


@pytest.mark.network
def test_a_delayed_request_does_not_delay_a_concurrent_one(quiet_server):
    url, _ = quiet_server
    finished: list[str] = []

    async def call(client: httpx.AsyncClient, name: str, headers: dict[str, str], after: float) -> None:
        await asyncio.sleep(after)
        r = await client.get(url + PATH, headers=headers)
        assert r.status_code == 200
        finished.append(name)

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(call(client, "slow", {"Prefer": "delay=3000"}, 0),
                                 call(client, "fast", {}, 0.3), call(client, "fast", {}, 0.6))

    asyncio.run(main())
    # One worker, one event loop: a blocking sleep would make the fast calls wait for the slow one.
    assert finished == ["fast", "fast", "slow"]


def test_delays_from_prefer_overrides_and_latency_are_waited_in_full():
    app = create_app(MockConfig(specs=["entity"], behaviours=False, auth="off", latency="150ms"))
    assert app.services.latency is not None and app.services.latency.describe() == "150ms..150ms"
    with TestClient(app) as client:
        client.get(PATH)
        client.get(PATH, headers={"Prefer": "delay=300ms"})  # the request's own delay wins over --latency
        client.post("/__admin/overrides", json={"match": {"operation_id": "listSchemas"}, "answer": {"delay": "0.25s"}})
        client.get(PATH)
        client.get("/__admin/health")  # the admin API is never delayed
        entries = client.get("/__admin/requests").json()["requests"]
    durations = [e["duration_ms"] for e in entries]
    assert durations[0] >= 140 and durations[1] >= 290 and durations[3] >= 240
    assert durations[4] < 140
    assert entries[0]["override"] is None and entries[3]["override"].startswith("override-")


def test_latency_ranges_are_drawn_per_request_and_seeded():
    from mockserver.engine.faults import Latency

    a, b = Latency(0.05, 0.3, seed=1), Latency(0.05, 0.3, seed=1)
    draws = [a.sample() for _ in range(50)]
    assert draws == [b.sample() for _ in range(50)] and len(set(draws)) > 40
    assert all(0.05 <= d <= 0.3 for d in draws)


@pytest.mark.parametrize("text,expected", [("800", (0.8, 0.8)), ("800ms", (0.8, 0.8)), ("1.5s", (1.5, 1.5)),
                                           ("50ms..300ms", (0.05, 0.3)), ("100..500", (0.1, 0.5)), (250, (0.25, 0.25))])
def test_delay_forms(text, expected):
    assert parse_delay(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["fast", "300ms..50ms", "10m", "-5", "999s", True])
def test_bad_delays_are_refused(text):
    with pytest.raises(ValueError):
        parse_delay(text)


def test_bad_latency_stops_the_start_and_bad_preferences_get_400():
    with pytest.raises(StartupError, match="--latency"):
        create_app(MockConfig(specs=["entity"], behaviours=False, latency="soon"))
    with TestClient(create_app(MockConfig(specs=["entity"], behaviours=False, auth="off"))) as client:
        for prefer, says in (("delay=soon", "not a duration"), ("fault=explode", "not a fault"),
                             ("delay=600s", "at most")):
            r = client.get(PATH, headers={"Prefer": prefer})
            assert r.status_code == 400 and says in r.json()["error"], r.text


def test_in_process_clients_get_the_fault_as_an_exception():
    with TestClient(create_app(MockConfig(specs=["entity"], behaviours=False, auth="off"))) as client:
        for kind in ("reset", "empty", "timeout", "malformed"):
            with pytest.raises(ConnectionFault) as caught:
                client.get(PATH, headers={"Prefer": f"fault={kind}"})
            assert caught.value.kind == kind
        assert client.get(PATH).status_code == 200
