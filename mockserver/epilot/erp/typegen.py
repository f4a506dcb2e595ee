"""Types of a connector integration's managed calls: shapes learned from the calls it executed (or its
type annotations), the changes since the committed version, and a TypeScript declaration package.

Records: ``erp_managed_call_sample`` (id: use case; the last request variables and mapped response),
``erp_types_snapshot`` (id: integration; the shapes of the last committed version).
"""

from __future__ import annotations

import json
import re
from typing import Any

SAMPLE_KIND = "erp_managed_call_sample"
SNAPSHOT_KIND = "erp_types_snapshot"
_TS = {"string": "string", "number": "number", "boolean": "boolean", "null": "null", "unknown": "unknown"}


def describe(value: Any, source: str | None = None) -> dict[str, Any]:
    """The TypeDescriptor of a JSON value."""
    if isinstance(value, bool):
        out: dict[str, Any] = {"kind": "boolean"}
    elif isinstance(value, (int, float)):
        out = {"kind": "number"}
    elif isinstance(value, str):
        out = {"kind": "string"}
    elif value is None:
        out = {"kind": "null"}
    elif isinstance(value, list):
        out = {"kind": "array", "items": merge([describe(v) for v in value]) if value else {"kind": "unknown"}}
    elif isinstance(value, dict):
        out = {"kind": "object", "properties": {k: describe(v) for k, v in value.items()}}
    else:
        out = {"kind": "unknown"}
    if source:
        out["source"] = source
    return out


def merge(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    """One descriptor for several: equal kinds merge (objects by property), different kinds are a union."""
    distinct: list[dict[str, Any]] = []
    for shape in shapes:
        same = next((d for d in distinct if d["kind"] == shape["kind"]), None)
        if same is None:
            distinct.append(dict(shape))
        elif shape["kind"] == "object":
            props = dict(same.get("properties") or {})
            for key, value in (shape.get("properties") or {}).items():
                props[key] = merge([props[key], value]) if key in props else value
            same["properties"] = props
    return distinct[0] if len(distinct) == 1 else {"kind": "union", "variants": distinct}


def from_annotations(fields: dict[str, str] | None, source: str) -> dict[str, Any]:
    if not fields:
        return {"kind": "unknown", "source": "none"}
    return {"kind": "object", "source": source,
            "properties": {name: {"kind": _TS.get(kind, "unknown")} for name, kind in fields.items()}}


def shapes(sample: dict[str, Any] | None, annotations: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Request and response shapes of a managed call: from its last execution, else its annotations."""
    if sample is not None:
        return describe(sample.get("request"), "execution"), describe(sample.get("response"), "execution")
    annotations = annotations or {}
    return (from_annotations(annotations.get("request"), "annotation"),
            from_annotations(annotations.get("response"), "annotation"))


def _fields(shape: dict[str, Any], prefix: str) -> dict[str, str]:
    if shape.get("kind") != "object":
        return {prefix: shape.get("kind", "unknown")}
    out: dict[str, str] = {}
    for key, value in (shape.get("properties") or {}).items():
        out.update(_fields(value, f"{prefix}.{key}"))
    return out or {prefix: "object"}


def changes(slug: str, before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Field changes of one use case's shapes: removed or retyped fields break, added ones do not."""
    if before is None:
        return []
    out = []
    for side in ("request", "response"):
        old, new = _fields(before[side], side), _fields(after[side], side)
        for field in sorted(old.keys() - new.keys()):
            out.append({"slug": slug, "field": field, "type": "breaking", "description": f"{field} was removed"})
        for field in sorted(new.keys() - old.keys()):
            out.append({"slug": slug, "field": field, "type": "non-breaking", "description": f"{field} was added"})
        for field in sorted(old.keys() & new.keys()):
            if old[field] != new[field] and "unknown" not in (old[field], new[field]):
                out.append({"slug": slug, "field": field, "type": "breaking",
                            "description": f"{field} changed from {old[field]} to {new[field]}"})
    return out


def bump(version: str | None, major: bool) -> str:
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version or "")
    if not match:
        return "1.0.0"
    a, b, _ = (int(g) for g in match.groups())
    return f"{a + 1}.0.0" if major else f"{a}.{b + 1}.0"


def pascal(slug: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", slug) if part) or "Call"


def typescript(shape: dict[str, Any], overrides: dict[str, str] | None = None, indent: str = "") -> str:
    """A TypeScript type for a descriptor (annotation strings override property types)."""
    kind = shape.get("kind")
    if kind == "object":
        props = shape.get("properties") or {}
        if not props and not overrides:
            return "Record<string, unknown>"
        lines = []
        names = list(props) + [k for k in (overrides or {}) if k not in props]
        for name in names:
            text = (overrides or {}).get(name) or typescript(props.get(name, {"kind": "unknown"}), None, indent + "  ")
            key = name if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", name) else json.dumps(name)
            lines.append(f"{indent}  {key}: {text};")
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    if kind == "array":
        return f"Array<{typescript(shape.get('items') or {'kind': 'unknown'}, None, indent)}>"
    if kind == "union":
        return " | ".join(typescript(v, None, indent) for v in shape.get("variants") or []) or "unknown"
    return _TS.get(str(kind), "unknown")


def package(name: str, version: str, description: str | None, previews: list[dict[str, Any]],
            annotations: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The files of the types package, and warnings for calls whose types are unknown."""
    parts = [f"// {name} {version}: types of the managed calls (generated by epilot-mock)\n"]
    warnings = []
    for preview in previews:
        own = annotations.get(preview["slug"]) or preview.get("existing_annotations") or {}
        base = pascal(preview["slug"])
        for side, shape in (("Request", preview["request_shape"]), ("Response", preview["response_shape"])):
            if shape.get("kind") == "unknown" and not own.get(side.lower()):
                warnings.append(f"{preview['slug']}: no executed call or annotation; its {side.lower()} type is "
                                "unknown")
            text = typescript(shape, own.get(side.lower()))
            parts.append(f"export interface {base}{side} " + (text if text.startswith("{") else
                                                                 f"{{\n  value: {text};\n}}") + "\n")
    manifest = {"name": name, "version": version, "types": "index.d.ts"}
    if description:
        manifest["description"] = description
    return {"index.d.ts": "\n".join(parts), "package.json": json.dumps(manifest, indent=2) + "\n"}, warnings
