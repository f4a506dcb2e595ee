"""The end customer's data: contact, orders, opportunities, contracts, billing, entities, files."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject
from mockserver.engine.store.base import Query

from .. import common as c
from ..entity_query import QueryError, parse_query, parse_sort
from ..pricing_store import PRICED_ATTRIBUTES, catalog_relations, priced_order
from . import behaviours, billing, energy, files, identifiers, workflows  # noqa: F401  (these register customer-data behaviours)
from .activity import record_activity
from .config import portal_of_call
from .meta import context_for, render_all


def _contact(call: Call) -> dict[str, Any]:
    contact_id = c.contact_id(call)
    if not contact_id:
        raise Reject("not_found", "this portal user has no contact")
    return c.load(call, contact_id, "contact", kind="not_found")


def _files(call: Call, entity: dict[str, Any]) -> list[dict[str, Any]]:
    return c.related(call, entity, "file")


def _relations(call: Call, entity: dict[str, Any], exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [c.with_schema(e) for e in c.related(call, entity) if e["_schema"] not in exclude]


def _listing(call: Call, schema: str) -> Any:
    offset, size = c.page_params(call)
    items = c.visible_of_schema(call, schema, limit=size, offset=offset)
    return call.json({"data": items})


def _update(call: Call, schema: str) -> Any:
    entity = c.load(call, call.params["id"], schema)
    return call.json({"data": _patch(call, entity, call.body or {})})


def _patch(call: Call, entity: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a customer's change and record it in the entity's history (edit rules count these).
    System attributes (``_deleted_at``, ``_org``...) are the platform's: a customer sets only ``_tags``."""
    changes = {k: v for k, v in changes.items() if not k.startswith("_") or k == "_tags"}
    saved = c.save(call, c.apply_patch(call, entity, changes))
    changed = sorted(k for k, v in changes.items() if k not in c.PROTECTED_ATTRIBUTES and entity.get(k) != v)
    if changed:
        record_activity(call, saved, "EntityUpdated", attributes=changed)
    return saved


# -- contact and portal user ---------------------------------------------------------------------

@behaviours("getContact")
def get_contact(call: Call) -> Any:
    contact = _contact(call)
    return call.json({"entity": contact, "files": _files(call, contact),
                      "relations": _relations(call, contact, ("file",))})


@behaviours("updateContact")
def update_contact(call: Call) -> Any:
    return call.json({"data": _patch(call, _contact(call), call.body or {})})


@behaviours("getECPContact")
def get_ecp_contact(call: Call) -> Any:
    return call.json({"data": c.load(call, call.params["id"], "contact", kind="not_found")})


@behaviours("getPortalUser")
def get_portal_user(call: Call) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("unauthorized", "the portal user of this token no longer exists")
    return call.json({"data": user})


@behaviours("updatePortalUser")
def update_portal_user(call: Call) -> Any:
    user = c.store(call).get(call.principal.subject)
    if user is None:
        raise Reject("unauthorized", "the portal user of this token no longer exists")
    changes = {k: v for k, v in (call.body or {}).items() if k not in ("email", "registration_status")}
    return call.json({"data": c.save(call, c.apply_patch(call, user, changes))})


# -- orders, opportunities, requests ------------------------------------------------------------

@behaviours("getAllOrders")
def get_all_orders(call: Call) -> Any:
    return _listing(call, "order")


@behaviours("getOrder")
def get_order(call: Call) -> Any:
    order = c.load(call, call.params["id"], "order")
    return call.json({"entity": order, "files": _files(call, order),
                      "relations": _relations(call, order, ("file",)),
                      "products": c.related(call, order, "product")})


@behaviours("updateOrder")
def update_order(call: Call) -> Any:
    """A customer's change to an order. A change to its line items, promo codes or amounts re-prices
    the order, as ``createOrder`` and ``$calculatePricingDetails`` price it: the amounts are always
    the engine's for the line items, never the ones sent."""
    order = c.load(call, call.params["id"], "order")
    changes = dict(call.body or {})
    if any(key in changes for key in (*PRICED_ATTRIBUTES, "redeemed_promos")):
        payload = {key: changes.get(key, order.get(key)) for key in ("line_items", "redeemed_promos", "currency")}
        pricing = priced_order(call, payload, missing="bad_request")
        changes.update(pricing)
        catalog_relations(call, changes, pricing["line_items"])
    return call.json({"data": _patch(call, order, changes)})


@behaviours("postOrderAcceptance")
def post_order_acceptance(call: Call) -> Any:
    order = c.load(call, call.params["id"], "order")
    if order.get("status") not in (None, "quote", "draft", "open_for_acceptance"):
        raise Reject("bad_request", f"order {order['_id']} is '{order.get('status')}', not an offer to accept")
    decision = (call.body or {}).get("decision")
    if decision not in ("accept", "decline"):
        raise Reject("conflict", "give a decision: accept or decline")
    accepted = decision == "accept"
    changes = {"status": "placed" if accepted else "cancelled"}
    return call.json({"data": c.save(call, c.apply_patch(call, order, changes))})


