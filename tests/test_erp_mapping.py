"""The ERP inbound mapping engine: payload parsing, every mapping rule, and the simulation response schema."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest

from mockserver.engine.loader import bundle
from mockserver.engine.oas_schema import SchemaCompiler, first_error
from mockserver.epilot.erp import mapping as mapping_module
from mockserver.epilot.erp.jsonata import ENGINE_ENV, UNDEFINED, available_engines
from mockserver.epilot.erp.mapping import MappingError, compile_mapping, map_event, reading_number, reading_problems
from mockserver.epilot.erp.payload import JsonPathError, PayloadError, compile_jsonpath, parse_payload

ROOT = Path(__file__).resolve().parent.parent
ERP_SPEC = ROOT / "specs" / "erp-integration" / "openapi.yaml"
ENTITIES = ROOT / "specs" / "components" / "entities.yaml"


@pytest.fixture(scope="module")
def erp_spec():
    spec, _files = bundle(str(ERP_SPEC))
    return spec


@pytest.fixture(scope="module")
def response_schema(erp_spec):
    return SchemaCompiler(erp_spec, "response").compile({"$ref": "#/components/schemas/MappingSimulationResponse"})


@pytest.fixture(scope="module")
def request_schema(erp_spec):
    compiler = SchemaCompiler(erp_spec, "request")
    return lambda name: compiler.compile({"$ref": f"#/components/schemas/{name}"})


@pytest.fixture(scope="module")
def entity_attributes(tmp_path_factory):
    """Validators of the core entities' attribute schemas (`<Name>Attributes`)."""
    names = ["ContactAttributes", "ContractAttributes", "MeterAttributes", "MeterCounterAttributes"]
    doc = tmp_path_factory.mktemp("entities") / "openapi.yaml"
    refs = "\n".join(f"    {name}: {{$ref: '{ENTITIES}#/{name}'}}" for name in names)
    doc.write_text(f"openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n{refs}\n")
    spec, _files = bundle(str(doc), cache=False)
    compiler = SchemaCompiler(spec, "request")
    return {name: compiler.compile({"$ref": f"#/components/schemas/{name}"}) for name in names}


@pytest.fixture(params=available_engines())
def engine(request, monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, request.param)
    return request.param


@pytest.fixture
def simulate(response_schema):
    """Map an event and return the simulation response, checked against MappingSimulationResponse."""

    def run(config, payload, fmt="json"):
        body = map_event(config, payload, format=fmt).to_simulation_response()
        assert first_error(response_schema, body) is None, first_error(response_schema, body)
        return body

    return run


def entity(schema="contact", unique_ids=("id",), fields=None, **extra):
    fields = fields if fields is not None else [{"attribute": "id", "field": "id"}]
    return {"entity_schema": schema, "unique_ids": list(unique_ids), "fields": fields, **extra}


def attributes_of(config, payload, fmt="json"):
    return [u["attributes"] for u in map_event(config, payload, format=fmt).entity_updates]


# ---------------------------------------------------------------------------------------------- payloads


def test_object_payloads_are_used_as_given():
    payload = {"a": 1}
    assert parse_payload(payload, "json") is payload
    assert parse_payload(payload, "xml") is payload
    assert parse_payload([{"a": 1}], "json") == [{"a": 1}]


def test_json_string_payloads_are_parsed():
    assert parse_payload('{"a": [1, 2.5, null, "x"]}', "json") == {"a": [1, 2.5, None, "x"]}


@pytest.mark.parametrize(
    ("payload", "fmt", "message"),
    [
        ('{"a":', "json", "not valid JSON"),
        ("", "json", "not valid JSON"),
        ("42", "json", "must hold an object"),
        ("<a>", "xml", "not well-formed XML: no element found: line 1, column 3"),
        ("  ", "xml", "empty"),
        ("<a/><b/>", "xml", "junk after document element"),
        (42, "json", "not a number"),
        (None, "xml", "not null"),
        ("{}", "yaml", "unknown payload format"),
    ],
)
def test_malformed_payloads(payload, fmt, message):
    with pytest.raises(PayloadError, match=message):
        parse_payload(payload, fmt)


def test_xml_conversion_convention():
    xml = """<?xml version="1.0"?>
    <sap:Root xmlns:sap="urn:sap" version="2">
      <Id>7</Id>
      <Item n="1">first</Item>
      <Item>second</Item>
      <Single><Name> Max </Name></Single>
      <Empty/>
      <Mixed>a<b>2</b>c</Mixed>
      <Escaped>&lt;&amp;&#x41;</Escaped>
    </sap:Root>"""
    assert parse_payload(xml, "xml") == {
        "Root": {
            "@version": "2",
            "Id": "7",
            "Item": [{"@n": "1", "#text": "first"}, "second"],
            "Single": {"Name": "Max"},
            "Empty": None,
            "Mixed": {"b": "2", "#text": "ac"},
            "Escaped": "<&A",
        }
    }


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>',
        '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>',
        '<!DOCTYPE foo SYSTEM "http://example.invalid/foo.dtd"><foo/>',
    ],
)
def test_xml_with_a_doctype_is_refused(xml):
    with pytest.raises(PayloadError, match="DOCTYPE"):
        parse_payload(xml, "xml")


