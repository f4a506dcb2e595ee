"""What the ERP Integration behaviours share: their behaviour set, the access log every call for an
integration leaves, integration and use case lookups, and writing use cases with their history.

Records: ``erp_integration``, ``erp_use_case`` (parent: integration), ``erp_use_case_history``
(parent: use case), ``erp_access_log`` (parent: integration).
"""

from __future__ import annotations

import copy
import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject, choose_status
from mockserver.engine.jsontext import dumps

from ..erp import MappingError, PayloadError, compile_mapping
from . import BehaviourSet
from . import common as c

behaviours = BehaviourSet("erp-integration")
USE_CASE_FIELDS = ("name", "slug", "type", "enabled", "change_description", "configuration", "type_annotations",
                   "types_locked")
ACCESS_LOG_KIND = "erp_access_log"
HISTORY_KIND = "erp_use_case_history"


# -- registration with the access log ------------------------------------------------------------------

def erp_operation(operation_id: str, *, reads_only: bool = False, locks: bool = False) -> Callable[[Any], Any]:
    """Register a behaviour whose calls are kept in the access log of the integration they name.

    A write runs under the pipeline's write lock; when it is rejected, its changes are undone (its own
    savepoint) while its access log entry stays. Other operations (reads, ``reads_only`` POSTs, and
    calls that wait on the network, which take the lock themselves around their writes) write their
    access log entry under the lock; ``locks`` runs a read that changes state (an evaluation that
    records what it found) under it as a whole."""

    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        @functools.wraps(fn)
        def logged(call: Call) -> Any:
            if call.op.writes:
                return _locked_by_pipeline(call, fn)
            return _unlocked(call, fn, locks)

        behaviours(operation_id, reads_only=reads_only)(logged)
        return fn

    return register


def _locked_by_pipeline(call: Call, fn: Callable[[Any], Any]) -> Any:
    started = time.perf_counter()
    try:
        with c.store(call).transaction():
            result = fn(call)
    except Reject as exc:
        log_access(call, choose_status(call.op, exc.kind)[0], started, None)
        return call.error(exc.kind, exc.message)
    log_access(call, result.status, started, result)
    return result


async def _unlocked(call: Call, fn: Callable[[Any], Any], locks: bool) -> Any:
    started = time.perf_counter()
    try:
        if locks:
            async with call.services.atomic():
                result = fn(call)
                if inspect.isawaitable(result):
                    result = await result
        else:
            result = fn(call)
            if inspect.isawaitable(result):
                result = await result
    except Reject as exc:
        await _log_locked(call, choose_status(call.op, exc.kind)[0], started, None)
        raise
    await _log_locked(call, result.status, started, result)
    return result


async def _log_locked(call: Call, status: int, started: float, response: Any) -> None:
    if _named_integration(call) is not None:
        async with call.services.atomic():
            log_access(call, status, started, response)


def _named_integration(call: Call) -> str | None:
    named = call.params.get("integrationId")
    if named is None and isinstance(call.body, dict):
        named = call.body.get("integration_id")
    return named if isinstance(named, str) else None


def log_access(call: Call, status: int, started: float, response: Any) -> None:
    integration_id = _named_integration(call)
    st = c.store(call)
    if integration_id is None or st.record_get("erp_integration", integration_id) is None:
        return
    w = c.world(call)
    body = getattr(response, "body", None)
    length = len(body) if isinstance(body, bytes) else len(dumps(body)) if body is not None else 0
    entry = {"timestamp": w.now(), "environment": "epilot-mock", "service": "erp-integration-api",
             "request_id": w.new_id(), "method": call.op.method.upper(), "path": _path(call), "status": int(status),
             "response_latency_ms": int((time.perf_counter() - started) * 1000), "response_length": length,
             "token_id": call.principal.subject, "org_id": w.org_id,
             "origin": call.headers.get("origin") or "epilot-mock",
             "source_ip": call.headers.get("x-forwarded-for") or "127.0.0.1",
             "operation_id": call.op.id}
    st.record_put(ACCESS_LOG_KIND, entry["request_id"], entry, parent=integration_id)


def _path(call: Call) -> str:
    path = call.op.path
    for name, value in call.params.items():
        path = path.replace("{" + name + "}", str(value))
    return path


# -- lookups ---------------------------------------------------------------------------------------

