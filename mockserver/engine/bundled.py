"""The APIs and scenarios that installed plugins bundle, and how a `--spec` value names a document.

A `--spec` value is one of:

- ``NAME``: a bundled API (``customer-portal``);
- ``PATH`` or ``URL``: any OpenAPI 3 document, named after its file;
- ``NAME=PATH``: that document served as API ``NAME``, so the behaviours registered for ``NAME``
  attach to it by operationId (a newer or edited copy of a bundled spec, say);
- ``/PREFIX=...``: any of the above mounted under a path prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .plugin import discover_plugins

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def bundled_apis() -> dict[str, Path]:
    """Bundled API name -> root document, over every installed plugin."""
    out: dict[str, Path] = {}
    for plugin in discover_plugins():
        for name, path in plugin.apis.items():
            out.setdefault(name, Path(path))
    return out


def scenario_dirs() -> list[Path]:
    """Folders of bundled scenarios, over every installed plugin."""
    return [Path(p.scenarios) for p in discover_plugins() if p.scenarios is not None]


@dataclass(frozen=True)
class SpecSource:
    name: str  # the API's name: a bundled name, a given NAME, or derived from the file name
    source: str  # path or URL of the root document
    prefix: str = ""  # mount prefix ("" = the spec's own paths)
    bundled: bool = False  # the plugin's own document
    named: bool = False  # NAME=PATH: behaviours for NAME attach to it


def parse_spec_arg(value: str, apis: dict[str, Path] | None = None) -> SpecSource:
    """Read one `--spec` value (see the module docstring)."""
    prefix = ""
    head, sep, tail = value.partition("=")
    if sep and head.startswith("/") and "://" not in head:
        prefix, value = "/" + head.strip("/"), tail
        if prefix == "/":
            prefix = ""
    apis = bundled_apis() if apis is None else apis
    if value in apis:
        return SpecSource(value, str(apis[value]), prefix, bundled=True)
    head, sep, tail = value.partition("=")
    if sep and _NAME.match(head) and tail:
        return SpecSource(head, tail, prefix, named=True)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(value.split("?")[0]).stem).strip("-") or "api"
    if stem == "openapi":
        stem = Path(value.split("?")[0]).parent.name or stem
    return SpecSource(stem, value, prefix)