def test_undeclared_entities_are_malformed_xml():
    with pytest.raises(PayloadError, match="undefined entity"):
        parse_payload("<a>&nope;</a>", "xml")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", {"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}, "x y": 5}),
        ("$.a.b[0].c", 1),
        ("$.a.b[-1].d", 3),
        ("$['x y']", 5),
        ('$["a"]["b"][1].c', 2),
        ("$.a.b[*].c", [1, 2]),
        ("$.a.*", [[{"c": 1}, {"c": 2}, {"d": 3}]]),
        ("$.missing", UNDEFINED),
        ("$.a.b.c", UNDEFINED),
        ("$.a.b[9]", UNDEFINED),
        ("$.a.b[*].zz", UNDEFINED),
    ],
)
def test_jsonpath(path, expected):
    assert compile_jsonpath(path).find({"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}, "x y": 5}) == expected


@pytest.mark.parametrize("path", ["$..c", "a.b", "$.a[?(@.c)]", "$.a[0:1]", "$.", "$a", "$.a['b"])
def test_invalid_jsonpaths(path):
    with pytest.raises(JsonPathError, match="JSONPath"):
        compile_jsonpath(path)


# ---------------------------------------------------------------------------------------------- entities


def test_entity_schema_unique_ids_and_default_mode(simulate):
    config = {
        "entities": [
            entity(
                "contact",
                ["customer_number"],
                [{"attribute": "customer_number", "field": "nr"}, {"attribute": "first_name", "field": "name"}],
            )
        ]
    }
    body = simulate(config, {"nr": "C-1", "name": "Max", "other": True})
    assert body["entity_updates"] == [
        {
            "entity_slug": "contact",
            "unique_identifiers": {"customer_number": "C-1"},
            "attributes": {"customer_number": "C-1", "first_name": "Max"},
            "mode": "upsert",
        }
    ]
    assert body["meter_readings_updates"] == []
    assert body["warnings"] == []


def test_entities_are_processed_in_order(simulate):
    config = {"entities": [entity(schema) for schema in ("meter", "contact", "contract", "contact")]}
    body = simulate(config, {"id": "1"})
    assert [u["entity_slug"] for u in body["entity_updates"]] == ["meter", "contact", "contract", "contact"]


def test_several_unique_ids(simulate):
    fields = [{"attribute": "a", "field": "x"}, {"attribute": "b", "constant": 2}, {"attribute": "c", "field": "y"}]
    body = simulate({"entities": [entity("order", ["b", "a"], fields)]}, {"x": "one", "y": "three"})
    assert body["entity_updates"][0]["unique_identifiers"] == {"b": 2, "a": "one"}


@pytest.mark.parametrize(
    ("enabled", "condition", "mapped"),
    [
        (None, None, True),
        (True, None, True),
        (False, None, False),
        (None, False, False),
        (True, True, True),
        ("kind = 'B2C'", None, True),
        ("kind = 'B2B'", None, False),
        (None, "kind = 'B2C'", True),
        (None, "$exists(missing)", False),
        ("items", None, True),
        ("$count(empty)", None, False),
        ("kind = 'B2C'", "kind = 'B2B'", False),
    ],
)
def test_entity_enabled_and_condition(simulate, enabled, condition, mapped):
    spec = entity()
    if enabled is not None:
        spec["enabled"] = enabled
    if condition is not None:
        spec["condition"] = condition
    body = simulate({"entities": [spec]}, {"id": "1", "kind": "B2C", "items": [1], "empty": []})
    assert len(body["entity_updates"]) == (1 if mapped else 0)


def test_entity_expression_array_fans_out(simulate, engine):
    spec = entity(
        "contract",
        ["nr"],
        [{"attribute": "nr", "field": "Nr"}, {"attribute": "pos", "jsonataExpression": "Pos"}],
        jsonataExpression="Contracts[Active]",
    )
    payload = {
        "Contracts": [
            {"Nr": "A", "Pos": 1, "Active": True},
            {"Nr": "B", "Pos": 2, "Active": False},
            {"Nr": "C", "Pos": 3, "Active": True},
        ]
    }
    body = simulate({"entities": [spec]}, payload)
    assert [u["attributes"] for u in body["entity_updates"]] == [{"nr": "A", "pos": 1}, {"nr": "C", "pos": 3}]


def test_entity_expression_object_yields_one_update(simulate):
    spec = entity("contract", ["nr"], [{"attribute": "nr", "field": "Nr"}], jsonataExpression="Contracts[Nr = 'B']")
    body = simulate({"entities": [spec]}, {"Contracts": [{"Nr": "A"}, {"Nr": "B"}]})
    assert [u["unique_identifiers"] for u in body["entity_updates"]] == [{"nr": "B"}]


@pytest.mark.parametrize("expression", ["Missing", "Contracts[Nr = 'Z']", "false ? $ : undefined"])
def test_entity_expression_undefined_yields_none(simulate, expression):
    spec = entity("contract", ["nr"], [{"attribute": "nr", "field": "Nr"}], jsonataExpression=expression)
    assert simulate({"entities": [spec]}, {"Contracts": [{"Nr": "A"}]})["entity_updates"] == []


@pytest.mark.parametrize(("expression", "shown"), [("'text'", '"text"'), ("[{'Nr': 'A'}, 5]", "5"), ("null", "null")])
def test_entity_expression_must_yield_objects(expression, shown):
    spec = entity("contract", ["nr"], [{"attribute": "nr", "field": "Nr"}], jsonataExpression=expression)
    with pytest.raises(MappingError, match="must yield entity objects") as info:
        map_event({"entities": [spec]}, {})
    assert shown in str(info.value)
    assert info.value.expression == expression


@pytest.mark.parametrize("mode", ["delete", "purge"])
def test_mode_is_carried(simulate, mode):
    assert simulate({"entities": [entity(mode=mode)]}, {"id": "1"})["entity_updates"][0]["mode"] == mode


@pytest.mark.parametrize("deletion", ["purge", "delete"])
def test_prune_scope_modes(simulate, deletion):
    spec = entity(
        "meter",
        ["meter_number"],
        [{"attribute": "meter_number", "field": "No"}],
        jsonataExpression="Meters",
        mode=f"upsert-prune-scope-{deletion}",
        scope={
            "scope_mode": "relations",
            "schema": "contract",
            "unique_ids": [{"attribute": "contract_number", "field": "ContractNo"}],
        },
    )
    body = simulate({"entities": [spec]}, {"ContractNo": "K1", "Meters": [{"No": "M1"}, {"No": "M2"}]})
    assert [u["mode"] for u in body["entity_updates"]] == ["upsert", "upsert"]
    assert body["prune_scope_updates"] == [
        {
            "entity_slug": "meter",
            "scope": {"scope_mode": "relations", "schema": "contract", "unique_ids": {"contract_number": "K1"}},
            "keep_unique_ids": [{"meter_number": "M1"}, {"meter_number": "M2"}],
            "deletion_mode": deletion,
        }
    ]


def test_prune_scope_with_no_updates_keeps_nothing(simulate):
    spec = entity(
        "meter",
        ["meter_number"],
        [{"attribute": "meter_number", "field": "No"}],
        jsonataExpression="Meters",
        mode="upsert-prune-scope-delete",
        scope={"scope_mode": "query", "query": [{"attribute": "contract_number", "constant": "K1"}]},
    )
    body = simulate({"entities": [spec]}, {"Meters": []})
    assert body["entity_updates"] == []
    assert body["prune_scope_updates"][0]["keep_unique_ids"] == []
    assert body["prune_scope_updates"][0]["scope"] == {"scope_mode": "query", "query": {"contract_number": "K1"}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (entity(mode="upsert-prune-scope-purge"), "needs a `scope`"),
        (entity(mode="merge"), "`mode` must be one of"),
        (entity(schema=""), "`entity_schema`"),
        ({"entity_schema": "x", "fields": []}, "`unique_ids`"),
        (entity(fields={"attribute": "id"}), "`fields` must be an array"),
        (entity(enabled=1), "`enabled` must be"),
        (entity(condition=["x"]), "`condition` must be"),
        (entity(unique_ids=["nr"]), "not mapped by any field"),
        (entity(fields=[{"field": "id"}]), "needs an `attribute`"),
        ("contact", "`entity_schema`"),
    ],
)
def test_invalid_entity_configurations(spec, message):
    with pytest.raises(MappingError, match=message):
        compile_mapping({"entities": [spec]})


@pytest.mark.parametrize("config", [[], {"entities": {}}, {"meter_readings": "x"}])
def test_invalid_configurations(config):
    with pytest.raises(MappingError, match="configuration"):
        compile_mapping(config)


def test_an_empty_configuration_maps_nothing(simulate):
    assert simulate({}, {"a": 1}) == {"entity_updates": [], "meter_readings_updates": [], "warnings": []}


# ---------------------------------------------------------------------------------------------- fields


def test_field_is_a_key_of_the_input():
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "dotted", "field": "a.b"},
        {"attribute": "null", "field": "n"},
        {"attribute": "missing", "field": "nope"},
    ]
    assert attributes_of({"entities": [entity(fields=fields)]}, {"id": "1", "a.b": 2, "a": {"b": 3}, "n": None}) == [
        {"id": "1", "dotted": 2, "null": None}
    ]


def test_field_values_are_copied_from_the_payload():
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "address", "field": "address"},
        {"attribute": "tags", "field": "$.meta.tags"},
    ]
    payload = {"id": "1", "address": {"street": "S"}, "meta": {"tags": ["a"]}}
    attributes = attributes_of({"entities": [entity(fields=fields)]}, payload)[0]
    attributes["address"]["street"] = "changed"
    attributes["tags"].append("b")
    assert payload == {"id": "1", "address": {"street": "S"}, "meta": {"tags": ["a"]}}


