"""No 5xx from any input: the hostile inputs of the security review, one test each, then a corpus of
pathological inputs over every bundled operation and schemathesis in negative mode."""

from __future__ import annotations

import socket
import time
import warnings
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from contracts.serving import serve_in_thread
from contracts.targets import in_process
from mockserver.engine.app import create_app
from mockserver.engine.bundled import bundled_apis
from mockserver.engine.jsonbody import MAX_DEPTH, parse_json
from mockserver.engine.loader import bundle, iter_operations

from .conftest import ORG, PORTAL, checked


@pytest.fixture(scope="module")
def mock():
    with TestClient(create_app(checked()), raise_server_exceptions=False) as client:
        yield client


def _deep(levels: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * levels + b"]" * levels
    return b'{"a":' * levels + b"1" + b"}" * levels


# -- the review's attacks, one test each ----------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "auth"), [
    ("POST", "/v1/entity:search", ORG), ("POST", "/v1/pricing:compute", ORG), ("PATCH", "/v2/portal/contact", PORTAL),
    ("POST", "/v2/erp/updates/mapping_simulation", ORG), ("PUT", "/__admin/snapshot", {}),
    ("PUT", "/__admin/clock", {}), ("PUT", "/__admin/erp/environments?integration_id=x", {}),
])
def test_json_nested_500_levels_deep_is_a_400(mock, method, path, auth):
    for body in (_deep(500), _deep(500, "object"), _deep(300_000)):
        response = mock.request(method, path, content=body, headers={**auth, "content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert f"nested more than {MAX_DEPTH} levels" in response.text


def test_nesting_up_to_the_limit_is_read():
    value, problem = parse_json(_deep(MAX_DEPTH))
    assert problem is None and value is not None
    assert parse_json(_deep(MAX_DEPTH + 1))[1] is not None
    assert parse_json(b"[" + b"[1]," * 5000 + b"[]]")[1] is None  # wide is fine, only depth counts


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"9" * 5000, b"1" + b"0" * 400])
def test_a_number_outside_ieee_range_in_a_patch_body_is_a_400(mock, number):
    contact = mock.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    for path, auth in ((f"/v1/entity/contact/{contact}", ORG), ("/v2/portal/contact", PORTAL)):
        response = mock.patch(path, content=b'{"x": ' + number + b"}",
                              headers={**auth, "content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert "out of range" in response.text
    assert parse_json(b'{"x": 1e308, "y": 123456789012345678901234567890}')[1] is None  # in range: exact


@pytest.mark.parametrize("name", ["size", "from"])
def test_a_5000_digit_paging_parameter_is_a_400(mock, name):
    for value in ("9" * 5000, "-" + "9" * 5000, "1e400"):
        response = mock.get(f"/v2/portal/contract?{name}={value}", headers=PORTAL)
        assert response.status_code == 400, response.text
        assert "out of range" in response.json()["message"]
    for value in (str(2**63), "1e300", "9" * 300):  # large, but numbers all the same (the parameters are numbers)
        assert mock.get(f"/v2/portal/contract?{name}={value}", headers=PORTAL).status_code == 200


def test_integer_parameters_beyond_a_double_are_a_400(mock):
    """OpenAPI integers have no width: a large one is as valid as a JavaScript server reads it (paging
    clamps it); beyond a double's range it is a 400."""
    contact = mock.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
    for value in ("9" * 310, "9" * 5000, "-" + "9" * 400):
        response = mock.get(f"/v1/entity/contact/{contact}/relations?size={value}", headers=ORG)
        assert response.status_code == 400, response.text
        assert "out of range (beyond what a double holds)" in response.text
    for value in (str(2**63), str(2**70), "9" * 300):
        assert mock.get(f"/v1/entity/contact/{contact}/relations?size={value}", headers=ORG).status_code == 200


@pytest.mark.parametrize(("start", "end"), [
    ("2000-01-01", "0001-01-01T00:01:00%2B12:13"),  # before year 1 once shifted to UTC (the review's case)
    ("9999-12-31T23:59:00-12:00", "9999-12-31T23:59:00-12:00"),  # after year 9999
])
def test_dates_that_underflow_or_overflow_are_a_400(mock, start, end):
    response = mock.get(f"/v1/public/averageMarketPrice?from={start}&bidding_zone=AT&market=day_ahead&to={end}",
                        headers=ORG)
    assert response.status_code == 400, response.text
    assert "out of the range of dates" in response.text


@pytest.mark.network
def test_a_body_that_never_arrives_gets_408_and_its_connection_closed():
    app = create_app(checked(body_timeout=0.5))
    with serve_in_thread(app) as base:
        port = int(base.rsplit(":", 1)[1])
        for path, auth in (("/v1/entity:search", "demo-org-token"), ("/__admin/snapshot", None)):
            method = "PUT" if "snapshot" in path else "POST"
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        f"Content-Length: 1000\r\n" + (f"Authorization: Bearer {auth}\r\n" if auth else "") + "\r\n")
                sock.sendall(head.encode() + b'{"q": "')  # 7 of the 1,000 promised bytes
                answer = b""
                while chunk := sock.recv(65536):  # the server closes the connection after its answer
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"connection: close" in answer.lower()
            assert b"did not arrive within 0.5 s" in answer
        assert httpx.get(f"{base}/__admin/health").status_code == 200


# -- a corpus of pathological inputs over every operation -----------------------------------------------

BODIES: list[tuple[str, bytes, str]] = [
    ("deep arrays", _deep(500), "application/json"),
    ("deep objects", _deep(2000, "object"), "application/json"),
    ("huge float", b'{"x": 1e400, "size": 1e400, "q": 1e400}', "application/json"),
    ("huge integer", b'{"x": ' + b"9" * 5000 + b', "size": ' + b"9" * 30 + b"}", "application/json"),
    ("big integers", b'{"size": 99999999999999999999999999, "from": -99999999999999999999, "limit": 1e300}',
     "application/json"),
    ("long string", b'{"q": "' + b"a" * 500_000 + b'", "name": "' + b"\xc3\xa4" * 100_000 + b'"}', "application/json"),
    ("invalid UTF-8", b'{"q": "\xff\xfe\xfd", "name": "\xc3"}', "application/json"),
    ("lone surrogates", b'{"q": "\\ud800", "name": "\\udfff\\ud800x"}', "application/json"),
    ("NaN and Infinity", b'{"x": NaN, "y": Infinity, "z": -Infinity}', "application/json"),
    ("not JSON", b"{'a': 1,,}", "application/json"),
    ("scalars", b'"just a string"', "application/json"),
    ("null", b"null", "application/json"),
    ("control characters", b'{"q": "\x00\x01\x1f", "name": "a\\u0000b"}', "application/json"),
    ("multipart without boundary", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
     "multipart/form-data"),
    ("multipart garbage", b"\x00\xff" * 500, "multipart/form-data; boundary=zzz"),
    ("multipart unterminated", b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
     b"Content-Type: application/pdf\r\n\r\n%PDF", "multipart/form-data; boundary=b"),
    ("form with huge values", b"size=" + b"9" * 5000 + b"&q=%FF%FE&x=1e400", "application/x-www-form-urlencoded"),
]
QUERY_VALUES = ["9" * 5000, "-" + "9" * 30, "1e400", "NaN", "x" * 20_000, "%FF%FE%00", "0001-01-01T00:01:00%2B12:13",
                "9999-12-31T23:59:59-12:00", "[[[[[[", "%7B%22a%22%3A" * 200]
PATH_VALUES = ["%FF%FE", "x" * 5000, "..%2F..%2F__admin%2Freset", "9" * 5000]


def _operations() -> list[tuple[str, str, str, dict[str, Any], dict[str, str]]]:
    """(api, method, path, operation, headers) of every bundled operation, with a token it accepts."""
    app = create_app(checked(behaviours=False))
    target = in_process(app)
    out = []
    for api, root in bundled_apis().items():
        spec, _files = bundle(str(root))
        credentials = target.scheme_credentials(spec)
        for path, method, operation, _item in iter_operations(spec):
            security = operation.get("security", spec.get("security")) or []
            headers: dict[str, str] = {}
            for requirement in security:
                for scheme in requirement:
                    if "bearer" in credentials.get(scheme, {}):
                        headers = {"Authorization": f"Bearer {credentials[scheme]['bearer']}"}
                        break
                if headers:
                    break
            out.append((api, method.upper(), path, operation, headers))
    return out


def _fill(path: str, operation: dict[str, Any], value: str | None = None) -> str:
    """The path with each parameter set to ``value``, or to its example (else ``x``)."""
    examples = {p.get("name"): p.get("example", (p.get("schema") or {}).get("example"))
                for p in operation.get("parameters") or [] if isinstance(p, dict)}
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1:end]
        fill = value if value is not None else str(examples.get(name) or "x")
        out = out[:start] + fill + out[end + 1:]
    return out


