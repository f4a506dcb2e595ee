"""Entity API behaviours: one behaviour set (`core.behaviours`), filled by the modules of this package.

- `core`: entity CRUD, validation, trash and restore, and the helpers the others share;
- `schemas`, `schema_parts`, `schema_store`, `catalogue`, `validation`: the organization's schemas;
- `search`, `relations`, `changesets`, `jobs` (export, import, wipe), `trash`;
- `activity` (recording every change, and the feed), `activity_api`, `views`, `taxonomy`, `taxonomy_jobs`.

Other behaviours read schemas with `schema_store.list_schemas` and activities with `activity.feed`.
"""

from __future__ import annotations

from . import (  # noqa: F401  (each registers its operations on `behaviours`)
    activity_api,
    changesets,
    jobs,
    relations,
    schema_parts,
    schemas,
    search,
    taxonomy,
    taxonomy_jobs,
    views,
)
from .core import behaviours

__all__ = ["behaviours"]
