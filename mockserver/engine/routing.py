"""Routing: Connexion's routing middleware with one route table for every mounted API.

Connexion registers routes in spec order into a Starlette router per base path, so the first match
wins: `/pages/default` is swallowed by `/pages/{id}` and `/{slug}/{id}:validateRule` by
`/{slug}/{id}`, and a third API on the same base path is unreachable. Here the APIs' operations
(still built by Connexion's `RoutingAPI`, resolver included) go into one segment trie, and among
all templates that match a path the most specific wins:

1. templates with more action segments (a literal glued to a parameter, as in `{id}:validateRule`);
2. then, segment by segment from the left, a literal beats an action segment beats a parameter.

The path is matched before the method (as API gateways do): a method the most specific template
lacks is a 405 listing the methods it has.

Matching (`RouteTable.match`) is separate from handling: it returns a `Match`, and the routing
middleware (in `connexion_adapter.py`, where Connexion fills the table) hands that to the endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_PARAM = re.compile(r"\{([^{}]+)\}")
LITERAL, ACTION, PARAM = 0, 1, 2


class RouteCollision(Exception):
    pass


@dataclass
class Route:
    template: str
    method: str
    endpoint: Any  # what the router hands the request to
    api: str
    kinds: tuple[int, ...] = ()
    key: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        segments = split_path(self.template)
        self.kinds = tuple(_kind(seg) for seg in segments)
        self.key = (-sum(1 for k in self.kinds if k == ACTION), *self.kinds)


@dataclass
class Match:
    route: Route | None
    path_params: dict[str, str]
    allowed: tuple[str, ...] = ()  # methods of the matched path when the method itself is not routed


def split_path(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _kind(segment: str) -> int:
    if not _PARAM.search(segment):
        return LITERAL
    if _PARAM.fullmatch(segment):
        return PARAM
    return ACTION


def normalise_template(template: str) -> str:
    return _PARAM.sub("{}", template.rstrip("/") or "/")


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    actions: list[tuple[re.Pattern[str], tuple[str, ...], _Node]] = field(default_factory=list)
    param: _Node | None = None
    param_names: list[str] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)  # method -> route, at the end of a template


class RouteTable:
    """All operations of all mounted APIs, matched by the specificity rules of this module."""

    def __init__(self) -> None:
        self.root = _Node()
        self.by_template: dict[str, dict[str, Route]] = {}
        self.routes: list[Route] = []

    def add(self, route: Route) -> None:
        norm = normalise_template(route.template)
        existing = self.by_template.setdefault(norm, {})
        other = existing.get(route.method)
        if other is not None:
            raise RouteCollision(
                f"path collision: {route.method.upper()} {route.template} ({route.api}) and "
                f"{other.method.upper()} {other.template} ({other.api}) are the same route"
            )
        existing[route.method] = route
        self.routes.append(route)
        node = self.root
        for segment in split_path(route.template):
            kind = _kind(segment)
            if kind == LITERAL:
                node = node.literal.setdefault(segment, _Node())
            elif kind == PARAM:
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                pattern, names = _action_regex(segment)
                for rx, _names, child in node.actions:
                    if rx.pattern == pattern.pattern:
                        node = child
                        break
                else:
                    child = _Node()
                    node.actions.append((pattern, names, child))
                    node = child
        node.routes[route.method] = route

    def match(self, method: str, path: str) -> Match | None:
        """Resource first, then method: the most specific template that matches the path wins, and
        a method it lacks is a 405 (with the methods it has), never a fall-through to a vaguer one."""
        segments = split_path(path)
        found: list[tuple[_Node, list[str]]] = []
        self._walk(self.root, segments, 0, [], found)
        if not found:
            return None
        node, values = min(found, key=lambda item: next(iter(item[0].routes.values())).key)
        method = method.lower()
        route = node.routes.get(method) or (node.routes.get("get") if method == "head" else None)
        template = next(iter(node.routes.values())).template
        if route is not None:
            return Match(route, _bind(template, values))
        return Match(None, _bind(template, values), tuple(sorted(m.upper() for m in node.routes)))

    def _walk(self, node: _Node, segments: list[str], i: int, values: list[str], found: list[tuple[Any, ...]]) -> None:
        if i == len(segments):
            if node.routes:
                found.append((node, list(values)))
            return
        segment = segments[i]
        child = node.literal.get(segment)
        if child is not None:
            self._walk(child, segments, i + 1, values, found)
        for rx, _names, child in node.actions:
            m = rx.fullmatch(segment)
            if m:
                values.extend(m.groups())
                self._walk(child, segments, i + 1, values, found)
                del values[len(values) - len(m.groups()):]
        if node.param is not None and segment:
            values.append(segment)
            self._walk(node.param, segments, i + 1, values, found)
            values.pop()

    def methods_for(self, path: str) -> tuple[str, ...]:
        m = self.match("\0", path)
        return m.allowed if m else ()


def _action_regex(segment: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    parts: list[str] = []
    pos = 0
    for m in _PARAM.finditer(segment):
        parts.append(re.escape(segment[pos:m.start()]))
        parts.append("(.*?)")
        names.append(m.group(1))
        pos = m.end()
    parts.append(re.escape(segment[pos:]))
    return re.compile("".join(parts)), tuple(names)


def _bind(template: str, values: list[str]) -> dict[str, str]:
    names = [m.group(1) for m in _PARAM.finditer(template)]
    return dict(zip(names, values, strict=False))
