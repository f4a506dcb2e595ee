"""Files: the customer's documents (attach, delete, list, count, preview, track downloads) and the
portal's own files (teaser images and the like, saved by an admin).

Files are ``file`` entities related to the entity they belong to; a customer sees the files of the
entities they may see. Portal files carry ``portal_id`` and ``portal_file_type``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from . import behaviours
from .config import portal_by_id, portal_of_call

FILE_HOST = "https://files.epilot-mock.local"
PDF = ("pdf",)
IMAGES = ("jpg", "jpeg", "png", "gif", "webp", "svg", "bmp")


def file_item(call: Call, file_entity: dict[str, Any]) -> dict[str, Any]:
    """A file as the portal shows it: with the visible entities it belongs to and whether it is new."""
    item = dict(file_entity)
    item["_relations"] = [{"entity_id": e["_id"], "_schema": e["_schema"], "_title": e.get("_title", "")}
                          for e in c.related(call, file_entity) if e["_schema"] != "file"]
    item["is_new"] = not int(file_entity.get("download_count") or 0)
    return item


def _extension(file_entity: dict[str, Any]) -> str:
    name = str(file_entity.get("filename") or (file_entity.get("s3ref") or {}).get("key") or "")
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _url(file_entity: dict[str, Any], *, download: bool = False) -> str:
    ref = file_entity.get("s3ref") or {}
    path = f"{ref.get('bucket', 'epilot-mock-files')}/{ref.get('key') or file_entity['_id']}"
    return f"{FILE_HOST}/{quote(path)}" + ("?download=1" if download else "")  # a "uri": ASCII only


@behaviours("saveEntityFile")
def save_entity_file(call: Call) -> Any:
    body = call.body
    target = c.load(call, body["entity_id"], body["entity_type"])
    created = []
    for item in body["files"]:
        s3ref = item["s3ref"] if isinstance(item.get("s3ref"), dict) else {}
        attributes = {"filename": item["filename"], "access_control": item.get("access_control", "private"),
                      "s3ref": {"bucket": str(s3ref.get("bucket", "epilot-mock-files")),
                                "key": str(s3ref.get("key", item["filename"]))},
                      "type": "document", "_tags": ["portal-upload"]}
        file_entity = c.create_entity(call, "file", attributes)
        c.add_relation(target, "files", file_entity)
        created.append(file_entity)
    c.save(call, c.apply_patch(call, target, {}))
    return call.json({"createdFiles": created}, status=201)


@behaviours("deleteEntityFile")
def delete_entity_file(call: Call) -> Any:
    body = call.body
    target = c.load(call, body["entity_id"], body["entity_type"])
    st = c.store(call)
    files = [c.load(call, file_id, "file") for file_id in dict.fromkeys(body["file_entity_ids"])]
    attached = {e["_id"] for e in c.related(call, target, "file")}
    for file_entity in files:
        if file_entity["_id"] not in attached:
            raise Reject("not_found", f"file {file_entity['_id']} is not attached to {target['_id']}")
    for file_entity in files:
        c.remove_relation(target, file_entity["_id"])
        st.delete(file_entity["_id"])
        c.world(call).emit({"type": "entity.deleted", "schema": "file", "entity": file_entity,
                            "source": call.op.api.name, "operation": call.op.id})
    c.save(call, c.apply_patch(call, target, {}))
    return call.json({"deletedFiles": [f["_id"] for f in files]}, status=202)


@behaviours("getFileById")
def get_file_by_id(call: Call) -> Any:
    return call.json({"file": file_item(call, c.load(call, call.params["id"], "file"))})


@behaviours("trackFileDownloaded")
def track_file_downloaded(call: Call) -> Any:
    file_entity = c.load(call, call.params["id"], "file")
    count = int(file_entity.get("download_count") or 0) + 1
    saved = c.save(call, c.apply_patch(call, file_entity, {"download_count": count}))
    return call.json({"file": file_item(call, saved)})


@behaviours("getFilePreview")
def get_file_preview(call: Call) -> Any:
    file_entity = c.load(call, call.params["id"], "file")
    ext, mime = _extension(file_entity), str(file_entity.get("mime_type") or "")
    if ext in PDF or mime == "application/pdf":
        kind = "pdf"
    elif ext in IMAGES or mime.startswith("image/"):
        kind = "image"
    else:
        return call.json({"kind": "unsupported", "download_url": _url(file_entity, download=True)})
    return call.json({"kind": kind, "url": _url(file_entity), "download_url": _url(file_entity, download=True)})


def _customer_files(call: Call) -> list[dict[str, Any]]:
    return [f for f in c.visible_of_schema(call, "file") if not f.get("portal_id")]


@behaviours("getAllFiles")
def get_all_files(call: Call) -> Any:
    p = call.params
    files = _customer_files(call)
    items = [file_item(call, f) for f in files]
    if p.get("entity_ids"):
        wanted = set(p["entity_ids"])
        items = [i for i in items if wanted & {r["entity_id"] for r in i["_relations"]}]
    if p.get("file_types"):
        types = set(p["file_types"])
        items = [i for i in items if i.get("type") in types]
    offset, size = c.page_params(call)
    return call.json({"results": items[offset:offset + size], "hits": len(items)})


@behaviours("getFilesCountByEntity")
def get_files_count_by_entity(call: Call) -> Any:
    counts: dict[str, dict[str, Any]] = {}
    for f in _customer_files(call):
        for owner in c.related(call, f):
            if owner["_schema"] == "file":
                continue
            row = counts.setdefault(owner["_id"], {"entity_id": owner["_id"], "_schema": owner["_schema"],
                                                   "_title": owner.get("_title", ""), "file_count": 0})
            row["file_count"] += 1
    return call.json(sorted(counts.values(), key=lambda r: (-r["file_count"], r["entity_id"])))


def _save_portal_files(call: Call, portal: dict[str, Any]) -> Any:
    created = []
    for item in call.body["files"]:
        s3ref = item.get("s3ref") if isinstance(item.get("s3ref"), dict) else {}
        filename = item.get("filename") or str(s3ref.get("key") or item["file_type"]).rsplit("/", 1)[-1]
        attributes = {"filename": filename, "access_control": "public-read", "type": "image",
                      "portal_id": portal["portal_id"], "portal_file_type": item["file_type"],
                      "_tags": [*(item.get("_tags") or []), item["file_type"]],
                      "s3ref": {"bucket": str(s3ref.get("bucket", "epilot-mock-files")),
                                "key": str(s3ref.get("key", f"portal/{portal['portal_id']}/{filename}"))}}
        file_entity = c.new_entity(call, "file", attributes)
        file_entity["public_url"] = _url(file_entity)
        created.append(c.save(call, file_entity, change="created"))
    return call.json({"createdFiles": created}, status=201)


@behaviours("savePortalFiles")
def save_portal_files(call: Call) -> Any:
    origin = call.body.get("origin")
    portal = portal_of_call(call) if not origin else next(
        (p for p in c.store(call).record_list("portal_config") if p.get("origin") == origin), None)
    if portal is None:
        raise Reject("not_found", f"no portal with origin {origin}")
    return _save_portal_files(call, portal)


@behaviours("savePortalFilesV3")
def save_portal_files_v3(call: Call) -> Any:
    return _save_portal_files(call, portal_by_id(call, call.params["portal_id"]))
