"""Outbound requests the mock makes on a user's behalf (webhooks, proxies): where they may go.

Anyone who can configure a URL could otherwise aim the mock at itself (its own admin API), at a
cloud metadata service, or at whatever the host can reach. `OutboundPolicy` decides, from the URL
and every address its host resolves to (never the name alone):

- only ``http`` and ``https``;
- never the mock's own listening addresses and ports (any loopback or local address on a port it
  listens on; the ports are given at start and learnt from each request's ASGI ``server``);
- never link-local, unspecified, multicast or broadcast addresses, nor cloud metadata endpoints
  (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200, 168.63.129.16,
  ``metadata.google.internal`` and the like);
- never what ``deny`` lists (host names, ``*.suffix`` patterns, IP addresses or CIDRs);
- if ``allow`` is given, only what it lists (the same forms; a CIDR must hold every resolved
  address); it narrows the rules above and never lifts them.

Local receivers on other loopback ports stay allowed, because that is how developers test.

API::

    policy = OutboundPolicy(deny=["10.0.0.0/8"], allow=None, own=[("127.0.0.1", 8080)],
                            resolver=None)            # resolver(host, port) -> [address, ...]
    target = policy.check(url)                         # a Target, or raises OutboundRefused(reason)
    target = policy.check_addresses(url, addresses)    # the same, for a caller that resolved the host
    target = await policy.acheck(url)                  # the same, resolving off the event loop
    async with httpx.AsyncClient(transport=policy.transport(target), follow_redirects=False) as client:
        await client.post(url, ...)                    # connects to target.address, never re-resolves

``policy.transport()`` without a target checks each request itself (every redirect hop too, if a
caller follows them; callers should not). A pinned transport sends only to the address the check
resolved, so a name that resolves elsewhere a moment later (DNS rebinding) changes nothing; for
``https`` the certificate is still verified against the host name (SNI).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

Resolver = Callable[[str, int], Sequence[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS: Final = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                                   "instance-data.ec2.internal", "metadata.azure.internal",
                                   "metadata.tencentyun.com", "metadata.platformequinix.com"})
METADATA_NETWORKS: Final = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16",      # link-local: AWS, GCP, Azure, OpenStack metadata at 169.254.169.254
    "fd00:ec2::254/128",   # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "168.63.129.16/32",    # Azure host services (wire server)
))


class OutboundRefused(Exception):
    """The policy refuses this URL; ``reason`` says why, in words fit for a delivery record."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"outbound request to {url} refused: {reason}")


