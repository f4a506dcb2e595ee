"""Changesets: changes to attributes in ``approval`` or ``external`` edit mode are not written but
proposed (``_changesets`` of the entity, by attribute) until they are applied or dismissed. A write
with ``direct=true`` bypasses them. Set an attribute's ``edit_mode`` with ``putSchemaAttribute``.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.errors import Reject

from . import common as c
from .entity import anonymized, behaviours, changing, load_entity
from .entity_validation import all_attributes

GATED = ("approval", "external")


def divert_changes(call: Any, schema: dict[str, Any], entity: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the changes to gated attributes, which go to ``_changesets`` instead."""
    if call.params.get("direct"):
        return body
    gated = {a["name"]: a for a in all_attributes(schema) if a.get("edit_mode") in GATED}
    if not gated:
        return body
    out = dict(body)
    pending = dict(entity.get("_changesets") or {})
    now = c.world(call).now()
    for name, attr in gated.items():
        if name not in out or out[name] == entity.get(name):
            continue
        changeset: dict[str, Any] = {"proposed_value": out.pop(name), "previous_value": entity.get(name),
                                     "created_at": now, "edit_mode": attr["edit_mode"], "source": call.op.api.name,
                                     "created_by": {"type": "user", "id": call.principal.subject}}
        strategy = (attr.get("edit_mode_config") or {}).get("match_strategy")
        if strategy:
            changeset["match_strategy"] = strategy
        pending[name] = changeset
    if pending != (entity.get("_changesets") or {}):
        out["_changesets"] = pending
    return out


def _pending(call: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    schema, entity = load_entity(call)
    attribute = call.params["attribute"]
    changesets = dict(entity.get("_changesets") or {})
    if attribute not in changesets:
        raise Reject("not_found", f"No changeset for attribute {attribute} of entity {entity['_id']}")
    return schema, entity, changesets


def _resolve(call: Any, *, apply: bool) -> Any:
    _, entity, changesets = _pending(call)
    attribute = call.params["attribute"]
    changeset = changesets.pop(attribute)
    updated = dict(entity)
    if apply:
        updated[attribute] = changeset.get("proposed_value")
    if changesets:
        updated["_changesets"] = changesets
    else:
        updated.pop("_changesets", None)
    updated["_updated_at"] = c.world(call).now()
    reason = (call.body or {}).get("reason") if isinstance(call.body, dict) else None
    diff = {"updated": {attribute: updated.get(attribute)}} if apply else \
        {"deleted": {"_changesets": {attribute: changeset}}}
    with changing(call, "updateEntity", diff=diff, reason=reason):
        return call.json(c.save(call, updated))


@behaviours("applyChangeset")
def apply_changeset(call: Any) -> Any:
    return _resolve(call, apply=True)


@behaviours("dismissChangeset")
def dismiss_changeset(call: Any) -> Any:
    return _resolve(call, apply=False)


@behaviours("listChangesets")
def list_changesets(call: Any) -> Any:
    schema, entity = load_entity(call)
    changesets = entity.get("_changesets") or {}
    if call.params.get("anonymize"):
        masked = anonymized({k: v.get("proposed_value") for k, v in changesets.items()}, schema)
        changesets = {k: {**v, "proposed_value": masked[k]} for k, v in changesets.items()}
    return call.json(changesets)
