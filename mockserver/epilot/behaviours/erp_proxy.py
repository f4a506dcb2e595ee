"""ERP Integration API secure proxies and managed calls: whitelists (read, change, history), the
organization's proxies, forwarding a request through a proxy, and executing a connector's managed
call. Requests leave only through :func:`..erp.forwarding.send`, and only to URLs a whitelist allows."""

from __future__ import annotations

import base64
import copy
from typing import Any
from urllib.parse import urlencode

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.jsontext import dumps

from ..erp import managed_calls, typegen
from ..erp.forwarding import ForwardFailed, ForwardRefused, send, whitelist_refusal
from ..erp.monitoring import record_monitoring
from . import common as c
from .erp_common import behaviours, erp_operation, history, integration, keep_history, limit_of, use_case, use_cases

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-authenticate", "te", "trailer",
               "content-length", "content-encoding"}


def _secure_proxy(call: Call) -> dict[str, Any]:
    record = use_case(call)
    if record.get("type") != "secure_proxy":  # no such secure proxy: its whitelist does not exist
        raise Reject("not_found", f"use case {record['id']} is an {record.get('type')} use case, not a secure proxy")
    return record


def _whitelist(record: dict[str, Any]) -> dict[str, Any]:
    config = record.get("configuration") or {}
    return {"vpc_mode": config.get("vpc_mode", "static_ip"),
            "allowed_domains": list(config.get("allowed_domains") or []),
            "allowed_ips": list(config.get("allowed_ips") or [])}


@erp_operation("getSecureProxyWhitelist")
def get_secure_proxy_whitelist(call: Call) -> Any:
    return call.json(_whitelist(_secure_proxy(call)))


@erp_operation("updateSecureProxyWhitelist")
def update_secure_proxy_whitelist(call: Call) -> Any:
    record = _secure_proxy(call)
    keep_history(call, record)
    changed = copy.deepcopy(record)
    config = changed.setdefault("configuration", {"vpc_mode": "static_ip"})
    for key in ("allowed_domains", "allowed_ips"):
        if key in call.body:
            config[key] = [str(entry).strip() for entry in call.body[key]]
    changed.update({"updated_at": c.world(call).now(), "changed_by": call.principal.subject,
                    "change_description": "secure proxy whitelist updated"})
    c.store(call).record_put("erp_use_case", changed["id"], changed, parent=changed["integrationId"])
    return call.json(_whitelist(changed))


@erp_operation("listSecureProxyWhitelistHistory")
def list_secure_proxy_whitelist_history(call: Call) -> Any:
    record = _secure_proxy(call)
    entries = [e for e in history(call, record["id"]) if e.get("type") == "secure_proxy"]
    return call.json({"history": entries[:limit_of(call.params.get("limit"), 50, 500)]})


@erp_operation("listSecureProxies")
def list_secure_proxies(call: Call) -> Any:
    out = []
    for owner in c.store(call).record_list("erp_integration"):
        for record in use_cases(call, owner["id"]):
            if record.get("type") == "secure_proxy":
                summary = {"id": record["id"], "name": record.get("name", ""), "enabled": bool(record.get("enabled")),
                           **_whitelist(record), "integration_id": owner["id"],
                           "integration_name": owner.get("name") or ""}
                if record.get("slug"):
                    summary["slug"] = record["slug"]
                out.append(summary)
    return call.json({"secure_proxies": out})


def _timeout(call: Call) -> float:
    from ..world.extension import outbound_dispatcher

    return float(outbound_dispatcher(call.services).timeout)


def _resolver(call: Call) -> Any:
    from ..world.extension import outbound_dispatcher

    return outbound_dispatcher(call.services).resolver


def _policy(call: Call) -> Any:
    """The engine's outbound policy (the dispatcher carries it, with the resolver)."""
    from ..world.extension import outbound_dispatcher

    return outbound_dispatcher(call.services).policy