def test_field_jsonpath_into_nested_input():
    fields = [
        {"attribute": "id", "field": "$.customer.id"},
        {"attribute": "street", "field": "$.address.street"},
        {"attribute": "first_tag", "field": "$.tags[0]"},
        {"attribute": "phones", "field": "$.contacts[*].phone"},
        {"attribute": "missing", "field": "$.address.city"},
    ]
    payload = {
        "customer": {"id": 9},
        "address": {"street": "Hauptstr. 1"},
        "tags": ["a", "b"],
        "contacts": [{"phone": "1"}, {"mail": "x"}, {"phone": "2"}],
    }
    assert attributes_of({"entities": [entity(fields=fields)]}, payload) == [
        {"id": 9, "street": "Hauptstr. 1", "first_tag": "a", "phones": ["1", "2"]}
    ]


def test_invalid_jsonpath_field_is_a_mapping_error():
    with pytest.raises(MappingError) as info:
        compile_mapping({"entities": [entity(fields=[{"attribute": "id", "field": "$..id"}])]})
    assert info.value.field == "id"
    assert info.value.expression == "$..id"
    assert "entities[0] (contact)" in str(info.value)


def test_jsonata_undefined_omits_the_attribute():
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "missing", "jsonataExpression": "nope.deeper"},
        {"attribute": "cond", "jsonataExpression": "flag ? 'yes' : undefined"},
        {"attribute": "null", "jsonataExpression": "null"},
        {"attribute": "kept", "jsonataExpression": "n"},
    ]
    assert attributes_of({"entities": [entity(fields=fields)]}, {"id": "1", "flag": False, "n": None}) == [
        {"id": "1", "null": None, "kept": None}
    ]


def test_jsonata_types_are_kept(engine):
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "cents", "jsonataExpression": "$round(amount * 100)"},
        {"attribute": "amount", "jsonataExpression": "amount"},
        {"attribute": "count", "jsonataExpression": "$count(mails)"},
        {"attribute": "active", "jsonataExpression": "status = 'A'"},
        {
            "attribute": "email",
            "jsonataExpression": "[mails.{'_tags': [$ = 'a@x.de' ? 'Primary' : 'Secondary'], 'email': $}]",
        },
        {"attribute": "address", "jsonataExpression": "{'street': street, 'postal_code': zip}"},
    ]
    payload = {"id": "1", "amount": 3499.9, "status": "A", "mails": ["a@x.de", "b@x.de"], "street": "S", "zip": "50667"}
    assert attributes_of({"entities": [entity(fields=fields)]}, payload) == [
        {
            "id": "1",
            "cents": 349990,
            "amount": 3499.9,
            "count": 2,
            "active": True,
            "email": [{"_tags": ["Primary"], "email": "a@x.de"}, {"_tags": ["Secondary"], "email": "b@x.de"}],
            "address": {"street": "S", "postal_code": "50667"},
        }
    ]
    cents = attributes_of({"entities": [entity(fields=fields)]}, payload)[0]["cents"]
    assert type(cents) is int


def test_javascript_number_formatting_in_mappings(simulate, engine):
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "amount_text", "jsonataExpression": "$formatNumber(cents / 100, '#0.00')"},
        {"attribute": "amount_string", "jsonataExpression": "$string(cents / 100)"},
        {"attribute": "label", "jsonataExpression": "'Abschlag: ' & $formatNumber(cents / 100, '#,##0.00') & ' EUR'"},
        {"attribute": "half_even", "jsonataExpression": "$formatNumber(tricky, '#0.00')"},
        {"attribute": "cents_text", "jsonataExpression": "$string($round(euros * 100))"},
        {"attribute": "whole", "jsonataExpression": "$string(euros * 10)"},
    ]
    body = simulate(
        {"entities": [entity(fields=fields)]}, '{"id": "1", "cents": 299990, "tricky": 0.125, "euros": 3499.9}'
    )
    assert body["entity_updates"][0]["attributes"] == {
        "id": "1",
        "amount_text": "2999.90",
        "amount_string": "2999.9",
        "label": "Abschlag: 2,999.90 EUR",
        "half_even": "0.12",
        "cents_text": "349990",
        "whole": "34999",
    }


@pytest.mark.parametrize(
    "constant", ["text", 0, 12.5, -3, True, False, None, [], [1, "a", None], {}, {"a": {"b": [1]}}]
)
def test_constants_of_every_json_type(simulate, constant):
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "c", "constant": constant}]
    body = simulate({"entities": [entity(fields=fields)]}, {"id": "1", "c": "from the payload"})
    assert body["entity_updates"][0]["attributes"]["c"] == constant
    assert type(body["entity_updates"][0]["attributes"]["c"]) is type(constant)


def test_constants_are_copied_not_shared():
    config = {
        "entities": [entity(fields=[{"attribute": "id", "field": "id"}, {"attribute": "tags", "constant": ["a"]}])]
    }
    original = copy.deepcopy(config)
    result = map_event(config, {"id": "1"})
    result.entity_updates[0]["attributes"]["tags"].append("b")
    assert config == original
    assert map_event(config, {"id": "1"}).entity_updates[0]["attributes"]["tags"] == ["a"]
    mapping = compile_mapping(config)
    config["entities"][0]["fields"][1]["constant"].append("later")
    assert mapping.apply({"id": "1"}).entity_updates[0]["attributes"]["tags"] == ["a"]


@pytest.mark.parametrize(
    ("enabled", "mapped"),
    [
        (True, True),
        (False, False),
        ("vip", True),
        ("$not(vip)", False),
        ("level > 2", True),
        ("level > 5", False),
        ("missing", False),
    ],
)
def test_field_enabled(enabled, mapped):
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "tier", "constant": "gold", "enabled": enabled}]
    attributes = attributes_of({"entities": [entity(fields=fields)]}, {"id": "1", "vip": True, "level": 3})[0]
    assert ("tier" in attributes) is mapped


def test_field_enabled_is_evaluated_on_each_input():
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "vip", "constant": True, "enabled": "level > 2"}]
    config = {"entities": [entity(fields=fields, jsonataExpression="people")]}
    assert attributes_of(config, {"people": [{"id": "a", "level": 1}, {"id": "b", "level": 3}]}) == [
        {"id": "a"},
        {"id": "b", "vip": True},
    ]


def test_repeatable_type_wraps_values_and_matches_on_the_address(simulate, entity_attributes):
    fields = [
        {"attribute": "email", "field": "mail", "_type": "email"},
        {"attribute": "phone", "field": "phones", "_type": "phone"},
        {"attribute": "last_name", "field": "name"},
    ]
    body = simulate(
        {"entities": [entity("contact", ["email"], fields)]},
        {"mail": "erika@example.de", "phones": ["+49 1", {"phone": "+49 2", "_tags": ["Mobil"]}], "name": "M"},
    )
    update = body["entity_updates"][0]
    assert update["unique_identifiers"] == {"email": "erika@example.de"}
    assert update["attributes"] == {
        "email": [{"email": "erika@example.de"}],
        "phone": [{"phone": "+49 1"}, {"phone": "+49 2", "_tags": ["Mobil"]}],
        "last_name": "M",
    }
    assert first_error(entity_attributes["ContactAttributes"], update["attributes"]) is None


