"""ERP event payloads: parsing JSON and XML text, and addressing values with a JSONPath.

An event payload is a JSON object (or array), or a string serialized in the event's ``format``.
A mapping ``field`` that starts with ``$`` is a JSONPath into the input (:func:`compile_jsonpath`).

XML is converted following the conventions of xmltodict, so that the result is predictable:

- The root element is kept: ``<Contract><Id>7</Id></Contract>`` → ``{"Contract": {"Id": "7"}}``.
- An element with neither attributes nor child elements becomes its text, whitespace-trimmed; an
  empty element becomes ``None``. Values stay strings: convert them with JSONata (``$number(Id)``).
- Otherwise the element becomes an object: attributes under ``"@name"``, child elements under their
  tag, and the trimmed text, if any, under ``"#text"``.
- A tag that occurs more than once among siblings becomes a list, in document order; a single
  occurrence is not wrapped in a list (so ``$count`` or ``[]`` in JSONata helps for repeatable tags).
- Namespaces are dropped: ``<sap:Contract xmlns:sap="…">`` gives the key ``Contract``, and
  ``xmlns`` declarations do not appear as attributes.

Documents with a DOCTYPE are refused, which rules out entity declarations (entity expansion bombs,
external entities); only the five predefined XML entities and character references are expanded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Final

import orjson

from mockserver.epilot.erp.jsonata import UNDEFINED

FORMATS: Final = ("json", "xml")


class PayloadError(ValueError):
    """A payload that is not valid in its format."""


def parse_payload(payload: Any, format: str) -> Any:
    """The payload as JSON values: an object or array as given, or text parsed as ``format``.

    Raises PayloadError for an unknown format, malformed text, a DOCTYPE in XML, or a payload that
    is neither an object, an array nor a string.
    """
    if format not in FORMATS:
        raise PayloadError(f"unknown payload format {format!r}: expected one of {', '.join(FORMATS)}")
    if isinstance(payload, (dict, list)):
        return payload
    if not isinstance(payload, str):
        raise PayloadError(f"the payload must be an object or a string, not {_json_type(payload)}")
    if format == "xml":
        return xml_to_dict(payload)
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"the payload is not valid JSON: {exc}") from None
    if not isinstance(value, (dict, list)):
        raise PayloadError(f"a JSON payload must hold an object or an array, not {_json_type(value)}")
    return value


class _NoDoctypeBuilder(ET.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise PayloadError(f"the XML payload has a DOCTYPE ({name}); DTDs and entity declarations are not accepted")


def xml_to_dict(text: str) -> dict[str, Any]:
    """Convert an XML document to a dict as described in the module docstring. Raises PayloadError."""
    if not text.strip():
        raise PayloadError("the XML payload is empty")
    parser = ET.XMLParser(target=_NoDoctypeBuilder())
    try:
        parser.feed(text)
        root = parser.close()
    except ET.ParseError as exc:
        raise PayloadError(f"the payload is not well-formed XML: {exc}") from None
    return {_local(root.tag): _element_value(root)}


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _element_value(element: ET.Element) -> Any:
    text_parts = [element.text or ""] + [child.tail or "" for child in element]
    text = "".join(part.strip() for part in text_parts)
    if not element.attrib and len(element) == 0:
        return text or None
    value: dict[str, Any] = {}
    for name, attr in element.attrib.items():
        _add(value, "@" + _local(name), attr)
    for child in element:
        _add(value, _local(child.tag), _element_value(child))
    if text:
        _add(value, "#text", text)
    return value


def _add(target: dict[str, Any], key: str, value: Any) -> None:
    # Element values are never lists, so a list here always holds repeated siblings.
    if key not in target:
        target[key] = value
    elif isinstance(target[key], list):
        target[key].append(value)
    else:
        target[key] = [target[key], value]


class JsonPathError(ValueError):
    """A JSONPath that is malformed or uses a feature this subset does not have."""


_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]*][^.\[\]]*)"""
    r"""|\.\*|\[\s*\*\s*\]"""
    r"""|\[\s*(?P<index>-?\d+)\s*\]"""
    r"""|\[\s*'(?P<single>[^']*)'\s*\]|\[\s*"(?P<double>[^"]*)"\s*\]"""
)


class JsonPath:
    """A compiled JSONPath of the subset used by mapping fields.

    Supported: the root ``$``, child names (``$.address.street``, ``$['a b']``), array indexes
    (``$.items[0]``, ``$.items[-1]``) and wildcards (``$.items[*].id``, ``$.prices.*``). Recursive
    descent (``..``), filters and slices are not supported.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if not path.startswith("$"):
            raise JsonPathError(f"JSONPath {path!r} must start with '$'")
        self.steps: list[str | int | None] = []  # a name, an index, or None for a wildcard
        pos = 1
        while pos < len(path):
            match = _STEP.match(path, pos)
            if match is None:
                raise JsonPathError(f"JSONPath {path!r}: unsupported or malformed at position {pos}: {path[pos:]!r}")
            if match["name"] is not None:
                self.steps.append(match["name"])
            elif match["index"] is not None:
                self.steps.append(int(match["index"]))
            elif match["single"] is not None or match["double"] is not None:
                self.steps.append(match["single"] if match["single"] is not None else match["double"])
            else:
                self.steps.append(None)
            pos = match.end()
        self.has_wildcard = None in self.steps

    def find(self, data: Any) -> Any:
        """The addressed value, or UNDEFINED; with a wildcard, the list of matches (UNDEFINED if none)."""
        matches = [data]
        for step in self.steps:
            matches = [found for value in matches for found in _step(value, step)]
            if not matches:
                return UNDEFINED
        return matches if self.has_wildcard else matches[0]


def _step(value: Any, step: str | int | None) -> list[Any]:
    if step is None:
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if isinstance(step, int):
        if isinstance(value, list) and -len(value) <= step < len(value):
            return [value[step]]
        return []
    if isinstance(value, dict) and step in value:
        return [value[step]]
    return []


def compile_jsonpath(path: str) -> JsonPath:
    """Compile a JSONPath of the supported subset. Raises JsonPathError."""
    return JsonPath(path)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
