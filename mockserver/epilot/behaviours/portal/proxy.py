"""The portal proxy: a portal user calls an integration's endpoint through epilot.

``portalProxyExecute`` names an ERP integration (``erp_integration`` record) and one of its use cases
by slug. Only a ``managed_call`` or ``secure_proxy`` use case with an endpoint in its configuration
(``configuration.url``, or ``configuration.call.url`` / ``configuration.request.url``) is called; anything
else is refused. The request leaves the mock the way every ERP request does (``erp.forwarding.send``):
under the app's outbound policy, to the address that was checked, with no redirects.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from ...erp.forwarding import ForwardFailed, ForwardRefused, send
from ...world.extension import outbound_dispatcher
from .. import common as c
from ..erp_proxy import integration_whitelist_refusal
from . import behaviours

PROXY_TYPES = ("managed_call", "secure_proxy")
TIMEOUT = 10.0


def _endpoint(owner: dict[str, Any], use_case: dict[str, Any]) -> tuple[str, str] | None:
    """A managed call's operation (method, and path under the connector's base URL, as the ERP
    Toolkit configures it), or an endpoint URL written into the use case's configuration."""
    config = use_case.get("configuration") or {}
    operation = config.get("operation")
    base = (owner.get("connector_config") or {}).get("base_url")
    if isinstance(operation, dict) and isinstance(operation.get("path"), str) and isinstance(base, str) and base:
        return str(operation.get("method") or "POST").upper(), base.rstrip("/") + "/" + operation["path"].lstrip("/")
    for holder in (config, config.get("call"), config.get("request")):
        if isinstance(holder, dict) and isinstance(holder.get("url"), str) and holder["url"]:
            return str(holder.get("method") or "POST").upper(), holder["url"]
    return None


def _use_case(call: Call, integration_id: str, slug: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The integration and its proxy use case ``slug``."""
    st = c.store(call)
    owner = st.record_get("erp_integration", integration_id)
    if owner is None:
        raise Reject("not_found", f"integration {integration_id} not found")
    for use_case in st.record_list("erp_use_case", parent=integration_id):
        if use_case.get("slug") == slug:
            kind = use_case.get("use_case_type") or use_case.get("type")
            if kind not in PROXY_TYPES:
                raise Reject("forbidden", f"use case {slug} is a {kind} use case, not a proxy "
                                          f"({', '.join(PROXY_TYPES)})")
            if use_case.get("enabled") is False:
                raise Reject("forbidden", f"use case {slug} is disabled")
            return owner, use_case
    raise Reject("not_found", f"integration {integration_id} has no use case {slug}")


async def _send(call: Call, method: str, url: str, payload: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """The one place a proxied request leaves the mock: to the configured endpoint only."""
    dispatcher = outbound_dispatcher(call.services)
    response = await send(method, url, headers={**headers, "content-type": "application/json"},
                          content=orjson.dumps(payload), timeout=TIMEOUT, resolver=dispatcher.resolver,
                          policy=dispatcher.policy)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"body": response.text}


@behaviours("portalProxyExecute", reads_only=True)
async def portal_proxy_execute(call: Call) -> Any:
    body = call.body
    owner, use_case = _use_case(call, body["integration_id"], body["use_case_slug"])
    endpoint = _endpoint(owner, use_case)
    if endpoint is None:
        raise Reject("forbidden", f"use case {use_case.get('slug')} configures no endpoint to call")
    method, url = endpoint
    if not url.startswith(("http://", "https://")):
        raise Reject("forbidden", f"use case {use_case.get('slug')} has no http(s) endpoint")
    refusal = integration_whitelist_refusal(call, owner, url)  # as for the integration's managed calls
    if refusal:
        raise Reject("forbidden", f"{url}: {refusal}; nothing was sent")
    headers = {"x-epilot-portal-user-id": c.portal_user_id(call) or "", "x-epilot-org-id": c.world(call).org_id,
               "x-epilot-contact-id": c.contact_id(call) or ""}
    try:
        status, data = await _send(call, method, url, body.get("payload") or {}, headers)
    except ForwardRefused as exc:
        raise Reject("forbidden", f"{exc}; nothing was sent") from None
    except ForwardFailed as exc:
        return call.json({"success": False, "data": {"error": str(exc), "code": exc.code}})
    if not isinstance(data, dict):
        data = {"result": data}
    return call.json({"success": 200 <= status < 300, "data": {**data, "status": status} if status >= 300 else data})
