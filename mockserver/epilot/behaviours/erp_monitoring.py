"""ERP Integration API monitoring beyond the v2 log queries: v1 stats and time series, inbound and
outbound event queries, access logs, the v2 time series, the events of one event, traces by
correlation id, and spans reported from outside epilot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from ..erp import monitoring, traffic
from . import common as c
from .erp_common import behaviours, erp_operation, integration, use_cases
from .erp_inbound import EVENT_KIND


def _now(call: Call) -> datetime:
    return c.world(call).clock.now()


@erp_operation("queryInboundMonitoringEvents", reads_only=True)
def query_inbound_monitoring_events(call: Call) -> Any:
    owner = integration(call)
    return call.json(traffic.query_inbound(c.store(call), owner["id"], c.world(call).org_id, call.body or {}))


@erp_operation("queryOutboundMonitoringEvents", reads_only=True)
def query_outbound_monitoring_events(call: Call) -> Any:
    owner = integration(call)
    return call.json(traffic.query_outbound(c.store(call), owner["id"], c.world(call).org_id, call.body or {}))


@erp_operation("getMonitoringStats", reads_only=True)
def get_monitoring_stats(call: Call) -> Any:
    owner = integration(call)
    return call.json(traffic.stats(c.store(call), owner["id"], c.world(call).org_id, call.body or {}))


@erp_operation("getMonitoringTimeSeries", reads_only=True)
def get_monitoring_time_series(call: Call) -> Any:
    owner = integration(call)
    return call.json(traffic.time_series(c.store(call), owner["id"], c.world(call).org_id, call.body, _now(call)))


@erp_operation("getMonitoringTimeSeriesV2", reads_only=True)
def get_monitoring_time_series_v2(call: Call) -> Any:
    owner = integration(call)
    return call.json(monitoring.time_series_v2(c.store(call), owner["id"], call.body, _now(call)))


@erp_operation("queryAccessLogs", reads_only=True)
def query_access_logs(call: Call) -> Any:
    owner = integration(call)
    return call.json(traffic.query_access_logs(c.store(call), owner["id"], call.body or {}))


def _inbound_event(call: Call, integration_id: str, event_id: str | None) -> dict[str, Any] | None:
    if not event_id:
        return None
    record = c.store(call).record_get(EVENT_KIND, event_id)
    if record is None or record.get("integration_id") != integration_id:
        return None
    return {k: v for k, v in record.items() if v is not None}


@erp_operation("getAssociatedMonitoringEvents")
def get_associated_monitoring_events(call: Call) -> Any:
    owner = integration(call)
    event_id = call.params["eventId"]
    return call.json({"monitoring_events": monitoring.associated(c.store(call), owner["id"], event_id),
                      "inbound_event": _inbound_event(call, owner["id"], event_id)})


@erp_operation("getMonitoringTraceByCorrelation")
def get_monitoring_trace_by_correlation(call: Call) -> Any:
    owner = integration(call)
    found = monitoring.trace(c.store(call), owner["id"], call.params["correlationId"])
    if found is None:
        raise Reject("not_found", f"no monitoring events with correlation id {call.params['correlationId']}")
    first_inbound = next((s["event_id"] for s in found["spans"] if s.get("use_case_type") == "inbound"), None)
    found["inbound_event"] = _inbound_event(call, owner["id"], first_inbound)
    return call.json(found)


@erp_operation("ingestExternalMonitoringEvents")
def ingest_external_monitoring_events(call: Call) -> Any:
    owner = integration(call)
    slugs = {u["slug"]: u for u in use_cases(call, owner["id"]) if u.get("slug")}
    return call.json(monitoring.ingest_external(c.world(call), owner["id"], call.body["events"], slugs), status=202)

__all__ = ["behaviours"]  # this module fills the ERP Integration behaviour set
