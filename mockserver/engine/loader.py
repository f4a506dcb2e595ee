"""Read OpenAPI documents (file or URL, YAML or JSON, single or split) into one bundled dict.

prance does the URL and file handling; the bundling is ours because prance's resolver inlines
external schemas without rewriting the refs inside them. Here every schema that lives in another
file is hoisted into ``components/schemas`` of the root document, so recursive schemas keep
working and the bundled document has only internal ``#/...`` references. Non-schema objects
(path items, responses, parameters) referenced from other files are inlined.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import orjson
import yaml
from prance.util.url import ResolutionError, absurl, fetch_url_text, split_url_reference

from .openapi import SpecView

try:
    _YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml is in the PyYAML wheels
    _YamlLoader = yaml.SafeLoader

_CACHE_VERSION = 1


class SpecError(Exception):
    """A document that cannot be read, parsed or bundled. ``str()`` is one line."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{source}: {self.problem}")


def _as_url(source: str) -> Any:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source):
        return absurl(source)
    return absurl(Path(source).expanduser().resolve().as_uri())


def _display(url: Any) -> str:
    if url.scheme == "file":
        path = Path(unquote(url.path))
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return str(url.geturl())


def parse_text(text: str, name: str) -> Any:
    """Parse YAML or JSON text. JSON goes through the JSON parser, which is far faster."""
    stripped = text.lstrip()
    if stripped.startswith("{") or name.endswith(".json"):
        try:
            return json.loads(text)
        except ValueError as exc:
            if name.endswith(".json"):
                raise SpecError(name, f"invalid JSON: {exc}") from None
    try:
        # Dates stay strings: OpenAPI examples are JSON values, not YAML timestamps.
        return yaml.load(text, Loader=_StringDateLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(name, f"invalid YAML{where}: {problem}") from None


class _StringDateLoader(_YamlLoader):  # type: ignore[misc]
    pass


# Keep YAML timestamps (2021-01-01) as plain strings, as a JSON reader would see them.
_StringDateLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _YamlLoader.yaml_implicit_resolvers.items()  # type: ignore[attr-defined]
}


def _int_keys_to_str(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _int_keys_to_str(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_int_keys_to_str(v) for v in node]
    return node


class _Documents:
    """Fetches and caches the documents that a bundle touches."""

    def __init__(self) -> None:
        self.cache: dict[str, Any] = {}
        self._fetch_cache: dict[Any, Any] = {}
        self.files: list[str] = []

    def get(self, url: Any) -> Any:
        key = url._replace(fragment="").geturl()
        if key not in self.cache:
            try:
                text, _ = fetch_url_text(url._replace(fragment=""), self._fetch_cache)
            except (ResolutionError, OSError) as exc:
                reason = exc.args[-1] if exc.args else exc
                raise SpecError(_display(url), f"cannot read: {reason}") from None
            except Exception as exc:  # requests errors for unreachable URLs
                raise SpecError(_display(url), f"cannot fetch: {exc}") from None
            self.cache[key] = _int_keys_to_str(parse_text(text, _display(url)))
            self.files.append(key)
        return self.cache[key]


def _split_reference(base: Any, ref: str) -> tuple[Any, list[str]]:
    """The absolute URL of a JSON reference and its object path (``~0``/``~1`` unescaped)."""
    if base.scheme == "file":
        url, path = split_url_reference(base, ref)
        return url, list(path)
    joined = urlparse(urljoin(base.geturl(), ref))
    pointer = [p.replace("~1", "/").replace("~0", "~") for p in joined.fragment.split("/") if p]
    return joined, pointer


def _resolve_pointer(doc: Any, pointer: list[str], where: str) -> Any:
    node = doc
    for part in pointer:
        part = unquote(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SpecError(where, f"dangling $ref: no '{part}' in '/{'/'.join(pointer)}'")
    return node


# Keys under which a schema object sits, seen from its parent.
_SCHEMA_CHILD = {"items", "additionalProperties", "not", "additionalItems", "contains", "if", "then", "else"}
_SCHEMA_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}
_SCHEMA_MAP = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}


