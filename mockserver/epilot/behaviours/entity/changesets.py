"""Changesets: changes to attributes in ``approval`` or ``external`` edit mode are not written but
proposed (``_changesets`` of the entity, by attribute; see ``divert_changes`` in `core`) until they
are applied or dismissed. Set an attribute's ``edit_mode`` with ``putSchemaAttribute``.
"""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from .core import anonymized, behaviours, changing, load_entity


def _pending(call: Call) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    schema, entity = load_entity(call)
    attribute = call.params["attribute"]
    changesets = dict(entity.get("_changesets") or {})
    if attribute not in changesets:
        raise Reject("not_found", f"No changeset for attribute {attribute} of entity {entity['_id']}")
    return schema, entity, changesets


def _resolve(call: Call, *, apply: bool) -> Any:
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
def apply_changeset(call: Call) -> Any:
    return _resolve(call, apply=True)


@behaviours("dismissChangeset")
def dismiss_changeset(call: Call) -> Any:
    return _resolve(call, apply=False)


@behaviours("listChangesets")
def list_changesets(call: Call) -> Any:
    schema, entity = load_entity(call)
    changesets = entity.get("_changesets") or {}
    if call.params.get("anonymize"):
        masked = anonymized({k: v.get("proposed_value") for k, v in changesets.items()}, schema)
        changesets = {k: {**v, "proposed_value": masked[k]} for k, v in changesets.items()}
    return call.json(changesets)
