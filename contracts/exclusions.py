"""Justified check exclusions for the bundled specs (see exclusions.yaml), as schemathesis config."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' positive_data_acceptance


@dataclass(frozen=True)
class Exclusion:
    api: str
    operation_id: str
    check: str
    allow: tuple[int, ...]
    reason: str


@cache
def bundled_exclusions() -> tuple[Exclusion, ...]:
    data = yaml.safe_load((Path(__file__).with_name("exclusions.yaml")).read_text()) or []
    return tuple(Exclusion(item["api"], op, item["check"], tuple(item["allow"]), " ".join(item["reason"].split()))
                 for item in data for op in item["operations"])


def for_api(api: str) -> list[Exclusion]:
    return [e for e in bundled_exclusions() if e.api == api]


def operation_configs(exclusions: list[Exclusion]) -> list[dict[str, Any]]:
    """schemathesis ``operations`` entries that widen the excluded checks' accepted statuses."""
    out = []
    for e in exclusions:
        if e.check == "positive_data_acceptance":
            statuses = DEFAULT_ACCEPTED + [str(s) for s in e.allow]
            out.append({"include-operation-id": e.operation_id,
                        "checks": {e.check: {"expected-statuses": statuses}}})
        else:
            out.append({"include-operation-id": e.operation_id, "checks": {e.check: {"enabled": False}}})
    return out
