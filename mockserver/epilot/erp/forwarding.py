"""The one way the ERP mock sends a request off the process, and the whitelists of secure proxies.

Webhook deliveries, automation triggers, secure proxy calls, managed calls and their OAuth token
requests all go through :func:`send`. It resolves the host once (with an injectable resolver), puts
the target through :func:`check_outbound_policy`, and connects to exactly the address it checked
(the ``Host`` header and TLS server name stay the URL's), so a DNS answer cannot change between the
check and the connection.

:func:`whitelist_refusal` says whether a secure proxy whitelist allows a URL: ``allowed_domains``
match host names exactly, or every subdomain for ``*.example.de``; ``allowed_ips`` hold addresses or
CIDR ranges and match URLs whose host is an IP address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mockserver.engine.outbound import OutboundPolicy, OutboundRefused

Resolver = Callable[[str, int], Awaitable[list[str]]]
DEFAULT_TIMEOUT = 10.0


class ForwardRefused(Exception):
    """The target may not be called (scheme, address range); nothing was sent."""


class ForwardFailed(Exception):
    """The request was sent (or tried) and failed: no connection, or no answer in time."""

    def __init__(self, message: str, *, code: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.timeout = timeout


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_outbound_policy(url: str, addresses: list[str] | str, policy: OutboundPolicy | None = None) -> str:
    """THE call site of the outbound policy (issue 11): may the mock send ``url`` to these addresses
    (every one the host resolved to)? The engine's policy decides (``mockserver/engine/outbound.py``:
    never the mock itself, link-local or cloud metadata addresses, nor what ``--outbound-deny`` lists);
    the address to connect to is returned. Raises ForwardRefused."""
    try:
        checked = [addresses] if isinstance(addresses, str) else addresses
        return (policy or OutboundPolicy()).check_addresses(url, checked).address
    except OutboundRefused as exc:
        raise ForwardRefused(f"{url}: {exc.reason}") from None


async def send(method: str, url: str, *, headers: dict[str, str] | None = None, content: bytes | None = None,
               timeout: float = DEFAULT_TIMEOUT, resolver: Resolver | None = None,
               policy: OutboundPolicy | None = None) -> Any:
    """Send one request; returns the ``httpx.Response``. Raises ForwardRefused or ForwardFailed."""
    import httpx

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForwardRefused(f"{url}: only http and https URLs with a host can be called")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ForwardRefused(f"{url}: the port is not a number") from None
    if _literal(host) is not None:
        addresses = [host]
    else:
        try:
            addresses = await (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise ForwardFailed(f"{host} did not resolve: {exc}", code="ENOTFOUND") from None
        if not addresses:
            raise ForwardFailed(f"{host} did not resolve", code="ENOTFOUND")
    address = check_outbound_policy(url, addresses, policy)
    shown = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{shown}:{port}", parts.path or "/", parts.query, ""))
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
    sent["host"] = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            return await client.request(method, pinned, headers=sent, content=content, extensions=extensions)
    except httpx.TimeoutException as exc:
        raise ForwardFailed(f"{type(exc).__name__}: no answer within {timeout:g} s", code="ETIMEDOUT",
                            timeout=True) from None
    except httpx.HTTPError as exc:
        code = "ECONNREFUSED" if isinstance(exc, httpx.ConnectError) else "EUPSTREAM"
        raise ForwardFailed(f"{type(exc).__name__}: {exc}"[:300], code=code) from None


def whitelist_refusal(whitelist: dict[str, Any], url: str) -> str | None:
    """None when the whitelist allows ``url``, else why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url} is not an http(s) URL"
    host = parts.hostname.lower().rstrip(".")
    ip = _literal(host)
    if ip is not None:
        for entry in whitelist.get("allowed_ips") or []:
            try:
                if ip in ipaddress.ip_network(str(entry).strip(), strict=False):
                    return None
            except ValueError:
                continue
        return f"{host} is not in allowed_ips"
    for entry in whitelist.get("allowed_domains") or []:
        pattern = str(entry).strip().lower().rstrip(".")
        if pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]):
            return None
    return f"{host} is not in allowed_domains"
