"""Finding requests in the journal (``POST /__admin/requests/find`` and ``/count``): a request
pattern in JSON, checked once, then matched against journal entries (as ``Journal.read`` gives them).

    {"method": "POST", "path_glob": "/v2/portal/**", "operation_id": "createMeterReading",
     "status": "2xx", "body": {"jsonpath": "$.value", "equals": 1.5}}

Every given criterion must hold. Bodies are matched as the journal shows them (secrets masked).
Calls to the admin API and the docs pages are left out unless ``"include_admin": true``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .jsonmatch import MISSING, ConditionError, JsonCondition, compile_condition
from .jsontext import loads

FIELDS = ("method", "path", "path_pattern", "path_glob", "operation_id", "api", "status", "headers", "body",
          "response_body", "unmatched", "since_id", "limit", "include_admin")
_MISSING = object()


class PatternError(ValueError):
    """A request pattern that cannot be used; the message says which field and why."""



@dataclass(frozen=True)
class RequestPattern:
    method: str | None = None
    path: str | None = None
    path_regex: re.Pattern[str] | None = None
    operation_id: str | None = None
    api: str | None = None
    statuses: frozenset[int] | None = None
    status_classes: frozenset[int] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: tuple[JsonCondition, ...] = ()
    response_body: tuple[JsonCondition, ...] = ()
    unmatched: bool = False
    include_admin: bool = True  # parse_pattern (find/count) defaults to False
    since_id: int = 0
    limit: int | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        if not self.include_admin and entry["path"].startswith(("/__admin", "/__docs")):
            return False
        if self.method is not None and entry["method"] != self.method:
            return False
        if self.path is not None and entry["path"] != self.path:
            return False
        if self.path_regex is not None and not self.path_regex.fullmatch(entry["path"]):
            return False
        if self.operation_id is not None and entry.get("operation_id") != self.operation_id:
            return False
        if self.api is not None and entry.get("api") != self.api:
            return False
        if self.unmatched and entry.get("operation_id") is not None:
            return False
        status = int(entry["status"])
        wanted = self.statuses is not None or self.status_classes is not None
        if wanted and not (status in (self.statuses or ()) or status // 100 in (self.status_classes or ())):
            return False
        if self.headers:
            sent = (entry.get("request") or {}).get("headers") or {}
            if any(sent.get(name) != value for name, value in self.headers):
                return False
        if self.body and not _bodies_match(self.body, entry.get("request")):
            return False
        return not (self.response_body and not _bodies_match(self.response_body, entry.get("response")))

    def select(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = [e for e in entries if e["id"] > self.since_id and self.matches(e)]
        return found[-self.limit:] if self.limit else found


def _bodies_match(checks: tuple[JsonCondition, ...], message: dict[str, Any] | None) -> bool:
    if not message:
        return False
    document = message.get("json", _MISSING)
    if document is _MISSING:
        body = message.get("body")
        if not isinstance(body, str) or message.get("truncated") or message.get("body_encoding"):
            return False
        try:
            document = loads(body)
        except ValueError:
            return False
    return all(check.holds(document) for check in checks)


def parse_pattern(data: Any) -> RequestPattern:
    """A `RequestPattern` from a find/count request body (``{}`` or no body: every request)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PatternError("the request pattern must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise PatternError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    regexes = []
    if data.get("path_pattern") is not None:
        regexes.append(_regex(data["path_pattern"], "path_pattern"))
    if data.get("path_glob") is not None:
        regexes.append(re.compile(glob_regex(_string(data["path_glob"], "path_glob"))))
    if len(regexes) > 1:
        raise PatternError("give path_pattern or path_glob, not both")
    statuses, classes = _statuses(data.get("status"))
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise PatternError("'headers' must be an object of header names and exact values")
    return RequestPattern(
        method=_string(data["method"], "method").upper() if data.get("method") is not None else None,
        path=_string(data["path"], "path") if data.get("path") is not None else None,
        path_regex=regexes[0] if regexes else None,
        operation_id=_string(data["operation_id"], "operation_id") if data.get("operation_id") is not None else None,
        api=_string(data["api"], "api") if data.get("api") is not None else None,
        statuses=statuses, status_classes=classes,
        headers=tuple((str(k).lower(), v) for k, v in headers.items()),
        body=_body_matches(data.get("body"), "body"),
        response_body=_body_matches(data.get("response_body"), "response_body"),
        unmatched=_flag(data.get("unmatched"), "unmatched"),
        include_admin=_flag(data.get("include_admin"), "include_admin"),
        since_id=_count(data.get("since_id"), "since_id") or 0,
        limit=_count(data.get("limit"), "limit"),
    )


def glob_regex(glob: str) -> str:
    """``*`` matches within one path segment, ``**`` across segments, ``?`` one character."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise PatternError(f"'{name}' must be a string")
    return value


def _regex(value: Any, name: str) -> re.Pattern[str]:
    try:
        return re.compile(_string(value, name))
    except re.error as exc:
        raise PatternError(f"'{name}' is not a valid regular expression: {exc}") from None


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PatternError(f"'{name}' must be true or false")
    return value


def _count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PatternError(f"'{name}' must be a non-negative integer")
    return value


def _statuses(value: Any) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """``200``, ``"4xx"`` or a list of those."""
    if value is None:
        return None, None
    items = value if isinstance(value, list) else [value]
    codes, classes = set(), set()
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            codes.add(item)
        elif isinstance(item, str) and re.fullmatch(r"[1-5]xx", item.lower()):
            classes.add(int(item[0]))
        elif isinstance(item, str) and item.isdigit() and 100 <= int(item) <= 599:
            codes.add(int(item))
        else:
            raise PatternError("'status' must be a status code (404), a class (\"4xx\") or a list of them")
    return frozenset(codes), frozenset(classes)


def _body_matches(value: Any, name: str) -> tuple[JsonCondition, ...]:
    """A JSONPath string, an object ``{jsonpath, equals?, matches?}``, or a list of them."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        spec = {"jsonpath": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or not isinstance(spec.get("jsonpath"), str):
            raise PatternError(f"'{name}' must be a JSONPath, or {{\"jsonpath\": ..., \"equals\": ...}}, or a list")
        extra = sorted(set(spec) - {"jsonpath", "equals", "matches"})
        if extra:
            raise PatternError(f"'{name}' has unknown field(s) {', '.join(extra)} (jsonpath, equals, matches)")
        try:
            out.append(compile_condition(spec["jsonpath"], f"'{name}'", equals=spec.get("equals", MISSING),
                                         matches=spec.get("matches")))
        except ConditionError as exc:
            raise PatternError(str(exc)) from None
    return tuple(out)
