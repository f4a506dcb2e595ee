"""Identifying entities by the attributes a customer knows (contract self-assignment, registration).

Only the portal's configured identifiers count: every configured ``{name, schema}`` pair must be
given, with a scalar value that equals the stored attribute exactly, and together they must point
at exactly one entity of the target schema. Other attributes in the request are ignored: they can
never widen a match. Identifiers of another schema (the contact's last name for a contract) must
belong to an entity related to the candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.engine.call import Call

from .. import common as c


@dataclass
class Match:
    found: list[dict[str, Any]]  # candidates that satisfy every configured identifier
    missing: list[str]  # configured identifiers the request did not give ("schema.name")

    @property
    def problem(self) -> str | None:
        if self.missing:
            return f"identifiers missing: {', '.join(self.missing)} (this portal identifies by all of them)"
        if not self.found:
            return "no entity matches these identifiers"
        if len(self.found) > 1:
            return f"these identifiers match {len(self.found)} entities, not exactly one"
        return None


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip() != ""


def given_values(body: dict[str, Any], configured: list[dict[str, Any]], target: str) -> tuple[dict, list[str]]:
    """The configured identifiers' values from a request body grouped by schema
    (``{"contract": {"contract_number": ...}}``); flat attributes count for ``target``."""
    values: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for item in configured:
        name, schema = item.get("name"), item.get("schema") or target
        if not name:
            continue
        group = body.get(schema)
        value = group.get(name) if isinstance(group, dict) else (body.get(name) if schema == target else None)
        if not _scalar(value):
            missing.append(f"{schema}.{name}")
            continue
        values.setdefault(schema, {})[name] = value
    return values, missing


def _equal(stored: Any, given: Any) -> bool:
    if isinstance(stored, bool) or stored is None or isinstance(stored, (dict, list)):
        return False
    return stored == given or (isinstance(given, str) and not isinstance(stored, str) and str(stored) == given)


def _related_ids(call: Call, entity_id: str) -> set[str]:
    st = c.store(call)
    return {r.target for r in st.relations(entity_id)} | {r.source for r in st.relations(entity_id, reverse=True)}


def match(call: Call, body: dict[str, Any], configured: list[dict[str, Any]], target: str) -> Match:
    """Entities of ``target`` identified by ``body`` under the ``configured`` identifiers."""
    configured = [i for i in configured or [] if isinstance(i, dict) and i.get("name")]
    if not configured:
        return Match([], [f"{target} identifiers (the portal configures none)"])
    values, missing = given_values(body, configured, target)
    if missing:
        return Match([], missing)
    st = c.store(call)
    own = values.get(target)
    try:
        if own:
            candidates = [e for e in st.find_by(target, own) if all(_equal(e.get(k), v) for k, v in own.items())]
        else:  # only identifiers of related schemas: candidates are the targets related to their matches
            candidates = None
        for schema, attrs in values.items():
            if schema == target:
                continue
            owners = [e for e in st.find_by(schema, attrs) if all(_equal(e.get(k), v) for k, v in attrs.items())]
            linked: set[str] = set()
            for owner in owners:
                linked |= _related_ids(call, owner["_id"])
            if candidates is None:
                found = st.get_many(sorted(linked))
                candidates = [e for e in found.values() if e.get("_schema") == target]
            else:
                candidates = [e for e in candidates if e["_id"] in linked]
    except ValueError:  # attribute names no entity can have identify nothing
        candidates = []
    live = [e for e in candidates or [] if not e.get("_deleted_at")]
    return Match(live, [])