def test_repeatable_type_keeps_built_items_and_null():
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "email", "jsonataExpression": "[{'email': mail, '_tags': ['Primary']}]", "_type": "email"},
        {"attribute": "phone", "field": "phone", "_type": "phone"},
    ]
    assert attributes_of({"entities": [entity(fields=fields)]}, {"id": "1", "mail": "a@x.de", "phone": None}) == [
        {"id": "1", "email": [{"email": "a@x.de", "_tags": ["Primary"]}], "phone": None}
    ]


def test_repeatable_type_rejects_other_values():
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "phone", "field": "phone", "_type": "phone"}]
    with pytest.raises(MappingError, match="must be strings or objects"):
        map_event({"entities": [entity(fields=fields)]}, {"id": "1", "phone": 4922112345})


def test_repeatable_unique_id_with_several_addresses():
    fields = [{"attribute": "email", "field": "mails", "_type": "email"}]
    update = map_event(
        {"entities": [entity("contact", ["email"], fields)]}, {"mails": ["a@x.de", "b@x.de"]}
    ).entity_updates[0]
    assert update["unique_identifiers"] == {"email": ["a@x.de", "b@x.de"]}


@pytest.mark.parametrize(
    "field",
    [
        {"attribute": "x"},
        {"attribute": "x", "field": "a", "constant": 1},
        {"attribute": "x", "field": "a", "jsonataExpression": "a"},
        {"attribute": "x", "constant": 1, "relations": {"operation": "_set", "items": []}},
        {"attribute": "x", "field": ""},
        {"attribute": "x", "field": "a", "_type": "fax"},
        {"attribute": "x", "field": "a", "enabled": 0},
    ],
)
def test_invalid_fields(field):
    with pytest.raises(MappingError) as info:
        compile_mapping({"entities": [entity(fields=[{"attribute": "id", "field": "id"}, field])]})
    assert info.value.field == "x"


def test_later_fields_win_but_undefined_removes_nothing():
    fields = [
        {"attribute": "id", "field": "id"},
        {"attribute": "name", "field": "first"},
        {"attribute": "name", "field": "second"},
        {"attribute": "name", "field": "missing"},
    ]
    assert attributes_of({"entities": [entity(fields=fields)]}, {"id": "1", "first": "A", "second": "B"}) == [
        {"id": "1", "name": "B"}
    ]


@pytest.mark.parametrize(
    "helper",
    [
        {"portal_ref": {"return": "portal_id"}},
        {"env_var_ref": {"key": "TENANT"}},
        {"file_proxy_url": {"use_case_slug": "invoices"}},
        {"relation_refs": {"operation": "_set", "items": []}},
    ],
)
def test_context_helpers_are_not_mapped_and_warn(simulate, helper):
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "ref", **helper}]
    body = simulate({"entities": [entity(fields=fields)]}, {"id": "1"})
    assert body["entity_updates"][0]["attributes"] == {"id": "1"}
    assert body["warnings"] == [{"entity_schema": "contact", "field": "ref", "message": body["warnings"][0]["message"]}]
    assert next(iter(helper)) in body["warnings"][0]["message"]


# ---------------------------------------------------------------------------------------------- unique ids


@pytest.mark.parametrize(("payload", "shown"), [({}, "undefined"), ({"nr": None}, "null")])
def test_unique_id_without_value_is_an_error(payload, shown):
    config = {
        "entities": [
            entity(),
            entity("contract", ["contract_number"], [{"attribute": "contract_number", "jsonataExpression": "nr"}]),
        ]
    }
    with pytest.raises(MappingError) as info:
        map_event(config, {"id": "1", **payload})
    error = info.value
    assert (error.entity, error.field, error.expression) == ("entities[1] (contract)", "contract_number", "nr")
    assert str(error) == (
        f"entities[1] (contract), field 'contract_number', expression 'nr': "
        f"a unique id must have a value, but it maps to {shown}"
    )


def test_unique_id_of_a_disabled_field_is_an_error():
    fields = [{"attribute": "id", "field": "id", "enabled": "false"}]
    with pytest.raises(MappingError, match="maps to undefined"):
        map_event({"entities": [entity(fields=fields)]}, {"id": "1"})


def test_errors_name_the_fanned_out_item():
    spec = entity("contract", ["nr"], [{"attribute": "nr", "field": "Nr"}], jsonataExpression="Contracts")
    with pytest.raises(MappingError, match=r"^entities\[0\] \(contract\) item 2, field 'nr', expression 'Nr'"):
        map_event({"entities": [spec]}, {"Contracts": [{"Nr": "A"}, {"Nr": "B"}, {"No": "C"}]})


def test_jsonata_runtime_errors_name_entity_field_and_expression(engine):
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "total", "jsonataExpression": "price + ' EUR'"}]
    with pytest.raises(MappingError) as info:
        map_event({"entities": [entity(), entity("order", fields=fields)]}, {"id": "1", "price": 5})
    message = str(info.value)
    assert message.startswith("entities[1] (order), field 'total', expression \"price + ' EUR'\": ")
    assert "T2002" in message  # the right side of + is not a number


def test_jsonata_syntax_errors_name_entity_field_and_expression():
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "total", "jsonataExpression": "price +"}]
    with pytest.raises(MappingError) as info:
        compile_mapping({"entities": [entity("order", fields=fields)]})
    assert (info.value.entity, info.value.field, info.value.expression) == ("entities[0] (order)", "total", "price +")
    assert "invalid JSONata" in str(info.value)


def test_entity_level_expression_errors_name_the_entity():
    with pytest.raises(MappingError, match=r"^entities\[0\] \(contract\), expression '\$number\(x\)'"):
        map_event({"entities": [entity("contract", enabled="$number(x)")]}, {"x": "abc", "id": "1"})


# ---------------------------------------------------------------------------------------------- relations


def relation_field(operation, **source):
    return {"attribute": "customer", "relations": {"operation": operation, **source}}


@pytest.mark.parametrize("operation", ["_set", "_append", "_append_all"])
def test_relation_items_for_each_operation(simulate, operation):
    items = [
        {
            "entity_schema": "contact",
            "_tags": ["Customer"],
            "unique_ids": [{"attribute": "customer_number", "field": "bp"}],
        },
        {
            "entity_schema": "account",
            "unique_ids": [
                {"attribute": "account_number", "jsonataExpression": "'ACC-' & bp"},
                {"attribute": "kind", "constant": "B2B"},
                {"attribute": "email", "field": "$.mail.primary", "_type": "email"},
            ],
        },
    ]
    fields = [{"attribute": "id", "field": "id"}, relation_field(operation, items=items)]
    body = simulate(
        {"entities": [entity("contract", fields=fields)]}, {"id": "K1", "bp": "1000", "mail": {"primary": "a@x.de"}}
    )
    assert body["entity_updates"][0]["attributes"]["customer"] == {
        "$relation": {
            operation: [
                {"_schema": "contact", "_tags": ["Customer"], "$entity_unique_ids": {"customer_number": "1000"}},
                {
                    "_schema": "account",
                    "$entity_unique_ids": {"account_number": "ACC-1000", "kind": "B2B", "email": "a@x.de"},
                },
            ]
        }
    }


