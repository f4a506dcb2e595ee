"""Runtime overrides (WireMock-style stubs): "when a request matches this, answer that instead".

An override has a **match** (an operationId or a method and path pattern, and optionally headers,
query parameters, JSONPath conditions on the body and the caller's principal) and either one
**answer** (given ``times`` calls, or every call) or a **sequence** of answers taken in order. An
answer is a status (with a body that must validate against the spec unless ``unchecked``; without a
body, the documented one), a fault, a delay, or ``pass`` (the mock answers as usual).

Overrides are checked after a request passed auth and validation. The lowest ``priority`` wins (1
before 5, as in WireMock), the newest among equals. The pipeline finds the candidates of an
operation with one dict lookup, so an app without overrides pays nothing else.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import Scope

from .auth import Principal
from .faults import FAULTS, parse_delay
from .jsonmatch import MISSING, ConditionError, JsonCondition, compile_condition
from .operation import ApiContext, CompiledOperation
from .response import NO_BODY, MockResponse
from .validation import check_response

DEFAULT_PRIORITY = 5
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_FIELDS = ("id", "match", "answer", "sequence", "times", "priority", "persistent")
_MATCH_FIELDS = ("operation_id", "api", "method", "path", "headers", "query", "body", "principal")
_ANSWER_FIELDS = ("status", "body", "headers", "unchecked", "fault", "delay", "pass")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


class OverrideError(ValueError):
    """An override that cannot be accepted; ``str()`` says why, for a 400."""


@dataclass
class Answer:
    status: int | None = None
    body: Any = NO_BODY
    headers: dict[str, str] = field(default_factory=dict)
    unchecked: bool = False
    fault: str | None = None
    delay: tuple[float, float] | None = None
    passes: bool = False  # the mock answers as usual (after the delay, if any)

    @property
    def shapes(self) -> bool:
        """Does this answer change anything (a status, a fault or a delay)?"""
        return self.status is not None or self.fault is not None or self.delay is not None


@dataclass
class Match:
    operation_id: str | None = None
    api: str | None = None
    method: str | None = None
    path: str | None = None
    path_regex: re.Pattern[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: list[JsonCondition] = field(default_factory=list)
    principal: dict[str, str] = field(default_factory=dict)

    def holds(self, scope: Scope, headers: Headers, body: Any, principal: Principal) -> bool:
        if self.path_regex is not None and not self.path_regex.fullmatch(scope["path"]):
            return False
        for name, value in self.headers.items():
            if headers.get(name) != value:
                return False
        if self.query:
            pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            for name, value in self.query.items():
                if not any(k == name and v == value for k, v in pairs):
                    return False
        if not all(condition.holds(body) for condition in self.body):
            return False
        return all(_principal_value(principal, name) == value for name, value in self.principal.items())


@dataclass
class Override:
    id: str
    match: Match
    answers: list[Answer]
    times: int | None  # None: every call (a single answer); a sequence is used up after its last answer
    priority: int
    persistent: bool
    operations: list[CompiledOperation]
    source: dict[str, Any]  # as posted (for listing)
    order: int = 0
    hits: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.hits)

    @property
    def active(self) -> bool:
        return self.times is None or self.hits < self.times

    def take(self) -> Answer:
        answer = self.answers[min(self.hits, len(self.answers) - 1)]
        self.hits += 1
        return answer

    def describe(self) -> dict[str, Any]:
        return {"match": {}, **self.source, "id": self.id, "priority": self.priority, "persistent": self.persistent,
                "hits": self.hits, "remaining": self.remaining, "active": self.active,
                "operations": sorted({op.id for op in self.operations})}


class Overrides:
    """The overrides of one app, indexed by operation."""

    def __init__(self) -> None:
        self.items: dict[str, Override] = {}
        self.by_op: dict[CompiledOperation, list[Override]] = {}
        # (method, path) -> the operation the app routes it to; set by the app once its routes exist
        self.route: Callable[[str, str], CompiledOperation | None] | None = None
        self._order = itertools.count(1)
        self._ids = itertools.count(1)

    # -- changes --------------------------------------------------------------------------------

    def add(self, data: Any, apis: Iterable[ApiContext]) -> Override:
        """Parse, check against the spec and install an override; raises OverrideError."""
        override = parse_override(data, list(apis), self._next_id, self.route)
        if override.id in self.items:
            self.remove(override.id)  # posting an existing id replaces that override
        override.order = next(self._order)
        self.items[override.id] = override
        self._index(override)
        return override

    def remove(self, override_id: str) -> bool:
        override = self.items.pop(override_id, None)
        if override is None:
            return False
        self._unindex(override)
        return True

    def clear(self) -> None:
        self.items.clear()
        self.by_op.clear()

    def reset(self) -> None:
        """What ``POST /__admin/reset`` does: drop the overrides that are not persistent, and re-arm
        the persistent ones (their counts and sequences start over)."""
        kept = [o for o in self.items.values() if o.persistent]
        self.clear()
        for override in kept:
            override.hits = 0
            self.items[override.id] = override
            self._index(override)

    # -- lookups --------------------------------------------------------------------------------

    def answer_for(self, op: CompiledOperation, candidates: list[Override], scope: Scope,
                   headers: Headers, body: Any, principal: Principal) -> tuple[Override, Answer] | None:
        """The override that answers this request (counting the hit), and its answer."""
        for override in candidates:
            if override.active and override.match.holds(scope, headers, body, principal):
                answer = override.take()
                if not override.active:
                    self._unindex(override)
                return override, answer
        return None

    def listing(self) -> list[dict[str, Any]]:
        ordered = sorted(self.items.values(), key=lambda o: (o.priority, -o.order))
        return [o.describe() for o in ordered]

    def _next_id(self) -> str:
        while True:
            candidate = f"override-{next(self._ids)}"
            if candidate not in self.items:
                return candidate

    def _index(self, override: Override) -> None:
        for op in override.operations:
            bucket = self.by_op.setdefault(op, [])
            bucket.append(override)
            bucket.sort(key=lambda o: (o.priority, -o.order))

    def _unindex(self, override: Override) -> None:
        for op in override.operations:
            bucket = self.by_op.get(op)
            if bucket and override in bucket:
                bucket.remove(override)
                if not bucket:
                    del self.by_op[op]


def respond(op: CompiledOperation, answer: Answer, documented: Any) -> MockResponse:
    """The response of an answer with a status: its body, or ``documented()`` (the spec's body for
    that status) when it gives none."""
    assert answer.status is not None
    found = op.response_for(answer.status)
    if answer.body is NO_BODY:
        if found is None:  # an unchecked, undocumented status
            return MockResponse(answer.status, NO_BODY, None, dict(answer.headers))
        response: MockResponse = documented()
        response.headers.update(answer.headers)
        return response
    media = found[1].pick_media() if found is not None else None
    ctype = _content_type(answer) or (media.content_type if media is not None else "application/json")
    return MockResponse(answer.status, answer.body, ctype, {k: v for k, v in answer.headers.items()
                                                              if k.lower() != "content-type"})


# -- parsing ----------------------------------------------------------------------------------


def parse_override(data: Any, apis: list[ApiContext], new_id: Callable[[], str],
                   route: Callable[[str, str], CompiledOperation | None] | None = None) -> Override:
    if not isinstance(data, dict):
        raise OverrideError('an override is a JSON object: {"match": {...}, "answer": {...}}')
    _known(data, _FIELDS, "override")
    override_id = data.get("id")
    if override_id is None:
        override_id = new_id()
    elif not isinstance(override_id, str) or not _ID.match(override_id):
        raise OverrideError("'id' must be 1-64 letters, digits, '.', '_', ':' or '-'")
    match = _parse_match(data.get("match", {}))
    if ("answer" in data) == ("sequence" in data):
        raise OverrideError("give either an 'answer' or a 'sequence' of answers")
    if "answer" in data:
        answers = [_parse_answer(data["answer"], "answer")]
        times = data.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise OverrideError("'times' must be a positive integer (omit it for every call)")
    else:
        sequence = data["sequence"]
        if not isinstance(sequence, list) or not sequence:
            raise OverrideError("'sequence' must be a non-empty list of answers")
        if "times" in data:
            raise OverrideError("a 'sequence' is used up after its last answer: drop 'times'")
        answers = [_parse_answer(a, f"sequence[{i}]") for i, a in enumerate(sequence)]
        times = len(answers)
    priority = data.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise OverrideError("'priority' must be an integer (lower wins; the default is 5)")
    persistent = data.get("persistent", False)
    if not isinstance(persistent, bool):
        raise OverrideError("'persistent' must be true or false")
    operations = _operations(match, apis, route)
    for index, answer in enumerate(answers):
        where = "answer" if "answer" in data else f"sequence[{index}]"
        for op in operations:
            _check_answer(op, answer, where)
    return Override(override_id, match, answers, times, priority, persistent, operations, dict(data))


def _known(data: dict[str, Any], fields: tuple[str, ...], what: str) -> None:
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise OverrideError(f"unknown field '{unknown[0]}' in {what} (fields: {', '.join(fields)})")


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise OverrideError(f"{where} must be a string, a number or a boolean")


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise OverrideError(f"'{where}' must be an object of names and values")
    return {str(k): _text(v, f"{where}.{k}") for k, v in value.items()}


def _parse_match(data: Any) -> Match:
    if not isinstance(data, dict):
        raise OverrideError("'match' must be an object")
    _known(data, _MATCH_FIELDS, "match")
    match = Match()
    for name in ("operation_id", "api", "method", "path"):
        if name in data and not isinstance(data[name], str):
            raise OverrideError(f"match.{name} must be a string")
    match.operation_id, match.api = data.get("operation_id"), data.get("api")
    if "method" in data:
        match.method = data["method"].upper()
        if match.method not in _METHODS:
            raise OverrideError(f"match.method '{data['method']}' is not an HTTP method")
    if "path" in data:
        if not data["path"].startswith("/"):
            raise OverrideError("match.path must start with '/' (use * for a segment, ** for the rest)")
        match.path = data["path"]
        match.path_regex = _pattern(data["path"])
    match.headers = {k.lower(): v for k, v in _string_map(data.get("headers", {}), "match.headers").items()}
    match.query = _string_map(data.get("query", {}), "match.query")
    match.principal = _string_map(data.get("principal", {}), "match.principal")
    conditions = data.get("body", [])
    if not isinstance(conditions, list):
        raise OverrideError('match.body must be a list of {"path": "$...", "equals": ...} conditions')
    for i, item in enumerate(conditions):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or set(item) - {"path", "equals"}:
            raise OverrideError(f'match.body[{i}] must be {{"path": "$...", "equals": <value>}} (equals optional)')
        try:
            match.body.append(compile_condition(item["path"], f"match.body[{i}].path",
                                                equals=item.get("equals", MISSING)))
        except ConditionError as exc:
            raise OverrideError(str(exc)) from None
    return match


def _parse_answer(data: Any, where: str) -> Answer:
    if not isinstance(data, dict):
        raise OverrideError(f"{where} must be an object")
    _known(data, _ANSWER_FIELDS, where)
    answer = Answer()
    if "status" in data:
        status = data["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise OverrideError(f"{where}.status must be an HTTP status code (100-599)")
        answer.status = status
    if "body" in data:
        if answer.status is None:
            raise OverrideError(f"{where}.body needs a status")
        answer.body = data["body"]
    answer.headers = _string_map(data.get("headers", {}), f"{where}.headers")
    answer.unchecked = data.get("unchecked", False)
    if not isinstance(answer.unchecked, bool):
        raise OverrideError(f"{where}.unchecked must be true or false")
    if "fault" in data:
        if data["fault"] not in FAULTS:
            raise OverrideError(f"{where}.fault must be one of {', '.join(FAULTS)}")
        answer.fault = data["fault"]
    if "delay" in data:
        try:
            answer.delay = parse_delay(data["delay"])
        except ValueError as exc:
            raise OverrideError(f"{where}.delay: {exc}") from None
    answer.passes = data.get("pass", False) is True
    if "pass" in data and not isinstance(data["pass"], bool):
        raise OverrideError(f"{where}.pass must be true or false")
    if answer.passes and (answer.status is not None or answer.fault is not None):
        raise OverrideError(f"{where}: 'pass' lets the mock answer; it takes no status or fault")
    if not answer.shapes and not answer.passes:
        raise OverrideError(f"{where} needs a status, a fault, a delay, or \"pass\": true")
    if answer.fault in ("reset", "empty", "timeout") and answer.status is not None:
        raise OverrideError(f"{where}: a '{answer.fault}' fault sends no status (only 'malformed' sends one)")
    return answer


def _pattern(path: str) -> re.Pattern[str]:
    """``*`` (or ``{name}``) is one path segment, ``**`` any rest; everything else is literal."""
    out = []
    for token in re.split(r"(\*\*|\*|\{[^{}/]*\})", path):
        if token == "**":
            out.append(".*")
        elif token == "*" or (token.startswith("{") and token.endswith("}")):
            out.append("[^/]+")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out))


def _operations(match: Match, apis: list[ApiContext],
                route: Callable[[str, str], CompiledOperation | None] | None) -> list[CompiledOperation]:
    """The operations an override can apply to; refuses a match that names none. A path without
    wildcards is routed as a request would be (literal segments beat parameters)."""
    routed: set[CompiledOperation] | None = None
    if match.path is not None and route is not None and not re.search(r"[*{]", match.path):
        methods = [match.method] if match.method else list(_METHODS)
        routed = {op for op in (route(m, match.path) for m in methods) if op is not None}
    found = []
    for ctx in apis:
        if match.api is not None and ctx.name != match.api:
            continue
        for op in ctx.operations:
            if routed is not None and op not in routed:
                continue
            if match.operation_id is not None and op.id != match.operation_id:
                continue
            if match.method is not None and op.method.upper() != match.method:
                continue
            if match.path_regex is not None and not _overlaps(match, op):
                continue
            found.append(op)
    if not found:
        if match.api is not None and all(ctx.name != match.api for ctx in apis):
            raise OverrideError(f"match.api: no API '{match.api}' (mounted: {', '.join(c.name for c in apis)})")
        parts = [f"{k} {v!r}" for k, v in (("operation_id", match.operation_id), ("method", match.method),
                                             ("path", match.path)) if v is not None]
        raise OverrideError(f"the match ({', '.join(parts)}) names no operation of the mounted APIs")
    return found


def _overlaps(match: Match, op: CompiledOperation) -> bool:
    assert match.path_regex is not None and match.path is not None
    return bool(match.path_regex.fullmatch(op.path) or _pattern(op.path).fullmatch(match.path))


def _content_type(answer: Answer) -> str | None:
    return next((v for k, v in answer.headers.items() if k.lower() == "content-type"), None)


def _check_answer(op: CompiledOperation, answer: Answer, where: str) -> None:
    """Refuse an answer the operation does not document (unless ``unchecked``)."""
    if answer.status is None or answer.unchecked:
        return
    op.compile()
    found = op.response_for(answer.status)
    if found is None:
        documented = ", ".join(sorted(op.responses)) or "none"
        raise OverrideError(f"{where}: status {answer.status} is not documented for {op.id} (documented: "
                            f"{documented}); set \"unchecked\": true to send it anyway")
    if answer.body is NO_BODY:
        return
    if not found[1].media:
        raise OverrideError(f"{where}: {op.id} documents no body for status {answer.status}; "
                            f"set \"unchecked\": true to send one anyway")
    media = found[1].pick_media()
    ctype = _content_type(answer) or (media.content_type if media is not None else "application/json")
    problem = check_response(op, MockResponse(answer.status, answer.body, ctype))
    if problem:
        problem = problem.removeprefix("body ")
        raise OverrideError(f"{where}: the body does not match the spec of {op.id} {found[0]}: {problem}; "
                            f"set \"unchecked\": true to send it anyway")


def _principal_value(principal: Principal, name: str) -> str | None:
    if name in ("kind", "subject", "name"):
        return str(getattr(principal, name))
    value = principal.claims.get(name)
    return None if value is None else _text(value, name) if isinstance(value, (str, int, float, bool)) else str(value)