def _query_names(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters") or [] if isinstance(p, dict) and p.get("in") == "query"]


@pytest.mark.network
@pytest.mark.timeout(600)
def test_pathological_inputs_to_every_operation_get_no_5xx():
    app = create_app(checked())
    server_errors: list[str] = []
    sent = 0
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        for api, method, path, operation, headers in _operations():
            requests: list[tuple[str, str, bytes | None, dict[str, str]]] = []
            if "requestBody" in operation:
                for name, body, ctype in BODIES:
                    requests.append((name, _fill(path, operation), body, {**headers, "content-type": ctype}))
            for name in _query_names(operation):
                for value in QUERY_VALUES:
                    requests.append((f"query {name}", f"{_fill(path, operation)}?{name}={value}", None, headers))
            if "{" in path:
                for value in PATH_VALUES:
                    requests.append(("path", _fill(path, operation, value), None, headers))
            for label, url, body, request_headers in requests:
                response = client.request(method, url, content=body, headers=request_headers)
                sent += 1
                if response.status_code >= 500:
                    server_errors.append(f"{api} {method} {path} [{label}]: {response.status_code} "
                                         f"{response.text[:200]}")
        assert client.get("/__admin/health").status_code == 200  # the server is alive afterwards
        assert client.get("/v2/portal/contract", headers=PORTAL).status_code == 200
    assert sent > 3000
    assert not server_errors, f"{len(server_errors)} server errors:\n" + "\n".join(server_errors[:40])


# -- schemathesis in negative mode -------------------------------------------------------------------------

NEGATIVE_EXAMPLES = 2


@pytest.mark.timeout(600)
def test_negative_mode_over_every_bundled_operation_gets_no_server_error():
    import schemathesis
    from schemathesis.engine import events, from_schema

    warnings.filterwarnings("ignore", module="schemathesis")
    app = create_app(checked())
    target = in_process(app)
    failures: list[str] = []
    operations: set[str] = set()
    for api, root in bundled_apis().items():
        spec, _files = bundle(str(root))
        config: dict[str, Any] = {
            "generation": {"mode": "negative", "max-examples": NEGATIVE_EXAMPLES}, "seed": 0,
            "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False},
                       "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
            "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
        }
        credentials = target.scheme_credentials(spec)
        if credentials:
            config["auth"] = {"openapi": credentials}
        schema = schemathesis.openapi.from_dict(spec, config=schemathesis.Config.from_dict(config))
        schema.app = app
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                operations.add(f"{api} {event.recorder.label}")
                for case_id, checks in event.recorder.checks.items():
                    for check in checks:
                        if check.status.name == "FAILURE":
                            node = event.recorder.cases.get(case_id)
                            curl = target.curl(node.value) if node is not None else ""
                            failures.append(f"{api} {event.recorder.label}: {check.name}\n  {curl[:300]}")
            elif isinstance(event, events.FatalError):
                failures.append(f"{api}: {event.exception}")
    assert not failures, "\n".join(failures[:20])
    assert len(operations) == sum(1 for _ in _operations())
    time.sleep(0)  # the app is still usable afterwards:
    with TestClient(app) as client:
        assert client.get("/__admin/health").status_code == 200
