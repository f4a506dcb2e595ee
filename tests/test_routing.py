"""The route table: specificity, colon actions, resource-first 405s, collisions."""

import pytest

from mockserver.engine.app import MockConfig, StartupError, create_app
from mockserver.engine.routing import Route, RouteCollision, RouteTable

from .conftest import corpus


def table(*templates: tuple[str, str]) -> RouteTable:
    t = RouteTable()
    for method, template in templates:
        t.add(Route(template, method, f"{method} {template}", "api"))
    return t


def routed(t: RouteTable, method: str, path: str) -> tuple[str | None, dict[str, str]]:
    m = t.match(method, path)
    assert m is not None, f"{method} {path} matched nothing"
    return (m.route.endpoint if m.route else None), m.path_params


def test_literal_segment_beats_parameter_whatever_the_order():
    t = table(("get", "/pages/{id}"), ("get", "/pages/default"))
    assert routed(t, "GET", "/pages/default") == ("get /pages/default", {})
    assert routed(t, "GET", "/pages/42") == ("get /pages/{id}", {"id": "42"})


def test_colon_action_beats_plain_parameter_routes():
    t = table(("get", "/v2/portal/contract/{id}"), ("get", "/v2/portal/pages/{id}"),
              ("get", "/v2/portal/{slug}/{id}:validateRule"))
    assert routed(t, "GET", "/v2/portal/contract/abc:validateRule") == (
        "get /v2/portal/{slug}/{id}:validateRule", {"slug": "contract", "id": "abc"})
    assert routed(t, "GET", "/v2/portal/pages/7:validateRule")[1] == {"slug": "pages", "id": "7"}
    assert routed(t, "GET", "/v2/portal/contract/abc") == ("get /v2/portal/contract/{id}", {"id": "abc"})


def test_colon_action_on_a_literal_resource():
    t = table(("post", "/v2/portal/entity:search"), ("post", "/v2/portal/entity:get"),
              ("get", "/v2/portal/entity/{id}"))
    assert routed(t, "POST", "/v2/portal/entity:search")[0] == "post /v2/portal/entity:search"
    assert routed(t, "POST", "/v2/portal/entity:get")[0] == "post /v2/portal/entity:get"


def test_a_method_the_most_specific_path_lacks_is_405_not_a_fall_through():
    t = table(("get", "/v1/entity/schemas/{slug}"), ("put", "/v1/entity/{slug}/{id}"),
              ("get", "/v1/entity/{slug}/{id}"))
    m = t.match("PUT", "/v1/entity/schemas/contact")
    assert m is not None and m.route is None and m.allowed == ("GET",)
    assert routed(t, "PUT", "/v1/entity/contact/1")[0] == "put /v1/entity/{slug}/{id}"


def test_head_is_served_by_get_and_unknown_paths_match_nothing():
    t = table(("get", "/a/{x}"))
    assert routed(t, "HEAD", "/a/1")[0] == "get /a/{x}"
    assert t.match("GET", "/b/1") is None
    assert t.match("GET", "/a") is None


def test_same_method_and_template_twice_is_a_collision():
    t = table(("get", "/a/{x}"))
    with pytest.raises(RouteCollision, match="path collision"):
        t.add(Route("/a/{y}", "get", "other", "api2"))
    t.add(Route("/a/{y}", "post", "ok", "api2"))  # another method on the same path is fine


def test_colliding_specs_fail_at_startup_with_one_line():
    with pytest.raises(StartupError) as err:
        create_app(MockConfig(specs=[corpus("colon_routes.yaml"), corpus("colon_routes.yaml")]))
    assert "path collision" in str(err.value) and "\n" not in str(err.value)


def test_prefix_mount_avoids_the_collision():
    app = create_app(MockConfig(specs=[corpus("colon_routes.yaml"), f"/copy={corpus('colon_routes.yaml')}"]))
    templates = {r.template for r in app.routing.table.routes}
    assert "/items/{id}:archive" in templates and "/copy/items/{id}:archive" in templates
