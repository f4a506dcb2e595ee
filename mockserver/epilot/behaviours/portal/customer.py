"""The end customer's data: contact, orders, opportunities, contracts, billing, entities, files."""

from __future__ import annotations

from typing import Any

from mockserver.engine.errors import Reject
from mockserver.engine.store.base import Query

from .. import common as c
from ..entity_query import QueryError, parse_query, parse_sort
from . import behaviours


def _contact(call: Any) -> dict[str, Any]:
    contact_id = c.contact_id(call)
    if not contact_id:
        raise Reject("not_found", "this portal user has no contact")
    return c.load(call, contact_id, "contact", kind="not_found")


def _files(call: Any, entity: dict[str, Any]) -> list[dict[str, Any]]:
    return c.related(call, entity, "file")


def _relations(call: Any, entity: dict[str, Any], exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [c.with_schema(e) for e in c.related(call, entity) if e["_schema"] not in exclude]


def _listing(call: Any, schema: str) -> Any:
    offset, size = c.page_params(call)
    items = c.visible_of_schema(call, schema, limit=size, offset=offset)
    return call.json({"data": items})


def _update(call: Any, schema: str) -> Any:
    entity = c.load(call, call.params["id"], schema)
    return call.json({"data": c.save(call, c.apply_patch(call, entity, call.body or {}))})


# -- contact and portal user ---------------------------------------------------------------------

@behaviours("getContact")
def get_contact(call: Any) -> Any:
    contact = _contact(call)
    return call.json({"entity": contact, "files": _files(call, contact),
                      "relations": _relations(call, contact, ("file",))})


@behaviours("updateContact")
def update_contact(call: Any) -> Any:
    contact = _contact(call)
    return call.json({"data": c.save(call, c.apply_patch(call, contact, call.body or {}))})


@behaviours("getECPContact")
def get_ecp_contact(call: Any) -> Any:
    return call.json({"data": c.load(call, call.params["id"], "contact", kind="not_found")})


@behaviours("getPortalUser")
def get_portal_user(call: Any) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("unauthorized", "the portal user of this token no longer exists")
    return call.json({"data": user})


@behaviours("updatePortalUser")
def update_portal_user(call: Any) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("unauthorized", "the portal user of this token no longer exists")
    changes = {k: v for k, v in (call.body or {}).items() if k not in ("email", "registration_status")}
    return call.json({"data": c.save(call, c.apply_patch(call, user, changes))})


# -- orders, opportunities, requests ------------------------------------------------------------

@behaviours("getAllOrders")
def get_all_orders(call: Any) -> Any:
    return _listing(call, "order")


@behaviours("getOrder")
def get_order(call: Any) -> Any:
    order = c.load(call, call.params["id"], "order")
    return call.json({"entity": order, "files": _files(call, order),
                      "relations": _relations(call, order, ("file",)),
                      "products": c.related(call, order, "product")})


@behaviours("updateOrder")
def update_order(call: Any) -> Any:
    return _update(call, "order")


@behaviours("postOrderAcceptance")
def post_order_acceptance(call: Any) -> Any:
    order = c.load(call, call.params["id"], "order")
    if order.get("status") not in (None, "quote", "draft", "open_for_acceptance"):
        raise Reject("bad_request", f"order {order['_id']} is '{order.get('status')}', not an offer to accept")
    accepted = call.body["decision"] == "accept"
    changes = {"status": "placed" if accepted else "cancelled"}
    return call.json({"data": c.save(call, c.apply_patch(call, order, changes))})


@behaviours("getAllOpportunities")
def get_all_opportunities(call: Any) -> Any:
    return _listing(call, "opportunity")


@behaviours("getOpportunity")
def get_opportunity(call: Any) -> Any:
    opportunity = c.load(call, call.params["id"], "opportunity")
    return call.json({"entity": opportunity, "orders": c.related(call, opportunity, "order"),
                      "files": _files(call, opportunity),
                      "relations": _relations(call, opportunity, ("file", "order"))})


@behaviours("updateOpportunity")
def update_opportunity(call: Any) -> Any:
    return _update(call, "opportunity")


@behaviours("getSearchResultsForOpportunities")
def search_opportunities(call: Any) -> Any:
    offset, size = c.page_params(call)
    body = call.body or {}
    items = c.visible_of_schema(call, "opportunity")
    needle = str(body.get("q") or body.get("search") or "").lower()
    if needle:
        items = [o for o in items if needle in str(o).lower()]
    return call.json({"data": items[offset:offset + size]})


@behaviours("getAllRequests")
def get_all_requests(call: Any) -> Any:
    offset, size = c.page_params(call)
    opportunities = c.visible_of_schema(call, "opportunity")
    orders = c.visible_of_schema(call, "order")
    merged = sorted(opportunities + orders, key=lambda e: e.get("_created_at") or "", reverse=True)
    return call.json({"hits": len(merged), "results": merged[offset:offset + size]})


# -- contracts ----------------------------------------------------------------------------------

@behaviours("getAllContracts")
def get_all_contracts(call: Any) -> Any:
    return _listing(call, "contract")


@behaviours("getContract")
def get_contract(call: Any) -> Any:
    contract = c.load(call, call.params["id"], "contract")
    return call.json({"entity": contract, "orders": c.related(call, contract, "order"),
                      "meters": c.related(call, contract, "meter"), "files": _files(call, contract),
                      "relations": _relations(call, contract, ("file", "order", "meter"))})


@behaviours("updateContract")
def update_contract(call: Any) -> Any:
    return _update(call, "contract")


@behaviours("addContractByIdentifiers")
def add_contract_by_identifiers(call: Any) -> Any:
    body = call.body or {}
    try:
        if body.get("contract"):
            matches = c.store(call).find_by("contract", body["contract"])
        else:  # identified by another entity, e.g. {"meter": {"meter_number": ...}}: its contracts
            matches = []
            for schema, identifiers in body.items():
                if isinstance(identifiers, dict) and identifiers:
                    matches = [k for e in c.store(call).find_by(schema, identifiers)
                               for k in _all_related(call, e, "contract")]
                    break
    except ValueError:
        matches = []  # identifiers no entity can have (odd attribute names) identify nothing
    if not matches:
        raise Reject("not_found", "no contract matches these identifiers")
    contact = _contact(call)
    for contract in matches:
        c.add_relation(contact, "contracts", contract)
    c.save(call, c.apply_patch(call, contact, {}))
    return call.json({"data": matches, "hits": len(matches)})


def _all_related(call: Any, entity: dict[str, Any], schema: str) -> list[dict[str, Any]]:
    """Related entities of a schema, whoever they belong to (the caller is claiming them)."""
    st = c.store(call)
    ids = [r.target for r in st.relations(entity["_id"])]
    ids += [r.source for r in st.relations(entity["_id"], reverse=True)]
    return [e for e in st.get_many(ids).values() if e["_schema"] == schema]


# -- billing -------------------------------------------------------------------------------------

@behaviours("getBillingEvents")
def get_billing_events(call: Any) -> Any:
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
    if p.get("date_after"):
        events = [e for e in events if (e.get("due_date") or "") >= p["date_after"][:10]]
    if p.get("date_before"):
        events = [e for e in events if (e.get("due_date") or "") <= p["date_before"][:10]]
    descending = str(p.get("sort") or "desc").lower() not in ("asc", "due_date:asc", "due_date asc")
    events.sort(key=lambda e: e.get("due_date") or "", reverse=descending)
    return call.json({"results": events[offset:offset + size], "hits": len(events)})


@behaviours("getCustomerBalance")
def get_customer_balance(call: Any) -> Any:
    accounts = c.visible_of_schema(call, "billing_account")
    if not accounts:
        raise Reject("not_found", "this customer has no billing account")
    cents = sum(int(a.get("balance") or 0) for a in accounts)
    return call.json({"balance": cents, "balance_decimal": cents / 100,
                      "balance_currency": accounts[0].get("balance_currency", "EUR")})


@behaviours("getBillingAccount")
def get_billing_account(call: Any) -> Any:
    account = c.load(call, call.params["id"], "billing_account")
    return call.json({"entity": account, "relations": _relations(call, account)})


# -- generic entity access --------------------------------------------------------------------------

@behaviours("getPortalUserEntity")
def get_portal_user_entity(call: Any) -> Any:
    body = call.body
    if body.get("entity_id"):
        entity = c.load(call, body["entity_id"], body["slug"])
    else:  # no id: the customer's (first) entity of that schema, as the portal's detail pages ask
        items = c.visible_of_schema(call, body["slug"], limit=1)
        if not items:
            raise Reject("not_found", f"this customer has no {body['slug']}")
        entity = items[0]
    fields = body.get("fields")
    if fields:
        keep = set(fields) | {"_id", "_schema", "_title", "_org", "_created_at", "_updated_at"}
        entity = {k: v for k, v in entity.items() if k in keep}
    return call.json({"result": c.with_schema(entity)})


@behaviours("searchPortalUserEntities", reads_only=True)
def search_portal_user_entities(call: Any) -> Any:
    body = call.body
    slugs = body["slug"] if isinstance(body["slug"], list) else [body["slug"]]
    offset = int(body.get("from") or 0)
    size = int(body["size"]) if body.get("size") is not None else 25
    try:
        schemas, clause = parse_query(body.get("q"))
        sort = parse_sort(body.get("sort"))
    except QueryError as exc:
        raise Reject("bad_request", f"invalid query: {exc}") from None
    visible = c.visible_ids(call)
    query = Query(schemas=tuple(slugs) + schemas, all_of=(clause,) if clause else (),
                  ids=tuple(sorted(visible)) if visible is not None else None, sort=sort, offset=offset, limit=size)
    try:
        page = c.store(call).query(query)
    except ValueError as exc:
        raise Reject("bad_request", str(exc)) from None
    return call.json({"results": [c.with_schema(e) for e in page.items], "hits": page.total,
                      "pagination": {"from": offset, "size": size, "total": page.total,
                                     "has_more": offset + len(page.items) < page.total}})


# -- files ----------------------------------------------------------------------------------------

@behaviours("saveEntityFile")
def save_entity_file(call: Any) -> Any:
    body = call.body
    target = c.load(call, body["entity_id"], body["entity_type"])
    created = []
    for item in body["files"]:
        s3ref = item["s3ref"]
        attributes = {"filename": item["filename"], "access_control": item.get("access_control", "private"),
                      "s3ref": {"bucket": str(s3ref.get("bucket")), "key": str(s3ref.get("key"))},
                      "type": "document", "_tags": ["portal-upload"]}
        file_entity = c.create_entity(call, "file", attributes)
        c.add_relation(target, "files", file_entity)
        created.append(file_entity)
    c.save(call, c.apply_patch(call, target, {}))
    return call.json({"createdFiles": created}, status=201)


@behaviours("deleteEntityFile")
def delete_entity_file(call: Any) -> Any:
    body = call.body
    target = c.load(call, body["entity_id"], body["entity_type"])
    st = c.store(call)
    for file_id in body["file_entity_ids"]:
        file_entity = c.load(call, file_id, "file")
        c.remove_relation(target, file_entity["_id"])
        st.delete(file_entity["_id"])
        c.world(call).emit({"type": "entity.deleted", "schema": "file", "entity": file_entity,
                            "source": call.op.api.name, "operation": call.op.id})
    c.save(call, c.apply_patch(call, target, {}))
    return call.empty()


@behaviours("getFileById")
def get_file_by_id(call: Any) -> Any:
    return call.json({"file": c.load(call, call.params["id"], "file")})


@behaviours("trackFileDownloaded")
def track_file_downloaded(call: Any) -> Any:
    file_entity = c.load(call, call.params["id"], "file")
    count = int(file_entity.get("download_count") or 0) + 1
    return call.json({"file": c.save(call, c.apply_patch(call, file_entity, {"download_count": count}))})
