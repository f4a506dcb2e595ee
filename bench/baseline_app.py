"""The baseline of `bench/run.py`: a bare Starlette app with no validation, auth or state.

GET /v2/portal/contract answers a fixed JSON body of about the size of the mock's contract list;
POST /v1/entity:search, /v1/pricing:compute and /v2/erp/updates/mapping_simulation parse the JSON body and echo it back.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_CONTRACT = {
    "_schema": "contract",
    "_org": "739224",
    "_tags": ["Strom"],
    "_created_at": "2024-03-01T09:00:00.000Z",
    "_updated_at": "2025-02-20T20:00:13.680Z",
    "status": "active",
    "contract_number": "V-2024-000123",
    "billing_period": "monthly",
    "renewal_duration_amount": 12,
    "renewal_duration_unit": "months",
    "notice_time_amount": 1,
    "notice_time_unit": "months",
    "billing_due_day": 5,
    "installment_amount": 11400,
    "balance": 0,
    "balance_currency": "EUR",
    "customer": {"$relation": [{"entity_id": "77cb1a27-974f-4edc-a6b6-208761a53fdd", "_schema": "contact"}]},
    "meters": {"$relation": [{"entity_id": "6d62e40c-638d-421a-bbc5-9e92ca1209ad", "_schema": "meter"}]},
}
BODY = {
    "hits": 3,
    "results": [{**_CONTRACT, "_id": f"4f2b8c1e-9d3a-4e7b-a6c5-0b1d2e3f4a5{n}", "_title": f"Contract {n}"}
                for n in range(3)],
}


async def contracts(request: Request) -> JSONResponse:
    return JSONResponse(BODY)


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[
    Route("/v2/portal/contract", contracts, methods=["GET"]),
    Route("/v1/entity:search", echo, methods=["POST"]),
    Route("/v1/pricing:compute", echo, methods=["POST"]),
    Route("/v2/erp/updates/mapping_simulation", echo, methods=["POST"]),
    Route("/__admin/health", health, methods=["GET"]),
])
