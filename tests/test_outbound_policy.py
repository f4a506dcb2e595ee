"""The outbound policy: where webhooks and proxied calls may go. Names resolve through an injected
resolver (test names to forbidden addresses), so no packet leaves loopback; refusals come before
any connection is opened."""

from __future__ import annotations

import time

import httpx
import pytest

from contracts.serving import serve_in_thread
from mockserver.engine.app import create_app
from mockserver.engine.config import StartupError
from mockserver.engine.outbound import OutboundPolicy, OutboundRefused, PinnedTransport

from .conftest import ORG, PORTAL, checked

NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "receiver.test": ["127.0.0.1"],
    "erp.test": ["192.0.2.10"],
    "lan.test": ["10.1.2.3"],
    "cloud.test": ["169.254.169.254"],
    "v6metadata.test": ["fd00:ec2::254"],
    "mapped.test": ["::ffff:169.254.169.254"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
    "half.test": ["192.0.2.20", "169.254.169.254"],  # one good address is not enough: every one is checked
    "zero.test": ["0.0.0.0"],
    "self.test": ["127.0.0.1"],
}


class Resolver:
    def __init__(self, names=None):
        self.names = dict(NAMES if names is None else names)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.names:
            raise OSError(f"unknown test name {host}")
        return self.names[host]


def policy(**options) -> OutboundPolicy:
    options.setdefault("own", [("127.0.0.1", 8080)])
    return OutboundPolicy(resolver=options.pop("resolver", Resolver()), **options)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/__admin/reset", "this mock server itself (port 8080)"),
    ("http://localhost:8080/__admin/reset", "this mock server itself"),
    ("http://[::1]:8080/__admin/reset", "this mock server itself"),
    ("http://self.test:8080/x", "this mock server itself"),
    ("http://127.0.0.5:8080/x", "this mock server itself"),
    ("http://169.254.169.254/latest/meta-data/", "link-local or cloud metadata"),
    ("http://cloud.test/latest/meta-data/", "cloud.test (169.254.169.254) is a link-local or cloud metadata"),
    ("http://v6metadata.test/", "metadata"),
    ("http://[fd00:ec2::254]/latest/", "metadata"),
    ("http://mapped.test/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://nat64.test/", "metadata"),
    ("http://[fe80::1]/", "link-local"),
    ("http://100.100.100.200/latest/meta-data", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata service"),
    ("http://METADATA.google.internal./computeMetadata/v1/", "cloud metadata service"),
    ("http://half.test/hook", "half.test (169.254.169.254)"),
    ("http://0.0.0.0:9999/hook", "unspecified address"),
    ("http://zero.test:9999/hook", "unspecified address"),
    ("http://224.0.0.1/hook", "not a unicast address"),
    ("ftp://erp.test/hook", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http:///nohost", "no host"),
    ("http://nowhere.test/hook", "does not resolve"),
    ("http://erp.test:99999/hook", "not a valid URL"),
])
def test_refused_targets(url, reason):
    with pytest.raises(OutboundRefused) as caught:
        policy().check(url)
    assert reason in caught.value.reason
    assert caught.value.url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:9999/hook", "http://localhost:9999/hook",
                                 "http://receiver.test:9999/hook", "https://erp.test/hook", "http://lan.test/x",
                                 "http://[::1]:9999/hook"])
def test_local_receivers_and_remote_hosts_are_allowed(url):
    target = policy().check(url)
    assert target.addresses and target.port in (9999, 443, 80)


def test_names_of_metadata_services_are_refused_without_resolving():
    resolver = Resolver()
    with pytest.raises(OutboundRefused):
        policy(resolver=resolver).check("http://metadata.google.internal/")
    assert resolver.calls == []


def test_deny_adds_hosts_suffixes_and_networks():
    denied = policy(deny=["lan.test", "*.corp.test", "192.0.2.0/28"],
                    resolver=Resolver({**NAMES, "a.corp.test": ["198.51.100.7"]}))
    for url in ("http://lan.test/", "http://a.corp.test/", "http://erp.test/", "http://192.0.2.1/"):
        with pytest.raises(OutboundRefused, match="--outbound-deny"):
            denied.check(url)
    assert denied.check("http://receiver.test:9999/").address == "127.0.0.1"


def test_allow_restricts_and_never_lifts_the_built_in_refusals():
    allowed = policy(allow=["erp.test", "127.0.0.0/8", "169.254.0.0/16"])
    assert allowed.check("http://erp.test/hook").address == "192.0.2.10"
    assert allowed.check("http://127.0.0.1:9999/hook").address == "127.0.0.1"
    with pytest.raises(OutboundRefused, match="not in --outbound-allow"):
        allowed.check("http://lan.test/hook")
    with pytest.raises(OutboundRefused, match="metadata"):
        allowed.check("http://169.254.169.254/")
    with pytest.raises(OutboundRefused, match="this mock server itself"):
        allowed.check("http://127.0.0.1:8080/")


def test_unreadable_rules_stop_the_start():
    with pytest.raises(ValueError, match="--outbound-deny"):
        OutboundPolicy(deny=["not a host!"])
    with pytest.raises(StartupError, match="--outbound-allow"):
        create_app(checked(behaviours=False, outbound_allow=["exa mple"]))


