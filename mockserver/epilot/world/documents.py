"""File entities: PDFs stored in epilot's file storage and attached to other entities."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .context import WorldContext
from .model import Entity
from .timeline import iso

BUCKET = "epilot-prod-user-content"


def pdf_file(ctx: WorldContext, filename: str, created: datetime, updated: datetime, tags: Iterable[str],
             attached_to: Iterable[Entity], public: bool = False) -> Entity:
    """A PDF file entity attached (``_relations``) to ``attached_to``."""
    size = ctx.rng.randint(40_000, 900_000)
    file = ctx.entity("file", filename, created, updated, tags, filename=filename, type="document",
                      mime_type="application/pdf", size_bytes=size, readable_size=f"{size / 1000:.1f} kB",
                      access_control="public-read" if public else "private")
    key = f"{ctx.org_id}/{file['_id']}/{filename}"
    file["s3ref"] = {"bucket": BUCKET, "key": key}
    if public:
        file["public_url"] = f"https://{BUCKET}.s3.eu-central-1.amazonaws.com/{key}"
    file["file_date"] = iso(created)
    file["_relations"] = [{"entity_id": e["_id"], "_schema": e["_schema"], "_title": e["_title"]} for e in attached_to]
    return file
