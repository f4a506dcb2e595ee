"""The portal proxy: a portal user calls an integration's endpoint through epilot.

``portalProxyExecute`` names an ERP integration (``erp_integration`` record) and one of its use cases
by slug. Only a ``managed_call`` or ``secure_proxy`` use case with an endpoint in its configuration
(``configuration.url``, or ``configuration.call.url`` / ``configuration.request.url``) is called; anything
else is refused. The request leaves the mock at one place, ``_send``, under the outbound policy.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours

PROXY_TYPES = ("managed_call", "secure_proxy")
TIMEOUT = 10.0


def _endpoint(use_case: dict[str, Any]) -> tuple[str, str] | None:
    config = use_case.get("configuration") or {}
    for holder in (config, config.get("call"), config.get("request")):
        if isinstance(holder, dict) and isinstance(holder.get("url"), str) and holder["url"]:
            return str(holder.get("method") or "POST").upper(), holder["url"]
    return None


def _use_case(call: Any, integration_id: str, slug: str) -> dict[str, Any]:
    st = c.store(call)
    if st.record_get("erp_integration", integration_id) is None:
        raise Reject("not_found", f"integration {integration_id} not found")
    for use_case in st.record_list("erp_use_case", parent=integration_id):
        if use_case.get("slug") == slug:
            kind = use_case.get("use_case_type") or use_case.get("type")
            if kind not in PROXY_TYPES:
                raise Reject("forbidden", f"use case {slug} is a {kind} use case, not a proxy "
                                          f"({', '.join(PROXY_TYPES)})")
            if use_case.get("enabled") is False:
                raise Reject("forbidden", f"use case {slug} is disabled")
            return use_case
    raise Reject("not_found", f"integration {integration_id} has no use case {slug}")


async def _send(method: str, url: str, payload: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """The one place a proxied request leaves the mock: to the configured endpoint only, no redirects."""
    import httpx

    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        response = await client.request(method, url, json=payload, headers=headers)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"body": response.text}


@behaviours("portalProxyExecute", reads_only=True)
async def portal_proxy_execute(call: Any) -> Any:
    import httpx

    body = call.body
    use_case = _use_case(call, body["integration_id"], body["use_case_slug"])
    endpoint = _endpoint(use_case)
    if endpoint is None:
        raise Reject("forbidden", f"use case {use_case.get('slug')} configures no endpoint to call")
    method, url = endpoint
    if not url.startswith(("http://", "https://")):
        raise Reject("forbidden", f"use case {use_case.get('slug')} has no http(s) endpoint")
    headers = {"x-epilot-portal-user-id": c.portal_user_id(call) or "", "x-epilot-org-id": c.world(call).org_id,
               "x-epilot-contact-id": c.contact_id(call) or ""}
    try:
        status, data = await _send(method, url, body.get("payload") or {}, headers)
    except httpx.HTTPError as exc:
        return call.json({"success": False, "data": {"error": f"{type(exc).__name__}: {exc}"}})
    if not isinstance(data, dict):
        data = {"result": data}
    return call.json({"success": 200 <= status < 300, "data": {**data, "status": status} if status >= 300 else data})
