"""A user's own plugin: a two-operation notes API, stateful on the engine's store.

This is the whole of what a plugin needs (see the README's "Plugins" section)."""

from __future__ import annotations

from pathlib import Path

from mockserver.engine import BehaviourSet, Builder, Call, MockResponse, Plugin, Reject

behaviours = BehaviourSet("notes")


class Notes:
    """The plugin's own service: behaviours get it back by type."""

    def __init__(self, builder: Builder) -> None:
        self.store = builder.store()
        self.clock = builder.clock
        self.created = 0


@behaviours("createNote")
def create_note(call: Call) -> MockResponse:
    notes = call.service(Notes)
    notes.created += 1
    note = {"id": f"note-{notes.created}", "text": call.body["text"], "at": notes.clock.iso()}
    notes.store.record_put("note", note["id"], note)
    return call.json({"id": note["id"], "text": note["text"]}, 201)


@behaviours("getNote")
def get_note(call: Call) -> MockResponse:
    note = call.service(Notes).store.record_get("note", call.params["id"])
    if note is None:
        raise Reject("not_found", f"note {call.params['id']} not found")
    return call.json({"id": note["id"], "text": note["text"]})


def install(builder: Builder) -> None:
    if not builder.mounts("notes"):
        return
    builder.provide(Notes, Notes(builder))
    builder.behaviours(behaviours)


plugin = Plugin(name="notes", install=install, apis={"notes": Path(__file__).with_name("notes.yaml")})
