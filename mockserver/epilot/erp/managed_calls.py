"""Managed calls of connector integrations: the request a managed call use case makes from a payload.

``request_mapping`` (JSONata on the payload; the payload itself without one) yields the request
variables. ``{{name}}`` (or ``{{a.b}}``) in the operation's path, headers and query parameters is
replaced by a variable; a ``body`` variable is the JSON body. ``{{env.NAME}}`` in the connector's auth
reads the integration's environment. The URL is the connector's ``base_url`` plus the path.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from .jsonata import UNDEFINED, JsonataError, compile_expression

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.$-]+)\s*\}\}")


class CallError(Exception):
    """The call cannot be built (a mapping error, a missing variable, no base URL)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _lookup(values: dict[str, Any], path: str) -> Any:
    value: Any = values
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return UNDEFINED
        value = value[part]
    return value


def fill(template: str, values: dict[str, Any], *, escape: bool = False) -> str:
    def one(match: re.Match[str]) -> str:
        value = _lookup(values, match[1])
        if value is UNDEFINED or value is None:
            raise CallError("REQUEST_MAPPING_FAILED", f"the placeholder {{{{{match[1]}}}}} has no value")
        text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
        return quote(text, safe="") if escape else text

    return _PLACEHOLDER.sub(one, template)


def evaluate(expression: str | None, data: Any, what: str) -> Any:
    if not expression:
        return data
    try:
        value = compile_expression(expression).evaluate(data)
    except JsonataError as exc:
        raise CallError(f"{what.upper()}_FAILED", f"{what}: {exc.message}") from None
    return None if value is UNDEFINED else value


async def evaluate_sandboxed(sandbox: Any, expression: str | None, data: Any, what: str) -> Any:
    """`evaluate` in the JSONata sandbox (time and memory limits), awaited off the event loop."""
    if not expression:
        return data
    try:
        value = await sandbox.evaluate(expression, data)
    except JsonataError as exc:
        raise CallError(f"{what.upper()}_FAILED", f"{what}: {exc.message}") from None
    return None if value is UNDEFINED else value


def build_request(config: dict[str, Any], connector: dict[str, Any], payload: Any, *,
                  variables: Any = UNDEFINED) -> dict[str, Any]:
    """``{method, url, headers, body?, variables}`` of a managed call (``variables``: the request
    mapping's result, when the caller evaluated it already). Raises CallError."""
    if variables is UNDEFINED:
        variables = evaluate(config.get("request_mapping"), payload if payload is not None else {}, "request_mapping")
    if not isinstance(variables, dict):
        raise CallError("REQUEST_MAPPING_FAILED", "request_mapping must yield an object of request variables")
    base = connector.get("base_url")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise CallError("CONNECTOR_NOT_CONFIGURED", "the integration's connector_config has no http(s) base_url")
    operation = config.get("operation") or {}
    path = fill(str(operation.get("path") or ""), variables, escape=True)
    url = base.rstrip("/") + "/" + path.lstrip("/")
    query = {k: fill(str(v), variables) for k, v in (operation.get("query_params") or {}).items()}
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    headers = {k: fill(str(v), variables) for k, v in (operation.get("headers") or {}).items()}
    out = {"method": operation.get("method", "GET"), "url": url, "headers": headers, "variables": variables}
    if "body" in variables and out["method"] not in ("GET", "DELETE"):
        out["body"] = variables["body"]
    return out


def auth_plan(connector: dict[str, Any], environment: dict[str, Any]) -> dict[str, Any]:
    """How to authenticate: ``{headers}`` to add, and for OAuth client credentials the ``token_request``."""
    auth = connector.get("auth") or {}
    values = {"env": environment}

    def resolved(value: Any) -> str:
        return fill(str(value), values) if value is not None else ""

    kind = auth.get("type")
    headers = {k: resolved(v) for k, v in (auth.get("headers") or {}).items()}
    if kind == "bearer" and auth.get("token"):
        headers["authorization"] = f"Bearer {resolved(auth['token'])}"
    elif kind == "api_key" and auth.get("api_key"):
        headers[auth.get("api_key_header") or "x-api-key"] = resolved(auth["api_key"])
    plan: dict[str, Any] = {"headers": headers}
    if kind == "oauth2_client_credentials" and auth.get("token_url"):
        form = {"grant_type": "client_credentials", "client_id": resolved(auth.get("client_id")),
                "client_secret": resolved(auth.get("client_secret"))}
        for key in ("scope", "audience", "resource"):
            if auth.get(key):
                form[key] = resolved(auth[key])
        form.update({k: resolved(v) for k, v in (auth.get("body_params") or {}).items()})
        url = resolved(auth["token_url"])
        if auth.get("query_params"):
            url += ("&" if "?" in url else "?") + urlencode({k: resolved(v) for k, v in auth["query_params"].items()})
        plan["token_request"] = {"url": url, "form": form}
    return plan
