"""API reference pages: Swagger UI for every mounted API at ``/__docs/{api}`` and an index at
``/__docs``, served from the ``swagger-ui-bundle`` package (no CDN).

Each page loads its document from ``/__docs/{api}/openapi.json``: the mounted spec with the mock
itself as its server (so "Try it out" calls the mock) and the demo tokens of the token registry
named in each security scheme; the page puts a token of the right kind into "Authorize" and offers
the others. These pages are open even when the admin API needs a token.
"""

from __future__ import annotations

import copy
import html
import mimetypes
from pathlib import Path
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from .operation import ApiContext
from .response import MockResponse, send_response
from .services import Services

PREFIX = "/__docs"
WEB = Path(__file__).with_name("web")
STATIC_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
                "oauth2-redirect.html")


def swagger_ui_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # pragma: no cover - a dependency
        return None
    return Path(swagger_ui_path)


class DocsMiddleware:
    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            response = MockResponse(405, {"message": f"{scope['method']} is not allowed on {path}"},
                                    headers={"Allow": "GET, HEAD"})
        else:
            response = self.page(path[len(PREFIX):].strip("/"))
        await send_response(send, response, head=scope["method"] == "HEAD")

    def page(self, sub: str) -> MockResponse:
        apis = self.services.apis
        if sub == "":
            return _html(index_page(list(apis.values())))
        if sub.startswith("static/"):
            return static(sub[len("static/"):])
        name, _, rest = sub.partition("/")
        ctx = apis.get(name)
        if ctx is None:
            return MockResponse(404, {"message": f"no API named '{name}' (mounted: {', '.join(apis) or 'none'})"})
        if rest == "":
            return _html(api_page(ctx))
        if rest == "openapi.json":
            return MockResponse(200, orjson.dumps(docs_spec(ctx, self.services)))
        return MockResponse(404, {"message": f"no docs page /__docs/{sub}"})


def _html(text: str) -> MockResponse:
    return MockResponse(200, text.encode(), content_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


def static(name: str) -> MockResponse:
    folder = swagger_ui_dir()
    if name not in STATIC_FILES or folder is None or not (folder / name).is_file():
        return MockResponse(404, {"message": f"no static file '{name}'"})
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return MockResponse(200, (folder / name).read_bytes(), content_type=kind,
                        headers={"Cache-Control": "public, max-age=86400"})


def docs_spec(ctx: ApiContext, services: Services) -> dict[str, Any]:
    """The API's document as the docs page shows it: the mock as its server, demo tokens named."""
    spec = copy.deepcopy(ctx.spec)
    spec["servers"] = [{"url": ctx.prefix or "/", "description": "this mock"}]
    tokens = services.tokens.listing()
    for scheme in ((spec.get("components") or {}).get("securitySchemes") or {}).values():
        if not isinstance(scheme, dict):
            continue
        offered = scheme_tokens(scheme, tokens)
        if offered:
            lines = "\n".join(f"- `{t['token']}`: {t.get('name') or t['subject']} ({t['kind']})" for t in offered[:20])
            more = f"\n- … and {len(offered) - 20} more (`GET /__admin/tokens`)" if len(offered) > 20 else ""
            note = f"**Demo tokens of this mock:**\n\n{lines}{more}"
            scheme["description"] = f"{scheme['description']}\n\n{note}" if scheme.get("description") else note
        scheme["x-mock-demo-tokens"] = [t["token"] for t in offered]
    return spec


def scheme_tokens(scheme: dict[str, Any], tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registry's tokens a security scheme accepts (by ``x-mock-token-kinds``; all without it)."""
    kinds = scheme.get("x-mock-token-kinds")
    if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "basic":
        return []
    return [t for t in tokens if not kinds or t["kind"] in kinds]


def index_page(apis: list[ApiContext]) -> str:
    rows = "\n".join(
        f'<li><a href="{PREFIX}/{html.escape(ctx.name)}">{html.escape(ctx.name)}</a> '
        f"<span>{html.escape(str((ctx.spec.get('info') or {}).get('title') or ''))}: "
        f"{len(ctx.operations)} operations at <code>{html.escape(ctx.prefix or '/')}</code></span></li>"
        for ctx in apis)
    return (WEB / "docs_index.html").read_text().replace("{{rows}}", rows)


def api_page(ctx: ApiContext) -> str:
    title = str((ctx.spec.get("info") or {}).get("title") or ctx.name)
    return ((WEB / "docs_api.html").read_text().replace("{{title}}", html.escape(title))
            .replace("{{api}}", html.escape(ctx.name)))
