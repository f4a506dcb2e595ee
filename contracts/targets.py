"""Where contract checks go: the mock in-process (no network), or a server at a base URL.

A target knows its credentials per security scheme, whether it is read-only (a real server without
`--allow-writes`), and how to print a reproduction command without leaking secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

LOCAL_MOCK_URL = "http://127.0.0.1:8080"


@dataclass
class Target:
    base_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    read_only: bool = False
    token: str | None = None
    scheme_tokens: dict[str, str] = field(default_factory=dict)  # security scheme name -> credential
    kind_tokens: dict[str, str] = field(default_factory=dict)  # x-mock-token-kinds kind -> token
    app: Any = None  # an ASGI app for in-process runs

    def describe(self) -> str:
        if self.app is not None:
            return "in-process mock"
        mode = "read-only" if self.read_only else "read-write"
        return f"{self.base_url} ({mode})"

    def attach(self, schema: Any) -> None:
        if self.app is not None:
            schema.app = self.app

    def secrets(self) -> list[str]:
        out = [v for v in self.headers.values()]
        out += [self.token or "", *list(self.scheme_tokens.values())]
        if self.app is None:
            out += list(self.kind_tokens.values())
        return out

    def scheme_credentials(self, spec: dict[str, Any]) -> dict[str, Any]:
        """schemathesis `auth.openapi` config: one credential per security scheme of the spec."""
        schemes = ((spec.get("components") or {}).get("securitySchemes")) or {}
        out: dict[str, Any] = {}
        for name, scheme in schemes.items():
            credential = self.scheme_tokens.get(name)
            if credential is None:
                for kind in scheme.get("x-mock-token-kinds") or []:
                    credential = self.kind_tokens.get(kind)
                    if credential:
                        break
            if credential is None:
                credential = self.token or (self.kind_tokens.get("org") if not scheme.get("x-mock-token-kinds")
                                            else None)
            if not credential:
                continue
            kind = scheme.get("type")
            if kind == "apiKey":
                out[name] = {"api_key": credential}
            elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
                user, _, password = credential.partition(":")
                out[name] = {"username": user, "password": password}
            else:
                out[name] = {"bearer": credential}
        return out

    def curl(self, case: Any) -> str:
        return case.as_curl_command(base_url=self.base_url or LOCAL_MOCK_URL)


def in_process(app: Any) -> Target:
    """The bundled mock app itself; credentials are its demo tokens, one per token kind."""
    tokens = app.services.tokens
    kinds = {p["kind"] for p in tokens.listing()}
    return Target(app=app, kind_tokens={k: t for k in kinds if (t := tokens.token_for(k))})


@dataclass
class MockInfo:
    """What an epilot-mock tells about itself: demo tokens by kind, and its world's organization id."""

    tokens: dict[str, str]
    org_id: str = ""


def probe_mock_info(base_url: str, timeout: float = 3.0) -> MockInfo | None:
    """If ``base_url`` is an epilot-mock, its tokens and org id; otherwise None.

    One GET of ``/__admin/health`` (and ``/__admin/tokens``): a read, safe against real servers.
    """
    base = base_url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            health = client.get(f"{base}/__admin/health")
            data = health.json() if health.status_code == 200 else {}
            if not isinstance(data, dict) or data.get("status") != "ok" or "apis" not in data:
                return None
            tokens = client.get(f"{base}/__admin/tokens").json().get("tokens", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    out: dict[str, str] = {}
    for item in tokens:
        out.setdefault(item.get("kind", ""), item.get("token", ""))
    variables = data.get("variables")
    org_id = variables.get("org_id") if isinstance(variables, dict) else None
    return MockInfo(out, str(org_id or ""))


def probe_mock(base_url: str, timeout: float = 3.0) -> dict[str, str] | None:
    """If ``base_url`` is an epilot-mock, its demo tokens by kind; otherwise None."""
    info = probe_mock_info(base_url, timeout)
    return info.tokens if info is not None else None


def remote(base_url: str, *, token: str | None = None, headers: dict[str, str] | None = None,
           allow_writes: bool = False, read_only: bool = False, scheme_tokens: dict[str, str] | None = None,
           probe: bool = True) -> Target:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--base-url must be an http(s) URL, got '{base_url}'")
    mock_tokens = probe_mock(base_url) if probe else None
    writes = (allow_writes or mock_tokens is not None) and not read_only
    return Target(base_url=base_url.rstrip("/"), headers=dict(headers or {}), read_only=not writes, token=token,
                  scheme_tokens=dict(scheme_tokens or {}), kind_tokens=mock_tokens or {})
