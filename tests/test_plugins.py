"""The plugin seam: a user's plugin found through the entry point, typed services, the rules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.engine import (
    BehaviourSet,
    Builder,
    Call,
    MockConfig,
    MockResponse,
    Plugin,
    StartupError,
    create_app,
    discover_plugins,
)

HERE = Path(__file__).parent / "plugin_example"
ORG = {"Authorization": "Bearer demo-org-token"}


@pytest.fixture
def notes_installed(tmp_path, monkeypatch):
    """Install the example plugin the way pip would: a dist-info with an entry point on sys.path."""
    dist = tmp_path / "notes_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: notes-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[epilot_mock.plugins]\nnotes = notes_plugin:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(HERE))
    yield
    sys.modules.pop("notes_plugin", None)


def test_a_user_plugin_is_found_through_the_entry_point_and_runs_statefully(notes_installed):
    assert "notes" in [p.name for p in discover_plugins()]
    app = create_app(MockConfig(specs=["notes"]))
    with TestClient(app) as client:
        created = client.post("/notes", json={"text": "read the meter"}, headers=ORG)
        assert created.status_code == 201, created.text
        note_id = created.json()["id"]
        assert client.get(f"/notes/{note_id}", headers=ORG).json() == {"id": note_id, "text": "read the meter"}
        missing = client.get("/notes/none", headers=ORG)
        assert missing.status_code == 404 and missing.json() == {"reason": "note none not found"}
        bad = client.post("/notes", json={"text": 5}, headers=ORG)
        assert bad.status_code == 400 and "reason" in bad.json()
        health = client.get("/__admin/health").json()
    notes = next(a for a in health["apis"] if a["name"] == "notes")
    assert notes["behaviours"] == 2 and notes["generic"] == []


def test_the_epilot_plugin_is_installed_beside_it(notes_installed):
    app = create_app(MockConfig(specs=["notes", "pricing"]))
    with TestClient(app) as client:
        assert client.post("/v1/pricing:compute", json={"line_items": []}, headers=ORG).status_code == 200
        assert client.post("/notes", json={"text": "x"}, headers=ORG).status_code == 201


def _plugin(install) -> Plugin:  # type: ignore[no-untyped-def]
    return Plugin(name="t", install=install, apis={"notes": HERE / "notes.yaml"})


def test_a_behaviour_for_an_operation_the_bundled_document_lacks_stops_the_start():
    bset = BehaviourSet("notes")
    bset("deleteNote")(lambda call: call.empty())

    def install(builder: Builder) -> None:
        builder.behaviours(bset)

    with pytest.raises(StartupError, match="deleteNote"):
        create_app(MockConfig(specs=["notes"]), plugins=[_plugin(install)])


def test_behaviours_attach_to_another_document_by_api_name_and_missing_ones_are_reported(tmp_path):
    import yaml

    doc = yaml.safe_load((HERE / "notes.yaml").read_text())
    doc["paths"]["/notes/{id}"]["get"]["operationId"] = "readNote"  # renamed in the newer document
    path = tmp_path / "notes-v2.yaml"
    path.write_text(yaml.safe_dump(doc))
    bset = BehaviourSet("notes")
    bset("createNote")(lambda call: call.json({"id": "n1", "text": call.body["text"]}, 201))
    bset("getNote")(lambda call: call.json({"id": "n1", "text": "x"}))

    def install(builder: Builder) -> None:
        builder.behaviours(bset)

    app = create_app(MockConfig(specs=[f"notes={path}"]), plugins=[_plugin(install)])
    with TestClient(app) as client:
        assert client.post("/notes", json={"text": "hi"}).json() == {"id": "n1", "text": "hi"}
        health = client.get("/__admin/health").json()
    notes = health["apis"][0]
    assert notes["behaviours"] == 1 and notes["generic"] == ["readNote"] and notes["unmounted"] == ["getNote"]


def test_a_service_is_provided_once_and_got_back_by_type():
    class Thing:
        pass

    class Other:
        pass

    def install(builder: Builder) -> None:
        builder.provide(Thing, Thing())
        builder.provide(Thing, Thing())

    with pytest.raises(StartupError, match="already provided"):
        create_app(MockConfig(specs=[str(HERE / "notes.yaml")]), plugins=[_plugin(install)])
    app = create_app(MockConfig(specs=[str(HERE / "notes.yaml")]),
                     plugins=[_plugin(lambda b: b.provide(Thing, Thing()))])
    assert isinstance(app.services.get(Thing), Thing)
    assert app.services.find(Other) is None
    with pytest.raises(LookupError):
        app.services.get(Other)


def test_an_unknown_plugin_name_stops_the_start():
    with pytest.raises(StartupError, match="no installed plugin named nope"):
        create_app(MockConfig(plugins=["nope"]))


def _broken(call: Call) -> MockResponse:
    return call.json({"id": 7, "text": "x"})  # violates Note: id is a string


def test_validate_responses_turns_a_corrupted_behaviour_response_into_a_500_naming_the_operation(caplog):
    bset = BehaviourSet("notes")
    bset("getNote")(_broken)

    def install(builder: Builder) -> None:
        builder.behaviours(bset)

    spec = f"notes={HERE / 'notes.yaml'}"
    with TestClient(create_app(MockConfig(specs=[spec]), plugins=[_plugin(install)])) as client:
        assert client.get("/notes/1").status_code == 200  # off by default: served as is
    with TestClient(create_app(MockConfig(specs=[spec], validate_responses=True),
                               plugins=[_plugin(install)])) as client:
        r = client.get("/notes/1")
    assert r.status_code == 500
    assert "getNote" in r.json()["reason"] and "id" in r.json()["reason"]
    assert any("getNote" in rec.getMessage() for rec in caplog.records)


def test_the_readme_plugin_example_runs_as_written(tmp_path, monkeypatch):
    import re
    import shutil

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("## Plugins: your own API, stateful"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    package = tmp_path / "my_notes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(code)
    shutil.copy(HERE / "notes.yaml", package / "notes.yaml")
    dist = tmp_path / "my_notes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-notes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[epilot_mock.plugins]\nnotes = my_notes.plugin:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with TestClient(create_app(MockConfig(specs=["notes"], validate_responses=True))) as client:
            created = client.post("/notes", json={"text": "hello"}, headers=ORG)
            assert created.status_code == 201 and created.json() == {"id": "note-1", "text": "hello"}
            assert client.get("/notes/note-1", headers=ORG).json()["text"] == "hello"
            assert client.get("/notes/nope", headers=ORG).status_code == 404
    finally:
        sys.modules.pop("my_notes.plugin", None)
        sys.modules.pop("my_notes", None)