def test_relation_items_from_jsonata(simulate, engine):
    expression = "meters.{'entity_schema': 'meter', '_tags': [kind], 'unique_ids': {'meter_number': no}}"
    fields = [{"attribute": "id", "field": "id"}, relation_field("_append_all", jsonataExpression=expression)]
    config = {"entities": [entity("contract", fields=fields)]}
    body = simulate(config, {"id": "K1", "meters": [{"no": "M1", "kind": "power"}, {"no": "M2", "kind": "gas"}]})
    assert body["entity_updates"][0]["attributes"]["customer"] == {
        "$relation": {
            "_append_all": [
                {"_schema": "meter", "_tags": ["power"], "$entity_unique_ids": {"meter_number": "M1"}},
                {"_schema": "meter", "_tags": ["gas"], "$entity_unique_ids": {"meter_number": "M2"}},
            ]
        }
    }
    single = simulate(config, {"id": "K1", "meters": {"no": "M9", "kind": "power"}})
    assert single["entity_updates"][0]["attributes"]["customer"]["$relation"]["_append_all"][0][
        "$entity_unique_ids"
    ] == {"meter_number": "M9"}
    assert simulate(config, {"id": "K1"})["entity_updates"][0]["attributes"] == {"id": "K1"}


def test_relations_of_a_fanned_out_entity_resolve_against_each_input(simulate):
    items = [{"entity_schema": "contact", "unique_ids": [{"attribute": "customer_number", "field": "owner"}]}]
    fields = [{"attribute": "id", "field": "id"}, relation_field("_set", items=items)]
    spec = entity("contract", fields=fields, jsonataExpression="contracts.$merge([$, {'owner': %.bp}])")
    body = simulate({"entities": [spec]}, {"bp": "1000", "contracts": [{"id": "K1"}, {"id": "K2"}]})
    assert [
        u["attributes"]["customer"]["$relation"]["_set"][0]["$entity_unique_ids"] for u in body["entity_updates"]
    ] == [{"customer_number": "1000"}, {"customer_number": "1000"}]


def test_relation_item_unique_id_without_value_is_an_error():
    items = [{"entity_schema": "contact", "unique_ids": [{"attribute": "customer_number", "field": "bp"}]}]
    fields = [{"attribute": "id", "field": "id"}, relation_field("_set", items=items)]
    with pytest.raises(MappingError) as info:
        map_event({"entities": [entity("contract", fields=fields)]}, {"id": "K1"})
    assert info.value.field == "customer.items[0] → contact.customer_number"
    assert info.value.expression == "bp"
    assert "maps to undefined" in str(info.value)


@pytest.mark.parametrize(
    ("relations", "message"),
    [
        ({"operation": "_merge", "items": []}, "operation"),
        ({"operation": "_set"}, "exactly one of"),
        ({"operation": "_set", "items": [], "jsonataExpression": "x"}, "exactly one of"),
        ({"operation": "_set", "items": {}}, "must be an array"),
        ({"operation": "_set", "items": [{"unique_ids": []}]}, "entity_schema"),
        ({"operation": "_set", "items": [{"entity_schema": "contact", "unique_ids": []}]}, "non-empty array"),
        (
            {
                "operation": "_set",
                "items": [
                    {"entity_schema": "contact", "_tags": "x", "unique_ids": [{"attribute": "a", "constant": 1}]}
                ],
            },
            "_tags",
        ),
    ],
)
def test_invalid_relation_configurations(relations, message):
    fields = [{"attribute": "id", "field": "id"}, {"attribute": "rel", "relations": relations}]
    with pytest.raises(MappingError, match=message):
        compile_mapping({"entities": [entity(fields=fields)]})


@pytest.mark.parametrize(
    "expression",
    [
        "'contact'",
        "{'entity_schema': 'contact'}",
        "{'entity_schema': 'contact', 'unique_ids': {}}",
        "{'entity_schema': 'contact', 'unique_ids': {'a': null}}",
        "{'entity_schema': 5, 'unique_ids': {'a': 1}}",
    ],
)
def test_invalid_relation_items_from_jsonata(expression):
    fields = [{"attribute": "id", "field": "id"}, relation_field("_set", jsonataExpression=expression)]
    with pytest.raises(MappingError, match="relation item") as info:
        map_event({"entities": [entity(fields=fields)]}, {"id": "1"})
    assert info.value.expression == expression


# ---------------------------------------------------------------------------------------------- meter readings


READING_FIELDS = [
    {"attribute": "external_id", "field": "id"},
    {"attribute": "timestamp", "field": "at"},
    {"attribute": "value", "jsonataExpression": "$number(v)"},
    {"attribute": "source", "constant": "ERP"},
    {"attribute": "reason", "field": "reason"},
]


def readings_config(**extra):
    spec = {
        "meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter"}]},
        "fields": READING_FIELDS,
        **extra,
    }
    return {"meter_readings": [spec]}


def test_without_expression_the_payload_is_one_reading(simulate):
    body = simulate(readings_config(), {"meter": "M1", "id": "R1", "at": "2024-06-30T12:00:00Z", "v": "12.5"})
    assert body["meter_readings_updates"] == [
        {
            "meter": {"$entity_unique_ids": {"meter_number": "M1"}},
            "attributes": {"external_id": "R1", "timestamp": "2024-06-30T12:00:00Z", "value": 12.5, "source": "ERP"},
            "mode": "upsert",
        }
    ]
    assert body["entity_updates"] == []


def test_expression_yields_the_readings_and_ids_resolve_against_each(simulate, engine):
    config = readings_config(
        jsonataExpression="Meters.Registers.Readings.{'meter': %.%.No, 'obis': %.Obis, 'id': Id, 'at': At, 'v': Value}",
        meter_counter={"unique_ids": [{"attribute": "obis_number", "field": "obis"}]},
    )
    payload = {
        "Meters": [
            {
                "No": "M1",
                "Registers": [
                    {"Obis": "1-0:1.8.1", "Readings": [{"Id": "R1", "At": "2024-01-01T00:00:00Z", "Value": 1}]},
                    {"Obis": "1-0:1.8.2", "Readings": [{"Id": "R2", "At": "2024-01-01T00:00:00Z", "Value": 2}]},
                ],
            },
            {
                "No": "M2",
                "Registers": [
                    {"Obis": "1-0:1.8.0", "Readings": [{"Id": "R3", "At": "2024-01-01T00:00:00+01:00", "Value": 3.25}]}
                ],
            },
        ]
    }
    body = simulate(config, payload)
    assert [
        (u["meter"], u["meter_counter"], u["attributes"]["external_id"], u["attributes"]["value"])
        for u in body["meter_readings_updates"]
    ] == [
        ({"$entity_unique_ids": {"meter_number": "M1"}}, {"$entity_unique_ids": {"obis_number": "1-0:1.8.1"}}, "R1", 1),
        ({"$entity_unique_ids": {"meter_number": "M1"}}, {"$entity_unique_ids": {"obis_number": "1-0:1.8.2"}}, "R2", 2),
        (
            {"$entity_unique_ids": {"meter_number": "M2"}},
            {"$entity_unique_ids": {"obis_number": "1-0:1.8.0"}},
            "R3",
            3.25,
        ),
    ]


def test_reading_expression_undefined_yields_no_readings(simulate):
    assert simulate(readings_config(jsonataExpression="Readings"), {"meter": "M1"})["meter_readings_updates"] == []


def test_reading_expression_must_yield_objects():
    with pytest.raises(MappingError, match=r"^meter_readings\[0\], expression 'Readings': must yield meter reading"):
        map_event(readings_config(jsonataExpression="Readings"), {"Readings": [1, 2]})


def test_meter_unique_id_without_value_is_an_error():
    with pytest.raises(MappingError) as info:
        map_event(readings_config(jsonataExpression="Readings"), {"Readings": [{"id": "R1"}]})
    assert (info.value.entity, info.value.field, info.value.expression) == (
        "meter_readings[0] reading 0",
        "meter.meter_number",
        "meter",
    )


