"""Who may use the admin API, and what it shows them.

- **Cross-origin requests are refused** (403, no CORS headers) on every ``/__admin`` path: a web
  page a developer happens to open must not reset their mock or read its tokens. A request whose
  ``Origin`` is not the server's own (or is ``null``) is cross-origin; requests without ``Origin``
  (curl, test code, server-side clients) are not.
- **With an admin token** (``--admin-token`` / ``EPILOT_MOCK_ADMIN_TOKEN``, or generated when the
  server binds beyond loopback), every admin path needs ``Authorization: Bearer <token>`` (401
  otherwise), except ``GET /__admin/health`` (liveness probes), the OpenAPI document, the docs and
  the console, which show no state that matters.
- **Secrets are masked** in admin reads (the snapshot, a plugin's environment values) unless the
  caller gave the admin token: string values under keys that name a secret (``WEBHOOK_SECRET``,
  ``client_secret``, ``password``, ``api_key``, credentials, private keys) read ``<masked>``.
  Importing a snapshot with masked values keeps the secrets the mock already has.
"""

from __future__ import annotations

import hmac
import re
from typing import Any, Final
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import Scope

from .response import MockResponse

MASK: Final = "<masked>"
ADMIN_SCOPE_KEY: Final = "mock.admin"  # True in the scope when the caller gave the admin token
OPEN_PATHS: Final = ("/openapi.json", "/docs", "/console", "/ui")  # and their subpaths: static pages
# Browsers cannot put headers on an EventSource or a download link: these GETs also take the token as
# ``?admin_token=`` (the journal masks it).
QUERY_TOKEN_PATHS: Final = ("/requests/stream", "/snapshot")
SECRET_KEY: Final = re.compile(r"secret|passw(or)?d|api[-_]?key|private[-_]?key|credential|access[-_]?key",
                               re.IGNORECASE)


def check_admin_request(scope: Scope, sub: str, token: str | None) -> MockResponse | None:
    """The refusal for this admin request, or None to serve it (marking the scope when the caller
    proved to hold the token)."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is not None and origin != _own_origin(scope, headers):
        return MockResponse(403, {"message": "the admin API does not answer cross-origin requests "
                                             f"(Origin: {origin[:100]})"})
    scope[ADMIN_SCOPE_KEY] = False
    if token is None:
        return None
    if _given_token(headers, token) or (scope["method"] == "GET" and sub in QUERY_TOKEN_PATHS
                                        and _query_token(scope, token)):
        scope[ADMIN_SCOPE_KEY] = True
        return None
    if _is_open(scope["method"], sub):
        return None
    return MockResponse(401, {"message": "the admin API needs the admin token: send 'Authorization: Bearer "
                                         "<token>' (printed at start, or set with --admin-token / "
                                         "EPILOT_MOCK_ADMIN_TOKEN)"},
                        headers={"WWW-Authenticate": 'Bearer realm="epilot-mock admin"'})


def reveals_secrets(scope: Scope) -> bool:
    """Whether this admin caller gave the admin token (and so sees secrets unmasked)."""
    return bool(scope.get(ADMIN_SCOPE_KEY))


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with the string values of secret-named keys replaced by :data:`MASK`."""
    if isinstance(value, dict):
        return {k: MASK if isinstance(v, str) and v and isinstance(k, str) and SECRET_KEY.search(k)
                else mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def restore_masked(value: Any, current: Any) -> Any:
    """``value`` with each :data:`MASK` replaced by what ``current`` holds at the same place (the key
    is dropped when it holds nothing there), so a masked export imports without losing secrets."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            before = current.get(key) if isinstance(current, dict) else None
            if item == MASK:
                if isinstance(before, str) and before != MASK:
                    out[key] = before
                continue
            out[key] = restore_masked(item, before)
        return out
    if isinstance(value, list):
        olds = current if isinstance(current, list) else []
        return [restore_masked(item, olds[i] if i < len(olds) else None) for i, item in enumerate(value)]
    return value


def restore_masked_snapshot(snapshot: Any, current: dict[str, Any]) -> Any:
    """:func:`restore_masked` over a store snapshot, matching entities by ``_id`` and records by kind
    and id (their order may differ)."""
    if not isinstance(snapshot, dict):
        return snapshot
    out = dict(snapshot)
    if isinstance(snapshot.get("entities"), list):
        by_id = {e.get("_id"): e for e in current.get("entities") or [] if isinstance(e, dict)}
        out["entities"] = [restore_masked(e, by_id.get(e.get("_id")) if isinstance(e, dict) else None)
                           for e in snapshot["entities"]]
    if isinstance(snapshot.get("records"), dict):
        old = {(kind, r.get("id")): r for kind, items in (current.get("records") or {}).items()
               for r in items if isinstance(r, dict)}
        out["records"] = {kind: [restore_masked(r, old.get((kind, r.get("id")))) if isinstance(r, dict) else r
                                 for r in items] if isinstance(items, list) else items
                          for kind, items in snapshot["records"].items()}
    return out


def _given_token(headers: Headers, token: str) -> bool:
    given = headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def _query_token(scope: Scope, token: str) -> bool:
    given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("admin_token", [""])[0]
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _is_open(method: str, sub: str) -> bool:
    if method == "GET" and sub == "/health":
        return True
    return method in ("GET", "HEAD") and any(sub == p or sub.startswith(p + "/") for p in OPEN_PATHS)


def _own_origin(scope: Scope, headers: Headers) -> str:
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("", None)
        host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
    return f"{scheme}://{host}"