async def _monitor(call: Call, owner: dict[str, Any], record: dict[str, Any], level: str, code: str, message: str,
                   correlation_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """A monitoring entry, written under the write lock (these calls run without it while they wait)."""
    w = c.world(call)
    async with call.services.atomic():
        record_monitoring(w, integration_id=owner["id"], event_id=w.new_id(), use_case_id=record["id"],
                          use_case_type=record["type"], level=level, code=code, message=message,
                          correlation_id=correlation_id, detail=detail)


# -- secure proxy ---------------------------------------------------------------------------------

def _pick_proxy(call: Call, owner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    proxies = [u for u in use_cases(call, owner["id"]) if u.get("type") == "secure_proxy"]
    if body.get("use_case_id"):
        proxies = [u for u in proxies if u["id"] == body["use_case_id"]]
    elif body.get("use_case_slug"):
        proxies = [u for u in proxies if u.get("slug") == body["use_case_slug"]]
    if not proxies:
        raise Reject("forbidden", f"integration {owner['id']} has no such secure proxy use case")
    return proxies[0]


@erp_operation("secureProxy", reads_only=True)  # no write lock while the upstream answers
async def secure_proxy(call: Call) -> Any:
    body = call.body
    owner = integration(call, body["integration_id"], kind="forbidden")
    record = _pick_proxy(call, owner, body)
    name = record.get("slug") or record["id"]
    if not record.get("enabled", True):
        return call.json({"code": "SERVICE_UNAVAILABLE", "message": f"secure proxy {name} is disabled"}, status=503)
    refusal = whitelist_refusal(_whitelist(record), body["url"])
    if refusal:
        await _monitor(call, owner, record, "error", "NOT_WHITELISTED", f"{body['method']} {body['url']}: {refusal}")
        raise Reject("forbidden", f"{refusal} (whitelist of secure proxy {name}); nothing was sent")
    headers = dict(body.get("headers") or {})
    content = None
    if body.get("body") is not None:
        content = dumps(body["body"])
        if not any(k.lower() == "content-type" for k in headers):
            headers["content-type"] = "application/json"
    try:
        response = await send(body["method"], body["url"], headers=headers, content=content, timeout=_timeout(call),
                              resolver=_resolver(call),
                              policy=_policy(call))
    except ForwardRefused as exc:
        await _monitor(call, owner, record, "error", "REFUSED", str(exc))
        raise Reject("forbidden", f"{exc}; nothing was sent") from None
    except ForwardFailed as exc:
        await _monitor(call, owner, record, "error", exc.code, str(exc))
        if exc.timeout:
            return call.json({"code": "GATEWAY_TIMEOUT", "message": str(exc)}, status=504)
        return call.json({"message": "Upstream network error", "code": exc.code, "reason": str(exc)}, status=502)
    await _monitor(call, owner, record, "success" if response.status_code < 400 else "warning", "FORWARDED",
             f"{body['method']} {body['url']}: {response.status_code}")
    return call.json({"status_code": response.status_code,
                      "headers": {k.lower(): v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP},
                      "body": _response_body(response, body.get("response_type") or "json")})


def _response_body(response: Any, response_type: str) -> dict[str, Any]:
    if response_type == "binary":
        return {"base64": base64.b64encode(response.content).decode(),
                "content_type": response.headers.get("content-type", "application/octet-stream")}
    try:
        value = response.json()
    except ValueError:
        return {"text": response.text}
    return value if isinstance(value, dict) else {"data": value}


# -- managed calls --------------------------------------------------------------------------------

def _call_error(call: Call, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Any:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return call.json({"error": error}, status=status)


def integration_whitelist_refusal(call: Call, owner: dict[str, Any], url: str) -> str | None:
    proxies = [u for u in use_cases(call, owner["id"]) if u.get("type") == "secure_proxy" and u.get("enabled", True)]
    if not proxies:
        return "the integration has no enabled secure proxy use case whose whitelist allows it"
    refusals = [whitelist_refusal(_whitelist(p), url) for p in proxies]
    return None if any(r is None for r in refusals) else f"{refusals[0]} of any secure proxy of the integration"


@erp_operation("managedCallExecute", reads_only=True)  # likewise
async def managed_call_execute(call: Call) -> Any:
    body = call.body
    owner = integration(call, body["integration_id"])
    slug = call.params["slug"]
    record = next((u for u in use_cases(call, owner["id"]) if u.get("type") == "managed_call"
                   and slug in (u.get("slug"), u["id"])), None)
    if record is None:
        raise Reject("not_found", f"integration {owner['id']} has no managed call {slug}")
    if not record.get("enabled", True):
        raise Reject("forbidden", f"managed call {slug} is disabled")
    correlation = body.get("correlation_id")
    connector = owner.get("connector_config") or {}
    try:
        configuration = record.get("configuration") or {}
        variables = await managed_calls.evaluate_sandboxed(  # JSONata in the sandbox, off the event loop
            c.sandbox(call), configuration.get("request_mapping"),
            body.get("payload") if body.get("payload") is not None else {}, "request_mapping")
        request = managed_calls.build_request(configuration, connector, body.get("payload"), variables=variables)
        plan = managed_calls.auth_plan(connector, c.store(call).record_get("erp_environment", owner["id"]) or {})
    except managed_calls.CallError as exc:
        await _monitor(call, owner, record, "error", exc.code, exc.message, correlation)
        return _call_error(call, 400, exc.code, exc.message)
    targets = [request["url"]] + ([plan["token_request"]["url"]] if "token_request" in plan else [])
    for url in targets:
        refusal = integration_whitelist_refusal(call, owner, url)
        if refusal:
            await _monitor(call, owner, record, "error", "NOT_WHITELISTED", f"{url}: {refusal}", correlation)
            raise Reject("forbidden", f"{url}: {refusal}; nothing was sent")
    headers = {**request["headers"], **plan["headers"]}
    try:
        if "token_request" in plan:
            headers["authorization"] = "Bearer " + await _token(call, plan["token_request"])
        content = None
        if "body" in request:
            content = dumps(request["body"])
            headers.setdefault("content-type", "application/json")
        response = await send(request["method"], request["url"], headers=headers, content=content,
                              timeout=_timeout(call), resolver=_resolver(call),
                              policy=_policy(call))
    except ForwardRefused as exc:
        await _monitor(call, owner, record, "error", "REFUSED", str(exc), correlation)
        raise Reject("forbidden", f"{exc}; nothing was sent") from None
    except (ForwardFailed, managed_calls.CallError) as exc:
        code = exc.code if isinstance(exc, managed_calls.CallError) else \
            ("UPSTREAM_TIMEOUT" if exc.timeout else "UPSTREAM_UNREACHABLE")
        await _monitor(call, owner, record, "error", code, str(exc), correlation)
        return _call_error(call, 502, code, str(exc))
    try:
        data = response.json()
    except ValueError:
        data = response.text
    if response.status_code >= 400:
        await _monitor(call, owner, record, "error", "UPSTREAM_ERROR", f"the upstream answered {response.status_code}",
                 correlation, {"status": response.status_code})
        return _call_error(call, 502, "UPSTREAM_ERROR", f"the upstream answered {response.status_code}",
                           {"status": response.status_code, "body": data})
    mapping = (record.get("configuration") or {}).get("response_mapping")
    upstream = {"data": data, "status": response.status_code, "headers": dict(response.headers)}
    try:
        result = await managed_calls.evaluate_sandboxed(c.sandbox(call), mapping, upstream, "response_mapping") \
            if mapping else data
    except managed_calls.CallError as exc:
        await _monitor(call, owner, record, "error", exc.code, exc.message, correlation)
        return _call_error(call, 502, exc.code, exc.message)
    async with call.services.atomic():
        c.store(call).record_put(typegen.SAMPLE_KIND, record["id"], {"request": request["variables"],
                                                                     "response": result})
    await _monitor(call, owner, record, "success", "EXECUTED", f"{request['method']} {request['url']}: "
             f"{response.status_code}", correlation)
    return call.json(result if result is not None else {})


async def _token(call: Call, token_request: dict[str, Any]) -> str:
    response = await send("POST", token_request["url"], headers={"content-type": "application/x-www-form-urlencoded"},
                          content=urlencode(token_request["form"]).encode(), timeout=_timeout(call),
                          resolver=_resolver(call),
                              policy=_policy(call))
    try:
        token = response.json().get("access_token") if response.status_code < 400 else None
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise managed_calls.CallError("AUTH_FAILED", f"the token endpoint answered {response.status_code} "
                                                     "without an access_token")
    return token

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