class _Bundler:
    def __init__(self, root_url: Any) -> None:
        self.docs = _Documents()
        self.root_url = root_url
        self.root_key = root_url._replace(fragment="").geturl()
        self.hoisted: dict[tuple[str, str], str] = {}
        self.new_schemas: dict[str, Any] = {}
        self.inlining: list[tuple[str, str]] = []

    def run(self) -> dict[str, Any]:
        root = self.docs.get(self.root_url)
        if not isinstance(root, dict):
            raise SpecError(_display(self.root_url), "not an OpenAPI document (expected a mapping)")
        version = str(root.get("openapi", root.get("swagger", "")))
        if not version.startswith("3."):
            found = f"version '{version}'" if version else "no 'openapi' field"
            raise SpecError(_display(self.root_url), f"not an OpenAPI 3 document ({found})")
        root = copy.deepcopy(root)
        self.taken = set(root.get("components", {}).get("schemas", {}) or {})
        out = self.walk(root, self.root_url, "doc", [])
        if self.new_schemas:
            schemas = out.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(self.new_schemas)
        return dict(out)

    def _name_for(self, key: str, pointer: list[str], target: Any) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", unquote(pointer[-1])) if pointer else ""
        if not base:
            base = Path(urlparse(key).path).stem
        name = base
        if name in self.taken:
            name = f"{Path(urlparse(key).path).stem}_{base}"
        n = 2
        while name in self.taken:
            name = f"{base}_{n}"
            n += 1
        self.taken.add(name)
        return name

    def walk(self, node: Any, base: Any, ctx: str, path: list[str]) -> Any:
        if isinstance(node, list):
            child = "schema" if ctx == "schema-list" else ctx
            return [self.walk(v, base, child, [*path, str(i)]) for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str):
            return self.ref(node, base, ctx, path)
        out = {}
        for key, value in node.items():
            out[key] = self.walk(value, base, self._child_ctx(ctx, key, path), [*path, key])
        return out

    @staticmethod
    def _child_ctx(ctx: str, key: str, path: list[str]) -> str:
        if ctx == "schema":
            if key in _SCHEMA_CHILD:
                return "schema"
            if key in _SCHEMA_LIST:
                return "schema-list"
            if key in _SCHEMA_MAP:
                return "schema-map"
            return "value"  # example, enum, default, ...: plain JSON
        if ctx == "schema-map":
            return "schema"
        if ctx == "value":
            return "value"
        if key == "schema":
            return "schema"
        if key == "schemas" and path and path[-1] == "components":
            return "schema-map"
        if key in ("example", "examples") and ctx == "doc":
            return "value" if key == "example" else "doc"
        return "doc"

    def ref(self, node: dict[str, Any], base: Any, ctx: str, path: list[str]) -> Any:
        ref = node["$ref"]
        where = _display(base)
        try:
            url, pointer = _split_reference(base, ref)
        except Exception as exc:
            raise SpecError(where, f"bad $ref '{ref}': {exc}") from None
        key = url._replace(fragment="").geturl()
        try:
            doc = self.docs.get(url)
        except SpecError as exc:
            raise SpecError(where, f"$ref '{ref}': {exc.problem} ({exc.source})") from None
        target = _resolve_pointer(doc, pointer, f"{where} ($ref '{ref}')")
        if key == self.root_key:
            return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in pointer)}
        ident = (key, "/".join(pointer))
        if ctx == "schema":
            if ident not in self.hoisted:
                name = self._name_for(key, pointer, target)
                self.hoisted[ident] = name
                self.new_schemas[name] = {}
                self.new_schemas[name] = self.walk(target, url, "schema", [])
            return {"$ref": f"#/components/schemas/{self.hoisted[ident]}"}
        if ident in self.inlining:
            raise SpecError(where, f"$ref cycle through non-schema object '{ref}'")
        self.inlining.append(ident)
        try:
            return self.walk(target, url, ctx, path)
        finally:
            self.inlining.pop()


def bundle(source: str, *, cache: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Return the bundled document and the list of document URLs it was built from.

    Local documents are cached (as JSON, keyed by the files' sizes and modification times), so a
    restart does not parse the YAML again.
    """
    url = _as_url(source)
    cached = _cache_get(url) if cache and url.scheme == "file" else None
    if cached is not None:
        return cached
    bundler = _Bundler(url)
    spec = bundler.run()
    if not isinstance(spec.get("paths", {}), dict):
        raise SpecError(_display(url), "'paths' must be a mapping")
    files = list(bundler.docs.files)
    if cache and url.scheme == "file":
        _cache_put(url, spec, files)
    return spec, files


def cache_dir() -> Path:
    base = os.environ.get("EPILOT_MOCK_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "epilot-mock")
    return Path(base)


def _stamp(files: list[str]) -> list[list[Any]] | None:
    out = []
    for f in files:
        try:
            st = os.stat(unquote(urlparse(f).path))
        except OSError:
            return None
        out.append([f, st.st_mtime_ns, st.st_size])
    return out


def _cache_file(url: Any) -> Path:
    key = hashlib.sha1(f"{_CACHE_VERSION}:{url.geturl()}".encode()).hexdigest()[:20]
    return cache_dir() / f"spec-{key}.json"


def _cache_get(url: Any) -> tuple[dict[str, Any], list[str]] | None:
    try:
        data = orjson.loads(_cache_file(url).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    files = [f for f, _, _ in data.get("stamp", [])]
    if not files or _stamp(files) != data["stamp"]:
        return None
    return data["spec"], files


def _cache_put(url: Any, spec: dict[str, Any], files: list[str]) -> None:
    stamp = _stamp(files)
    if stamp is None:
        return
    target = _cache_file(url)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps({"stamp": stamp, "spec": spec}))
        os.replace(tmp, target)
    except (OSError, TypeError):  # a read-only home is fine: we just parse again next time
        pass


def iter_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Yield (path, method, operation, path_item) for every operation of a bundled spec."""
    for op in SpecView(spec).operations():
        yield op.path, op.method, op.raw, op.path_item
