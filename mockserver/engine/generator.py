"""Schema-driven data: a value that validates against an OpenAPI schema, realistic where the
field name or format says what it is, and the same for the same seed.

Interpretive rather than compiled: bodies are generated once per operation and cached (static
mode), so generation speed only matters for ``Prefer: dynamic=true``.
"""

from __future__ import annotations

import importlib
import re
import string
from collections.abc import Mapping
from typing import Any

from .fakedata import Producer, State, by_format, by_name, make_faker
from .oas_schema import SchemaCompiler
from .openapi import SpecView

# Python 3.11 keeps the regex parser under a private name (typeshed does not declare it).
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

MAX_DEPTH = 6  # beyond this, objects carry only required properties and arrays their minimum
_AMOUNT_WORDS = ("amount", "price", "total", "balance", "cost", "fee", "value", "consumption")
_COUNT_WORDS = ("quantity", "count", "size", "hits", "number_of", "limit", "page")


class Generator:
    """Generates values for the schemas of one bundled spec."""

    def __init__(self, spec: dict[str, Any], compiler: SchemaCompiler | None = None, *,
                 producers: Mapping[str, Producer] | None = None) -> None:
        self.components = ((spec.get("components") or {}).get("schemas")) or {}
        self.view = SpecView(spec)
        self.compiler = compiler or SchemaCompiler(spec, "response")
        self.producers = producers or {}
        self._faker: Any = None
        self._merged: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._validators: dict[int, tuple[Any, Any]] = {}

    @property
    def faker(self) -> Any:
        if self._faker is None:  # Faker's locale setup costs ~0.1 s: only when a body is generated
            self._faker = make_faker()
        return self._faker

    # -- public -------------------------------------------------------------------------------

    def generate(self, schema: Any, seed: int, *, hint: str | None = None, tries: int = 6) -> tuple[Any, bool]:
        """Return ``(value, valid)``; retries with other seeds until the value validates."""
        validator = self.validator(schema)
        value: Any = None
        for attempt in range(tries):
            state = State(self.faker, seed * 7919 + attempt)
            value = self.value(schema, state, hint)
            if validator.is_valid(value):
                return value, True
        return value, False

    def validator(self, schema: Any) -> Any:
        # Keyed by identity; the entry keeps the schema alive so its id cannot be reused.
        entry = self._validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = self._validators[id(schema)] = (schema, self.compiler.compile(schema))
        return entry[1]

    # -- dispatch -----------------------------------------------------------------------------

    def resolve(self, schema: Any) -> Any:
        """A schema with its ``$ref`` chain followed (``{}`` for a dangling or cyclic one)."""
        resolved = self.view.resolve(schema)
        return {} if resolved is None else resolved

    def value(self, schema: Any, s: State, hint: str | None = None) -> Any:
        if s.depth > MAX_DEPTH * 4:  # a schema with no finite value: give up on this branch
            return None
        schema = self.resolve(schema)
        if schema is True or not isinstance(schema, dict):
            return None if schema is False else s.faker.word()
        if "const" in schema:
            return schema["const"]
        if "allOf" in schema:
            return self.value(self._merge(schema), s, hint)
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            choices = [v for v in enum if v is not None] or enum
            return s.rng.choice(choices)
        if "oneOf" in schema:
            return self._one_of(schema, s, hint)
        if "anyOf" in schema:
            branches = [b for b in schema["anyOf"] if self.resolve(b).get("type") != "null"] or schema["anyOf"]
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            branch = min(branches, key=self._cost) if s.depth >= MAX_DEPTH else s.rng.choice(branches)
            return self.value(self._merge({"allOf": [rest, branch]}) if rest else branch, s, hint)
        kind = self._type(schema)
        if kind == "object":
            return self._object(schema, s)
        if kind == "array":
            return self._array(schema, s, hint)
        if kind == "string":
            return self._string(schema, s, hint)
        if kind == "integer":
            return self._number(schema, s, hint, integer=True)
        if kind == "number":
            return self._number(schema, s, hint, integer=False)
        if kind == "boolean":
            return s.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, s, hint)

    @staticmethod
    def _type(schema: dict[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind:
            return str(kind)
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return "object"
        if "items" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
            return "number"
        return "string"

    # -- composition --------------------------------------------------------------------------

    def _merge(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Flatten ``allOf`` into one schema (properties merged, required united, bounds tightened)."""
        key = id(schema)
        cached = self._merged.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        parts: list[dict[str, Any]] = []

        def collect(node: Any, depth: int = 0) -> None:
            node = self.resolve(node)
            if not isinstance(node, dict) or depth > 16:
                return
            rest = {k: v for k, v in node.items() if k != "allOf"}
            if rest:
                parts.append(rest)
            for sub in node.get("allOf") or []:
                collect(sub, depth + 1)

        collect(schema)
        out: dict[str, Any] = {}
        for part in parts:
            for k, v in part.items():
                if k == "properties" and isinstance(v, dict):
                    props = out.setdefault("properties", {})
                    for name, sub in v.items():
                        props[name] = {"allOf": [props[name], sub]} if name in props else sub
                elif k == "required" and isinstance(v, list):
                    out["required"] = list(dict.fromkeys([*out.get("required", []), *v]))
                elif k == "enum" and "enum" in out:
                    out["enum"] = [x for x in out["enum"] if x in v] or out["enum"]
                elif k in ("minimum", "minLength", "minItems", "minProperties") and k in out:
                    out[k] = max(out[k], v)
                elif k in ("maximum", "maxLength", "maxItems", "maxProperties") and k in out:
                    out[k] = min(out[k], v)
                elif k == "type" and "type" in out and out["type"] != v:
                    if out["type"] == "number" and v == "integer":
                        out["type"] = "integer"
                elif k in ("anyOf", "oneOf") and k in out:
                    out.setdefault("allOf", []).append({k: v})
                else:
                    out.setdefault(k, v)
        if "allOf" in out:  # two anyOf/oneOf constraints: keep the first, the rest go into a branch pick
            extra = out.pop("allOf")
            for item in extra:
                for k, v in item.items():
                    out[k] = [{"allOf": [a, b]} for a in out[k] for b in v] if k in out else v
        self._merged[key] = (schema, out)
        return out

    def _one_of(self, schema: dict[str, Any], s: State, hint: str | None) -> Any:
        branches = schema["oneOf"]
        rest = {k: v for k, v in schema.items() if k != "oneOf"}
        validators = [self.validator(b) for b in branches]
        order = list(range(len(branches)))
        s.rng.shuffle(order)
        if s.depth >= MAX_DEPTH:  # deep in a recursive structure: the branch that ends soonest first
            order.sort(key=lambda i: self._cost(branches[i]))
        fallback: Any = None
        for i in order:
            branch = branches[i]
            target = self._merge({"allOf": [rest, branch]}) if rest else branch
            for _ in range(3):
                candidate = self.value(target, s, hint)
                matches = sum(1 for v in validators if v.is_valid(candidate))
                if matches == 1:
                    return candidate
                if fallback is None:
                    fallback = candidate
        return fallback

    def _cost(self, schema: Any, seen: frozenset[int] = frozenset()) -> float:
        """How much nesting the smallest valid value of ``schema`` needs (inf for endless recursion)."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or id(schema) in seen:
            return float("inf") if isinstance(schema, dict) else 1
        seen = seen | {id(schema)}
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return min((self._cost(b, seen) for b in schema[key]), default=1)
        if "allOf" in schema:
            return sum(self._cost(b, seen) for b in schema["allOf"])
        if "enum" in schema or "const" in schema:
            return 1
        props = schema.get("properties") or {}
        total = 1.0
        for name in schema.get("required") or []:
            total += self._cost(props.get(name, {}), seen)
        if schema.get("minItems") and "items" in schema:
            total += schema["minItems"] * self._cost(schema["items"], seen)
        return total

    # -- kinds --------------------------------------------------------------------------------

    def _object(self, schema: dict[str, Any], s: State) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out: dict[str, Any] = {}
        s.depth += 1
        try:
            optional_ok = s.depth <= 3
            for name, sub in props.items():
                resolved = self.resolve(sub)
                if isinstance(resolved, dict) and resolved.get("writeOnly"):
                    continue
                if name in required or (optional_ok and s.depth <= MAX_DEPTH and s.rng.random() < 0.85):
                    out[name] = self.value(sub, s, name)
            extra = schema.get("additionalProperties")
            if not props and isinstance(extra, dict) and s.depth <= MAX_DEPTH:
                for _ in range(max(1, schema.get("minProperties", 0)) if s.depth > 2 else 2):
                    key = s.faker.word()
                    out[key] = self.value(extra, s, key)
            for name in required - out.keys():  # required but undeclared
                out[name] = s.faker.word()
            minimum = schema.get("minProperties", 0)
            while len(out) < minimum and extra is not False:
                out[f"{s.faker.word()}_{len(out)}"] = self.value(extra if isinstance(extra, dict) else {}, s)
        finally:
            s.depth -= 1
        return out

    def _array(self, schema: dict[str, Any], s: State, hint: str | None) -> list[Any]:
        items = schema.get("items", schema.get("prefixItems"))
        lo = int(schema.get("minItems", 0))
        hi = schema.get("maxItems")
        if isinstance(items, list):  # tuple form
            return [self.value(sub, s, hint) for sub in items]
        want = lo if s.depth >= MAX_DEPTH else max(lo, s.rng.choice((1, 1, 2)) if s.depth < 4 else lo)
        if hi is not None:
            want = min(want, int(hi))
        out: list[Any] = []
        s.depth += 1
        try:
            attempts = 0
            while len(out) < want and attempts < want * 4 + 4:
                attempts += 1
                value = self.value(items if items is not None else {"type": "string"}, s, hint)
                if schema.get("uniqueItems") and value in out:
                    continue
                out.append(value)
        finally:
            s.depth -= 1
        return out

    def _string(self, schema: dict[str, Any], s: State, hint: str | None) -> str:
        lo = int(schema.get("minLength", 0))
        hi = schema.get("maxLength")
        candidates = []
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            sample = regex_sample(pattern, s)
            if sample is not None:
                return sample
        fmt = schema.get("format")
        value = by_format(fmt, s) if fmt else None
        if value is not None:
            candidates.append(value)
        if fmt is None or value is None:
            named = by_name(hint, s, self.producers)
            if isinstance(named, str):
                candidates.append(named)
        for candidate in candidates:
            if len(candidate) >= lo and (hi is None or len(candidate) <= hi):
                return str(candidate)
        text = candidates[0] if candidates else str(s.faker.word())
        while len(text) < lo:
            text += s.rng.choice(string.ascii_lowercase)
        if hi is not None:
            text = text[: int(hi)]
        return text

    def _number(self, schema: dict[str, Any], s: State, hint: str | None, *, integer: bool) -> int | float:
        lo, hi = schema.get("minimum"), schema.get("maximum")
        ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if ex_lo is True and lo is not None:
            lo = lo + (1 if integer else 0.01)
        elif isinstance(ex_lo, (int, float)) and not isinstance(ex_lo, bool):
            lo = ex_lo + (1 if integer else 0.01)
        if ex_hi is True and hi is not None:
            hi = hi - (1 if integer else 0.01)
        elif isinstance(ex_hi, (int, float)) and not isinstance(ex_hi, bool):
            hi = ex_hi - (1 if integer else 0.01)
        name = (hint or "").lower()
        if any(w in name for w in _AMOUNT_WORDS):
            d_lo, d_hi = 100, 250_000
        elif any(w in name for w in _COUNT_WORDS):
            d_lo, d_hi = 1, 10
        elif "year" in name:
            d_lo, d_hi = 2020, 2027
        elif "day" in name:
            d_lo, d_hi = 1, 28
        elif "rate" in name or "percent" in name:
            d_lo, d_hi = 0, 100
        else:
            d_lo, d_hi = 1, 1000
        lo = d_lo if lo is None else lo
        hi = max(lo, d_hi) if hi is None else hi
        if lo > hi:
            lo = hi
        step = schema.get("multipleOf")
        if integer:
            lo_i, hi_i = int(-(-lo // 1)), int(hi // 1)
            value: int | float = s.rng.randint(lo_i, max(lo_i, hi_i))
        else:
            value = round(s.rng.uniform(lo, hi), 2)
            if value < lo or value > hi:
                value = lo
        if step:
            k = -(-lo // step)
            value = k * step
            if integer:
                value = int(value)
        return value


# -- regular expressions ----------------------------------------------------------------------

_CATEGORY_CHARS = {
    sre_constants.CATEGORY_DIGIT: string.digits,
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_constants.CATEGORY_NOT_WORD: "-.",
    sre_constants.CATEGORY_NOT_SPACE: string.ascii_letters,
}
_ANY = string.ascii_letters + string.digits
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None))


def regex_sample(pattern: str, s: State) -> str | None:
    """A string matching ``pattern`` (JSON Schema semantics: searched, not anchored), or None."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    for _ in range(5):
        try:
            text = "".join(_emit(parsed, s, 0))
        except _Unsupported:
            return None
        try:
            if re.search(pattern, text):
                return text
        except re.error:
            return None
    return None


class _Unsupported(Exception):
    pass


def _emit(items: Any, s: State, depth: int) -> list[str]:
    if depth > 20:
        raise _Unsupported
    out: list[str] = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.NOT_LITERAL:
            out.append(next(c for c in _ANY if ord(c) != arg))
        elif op is sre_constants.ANY:
            out.append(s.rng.choice(_ANY))
        elif op is sre_constants.IN:
            out.append(_pick_in(arg, s))
        elif op in _REPEATS:
            lo, hi, sub = arg
            hi = lo + 3 if hi is sre_constants.MAXREPEAT else min(hi, lo + 3)
            for _ in range(s.rng.randint(lo, hi)):
                out.extend(_emit(sub, s, depth + 1))
        elif op is sre_constants.SUBPATTERN:
            out.extend(_emit(arg[-1], s, depth + 1))
        elif op is sre_constants.BRANCH:
            out.extend(_emit(s.rng.choice(arg[1]), s, depth + 1))
        elif op is sre_constants.AT:
            continue
        elif op is sre_constants.CATEGORY:
            out.append(s.rng.choice(_CATEGORY_CHARS.get(arg, _ANY)))
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue
        else:
            raise _Unsupported
    return out


def _pick_in(arg: Any, s: State) -> str:
    negate = False
    chars: list[str] = []
    for op, value in arg:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            chars.append(chr(value))
        elif op is sre_constants.RANGE:
            lo, hi = value
            chars.extend(chr(c) for c in range(lo, min(hi, lo + 200) + 1))
        elif op is sre_constants.CATEGORY:
            chars.extend(_CATEGORY_CHARS.get(value, _ANY))
    if negate:
        pool = [c for c in _ANY if c not in chars]
        return s.rng.choice(pool or ["~"])
    if not chars:
        raise _Unsupported
    return s.rng.choice(chars)
