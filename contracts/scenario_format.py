"""Scenario files: loading with line-accurate errors, validation against the scenario JSON Schema,
and {{ template }} rendering of values."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from mockserver.engine import scenario_dirs

SCHEMA_FILE = Path(__file__).with_name("scenario.schema.json")
_WHOLE = re.compile(r"^\{\{\s*([^{}]+?)\s*\}\}$")
_PART = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


class ScenarioError(Exception):
    """A scenario that cannot run (unreadable, invalid, or not allowed against the target)."""


@cache
def scenario_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def bundled_scenarios() -> dict[str, Path]:
    """Scenarios the installed plugins bundle, by name (the first plugin wins on a clash)."""
    found: dict[str, Path] = {}
    for root in scenario_dirs():
        if root.is_dir():
            for p in sorted(root.glob("*.yaml")):
                found.setdefault(p.stem, p)
    return found


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    bundled = bundled_scenarios()
    if name_or_path in bundled:
        return bundled[name_or_path]
    known = ", ".join(bundled) or "none"
    raise ScenarioError(f"no scenario '{name_or_path}' (a file path, or one of: {known})")


def _line_of(node: Any, path: list[Any]) -> int | None:
    """The line (1-based) of the YAML node at ``path`` in a composed document, as far as it exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def load_scenario(path: str) -> dict[str, Any]:
    """Read and validate a scenario file; errors name the file, the line and the problem."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
        composed = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ScenarioError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict):
        raise ScenarioError(f"{path}:1: a scenario is a mapping with name and steps")
    validator = jsonschema_rs.Draft202012Validator(scenario_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: len(list(e.instance_path)))
    if errors:
        error = errors[0]
        steps = list(error.instance_path)
        line = _line_of(composed, steps)
        pointer = "/".join(str(p) for p in steps) or "(top level)"
        raise ScenarioError(f"{path}:{line}: {pointer}: {error.message}")
    return doc


_ARITH = re.compile(r"^(.+?)\s*([+-])\s*(-?\d+(?:\.\d+)?)$")


def _lookup(expression: str, scope: dict[str, Any]) -> Any:
    arith = _ARITH.match(expression)
    if arith:  # {{ name + 12.5 }}: a number variable plus or minus a literal
        base = _lookup(arith.group(1), scope)
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            raise ScenarioError(f"'{{{{ {expression} }}}}': {arith.group(1)} is not a number")
        number = float(arith.group(3)) if "." in arith.group(3) else int(arith.group(3))
        total = base + number if arith.group(2) == "+" else base - number
        return int(total) if isinstance(total, float) and total.is_integer() else total
    if expression == "$uuid":
        return str(uuid.uuid4())
    if expression == "$now":
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if expression == "$today":
        return datetime.now(UTC).date().isoformat()
    if expression == "$random":
        return secrets.token_hex(4)
    value: Any = scope
    for part in expression.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        else:
            raise ScenarioError(f"unknown variable '{{{{ {expression} }}}}' (known: {', '.join(sorted(scope))})")
    return value


def render(value: Any, scope: dict[str, Any]) -> Any:
    """Replace ``{{ name }}`` (and ``{{ a.b }}``, ``{{ $uuid }}``, ``{{ $now }}``...) in strings. A string that is
    only a template takes the variable's own type (a number stays a number)."""
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            return _lookup(whole.group(1), scope)
        return _PART.sub(lambda m: _to_text(_lookup(m.group(1), scope)), value)
    if isinstance(value, list):
        return [render(v, scope) for v in value]
    if isinstance(value, dict):
        return {render(k, scope): render(v, scope) for k, v in value.items()}
    return value


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