VALID_READING = {"meter": "M1", "id": "R1", "at": "2024-06-30T12:00:00Z", "v": 7, "reason": "regular"}


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"id": None}, "external_id", "non-empty string"),
        ({"at": None}, "timestamp", "RFC 3339"),
        ({"at": "2024-06-30"}, "timestamp", "RFC 3339"),
        ({"at": "2024-02-30T00:00:00Z"}, "timestamp", "RFC 3339"),
        ({"at": "2024-06-30T12:00:00"}, "timestamp", "RFC 3339"),
        ({"reason": "guess"}, "reason", "must be one of"),
        ({"reason": None}, "reason", "must be one of"),
    ],
)
def test_readings_are_returned_as_mapped_whatever_they_hold(simulate, change, field, problem):
    """The simulation skips nothing; whether a reading can be stored is for the write to check."""
    body = simulate(
        readings_config(jsonataExpression="Readings"), {"Readings": [VALID_READING, {**VALID_READING, **change}]}
    )
    assert [u["attributes"]["external_id"] for u in body["meter_readings_updates"]] == ["R1", change.get("id", "R1")]
    assert body["warnings"] == []
    second = body["meter_readings_updates"][1]["attributes"]
    assert [(name, problem in text) for name, text in reading_problems(second)] == [(field, True)]
    assert reading_problems(body["meter_readings_updates"][0]["attributes"]) == []


def test_a_string_value_and_an_undocumented_reason_pass_through(simulate, engine):
    """epilot's own mapping examples: `$string(value)` gives "12345.67", `monthly_billing` is kept."""
    fields = [*READING_FIELDS[:2], {"attribute": "value", "jsonataExpression": "$string(v)"},
              READING_FIELDS[3], {"attribute": "reason", "constant": "monthly_billing"}]
    config = {"meter_readings": [{"meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter"}]},
                                  "fields": fields}]}
    body = simulate(config, {**VALID_READING, "v": 12345.67})
    assert body["meter_readings_updates"][0]["attributes"] == {
        "external_id": "R1", "timestamp": "2024-06-30T12:00:00Z", "value": "12345.67", "source": "ERP",
        "reason": "monthly_billing"}
    assert body["warnings"] == []


@pytest.mark.parametrize("missing", ["external_id", "timestamp", "value", "source"])
def test_readings_missing_a_required_attribute_are_returned(simulate, missing):
    fields = [f for f in READING_FIELDS if f["attribute"] != missing]
    config = {
        "meter_readings": [
            {"meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter"}]}, "fields": fields}
        ]
    }
    body = simulate(config, VALID_READING)
    assert len(body["meter_readings_updates"]) == 1 and body["warnings"] == []
    attributes = body["meter_readings_updates"][0]["attributes"]
    assert missing not in attributes
    assert reading_problems(attributes) == [(missing, f"the required attribute `{missing}` is missing")]


@pytest.mark.parametrize(
    ("source", "valid"),
    [("ECP", True), ("ERP", True), ("360", True), ("journey-submission", True), ("SAP", False), (360, False)],
)
def test_reading_source_enum_applies_to_storing(simulate, source, valid):
    fields = [*READING_FIELDS[:3], {"attribute": "source", "constant": source}]
    config = {
        "meter_readings": [
            {"meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter"}]}, "fields": fields}
        ]
    }
    body = simulate(config, VALID_READING)
    assert body["meter_readings_updates"][0]["attributes"]["source"] == source
    assert [name for name, _ in reading_problems(body["meter_readings_updates"][0]["attributes"])] == (
        [] if valid else ["source"])


@pytest.mark.parametrize(
    "reason", ["regular", "irregular", "last", "first", "meter_change", "contract_change", "meter_adjustment", ""]
)
def test_every_documented_reading_reason_can_be_stored(simulate, reason):
    body = simulate(readings_config(), {**VALID_READING, "reason": reason})
    attributes = body["meter_readings_updates"][0]["attributes"]
    assert attributes["reason"] == reason and reading_problems(attributes) == []


@pytest.mark.parametrize(
    ("value", "number"),
    [(12.5, 12.5), ("12.5", 12.5), ("12345.67", 12345.67), (" 800 ", 800), ("1e3", 1000), (0, 0),
     ("abc", None), ("", None), (True, None), (None, None), ([1], None), ("inf", None), ("NaN", None)],
)
def test_reading_values_are_numbers_or_numeric_strings(value, number):
    assert reading_number(value) == number
    problems = reading_problems({"external_id": "R1", "timestamp": "2024-06-30T12:00:00Z", "value": value,
                                 "source": "ERP"})
    assert [name for name, _ in problems] == ([] if number is not None else ["value"])


def test_negative_reading_values_cannot_be_stored():
    problems = reading_problems({"external_id": "R1", "timestamp": "2024-06-30T12:00:00Z", "value": "-1",
                                 "source": "ERP"})
    assert problems == [("value", "`value` must not be negative, got '-1'")]


def test_every_problem_of_a_reading_is_named():
    attributes = map_event(readings_config(), {"meter": "M1", "v": 1, "reason": "x"}).meter_readings_updates[0][
        "attributes"]
    assert [name for name, _ in reading_problems(attributes)] == ["external_id", "timestamp", "reason"]


def test_reading_delete_mode(simulate):
    body = simulate(readings_config(mode="delete", reading_matching="strict-date"), VALID_READING)
    assert body["meter_readings_updates"][0]["mode"] == "delete"


def test_reading_prune_scope_mode(simulate):
    config = readings_config(jsonataExpression="Readings", mode="upsert-prune-scope", scope={"source": "ERP"})
    readings = [
        {**VALID_READING, "id": "R1"},
        {**VALID_READING, "id": "R2", "meter": "M2"},
        {**VALID_READING, "id": "R3"},
        {**VALID_READING, "id": "R4", "at": "bad"},
    ]
    body = simulate(config, {"Readings": readings})
    assert [u["mode"] for u in body["meter_readings_updates"]] == ["upsert"] * 4
    assert body["meter_readings_prune_scope_updates"] == [
        {"meter": {"$entity_unique_ids": {"meter_number": "M1"}}, "keep_external_ids": ["R1", "R3", "R4"],
         "source": "ERP"},
        {"meter": {"$entity_unique_ids": {"meter_number": "M2"}}, "keep_external_ids": ["R2"], "source": "ERP"},
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "replace"}, "`mode`"),
        ({"reading_matching": "fuzzy"}, "`reading_matching`"),
        ({"meter": None}, "`meter`"),
        ({"meter": {"unique_ids": []}}, "non-empty"),
        ({"meter_counter": {}}, "non-empty"),
        ({"fields": None}, "`fields`"),
    ],
)
def test_invalid_reading_configurations(change, message):
    spec = {**readings_config()["meter_readings"][0], **change}
    with pytest.raises(MappingError, match=message):
        compile_mapping({"meter_readings": [spec]})


# ---------------------------------------------------------------------------------------------- the result


def test_result_lists_and_response():
    config = {**readings_config(), "entities": [entity()]}
    result = map_event(config, VALID_READING)
    assert len(result.entity_updates) == 1
    assert len(result.meter_readings_updates) == 1
    assert result.warnings == []
    response = result.to_simulation_response()
    assert set(response) == {"entity_updates", "meter_readings_updates", "warnings"}
    response["entity_updates"][0]["attributes"]["id"] = "changed"
    assert result.entity_updates[0]["attributes"]["id"] == "R1"


