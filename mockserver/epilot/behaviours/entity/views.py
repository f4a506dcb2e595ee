"""Saved views: table configurations per user (records ``entity_view``). A user sees their own views
and the shared ones; a view is a favourite of the users listed in its ``isFavoritedBy``."""

from __future__ import annotations

from typing import Any

from mockserver.engine.call import Call
from mockserver.engine.errors import Reject

from .. import common as c
from .core import behaviours, caller_org, select_fields

KIND = "entity_view"
FIXED = ("id", "created_at", "created_by", "org")


def _user(call: Call) -> str:
    return call.principal.subject or "anonymous"


def _visible(call: Call, view: dict[str, Any]) -> bool:
    if view.get("org") != caller_org(call):
        return False
    creator = view.get("created_by") or {}
    return bool(view.get("shared")) or creator.get("user_id") == _user(call) or "source" in creator


def _load(call: Call) -> dict[str, Any]:
    view = c.store(call).record_get(KIND, call.params["id"])
    if view is None or not _visible(call, view):
        raise Reject("not_found", f"Saved view {call.params['id']} not found")
    return view


def _fields(body: Any) -> dict[str, Any]:
    return {k: v for k, v in (body if isinstance(body, dict) else {}).items() if k not in (*FIXED, "updated_at")}


@behaviours("listSavedViews")
def list_saved_views(call: Call) -> Any:
    p = call.params
    views = [v for v in c.store(call).record_list(KIND) if _visible(call, v)]
    if p.get("slug"):
        views = [v for v in views if p["slug"] in (v.get("slug") or [])]
    if p.get("q"):
        views = [v for v in views if str(p["q"]).lower() in str(v.get("name") or "").lower()]
    field, _, direction = str(p.get("sort") or "created_at:desc").partition(":")
    field = field if field in ("name", "created_at", "updated_at") else "created_at"
    views.sort(key=lambda v: str(v.get(field) or ""), reverse=direction.lower() != "asc")
    start = max(0, int(p.get("from") or 0))
    size = len(views) if p.get("size") is None else max(0, int(p["size"]))
    page = [select_fields(v, p.get("fields")) if p.get("fields") else v for v in views[start:start + size]]
    return call.json({"hits": len(views), "results": page})


@behaviours("createSavedView")
def create_saved_view(call: Call) -> Any:
    w = c.world(call)
    now = w.now()
    view = {"id": w.new_id(), "created_at": now, "updated_at": now, "org": caller_org(call),
            "created_by": {"user_id": _user(call), "org_id": caller_org(call)},
            "slug": [], "name": "Untitled view", "shared": False, "isFavoritedBy": [], "ui_config": {}}
    view.update(_fields(call.body))
    c.store(call).record_put(KIND, view["id"], view)
    return call.json(view, status=201)


@behaviours("getSavedView")
def get_saved_view(call: Call) -> Any:
    return call.json(_load(call))


def _write(call: Call, *, replace: bool) -> Any:
    view = _load(call)
    changes = _fields(call.body)
    if replace:
        view = {k: view[k] for k in FIXED if k in view}
    view.update(changes)
    view["updated_at"] = c.world(call).now()
    c.store(call).record_put(KIND, view["id"], view)
    return call.json(view)


@behaviours("updateSavedView")
def update_saved_view(call: Call) -> Any:
    return _write(call, replace=True)


@behaviours("patchSavedView")
def patch_saved_view(call: Call) -> Any:
    return _write(call, replace=False)


@behaviours("deleteSavedView")
def delete_saved_view(call: Call) -> Any:
    view = _load(call)
    c.store(call).record_delete(KIND, view["id"])
    return call.empty(200)


@behaviours("listFavoriteViewsForUser")
def list_favorite_views(call: Call) -> Any:
    user = _user(call)
    views = [v for v in c.store(call).record_list(KIND) if _visible(call, v) and user in (v.get("isFavoritedBy") or [])]
    return call.json({"results": views})
