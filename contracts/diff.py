"""Breaking changes between two versions of a spec, as a client of the API sees them.

Breaking: an operation removed; a parameter or request field that became required (or a required
one added); a request body that became required; a type changed; enum values removed (from what a
client may send or receive); a success response or one of its fields removed. Additions that a
client may ignore (optional parameters, new fields, new operations) are not breaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mockserver.engine.loader import bundle, iter_operations

MAX_DEPTH = 12


@dataclass(frozen=True)
class Change:
    kind: str
    operation: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.operation} {self.where}: {self.detail}".replace("  ", " ")


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


class _Schemas:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, node: Any) -> Any:
        for _ in range(32):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
                return node
            target: Any = self.spec
            for part in node["$ref"][2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
            node = target
        return node

    def flat(self, schema: Any) -> dict[str, Any]:
        """Properties, required names, types and enum of a schema, allOf branches merged."""
        schema = self.resolve(schema)
        out: dict[str, Any] = {"properties": {}, "required": set(), "types": set(), "enum": None, "items": None}
        if not isinstance(schema, dict):
            return out
        for branch in [schema, *(schema.get("allOf") or [])]:
            branch = self.resolve(branch)
            if not isinstance(branch, dict):
                continue
            out["properties"].update(branch.get("properties") or {})
            out["required"] |= set(branch.get("required") or [])
            kind = branch.get("type")
            if kind:
                out["types"] |= set(kind if isinstance(kind, list) else [kind])
            if isinstance(branch.get("enum"), list):
                out["enum"] = branch["enum"]
            if "items" in branch:
                out["items"] = branch["items"]
        return out


def _ops(spec: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]]:
    return {(m.upper(), _norm(p)): (p, op, item) for p, m, op, item in iter_operations(spec)}


def _params(s: _Schemas, op: dict[str, Any], item: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for raw in (item.get("parameters") or []) + (op.get("parameters") or []):
        p = s.resolve(raw)
        if isinstance(p, dict) and "name" in p:
            out[(p.get("in", ""), p["name"])] = p
    return out


def _body(s: _Schemas, op: dict[str, Any]) -> tuple[bool, Any]:
    body = s.resolve(op.get("requestBody"))
    if not isinstance(body, dict):
        return False, None
    media: dict[str, Any] = body.get("content") or {}
    chosen: Any = media.get("application/json") or next(iter(media.values()), {})
    return bool(body.get("required")), (chosen or {}).get("schema")


def _success(s: _Schemas, op: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for code, response in (op.get("responses") or {}).items():
        if str(code).startswith("2"):
            response = s.resolve(response) or {}
            media: dict[str, Any] = response.get("content") or {}
            chosen: Any = media.get("application/json") or next(iter(media.values()), {})
            out[str(code)] = (chosen or {}).get("schema")
    return out


def _compare(old: _Schemas, new: _Schemas, a: Any, b: Any, *, direction: str, label: str, where: str,
             changes: list[Change], seen: set[tuple[int, int]], depth: int = 0) -> None:
    """Breaking differences between schema ``a`` (old) and ``b`` (new) for a request or a response."""
    if a is None or b is None or depth > MAX_DEPTH:
        return
    key = (id(old.resolve(a)), id(new.resolve(b)))
    if key in seen:
        return
    seen.add(key)
    fa, fb = old.flat(a), new.flat(b)
    if fa["types"] and fb["types"] and not fa["types"] & fb["types"] and not ({"integer"} <= fa["types"]
                                                                             and "number" in fb["types"]):
        changes.append(Change("changed type", label, where,
                              f"{'/'.join(sorted(fa['types']))} -> {'/'.join(sorted(fb['types']))}"))
        return
    if fa["enum"] is not None:
        removed = [v for v in fa["enum"] if v not in (fb["enum"] or fa["enum"])]
        if fb["enum"] is not None and removed:
            changes.append(Change("removed enum value", label, where, ", ".join(map(repr, removed))))
    if direction == "request":
        for name in sorted(fb["required"] - fa["required"]):
            changes.append(Change("new required field", label, f"{where}.{name}".lstrip("."), "now required"))
    else:
        for name in sorted(set(fa["properties"]) - set(fb["properties"])):
            if fb["properties"] or fb["types"] & {"object"}:
                changes.append(Change("removed response field", label, f"{where}.{name}".lstrip("."), "removed"))
    for name, sub in fa["properties"].items():
        if name in fb["properties"]:
            _compare(old, new, sub, fb["properties"][name], direction=direction, label=label,
                     where=f"{where}.{name}", changes=changes, seen=seen, depth=depth + 1)
    if fa["items"] is not None and fb["items"] is not None:
        _compare(old, new, fa["items"], fb["items"], direction=direction, label=label, where=f"{where}[]",
                 changes=changes, seen=seen, depth=depth + 1)


def diff_specs(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> list[Change]:
    old, new = _Schemas(old_spec), _Schemas(new_spec)
    changes: list[Change] = []
    old_ops, new_ops = _ops(old_spec), _ops(new_spec)
    for key, (path, op, item) in old_ops.items():
        label = f"{key[0]} {path}"
        if key not in new_ops:
            changes.append(Change("removed operation", label, "", op.get("operationId") or "(no operationId)"))
            continue
        _new_path, new_op, new_item = new_ops[key]
        old_params, new_params = _params(old, op, item), _params(new, new_op, new_item)
        for pkey, p in new_params.items():
            was = old_params.get(pkey)
            if p.get("required") and not (was and was.get("required")):
                changes.append(Change("new required parameter", label, f"{pkey[0]} '{pkey[1]}'",
                                      "added as required" if was is None else "now required"))
        for pkey, p in old_params.items():
            if pkey in new_params:
                _compare(old, new, p.get("schema"), new_params[pkey].get("schema"), direction="request",
                         label=label, where=f"{pkey[0]} '{pkey[1]}'", changes=changes, seen=set())
        old_required, old_body = _body(old, op)
        new_required, new_body = _body(new, new_op)
        if new_required and not old_required:
            changes.append(Change("new required parameter", label, "request body", "now required"))
        _compare(old, new, old_body, new_body, direction="request", label=label, where="body", changes=changes,
                 seen=set())
        old_success, new_success = _success(old, op), _success(new, new_op)
        for code, schema in old_success.items():
            if code not in new_success:
                changes.append(Change("removed response", label, code, "success response removed"))
            else:
                _compare(old, new, schema, new_success[code], direction="response", label=label,
                         where=f"response {code}", changes=changes, seen=set())
    return changes


def diff_sources(old: str, new: str) -> list[Change]:
    old_spec, _ = bundle(old)
    new_spec, _ = bundle(new)
    return diff_specs(old_spec, new_spec)