def test_configurations_used_here_follow_the_published_schema(request_schema):
    validator = request_schema("InboundIntegrationEventConfiguration")
    configs = [
        KCIS_CONFIG,
        readings_config(jsonataExpression="Readings", mode="upsert-prune-scope", scope={"source": "ERP"}),
        {
            "entities": [
                entity(
                    enabled="x > 1",
                    condition=True,
                    mode="upsert-prune-scope-delete",
                    scope={"scope_mode": "query", "query": [{"attribute": "a", "constant": 1}]},
                )
            ]
        },
    ]
    for config in configs:
        assert first_error(validator, config) is None, first_error(validator, config)


def test_compiled_mappings_compile_each_expression_once(monkeypatch):
    compiled: list[str] = []
    real = mapping_module.compile_expression

    def counting(source, **kwargs):
        compiled.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(mapping_module, "compile_expression", counting)
    fields = [
        {"attribute": "id", "jsonataExpression": "$string(n)"},
        {"attribute": "a", "jsonataExpression": "$string(n)", "enabled": "n > 0"},
        {"attribute": "b", "constant": 1, "enabled": "n > 0"},
    ]
    mapping = compile_mapping({"entities": [entity(fields=fields, enabled="n > 0"), entity("x", fields=fields)]})
    assert sorted(compiled) == ["$string(n)", "n > 0"]
    for n in range(1, 4):
        assert mapping.apply({"n": n}).entity_updates[1]["attributes"] == {"id": str(n), "a": str(n), "b": 1}
    assert len(compiled) == 2


def test_results_are_deterministic_and_independent_of_key_order():
    payload = {"BP": {"Id": "1", "Name": "A"}, "Contracts": [{"Nr": "K1", "Meters": [{"No": "M1"}]}]}
    reordered = {"Contracts": [{"Meters": [{"No": "M1"}], "Nr": "K1"}], "BP": {"Name": "A", "Id": "1"}}
    config = {
        "entities": [
            entity(
                "contact",
                ["nr"],
                [{"attribute": "nr", "field": "$.BP.Id"}, {"attribute": "name", "field": "$.BP.Name"}],
            ),
            entity(
                "contract",
                ["nr"],
                [
                    {"attribute": "nr", "field": "Nr"},
                    {
                        "attribute": "meters",
                        "relations": {
                            "operation": "_set",
                            "jsonataExpression": (
                                "Meters.{'entity_schema': 'meter', 'unique_ids': {'meter_number': No}}"
                            ),
                        },
                    },
                ],
                jsonataExpression="Contracts",
            ),
        ]
    }
    first = map_event(config, payload).to_simulation_response()
    assert map_event(config, reordered).to_simulation_response() == first
    assert map_event(copy.deepcopy(config), payload).to_simulation_response() == first


def test_a_compiled_mapping_is_safe_across_threads():
    mapping = compile_mapping(KCIS_CONFIG)
    expected = mapping.apply(KCIS_XML, format="xml").to_simulation_response()
    failures: list[object] = []

    def work():
        for _ in range(5):
            got = mapping.apply(KCIS_XML, format="xml").to_simulation_response()
            if got != expected:
                failures.append(got)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_payload_errors_are_not_mapping_errors():
    with pytest.raises(PayloadError):
        map_event({"entities": [entity()]}, "<id>1", format="xml")


# ---------------------------------------------------------------------------------------------- Keep Contract In Sync

KCIS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<n0:ContractSync xmlns:n0="urn:sap-com:document:sap:rfc:functions">
  <BusinessPartner id="1000123">
    <FirstName>Erika</FirstName>
    <LastName>Mustermann</LastName>
    <Email>erika@example.de</Email>
  </BusinessPartner>
  <Contract>
    <ContractNumber>4711</ContractNumber>
    <Status>ACTIVE</Status>
    <StartDate>2024-01-01</StartDate>
    <InstallmentCents>8950</InstallmentCents>
    <Meter number="1EMH0001">
      <Sector>power</Sector>
      <Register obis="1-0:1.8.1">
        <Unit>kWh</Unit>
        <Reading id="R-1"><Date>2024-06-30T23:59:59Z</Date><Value>1234.5</Value><Reason>regular</Reason></Reading>
        <Reading id="R-2"><Date>2024-12-31T23:59:59Z</Date><Value>2345</Value></Reading>
      </Register>
      <Register obis="1-0:1.8.2">
        <Unit>kWh</Unit>
        <Reading id="R-3"><Date>2024-12-31T23:59:59Z</Date><Value>99.25</Value><Reason>estimated</Reason></Reading>
      </Register>
    </Meter>
  </Contract>