@behaviours("getAllOpportunities")
def get_all_opportunities(call: Call) -> Any:
    return _listing(call, "opportunity")


@behaviours("getOpportunity")
def get_opportunity(call: Call) -> Any:
    opportunity = c.load(call, call.params["id"], "opportunity")
    return call.json({"entity": opportunity, "orders": c.related(call, opportunity, "order"),
                      "files": _files(call, opportunity),
                      "relations": _relations(call, opportunity, ("file", "order"))})


@behaviours("updateOpportunity")
def update_opportunity(call: Call) -> Any:
    return _update(call, "opportunity")


@behaviours("getSearchableAttributesForOpportunities")
def get_searchable_attributes_for_opportunities(call: Call) -> Any:
    """As published: the customer's opportunities, whose attributes the search form offers."""
    return _listing(call, "opportunity")


@behaviours("getSearchResultsForOpportunities")
def search_opportunities(call: Call) -> Any:
    offset, size = c.page_params(call)
    body = call.body or {}
    items = c.visible_of_schema(call, "opportunity")
    needle = str(body.get("q") or body.get("search") or "").lower()
    if needle:
        items = [o for o in items if needle in str(o).lower()]
    return call.json({"data": items[offset:offset + size]})


@behaviours("getAllRequests")
def get_all_requests(call: Call) -> Any:
    offset, size = c.page_params(call)
    opportunities = c.visible_of_schema(call, "opportunity")
    orders = c.visible_of_schema(call, "order")
    merged = sorted(opportunities + orders, key=lambda e: e.get("_created_at") or "", reverse=True)
    return call.json({"hits": len(merged), "results": merged[offset:offset + size]})


# -- contracts ----------------------------------------------------------------------------------

@behaviours("getAllContracts")
def get_all_contracts(call: Call) -> Any:
    return _listing(call, "contract")


@behaviours("getContract")
def get_contract(call: Call) -> Any:
    contract = c.load(call, call.params["id"], "contract")
    return call.json({"entity": contract, "orders": c.related(call, contract, "order"),
                      "meters": c.related(call, contract, "meter"), "files": _files(call, contract),
                      "relations": _relations(call, contract, ("file", "order", "meter"))})


@behaviours("getContractWithTemplates", reads_only=True)
def get_contract_with_templates(call: Call) -> Any:
    """The contract detail, with the request's templates rendered for the contract and each meter."""
    contract = c.load(call, call.params["id"], "contract")
    templates = (call.body or {}).get("templates") or {}
    entity = dict(contract)
    entity["templates_output"] = render_all(templates, context_for(call, contract))
    meters = []
    for meter in c.related(call, contract, "meter"):
        meters.append({**meter, "templates_output": render_all(templates, context_for(call, meter))})
    return call.json({"entity": entity, "orders": c.related(call, contract, "order"), "meters": meters,
                      "files": _files(call, contract),
                      "relations": _relations(call, contract, ("file", "order", "meter"))})


@behaviours("updateContract")
def update_contract(call: Call) -> Any:
    return _update(call, "contract")


@behaviours("addContractByIdentifiers")
def add_contract_by_identifiers(call: Call) -> Any:
    """Self-assignment: the portal's configured contract identifiers, all of them, exact, one contract."""
    portal = portal_of_call(call)
    found = identifiers.match(call, call.body or {}, portal.get("contract_identifiers") or [], "contract")
    if found.missing or not found.found:
        raise Reject("forbidden", found.problem or "no contract matches these identifiers")
    if len(found.found) > 1:
        return call.json({"message": found.problem, "reason": "MULTIPLE"}, status=409)
    contract = found.found[0]
    if contract.get("status") == "draft":
        return call.json({"message": f"contract {contract['_id']} is a draft", "reason": "DRAFT"}, status=409)
    contact = _contact(call)
    c.add_relation(contact, "contracts", contract)
    c.save(call, c.apply_patch(call, contact, {}))
    return call.json({"data": [contract], "hits": 1})


# -- generic entity access --------------------------------------------------------------------------

@behaviours("getPortalUserEntity")
def get_portal_user_entity(call: Call) -> Any:
    body = call.body or {}
    if not body.get("slug"):
        raise Reject("not_found", "no entity: give slug (and entity_id)")
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
def search_portal_user_entities(call: Call) -> Any:
    body = call.body or {}
    if not body.get("slug"):
        raise Reject("bad_request", "slug is required")
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


@behaviours("createPortalUserEntity")
def create_portal_user_entity(call: Call) -> Any:
    """A new entity of ``slug`` (published: assets), related to the customer's contact."""
    contact = _contact(call)
    attributes = {k: v for k, v in (call.body or {}).items() if not k.startswith("_") or k == "_tags"}
    c.add_relation(attributes, "customer", contact)
    entity = c.create_entity(call, call.params["slug"], attributes)
    record_activity(call, entity, "EntityCreated")
    return call.json({"result": c.with_schema(entity)}, status=201)


@behaviours("patchPortalUserEntity")
def patch_portal_user_entity(call: Call) -> Any:
    entity = c.load(call, call.params["id"], call.params["slug"])
    return call.json({"result": c.with_schema(_patch(call, entity, call.body or {}))})