@dataclass(frozen=True)
class Target:
    """A checked URL: its host, port and every address the host resolved to (all allowed)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def address(self) -> str:
        """The address to connect to (the first resolved)."""
        return self.addresses[0]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (getaddrinfo), in the system's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]).split("%", 1)[0], None)
    return list(seen)


class OutboundPolicy:
    """Where outbound requests may go (see the module docstring)."""

    def __init__(self, *, deny: Iterable[str] = (), allow: Iterable[str] | None = None,
                 own: Iterable[tuple[str, int]] = (), resolver: Resolver | None = None) -> None:
        self.deny = _Rules(deny, "--outbound-deny")
        self.allow = _Rules(allow, "--outbound-allow") if allow is not None else None
        self.resolver = resolver or system_resolver
        self._own: set[tuple[str, int]] = set()
        self._own_ports: set[int] = set()
        self._own_addresses: set[Address] = set()
        self._local: frozenset[Address] | None = None
        for host, port in own:
            self.note_own((host, port))

    def note_own(self, server: Any) -> None:
        """Record an address the mock listens on (an ASGI ``scope["server"]``: ``(host, port)``)."""
        if not server:
            return
        key = (server[0], server[1])  # a list from some servers (TestClient), a tuple from others
        if key in self._own or key[1] is None:
            return
        host, port = key
        self._own.add(key)
        self._own_ports.add(int(port))
        address = _ip(str(host))
        if address is not None:
            self._own_addresses.add(address)

    # -- checks -----------------------------------------------------------------------------

    def check(self, url: str) -> Target:
        """The target of ``url`` with every resolved address checked. Raises OutboundRefused."""
        _scheme, host, port = _split(url)
        name = host.lower().rstrip(".")
        if name in METADATA_HOSTS:
            raise OutboundRefused(url, f"{host} is a cloud metadata service")
        if self.deny.matches_name(name):
            raise OutboundRefused(url, f"{host} is denied by --outbound-deny")
        if _ip(host) is not None:
            return self.check_addresses(url, [host])
        try:
            resolved = list(self.resolver(host, port))
        except (OSError, UnicodeError, ValueError) as exc:
            raise OutboundRefused(url, f"{host} does not resolve ({exc})") from None
        return self.check_addresses(url, resolved)

    def check_addresses(self, url: str, resolved: Sequence[str]) -> Target:
        """`check` for a caller that resolved the host itself: ``resolved`` are every address it got."""
        scheme, host, port = _split(url)
        name = host.lower().rstrip(".")
        if name in METADATA_HOSTS:
            raise OutboundRefused(url, f"{host} is a cloud metadata service")
        if self.deny.matches_name(name):
            raise OutboundRefused(url, f"{host} is denied by --outbound-deny")
        literal = _ip(host)
        addresses = [literal] if literal is not None else \
            [a for a in (_ip(str(r).split("%", 1)[0]) for r in resolved) if a is not None]
        if not addresses:
            raise OutboundRefused(url, f"{host} does not resolve to an IP address")
        for address in addresses:
            problem = self._refusal(address, port)
            if problem:
                shown = host if literal is not None else f"{host} ({address})"
                raise OutboundRefused(url, f"{shown} {problem}")
        if self.allow is not None and not self.allow.matches_name(name) \
                and not all(self.allow.matches_address(a) for a in addresses):
            raise OutboundRefused(url, f"{host} is not in --outbound-allow")
        return Target(url, scheme, host, port, tuple(str(a) for a in addresses))

    async def acheck(self, url: str) -> Target:
        """`check`, with name resolution on a thread so that the event loop keeps running."""
        if _ip(_split(url)[1]) is not None:
            return self.check(url)
        return await asyncio.to_thread(self.check, url)

    def _refusal(self, address: Address, port: int) -> str | None:
        plain = _plain(address)
        if any(plain in network for network in METADATA_NETWORKS):
            return "is a link-local or cloud metadata address"
        if plain.is_link_local:
            return "is a link-local address"
        if plain.is_unspecified:
            return "is the unspecified address (it reaches this host)"
        if plain.is_multicast or plain == ipaddress.IPv4Address("255.255.255.255"):
            return "is not a unicast address"
        if port in self._own_ports and (plain.is_loopback or plain in self._own_addresses or plain in self._locals()):
            return f"is this mock server itself (port {port})"
        if self.deny.matches_address(plain):
            return "is denied by --outbound-deny"
        return None

    def _locals(self) -> frozenset[Address]:
        """This machine's own addresses (best effort), for servers bound to every interface."""
        if self._local is None:
            found: set[Address] = set()
            try:
                for info in socket.getaddrinfo(socket.gethostname(), None):
                    address = _ip(str(info[4][0]).split("%", 1)[0])
                    if address is not None:
                        found.add(_plain(address))
            except OSError:
                pass
            self._local = frozenset(found)
        return self._local

    # -- sending ----------------------------------------------------------------------------

    def transport(self, target: Target | None = None, **options: Any) -> PinnedTransport:
        """An httpx transport that sends only where this policy allows: to ``target``'s checked
        address, or (without a target) to each request's URL checked afresh. ``options`` go to
        ``httpx.AsyncHTTPTransport``."""
        return PinnedTransport(self, target, httpx.AsyncHTTPTransport(**options))


class PinnedTransport(httpx.AsyncBaseTransport):
    """Connects to a checked address, keeping the host name for the ``Host`` header and TLS."""

    def __init__(self, policy: OutboundPolicy, target: Target | None, inner: httpx.AsyncBaseTransport) -> None:
        self.policy = policy
        self.target = target
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        target = self.target
        if target is None or (request.url.host, request.url.port or _default_port(request.url.scheme)) != \
                (target.host.strip("[]").lower(), target.port) or request.url.scheme != target.scheme:
            target = await self.policy.acheck(url)
        address = _ip(target.address)
        request.url = request.url.copy_with(host=str(address))
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Rules:
    """Host names, ``*.suffix`` patterns, addresses and CIDRs from an option."""

    def __init__(self, entries: Iterable[str] | None, option: str) -> None:
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        self.networks: list[Network] = []
        for raw in entries or ():
            for entry in str(raw).split(","):
                entry = entry.strip().lower().rstrip(".")
                if not entry:
                    continue
                try:
                    self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                    continue
                except ValueError:
                    pass
                if entry.startswith("*."):
                    self.suffixes.append(entry[1:])
                elif all(part and (part.isalnum() or set(part) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_"))
                         for part in entry.split(".")):
                    self.names.add(entry)
                else:
                    raise ValueError(f"{option}: {entry!r} is neither a host name, a *.suffix, an address nor a CIDR")

    def matches_name(self, name: str) -> bool:
        return name in self.names or any(name.endswith(suffix) for suffix in self.suffixes)

    def matches_address(self, address: Address) -> bool:
        plain = _plain(address)
        return any(plain in network or address in network for network in self.networks)


def _split(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(url, f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(url, "only http and https URLs are allowed")
    if not parts.hostname:
        raise OutboundRefused(url, "the URL has no host")
    return parts.scheme, parts.hostname, port or _default_port(parts.scheme)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def _plain(address: Address) -> Address:
    """An IPv6 address that stands for an IPv4 one (mapped ``::ffff:169.254.169.254``, or NAT64's
    ``64:ff9b::a9fe:a9fe``) as the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address
