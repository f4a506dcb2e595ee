"""Schema-driven generation: valid for tricky schemas, realistic by name and format, deterministic."""

import re

import pytest

from mockserver.engine.fakedata import State, make_faker
from mockserver.engine.generator import Generator, regex_sample
from mockserver.engine.loader import bundle

from .conftest import corpus


def gen_for(path):
    spec, _ = bundle(corpus(path))
    return spec, Generator(spec)


@pytest.mark.parametrize("name", ["Node", "Expr"])
def test_recursive_schemas_generate_valid_values(name):
    _spec, gen = gen_for("recursive.yaml")
    for seed in range(25):
        value, ok = gen.generate({"$ref": f"#/components/schemas/{name}"}, seed)
        assert ok, value


def test_overlapping_one_of_yields_values_matching_exactly_one_branch():
    _spec, gen = gen_for("overlapping.yaml")
    cat = gen.validator({"$ref": "#/components/schemas/Cat"})
    dog = gen.validator({"$ref": "#/components/schemas/Dog"})
    for seed in range(30):
        value, ok = gen.generate({"$ref": "#/components/schemas/Pet"}, seed)
        assert ok and cat.is_valid(value) != dog.is_valid(value), value


def test_formats_bounds_nullable_and_enums():
    spec = {"openapi": "3.0.3", "components": {"schemas": {}}}
    gen = Generator(spec)
    schema = {"type": "object", "required": ["id", "day", "at", "mail", "site", "n", "ratio", "tags", "kind",
                                            "maybe", "ulid", "code"],
              "additionalProperties": False,
              "properties": {
                  "id": {"type": "string", "format": "uuid"}, "day": {"type": "string", "format": "date"},
                  "at": {"type": "string", "format": "date-time"}, "mail": {"type": "string", "format": "email"},
                  "site": {"type": "string", "format": "uri"}, "ulid": {"type": "string", "format": "ulid"},
                  "n": {"type": "integer", "minimum": 5, "maximum": 7, "multipleOf": 2},
                  "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 1},
                  "tags": {"type": "array", "minItems": 2, "maxItems": 3, "uniqueItems": True,
                           "items": {"type": "string", "enum": ["a", "b", "c"]}},
                  "kind": {"type": "string", "enum": ["power", "gas"]},
                  "maybe": {"type": "string", "nullable": True, "maxLength": 4},
                  "code": {"type": "string", "pattern": "^DE[0-9]{20}$"}}}
    for seed in range(20):
        value, ok = gen.generate(schema, seed)
        assert ok, value
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", value["ulid"])
        assert value["n"] == 6


def test_values_are_realistic_by_field_name():
    spec = {"openapi": "3.0.3", "components": {"schemas": {}}}
    gen = Generator(spec)
    props = {k: {"type": "string"} for k in ("first_name", "last_name", "email", "iban", "postal_code", "city",
                                             "company_name", "phone")}
    value, ok = gen.generate({"type": "object", "required": list(props), "properties": props}, 3)
    assert ok
    assert value["iban"].startswith("DE") and len(value["iban"]) == 22
    assert re.fullmatch(r"\d{5}", value["postal_code"])
    assert "@" in value["email"]


def test_a_plugin_adds_values_by_field_name():
    from mockserver.epilot.fakes import PRODUCERS

    spec = {"openapi": "3.0.3", "components": {"schemas": {}}}
    props = {k: {"type": "string"} for k in ("meter_number", "obis_number", "contract_number")}
    schema = {"type": "object", "required": list(props), "properties": props}
    plain, _ = Generator(spec).generate(schema, 3)
    value, ok = Generator(spec, producers=PRODUCERS).generate(schema, 3)
    assert ok
    assert re.fullmatch(r"\d-\d:\d\.\d\.\d", value["obis_number"])
    assert value["contract_number"].startswith("V-")
    assert not re.fullmatch(r"\d-\d:\d\.\d\.\d", plain["obis_number"])


def test_same_seed_same_value_other_seed_other_value():
    spec, gen = gen_for("recursive.yaml")
    schema = {"$ref": "#/components/schemas/Node"}
    assert gen.generate(schema, 7)[0] == Generator(spec).generate(schema, 7)[0]
    assert gen.generate(schema, 7)[0] != gen.generate(schema, 8)[0]


PATTERNS = [r"^[A-Z]{2}-\d{4}$", r"^(foo|bar)_[a-f0-9]{8}$", r"\d+\.\d{2}", r"^1-0:[12]\.8\.[0-2]$"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_regex_samples_match(pattern):
    state = State(make_faker(), 1)
    for _ in range(10):
        sample = regex_sample(pattern, state)
        assert sample is not None and re.search(pattern, sample)