def integration(call: Call, integration_id: str | None = None, *, kind: str = "not_found") -> dict[str, Any]:
    """The integration named by ``integration_id`` (or the path), or a ``kind`` rejection."""
    integration_id = integration_id or call.params["integrationId"]
    record = c.store(call).record_get("erp_integration", integration_id)
    if record is None:
        raise Reject(kind, f"integration {integration_id} not found")
    return record


def use_cases(call: Call, integration_id: str) -> list[dict[str, Any]]:
    return c.store(call).record_list("erp_use_case", parent=integration_id)


def with_use_cases(call: Call, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "use_cases": use_cases(call, record["id"])}


def use_case(call: Call) -> dict[str, Any]:
    """The use case of the path's integration, or 404."""
    owner = integration(call)
    record = c.store(call).record_get("erp_use_case", call.params["useCaseId"])
    if record is None or record.get("integrationId") != owner["id"]:
        raise Reject("not_found", f"use case {call.params['useCaseId']} not found")
    return record


def integration_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "use_cases"}


# -- use cases and their history ------------------------------------------------------------------

def check_use_case(record: dict[str, Any], where: str) -> None:
    """Validation the schema cannot express: inbound mappings must compile."""
    config = record.get("configuration") or {}
    if record.get("type") == "inbound":
        try:
            compile_mapping({"entities": config.get("entities") or [],
                             "meter_readings": config.get("meter_readings") or []})
        except MappingError as exc:
            raise Reject("bad_request", f"{where}.configuration: {exc}") from None


def store_use_case(call: Call, integration_id: str, body: dict[str, Any], existing: dict[str, Any] | None,
                   where: str) -> dict[str, Any]:
    """Create or change a use case; a change keeps the version it replaces in the history."""
    w = c.world(call)
    now = w.now()
    record = copy.deepcopy(existing) if existing else {"id": body.get("id") or w.new_id(), "created_at": now}
    for key in USE_CASE_FIELDS:
        if key in body:
            record[key] = body[key]
    if existing is not None and "change_description" not in body:
        record.pop("change_description", None)
    record.update({"integrationId": integration_id, "updated_at": now, "changed_by": call.principal.subject})
    record.setdefault("slug", str(record.get("name", "")).lower().replace(" ", "-"))
    check_use_case(record, where)
    if existing is not None:
        keep_history(call, existing)
    c.store(call).record_put("erp_use_case", record["id"], record, parent=integration_id)
    return record


def keep_history(call: Call, previous: dict[str, Any]) -> None:
    w = c.world(call)
    entry = {**copy.deepcopy(previous), "id": w.new_id(), "useCaseId": previous["id"], "history_created_at": w.now()}
    c.store(call).record_put(HISTORY_KIND, entry["id"], entry, parent=previous["id"])


def history(call: Call, use_case_id: str) -> list[dict[str, Any]]:
    return c.store(call).record_list(HISTORY_KIND, parent=use_case_id, newest_first=True)


def delete_integration_records(call: Call, integration_id: str) -> None:
    st = c.store(call)
    for record in use_cases(call, integration_id):
        st.record_delete("erp_use_case", record["id"])
    for mapping in st.record_list("erp_app_mapping", parent=integration_id):
        st.record_delete("erp_app_mapping", mapping["key"])
    st.record_delete("erp_integration", integration_id)


def page_after(items: list[dict[str, Any]], key: str, cursor: Any, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The page of ``items`` after the one whose ``key`` is ``cursor`` (from the start when unknown)."""
    if cursor:
        ids = [item.get(key) for item in items]
        if cursor in ids:
            items = items[ids.index(cursor) + 1:]
    limit = max(1, limit)
    return items[:limit], len(items) > limit


def limit_of(value: Any, default: int, maximum: int) -> int:
    """A page size from a request: the default when missing or below 1, at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return default
    return min(value, maximum)


async def simulate(call: Call, config: Any, payload: Any, fmt: str) -> dict[str, Any]:
    """The simulation response for an inbound configuration and a payload (400 / 422 as documented);
    the mapping runs in the JSONata sandbox (a runaway expression is a 422 naming the limit)."""
    try:
        result = await c.sandbox(call).map_event(config, payload, format=fmt)
    except PayloadError as exc:
        raise Reject("bad_request", f"payload: {exc}") from None
    except MappingError as exc:
        raise Reject("unprocessable", str(exc)) from None
    return result.to_simulation_response()
