"""Billing: billing events (installments, reimbursements), balance, billing accounts, and the
entities that pay through the same payment method (``entities-by-payment``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .metering import parse_time

PAYING_SCHEMAS = ("contract", "order", "billing_account")


def _day_start(day: str) -> datetime | None:
    try:
        return parse_time(day[:10] + "T00:00:00Z")
    except Reject:
        return None


@behaviours("getBillingEvents")
def get_billing_events(call: Call) -> Any:
    p = call.params
    offset, size = c.page_params(call)
    events = c.visible_of_schema(call, "billing_event")
    if p.get("entity_id"):
        wanted = set(p["entity_id"]) if isinstance(p["entity_id"], list) else {p["entity_id"]}
        events = [e for e in events if wanted & set(c.relation_ids(e.get("contract"))
                                                     + c.relation_ids(e.get("billing_account")))]
    if p.get("event_type"):
        events = [e for e in events if e.get("type") == p["event_type"]]
    if p.get("paid") is not None:
        events = [e for e in events if bool(e.get("paid_date")) == p["paid"]]
    # The filters are date-times; a due date counts from the start of its day (UTC).
    if p.get("date_after"):
        after = parse_time(p["date_after"])
        events = [e for e in events if (d := _day_start(e.get("due_date") or "")) is not None and d >= after]
    if p.get("date_before"):
        before = parse_time(p["date_before"])
        events = [e for e in events if (d := _day_start(e.get("due_date") or "")) is not None and d <= before]
    descending = str(p.get("sort") or "desc").lower() not in ("asc", "due_date:asc", "due_date asc")
    events.sort(key=lambda e: e.get("due_date") or "", reverse=descending)
    return call.json({"results": events[offset:offset + size], "hits": len(events)})


@behaviours("getCustomerBalance")
def get_customer_balance(call: Call) -> Any:
    accounts = c.visible_of_schema(call, "billing_account")
    if not accounts:
        raise Reject("not_found", "this customer has no billing account")
    cents = sum(int(a.get("balance") or 0) for a in accounts)
    return call.json({"balance": cents, "balance_decimal": cents / 100,
                      "balance_currency": accounts[0].get("balance_currency", "EUR")})


@behaviours("getBillingAccount")
def get_billing_account(call: Call) -> Any:
    account = c.load(call, call.params["id"], "billing_account")
    return call.json({"entity": account, "relations": [c.with_schema(e) for e in c.related(call, account)]})


def _payment_keys(entity: dict[str, Any]) -> set[str]:
    keys = set()
    for method in entity.get("payment_method") or []:
        data = method.get("data") if isinstance(method, dict) else None
        if isinstance(data, dict):
            for field in ("iban", "mandate_reference"):
                if data.get(field):
                    keys.add(f"{field}:{data[field]}")
    return keys


@behaviours("searchPaymentRelationsInEntities")
def search_payment_relations(call: Call) -> Any:
    """The caller's contracts, orders and billing accounts that pay like entity ``id``: related to it,
    or with the same IBAN or SEPA mandate."""
    entity = c.load(call, call.params["id"])
    keys = _payment_keys(entity)
    for account in c.related(call, entity, "billing_account"):
        keys |= _payment_keys(account)
    related = {e["_id"] for e in c.related(call, entity)}
    found = []
    for schema in PAYING_SCHEMAS:
        for other in c.visible_of_schema(call, schema):
            if other["_id"] != entity["_id"] and (other["_id"] in related or keys & _payment_keys(other)):
                found.append(c.with_schema(other))
    return call.json({"results": found, "hits": len(found)})
