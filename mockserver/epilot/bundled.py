"""Where epilot's bundled specs and scenarios live (a source checkout, or a wheel install)."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # mockserver/


def _data_dir(name: str) -> Path:
    override = os.environ.get(f"EPILOT_MOCK_{name.upper()}_DIR")
    if override:
        return Path(override)
    installed = _PACKAGE_ROOT / "bundled" / name  # wheel installs (force-included by pyproject)
    if installed.is_dir():
        return installed
    return _PACKAGE_ROOT.parent / name  # a source checkout or editable install


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
