"""What the portal knows about entities: usable schemas, identifier attributes, edit-rule checks,
template rendering, context entities and seamless extension links."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from mockserver.engine.call import Call

from .. import common as c
from . import behaviours
from .activity import ACTIVITY_KIND
from .config import portal_of_call
from .metering import parse_time

SAMPLE = 200  # entities looked at to learn a schema's attributes
_TEMPLATE = re.compile(r"{{\s*([\w.\[\]-]+)\s*}}")
PERIOD_DAYS = {"days": 1, "weeks": 7, "months": 30}


# -- context and templates ------------------------------------------------------------------------

def context_entities(call: Call) -> list[dict[str, Any]]:
    """The entities of ``context_entities`` (each one checked: the caller must be allowed to see it)."""
    refs = call.params.get("context_entities") or []
    return [c.load(call, ref["entity_id"], ref["entity_schema"]) for ref in refs if isinstance(ref, dict)]


def _lookup(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in re.split(r"[.\[\]]+", path):
        if part == "":
            continue
        if isinstance(value, list):
            value = value[int(part)] if part.isdigit() and int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def render(template: str, context: dict[str, Any]) -> str:
    """``{{schema.attribute}}`` placeholders filled from ``context`` (missing values render empty)."""
    def fill(m: re.Match[str]) -> str:
        value = _lookup(context, m.group(1))
        if isinstance(value, (dict, list)):
            return ""
        return "" if value is None else str(value)
    return _TEMPLATE.sub(fill, str(template))


def render_all(templates: Any, context: dict[str, Any]) -> dict[str, str]:
    return {k: render(v, context) for k, v in (templates or {}).items() if isinstance(v, str)}


def context_for(call: Call, entity: dict[str, Any]) -> dict[str, Any]:
    """Template context: the entity under its schema and as ``entity``, plus its visible relations."""
    ctx: dict[str, Any] = {}
    for other in c.related(call, entity):
        ctx.setdefault(other["_schema"], other)
    ctx[entity["_schema"]] = entity
    ctx["entity"] = entity
    return ctx


# -- schemas and identifiers ----------------------------------------------------------------------

def identifier_attributes(call: Call, schema: str, *, strings_only: bool = False) -> list[dict[str, str]]:
    """Attributes that hold scalar values in the stored entities of ``schema``, by name."""
    types: dict[str, str] = {}
    for n, entity in enumerate(c.store(call).iter_schema(schema)):
        if n >= SAMPLE:
            break
        for key, value in entity.items():
            if key.startswith("_") or value in (None, "") or isinstance(value, (dict, list, bool)):
                continue
            kind = "string" if isinstance(value, str) else "number"
            if strings_only and kind != "string":
                continue
            types.setdefault(key, kind)
    return [{"name": k, "label": k.replace("_", " ").capitalize(), "type": t} for k, t in sorted(types.items())]


@behaviours("getEntityIdentifiers")
def get_entity_identifiers(call: Call) -> Any:
    return call.json({"data": identifier_attributes(call, call.params["slug"])})


@behaviours("getValidSecondaryAttributes")
def get_valid_secondary_attributes(call: Call) -> Any:
    """Contact attributes that can serve as secondary identifiers (text attributes of stored contacts)."""
    return call.json({"data": [{"name": a["name"], "type": a["type"]}
                               for a in identifier_attributes(call, "contact", strings_only=True)]})


# -- edit rules -----------------------------------------------------------------------------------

def changes_of(call: Call, entity_id: str, attribute: str) -> list[str]:
    """Times ``attribute`` of the entity was changed, from its activity history."""
    times = []
    for item in c.store(call).record_list(ACTIVITY_KIND, parent=entity_id):
        if item.get("type") == "EntityUpdated" and attribute in ((item.get("payload") or {}).get("attributes") or []):
            times.append(item["timestamp"])
    return times


@behaviours("validateCadenceEntityEditRules")
def validate_cadence_entity_edit_rules(call: Call) -> Any:
    p = call.params
    entity = c.load(call, p["id"], p["slug"])
    rules = [r for r in portal_of_call(call).get("entity_edit_rules") or []
             if r.get("slug") == p["slug"] and r.get("rule_type") == "cadence"
             and (not p.get("attribute") or r.get("attribute") == p["attribute"])]
    now = parse_time(c.world(call).now())
    for rule in rules:
        days = PERIOD_DAYS.get(rule.get("cadence_period_type", "months"), 30) * float(rule.get("cadence_period") or 1)
        since = now - timedelta(days=days)
        recent = [t for t in changes_of(call, entity["_id"], rule.get("attribute", "")) if parse_time(t) >= since]
        if len(recent) >= int(rule.get("changes_allowed") or 0):
            return call.json({"isBlockedByRules": True, "failedRule": rule})
    return call.json({"isBlockedByRules": False})