def test_the_mock_learns_its_own_port_from_requests():
    learning = OutboundPolicy(resolver=Resolver())
    assert learning.check("http://127.0.0.1:8123/").address == "127.0.0.1"
    learning.note_own(["127.0.0.1", 8123])
    with pytest.raises(OutboundRefused, match="itself"):
        learning.check("http://localhost:8123/__admin/reset")


# -- sending: pinned to the checked address ----------------------------------------------------------


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _recording():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return seen, httpx.MockTransport(handler)


@pytest.mark.anyio
async def test_a_pinned_transport_connects_to_the_checked_address_only():
    resolver = Resolver({"erp.test": ["192.0.2.10"]})
    checker = policy(resolver=resolver)
    target = checker.check("https://erp.test/hook?x=1")
    resolver.names["erp.test"] = ["169.254.169.254"]  # DNS rebinding after the check changes nothing
    seen, inner = _recording()
    async with httpx.AsyncClient(transport=PinnedTransport(checker, target, inner), follow_redirects=False) as client:
        response = await client.post("https://erp.test/hook?x=1", json={"a": 1})
    assert response.status_code == 200
    assert resolver.calls == ["erp.test"]
    (sent,) = seen
    assert sent.url.host == "192.0.2.10" and sent.url.path == "/hook" and sent.url.query == b"x=1"
    assert sent.headers["host"] == "erp.test"
    assert sent.extensions["sni_hostname"] == "erp.test"


@pytest.mark.anyio
async def test_a_transport_without_target_checks_every_request_before_connecting():
    checker = policy()
    seen, inner = _recording()
    async with httpx.AsyncClient(transport=PinnedTransport(checker, None, inner)) as client:
        with pytest.raises(OutboundRefused, match="metadata"):
            await client.get("http://cloud.test/latest/meta-data/")
        with pytest.raises(OutboundRefused, match="itself"):
            await client.post("http://localhost:8080/__admin/reset")
        assert seen == []
        assert (await client.get("http://[::1]:9999/ok")).status_code == 200
    assert seen[0].url.host == "::1" and seen[0].headers["host"] == "[::1]:9999"


# -- webhook deliveries ----------------------------------------------------------------------------------


def _integration(client: httpx.Client, url: str) -> str:
    created = client.post("/v2/integrations", headers=ORG, json={"name": "attack", "use_cases": [
        {"name": "out", "slug": "out", "type": "outbound", "enabled": True, "configuration": {
            "event_catalog_event": "ContactUpdated", "mappings": [
                {"name": "hook", "enabled": True,
                 "delivery": {"type": "webhook", "webhook_id": "w", "webhook_url": url}}]}}]})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _deliveries(client: httpx.Client, integration: str) -> list[dict]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = client.get(f"/__admin/deliveries?integration_id={integration}").json()["deliveries"]
        if found and found[0]["status"] not in ("pending", "retrying"):
            return found
        time.sleep(0.05)
    raise AssertionError("no settled delivery")


@pytest.fixture
def sent(monkeypatch):
    """Every request the mock's HTTP transports send (none may go to a refused target)."""
    calls: list[str] = []
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def spy(self, request):
        calls.append(str(request.url))
        if request.url.host not in ("127.0.0.1", "::1", "localhost"):  # a policy failure must not leave loopback
            raise httpx.ConnectError("the test refuses to send off loopback", request=request)
        return await original(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", spy)
    return calls


@pytest.mark.network
def test_a_webhook_to_the_mocks_own_admin_api_is_refused(sent):
    app = create_app(checked())
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        created = client.post("/v1/entity/contact", headers=ORG, json={"first_name": "Still", "last_name": "Here"})
        assert created.status_code in (200, 201), created.text
        kept = created.json()["_id"] if "_id" in created.json() else created.json()["entity"]["_id"]
        integration = _integration(client, f"{base}/__admin/reset")
        contact = client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
        assert client.patch(f"/v1/entity/contact/{contact}", headers=ORG, json={"first_name": "X"}).status_code == 200
        (delivery,) = _deliveries(client, integration)
        assert delivery["status"] == "refused"
        assert "is this mock server itself" in delivery["error"] and delivery["attempts"] == []
        assert client.get(f"/v1/entity/contact/{kept}", headers=ORG).status_code == 200  # the world was not reset
    assert not [url for url in sent if "__admin" in url]


@pytest.mark.network
def test_a_webhook_to_a_metadata_address_is_refused_before_connecting(sent):
    app = create_app(checked())
    app.services.outbound.resolver = Resolver()
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        hooks = {url: _integration(client, url) for url in (
            "http://169.254.169.254/latest/meta-data/iam", "http://cloud.test/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/", "http://half.test/hook")}
        contact = client.get("/v2/portal/contact", headers=PORTAL).json()["entity"]["_id"]
        assert client.patch(f"/v1/entity/contact/{contact}", headers=ORG, json={"first_name": "Y"}).status_code == 200
        for url, integration in hooks.items():
            (delivery,) = _deliveries(client, integration)
            assert delivery["status"] == "refused", url
            assert "metadata" in delivery["error"] and delivery["attempts"] == []
        events = client.post(f"/v2/integrations/{hooks['http://cloud.test/latest/meta-data/']}/monitoring/events",
                             headers=ORG, json={"level": "error"}).json()["data"]
        assert any(e["code"] == "DELIVERY_REFUSED" for e in events)
    assert sent == []
