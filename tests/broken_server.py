"""A small, deliberately broken server for negative controls of the contract harness.

Its contract is tests/corpus/broken_target.yaml. Defects, one per operation:
- getCounter answers `value` as a string (wrong type);
- listTeapots answers 418 (an undocumented status);
- search answers 500 for an empty `q`;
- listNotes is fine; createNote ignores the auth check (201 without a token).
Every request is kept in ``journal`` so tests can assert what the harness sent.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "secret-broken-token"


def make_broken_app() -> tuple[object, list[tuple[str, str]]]:
    journal: list[tuple[str, str]] = []

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def get_counter(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"message": "no token"}, 401)
        raw = request.path_params["id"]
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            return JSONResponse({"message": "bad id"}, 400)
        return JSONResponse({"id": int(raw), "value": "forty-two"})

    async def list_teapots(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"message": "no token"}, 401)
        return JSONResponse({"message": "I'm a teapot"}, 418)

    async def search(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"message": "no token"}, 401)
        q = request.query_params.get("q")
        if q is None or len(q) > 20:
            return JSONResponse({"message": "bad q"}, 400)
        if q == "":
            return Response("Internal Server Error", 500)
        return JSONResponse({"hits": len(q)})

    async def notes(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse([{"text": "hello"}])
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"message": "bad json"}, 400)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or len(body["text"]) > 100:
            return JSONResponse({"message": "bad note"}, 400)
        return JSONResponse({"text": body["text"]}, 201)  # no auth check: the defect

    routes = Starlette(routes=[
        Route("/counters/{id}", get_counter, methods=["GET"]),
        Route("/teapots", list_teapots, methods=["GET"]),
        Route("/search", search, methods=["GET"]),
        Route("/notes", notes, methods=["GET", "POST"]),
    ])

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            journal.append((scope["method"], scope["path"]))
        await routes(scope, receive, send)

    return app, journal
