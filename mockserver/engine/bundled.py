"""Where the bundled specs and scenarios live, and how a `--spec` value names a document."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    override = os.environ.get(f"EPILOT_MOCK_{name.upper()}_DIR")
    if override:
        return Path(override)
    installed = _PACKAGE / "bundled" / name  # wheel installs (force-included by pyproject)
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name  # a source checkout or editable install


def specs_dir() -> Path:
    return _data_dir("specs")


def scenarios_dir() -> Path:
    return _data_dir("scenarios")


def bundled_apis() -> dict[str, Path]:
    """Bundled API name -> root document, in a stable order."""
    root = specs_dir()
    if not root.is_dir():
        return {}
    return {d.name: d / "openapi.yaml" for d in sorted(root.iterdir()) if (d / "openapi.yaml").is_file()}


@dataclass(frozen=True)
class SpecSource:
    name: str  # the API's name: a bundled name, or derived from the file name
    source: str  # path or URL of the root document
    prefix: str = ""  # mount prefix ("" = the spec's own paths)
    bundled: bool = False


def parse_spec_arg(value: str) -> SpecSource:
    """`NAME`, `PATH`, `URL`, or any of these as `PREFIX=...` with PREFIX starting with '/'."""
    prefix = ""
    head, sep, tail = value.partition("=")
    if sep and head.startswith("/") and "://" not in head:
        prefix, value = "/" + head.strip("/"), tail
        if prefix == "/":
            prefix = ""
    apis = bundled_apis()
    if value in apis:
        return SpecSource(value, str(apis[value]), prefix, bundled=True)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(value.split("?")[0]).stem).strip("-") or "api"
    if stem == "openapi":
        stem = Path(value.split("?")[0]).parent.name or stem
    return SpecSource(stem, value, prefix)