</n0:ContractSync>"""


def _unique(schema, attribute, **source):
    return {"entity_schema": schema, "unique_ids": [{"attribute": attribute, **source}]}


KCIS_CONFIG = {
    "entities": [
        {
            "entity_schema": "contact",
            "unique_ids": ["customer_number"],
            "fields": [
                {"attribute": "customer_number", "field": "$.ContractSync.BusinessPartner['@id']"},
                {"attribute": "first_name", "field": "$.ContractSync.BusinessPartner.FirstName"},
                {"attribute": "last_name", "field": "$.ContractSync.BusinessPartner.LastName"},
                {"attribute": "email", "field": "$.ContractSync.BusinessPartner.Email", "_type": "email"},
            ],
        },
        {
            "entity_schema": "contract",
            "unique_ids": ["contract_number"],
            "jsonataExpression": "ContractSync.Contract.$merge([$, {'customer_number': %.BusinessPartner.`@id`}])",
            "fields": [
                {"attribute": "contract_number", "field": "ContractNumber"},
                {"attribute": "status", "jsonataExpression": "Status = 'ACTIVE' ? 'active' : 'deactivated'"},
                {"attribute": "start_date", "field": "StartDate"},
                {"attribute": "installment_amount", "jsonataExpression": "$number(InstallmentCents)"},
                {
                    "attribute": "description",
                    "jsonataExpression": (
                        "'Abschlag ' & $formatNumber($number(InstallmentCents) / 100, '#0.00') & ' EUR'"
                    ),
                },
                {"attribute": "end_date", "jsonataExpression": "EndDate ? EndDate : undefined"},
                {
                    "attribute": "customer",
                    "relations": {
                        "operation": "_set",
                        "items": [
                            {**_unique("contact", "customer_number", field="customer_number"), "_tags": ["Customer"]}
                        ],
                    },
                },
                {
                    "attribute": "meters",
                    "relations": {
                        "operation": "_set",
                        "jsonataExpression": (
                            "Meter.{'entity_schema': 'meter', 'unique_ids': {'meter_number': `@number`}}"
                        ),
                    },
                },
            ],
        },
        {
            "entity_schema": "meter",
            "unique_ids": ["meter_number"],
            "jsonataExpression": "ContractSync.Contract.Meter.$merge([$, {'contract_number': %.ContractNumber}])",
            "fields": [
                {"attribute": "meter_number", "field": "@number"},
                {"attribute": "sector", "field": "Sector"},
                {
                    "attribute": "contract",
                    "relations": {
                        "operation": "_set",
                        "items": [_unique("contract", "contract_number", field="contract_number")],
                    },
                },
            ],
        },
        {
            "entity_schema": "meter_counter",
            "unique_ids": ["obis_number"],
            "jsonataExpression": "ContractSync.Contract.Meter.Register.$merge([$, {'meter_number': %.`@number`}])",
            "fields": [
                {"attribute": "obis_number", "field": "@obis"},
                {"attribute": "unit", "field": "Unit"},
                {
                    "attribute": "meter",
                    "relations": {
                        "operation": "_append",
                        "items": [_unique("meter", "meter_number", field="meter_number")],
                    },
                },
            ],
        },
    ],
    "meter_readings": [
        {
            "jsonataExpression": "ContractSync.Contract.Meter.Register.Reading.{'meter_number': %.%.`@number`, "
            "'obis': %.`@obis`, 'id': `@id`, 'at': Date, 'value': Value, 'reason': Reason}",
            "meter": {"unique_ids": [{"attribute": "meter_number", "field": "meter_number"}]},
            "meter_counter": {"unique_ids": [{"attribute": "obis_number", "field": "obis"}]},
            "fields": [
                {"attribute": "external_id", "field": "id"},
                {"attribute": "timestamp", "field": "at"},
                {"attribute": "value", "jsonataExpression": "$number(value)"},
                {"attribute": "source", "constant": "ERP"},
                {"attribute": "reason", "field": "reason"},
            ],
        }
    ],
}

METER = {"$entity_unique_ids": {"meter_number": "1EMH0001"}}
KCIS_ENTITY_UPDATES = [
    {
        "entity_slug": "contact",
        "unique_identifiers": {"customer_number": "1000123"},
        "mode": "upsert",
        "attributes": {
            "customer_number": "1000123",
            "first_name": "Erika",
            "last_name": "Mustermann",
            "email": [{"email": "erika@example.de"}],
        },
    },
    {
        "entity_slug": "contract",
        "unique_identifiers": {"contract_number": "4711"},
        "mode": "upsert",
        "attributes": {
            "contract_number": "4711",
            "status": "active",
            "start_date": "2024-01-01",
            "installment_amount": 8950,
            "description": "Abschlag 89.50 EUR",
            "customer": {
                "$relation": {
                    "_set": [
                        {
                            "_schema": "contact",
                            "_tags": ["Customer"],
                            "$entity_unique_ids": {"customer_number": "1000123"},
                        }
                    ]
                }
            },
            "meters": {"$relation": {"_set": [{"_schema": "meter", **METER}]}},
        },
    },
    {
        "entity_slug": "meter",
        "unique_identifiers": {"meter_number": "1EMH0001"},
        "mode": "upsert",
        "attributes": {
            "meter_number": "1EMH0001",
            "sector": "power",
            "contract": {
                "$relation": {"_set": [{"_schema": "contract", "$entity_unique_ids": {"contract_number": "4711"}}]}
            },
        },
    },
    *[
        {
            "entity_slug": "meter_counter",
            "unique_identifiers": {"obis_number": obis},
            "mode": "upsert",
            "attributes": {
                "obis_number": obis,
                "unit": "kWh",
                "meter": {"$relation": {"_append": [{"_schema": "meter", **METER}]}},
            },
        }
        for obis in ("1-0:1.8.1", "1-0:1.8.2")
    ],
]


def _reading(obis, external_id, timestamp, value, reason=None):
    attributes = {"external_id": external_id, "timestamp": timestamp, "value": value, "source": "ERP"}
    if reason:
        attributes["reason"] = reason
    return {
        "meter": METER,
        "meter_counter": {"$entity_unique_ids": {"obis_number": obis}},
        "attributes": attributes,
        "mode": "upsert",
    }


def test_keep_contract_in_sync_sap_event(simulate, engine, entity_attributes, request_schema):
    body = simulate(KCIS_CONFIG, KCIS_XML, "xml")
    assert body["entity_updates"] == KCIS_ENTITY_UPDATES
    assert body["meter_readings_updates"] == [
        _reading("1-0:1.8.1", "R-1", "2024-06-30T23:59:59Z", 1234.5, "regular"),
        _reading("1-0:1.8.1", "R-2", "2024-12-31T23:59:59Z", 2345),
        _reading("1-0:1.8.2", "R-3", "2024-12-31T23:59:59Z", 99.25, "estimated"),
    ]
    assert body["warnings"] == []  # 'estimated' is not a documented reason: returned as mapped all the same
    # Apart from the relations, which are in their simulation form, the attributes fit the core entity schemas.
    schemas = {
        "contact": "ContactAttributes",
        "contract": "ContractAttributes",
        "meter": "MeterAttributes",
        "meter_counter": "MeterCounterAttributes",
    }
    for update in body["entity_updates"]:
        plain = {k: v for k, v in update["attributes"].items() if not (isinstance(v, dict) and "$relation" in v)}
        assert first_error(entity_attributes[schemas[update["entity_slug"]]], plain) is None
    # The same event is a valid inbound event and a valid simulation request.
    event = {
        "event_type": "UPDATE",
        "object_type": "contract",
        "timestamp": "2025-01-02T03:04:05Z",
        "format": "xml",
        "payload": KCIS_XML,
        "deduplication_id": "sap-4711-1",
    }
    events_request = {"integration_id": "8c4f5a1e-1b2c-4d3e-9f00-0a1b2c3d4e5f", "events": [event]}
    assert first_error(request_schema("ErpUpdatesEventsV2Request"), events_request) is None
    simulation_request = {"event_configuration": KCIS_CONFIG, "format": "xml", "payload": KCIS_XML}
    assert first_error(request_schema("MappingSimulationV2Request"), simulation_request) is None


def test_keep_contract_in_sync_same_event_as_json(simulate, engine):
    payload = parse_payload(KCIS_XML, "xml")
    as_object = simulate(KCIS_CONFIG, payload)
    as_text = simulate(KCIS_CONFIG, json.dumps(payload), "json")
    assert as_object == as_text
    assert as_object["entity_updates"] == KCIS_ENTITY_UPDATES


def test_keep_contract_in_sync_with_several_contracts_and_meters(simulate):
    xml = KCIS_XML.replace(
        "</Contract>",
        "</Contract><Contract><ContractNumber>4712</ContractNumber>"
        "<Status>ENDED</Status><EndDate>2024-12-31</EndDate><InstallmentCents>1000</InstallmentCents>"
        '<Meter number="G1"><Sector>gas</Sector></Meter><Meter number="G2"><Sector>gas</Sector></Meter>'
        "</Contract>",
    )
    body = simulate(KCIS_CONFIG, xml, "xml")
    contracts = [u for u in body["entity_updates"] if u["entity_slug"] == "contract"]
    assert [c["attributes"]["status"] for c in contracts] == ["active", "deactivated"]
    assert "end_date" not in contracts[0]["attributes"]
    assert contracts[1]["attributes"]["end_date"] == "2024-12-31"
    assert contracts[1]["attributes"]["description"] == "Abschlag 10.00 EUR"
    assert contracts[1]["attributes"]["meters"] == {
        "$relation": {
            "_set": [
                {"_schema": "meter", "$entity_unique_ids": {"meter_number": "G1"}},
                {"_schema": "meter", "$entity_unique_ids": {"meter_number": "G2"}},
            ]
        }
    }
    meters = [u["attributes"] for u in body["entity_updates"] if u["entity_slug"] == "meter"]
    assert [
        (m["meter_number"], m["contract"]["$relation"]["_set"][0]["$entity_unique_ids"]["contract_number"])
        for m in meters
    ] == [("1EMH0001", "4711"), ("G1", "4712"), ("G2", "4712")]
