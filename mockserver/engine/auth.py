"""Authentication per the operation's security requirements (bearer, basic, apiKey).

Tokens are looked up in a registry of demo principals. A security scheme may restrict the kinds
of token it accepts with the extension ``x-mock-token-kinds`` (for example ``[portal_user]``).
Modes: ``strict`` (known tokens only, the default), ``any`` (any non-empty credential; unknown
ones act as the default principal of the accepted kind) and ``off`` (no checks at all).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    kind: str  # "org", "portal_user", ... (free-form; behaviours interpret it)
    subject: str  # the user or client id
    name: str = ""
    claims: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


ANONYMOUS = Principal("anonymous", "")


class TokenRegistry:
    def __init__(self) -> None:
        self._tokens: dict[str, Principal] = {}
        self._defaults: dict[str, Principal] = {}
        # Consulted for unknown tokens: another worker process may have minted them (shared state file).
        self.fallback: Any = None

    def add(self, token: str, principal: Principal, *, default: bool = False) -> None:
        self._tokens[token] = principal
        if default or principal.kind not in self._defaults:
            self._defaults[principal.kind] = principal

    def remove(self, token: str) -> None:
        self._tokens.pop(token, None)

    def clear(self) -> None:
        self._tokens.clear()
        self._defaults.clear()

    def lookup(self, token: str) -> Principal | None:
        principal = self._tokens.get(token)
        if principal is None and self.fallback is not None:
            principal = self.fallback(token)
            if principal is not None:
                self._tokens[token] = principal
        return principal

    def default(self, kinds: list[str] | None) -> Principal:
        for kind in kinds or list(self._defaults):
            if kind in self._defaults:
                return self._defaults[kind]
        return Principal((kinds or ["org"])[0], "anonymous")

    def token_for(self, kind: str) -> str | None:
        """A token of that kind (the default principal's, if it has one)."""
        default = self._defaults.get(kind)
        for token, principal in self._tokens.items():
            if principal is default:
                return token
        return next((t for t, p in self._tokens.items() if p.kind == kind), None)

    def listing(self) -> list[dict[str, Any]]:
        return [
            {"token": token, "kind": p.kind, "subject": p.subject, "name": p.name, **p.claims}
            for token, p in self._tokens.items()
        ]


class AuthError(Exception):
    pass


class Authenticator:
    def __init__(self, registry: TokenRegistry, mode: str = "strict") -> None:
        if mode not in ("strict", "any", "off"):
            raise ValueError(f"unknown auth mode '{mode}' (strict, any, off)")
        self.registry = registry
        self.mode = mode

    def authenticate(self, security: list[dict[str, Any]], schemes: dict[str, Any], headers: Any,
                     query: dict[str, str] | None, cookies: dict[str, str] | None) -> Principal:
        """The principal of the first satisfied requirement; raises AuthError when none is."""
        if not security:
            return ANONYMOUS
        first_error: str | None = None
        optional = False
        for requirement in security:
            if not requirement:
                optional = True
                continue
            try:
                principal = ANONYMOUS
                for scheme_name in requirement:
                    principal = self._scheme(scheme_name, schemes.get(scheme_name) or {}, headers, query, cookies)
                return principal
            except AuthError as exc:
                first_error = first_error or str(exc)
        if optional:
            return ANONYMOUS
        if self.mode == "off":
            kinds = None
            for requirement in security:
                for scheme_name in requirement:
                    kinds = (schemes.get(scheme_name) or {}).get("x-mock-token-kinds")
            return self.registry.default(kinds)
        raise AuthError(first_error or "authentication required")

    def _scheme(self, name: str, scheme: dict[str, Any], headers: Any, query: dict[str, str] | None,
                cookies: dict[str, str] | None) -> Principal:
        kind = scheme.get("type")
        kinds = scheme.get("x-mock-token-kinds")
        if kind == "apiKey":
            where = scheme.get("in", "header")
            key = scheme.get("name", "")
            source = headers if where == "header" else (query or {}) if where == "query" else (cookies or {})
            credential = source.get(key)
            if not credential:
                raise AuthError(f"missing API key in {where} '{key}'")
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            credential = _authorization(headers, "basic")
            try:
                credential = base64.b64decode(credential, validate=True).decode() if credential else credential
            except (binascii.Error, UnicodeDecodeError):
                raise AuthError("malformed basic credentials") from None
            if not credential:
                raise AuthError("missing basic credentials")
        else:  # http bearer, oauth2, openIdConnect
            credential = _authorization(headers, "bearer")
            if not credential:
                raise AuthError("missing bearer token (Authorization: Bearer <token>)")
        principal = self.registry.lookup(credential)
        if principal is None:
            if self.mode == "strict":
                raise AuthError(f"unknown token for security scheme '{name}'")
            return self.registry.default(kinds)
        if kinds and principal.kind not in kinds and self.mode == "strict":
            raise AuthError(f"a {principal.kind} token is not accepted by security scheme '{name}' "
                            f"(accepts: {', '.join(kinds)})")
        return principal


def _authorization(headers: Any, scheme: str) -> str | None:
    value = headers.get("authorization")
    if not value:
        return None
    prefix, _, credential = value.strip().partition(" ")
    if prefix.lower() != scheme:
        return None
    return credential.strip() or None
