"""Every operation of every mounted spec is reachable: call each one and check which operation answered."""

import re

import pytest
from starlette.testclient import TestClient

from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.loader import iter_operations

from .conftest import corpus

SPEC_SETS = {
    "bundled": [],
    "corpus": [corpus("colon_routes.yaml"), corpus("recursive.yaml"), corpus("overlapping.yaml"),
               f"/split={corpus('split/openapi.yaml')}", corpus("openapi31.json")],
}


def _value(ctx, schema, seed):
    gen = ctx.generator
    value, ok = gen.generate(schema, seed)
    if isinstance(value, str) or not ok:
        return value
    return value


def _request(op, seed):
    """A request for ``op`` built from its own schemas: path, required query/header params, body."""
    ctx = op.api
    op.compile()
    path = op.path
    query, headers = {}, {"Authorization": "Bearer demo-org-token", "X-Api-Key": "demo-org-token"}
    for p in op.params.params:
        value = _value(ctx, p.schema, seed)
        if isinstance(value, list):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        if p.location == "path":
            path = path.replace("{" + p.name + "}", text or "x")
        elif p.location == "query" and p.required:
            query[p.name] = text
        elif p.location == "header" and p.required:
            headers[p.name] = text.encode("ascii", "ignore").decode() or "x"
    body = None
    for ctype, (schema, _validator) in op.body_media.items():
        if "json" in ctype and schema is not None:
            body = _value(ctx, schema, seed)
            break
    return path, query, headers, body


@pytest.mark.parametrize("specs", SPEC_SETS.values(), ids=SPEC_SETS.keys())
def test_every_operation_is_reachable(specs):
    app = create_app(MockConfig(specs=specs, auth="any", behaviours=False))
    ops = [op for ctx in app.services.apis.values() for op in _all_ops(app, ctx)]
    assert ops
    unreachable = []
    with TestClient(app) as client:
        for i, op in enumerate(ops):
            path, query, headers, body = _request(op, i)
            client.delete("/__admin/requests")
            r = client.request(op.method.upper(), path, params=query, headers=headers,
                               json=body if body is not None else None)
            entry = client.get("/__admin/requests", params={"path": path.split("?")[0]}).json()["requests"]
            answered = entry[0]["operation_id"] if entry else None
            if answered != op.id or (r.status_code in (404, 405) and answered is None):
                unreachable.append(f"{op.method.upper()} {op.path} ({op.id}) -> {answered} {r.status_code}")
            assert r.status_code < 500, f"{op.id}: {r.status_code} {r.text[:300]}"
    assert unreachable == []


def _all_ops(app, ctx):
    by_id = {op.id: op for op in ctx.operations}
    for _path, _method, raw, _item in iter_operations(ctx.spec):
        yield by_id[raw["operationId"]]


def test_colon_paths_reach_their_action():
    with TestClient(create_app(MockConfig(auth="any", behaviours=False))) as c:
        r = c.get("/v2/portal/contract/5da0a718-c822-403d-9f5d-20d4584e0528:validateRule",
                  headers={"Authorization": "Bearer any"}, params={"attribute": "x"})
        log = c.get("/__admin/requests", params={"limit": "1"}).json()["requests"][-1]
        assert log["path"].endswith(":validateRule")
        assert log["operation_id"] in ("validateCadenceEntityEditRules",) and r.status_code < 500
        assert re.match(r"^2\d\d$|^400$", str(r.status_code))
