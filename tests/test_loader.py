"""Loading specs: split files, recursion, URLs, JSON/YAML, and one-line errors."""

import http.server
import re
import threading
from functools import partial

import pytest

from mockserver.engine.app import MockConfig, StartupError, create_app
from mockserver.engine.loader import SpecError, bundle

from .conftest import CORPUS, corpus


def test_split_spec_hoists_external_schemas_and_keeps_recursion():
    spec, files = bundle(corpus("split/openapi.yaml"), cache=False)
    schemas = spec["components"]["schemas"]
    assert set(schemas) == {"Customer", "Address", "Error"}
    assert schemas["Customer"]["properties"]["referred_by"] == {"$ref": "#/components/schemas/Customer"}
    assert schemas["Customer"]["properties"]["address"] == {"$ref": "#/components/schemas/Address"}
    get = spec["paths"]["/customers/{id}"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Customer"}
    assert len(files) == 3
    refs = re.findall(r"'\$ref': '([^']*)'", str(spec))
    assert refs and all(r.startswith("#/components/schemas/") for r in refs)


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("EPILOT_MOCK_CACHE_DIR", str(tmp_path))
    first, _ = bundle(corpus("split/openapi.yaml"))
    assert list(tmp_path.glob("spec-*.json"))
    second, _ = bundle(corpus("split/openapi.yaml"))
    assert first == second


def test_json_and_31_documents_load():
    spec, _ = bundle(corpus("openapi31.json"))
    assert spec["openapi"] == "3.1.0"


def test_specs_load_from_a_url():
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(CORPUS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/split/openapi.yaml"
        spec, _ = bundle(url)
        assert set(spec["components"]["schemas"]) == {"Customer", "Address", "Error"}
    finally:
        server.shutdown()


@pytest.mark.parametrize("content,fragment", [
    ("openapi: 3.0.3\ninfo: {title: x\n", "invalid YAML at line"),
    ("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "not an OpenAPI 3 document (version '2.0')"),
    ("- just\n- a list\n", "not an OpenAPI document"),
    ("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a: {$ref: 'nowhere.yaml#/a'}\n", "cannot read"),
])
def test_bad_documents_give_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "spec.yaml"
    path.write_text(content)
    with pytest.raises(SpecError) as err:
        bundle(str(path), cache=False)
    assert fragment in str(err.value) and "\n" not in str(err.value) and "spec.yaml" in str(err.value), str(err.value)
    with pytest.raises(StartupError):
        create_app(MockConfig(specs=[str(path)]))


def test_missing_file_is_a_startup_error():
    with pytest.raises(StartupError, match="cannot read"):
        create_app(MockConfig(specs=["/definitely/not/here.yaml"]))
