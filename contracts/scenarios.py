"""Running scenarios: each step's request, its checks against the spec and the expectations, captures,
polling (`wait_until`) and webhook deliveries (`expect_webhook`), against the mock or a real server."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from mockserver.engine.bundled import bundled_apis, parse_spec_arg
from mockserver.engine.loader import bundle
from mockserver.engine.oas_schema import SchemaCompiler, first_error
from mockserver.engine.openapi import OperationView, SpecView
from mockserver.engine.routing import Route, RouteCollision, RouteTable

from .assertions import MISSING, PathError, check, find, finds_many
from .safety import Redactor
from .scenario_format import ScenarioError, bundled_scenarios, load_scenario, render, resolve
from .scenario_mock import OVERRIDES, Overrides, fault_kind, mock_only_step
from .webhooks import running_receiver

__all__ = ["ScenarioError", "bundled_scenarios", "load_scenario", "run_scenarios"]
READ_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class StepResult:
    name: str
    ok: bool
    method: str = ""
    url: str = ""
    request_body: Any = None
    status: int | None = None
    response_body: Any = None
    problem: str | None = None
    elapsed_ms: float = 0.0


@dataclass
class ScenarioResult:
    name: str
    path: str
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and all(s.ok for s in self.steps)

    def describe_failure(self) -> str:
        if self.error:
            return f"scenario {self.name}: {self.error}"
        step = next(s for s in self.steps if not s.ok)
        lines = [f"scenario {self.name} failed at step '{step.name}'"]
        if step.method:
            lines.append(f"  request:  {step.method} {step.url}")
            if step.request_body is not None:
                lines.append(f"            {_short(step.request_body)}")
        if step.status is not None:
            lines.append(f"  response: {step.status} {_short(step.response_body)}")
        lines.append("  problem:  " + (step.problem or "").replace("\n", "\n            "))
        return "\n".join(lines)


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[:limit] + "..."


class SpecIndex:
    """The operations of the scenario's APIs: lookup by operationId, routing of paths, response checks."""

    def __init__(self, apis: list[str]) -> None:
        self.table = RouteTable()
        self.by_id: dict[str, list[dict[str, Any]]] = {}
        self.compilers: dict[str, SchemaCompiler] = {}
        for value in apis or list(bundled_apis()):
            src = parse_spec_arg(value)
            spec, _ = bundle(src.source)
            compiler = SchemaCompiler(spec, "response")
            self.compilers[src.name] = compiler
            view = SpecView(spec)
            for operation in view.operations():
                info = {"api": src.name, "path": operation.path, "method": operation.method.upper(),
                        "op": operation.raw, "view": operation, "security": operation.security,
                        "schemes": view.security_schemes}
                self.by_id.setdefault(operation.raw.get("operationId", ""), []).append(info)
                with contextlib.suppress(RouteCollision):  # the same route in two specs: the first documents it
                    self.table.add(Route(operation.path, operation.method, info, src.name))

    def operation(self, operation_id: str, api: str | None) -> dict[str, Any]:
        found = [i for i in self.by_id.get(operation_id, []) if api is None or i["api"] == api]
        if not found:
            raise ScenarioError(f"no operation '{operation_id}'" + (f" in {api}" if api else ""))
        if len(found) > 1:
            raise ScenarioError(f"operation '{operation_id}' is in several APIs; say which with 'api:'")
        return found[0]

    def route(self, method: str, path: str) -> dict[str, Any] | None:
        m = self.table.match(method, path.split("?")[0])
        return m.route.endpoint if m and m.route else None

    def check_response(self, info: dict[str, Any] | None, status: int, content_type: str, body: Any) -> str | None:
        """Does the response conform to the spec (documented status, schema-valid JSON body)?"""
        if info is None:
            return None
        operation: OperationView = info["view"]
        found = operation.response_for(status)
        if found is None:
            return f"status {status} is not documented for {operation.id} " \
                   f"(documented: {', '.join(sorted(operation.responses()))})"
        if body is None or "json" not in content_type:
            return None
        media = operation.media(found[1], content_type) or operation.media(found[1])
        schema = media[1].get("schema") if media is not None else None
        if schema is None:
            return None
        compiler = self.compilers[info["api"]]
        problem = first_error(compiler.compile(schema), body)
        return f"response does not match the spec ({status}): {problem}" if problem else None


class _Target:
    """Sends requests: to an in-process app (TestClient) or a base URL (httpx)."""

    def __init__(self, *, app: Any = None, base_url: str | None = None) -> None:
        import httpx
        from starlette.testclient import TestClient

        self.base_url = base_url
        self.client: Any = TestClient(app) if app is not None else httpx.Client(base_url=base_url or "", timeout=30,
                                                                                    follow_redirects=False)

    def send(self, method: str, url: str, headers: dict[str, str], body: Any,
             timeout: float | None = None) -> tuple[int, str, Any, dict]:
        content = None if body is None else orjson.dumps(body)
        if content is not None:
            headers = {"content-type": "application/json", **headers}
        if timeout is not None and self.base_url:  # the in-process client has no timeouts
            r = self.client.request(method, url, headers=headers, content=content, timeout=timeout)
        else:
            r = self.client.request(method, url, headers=headers, content=content)
        ctype = r.headers.get("content-type", "")
        parsed: Any = r.text
        if "json" in ctype and r.content:
            try:
                parsed = orjson.loads(r.content)
            except orjson.JSONDecodeError:
                parsed = r.text
        return r.status_code, ctype, parsed, dict(r.headers)

    def admin(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        status, _ctype, parsed, _headers = self.send(method, path, {}, body)
        return status, parsed


def _url(path: str, params: dict[str, Any]) -> str:
    query = []
    for name, value in params.items():
        token = "{" + name + "}"
        if token in path:
            path = path.replace(token, quote(str(value), safe=""))
        elif isinstance(value, list):
            query += [f"{quote(name)}={quote(_text(v))}" for v in value]
        elif value is not None:
            query.append(f"{quote(name)}={quote(_text(value))}")
    return path + ("?" + "&".join(query) if query else "")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _auth_header(step: dict[str, Any], info: dict[str, Any] | None, credentials: dict[str, str],
                 scope: dict[str, Any]) -> dict[str, str]:
    wanted = render(step["auth"], scope) if "auth" in step else None
    if wanted == "none":
        return {}
    if wanted and wanted not in (info or {}).get("schemes", {}) and wanted not in credentials:
        return {"Authorization": f"Bearer {wanted}"}
    if info is None:
        return {}
    for requirement in info["security"]:
        for scheme_name in requirement or {}:
            if wanted and scheme_name != wanted:
                continue
            credential = credentials.get(scheme_name)
            if credential:
                scheme = info["schemes"].get(scheme_name, {})
                if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                    return {scheme["name"]: credential}
                return {"Authorization": f"Bearer {credential}"}
    return {}


class Runner:
    def __init__(self, target: _Target, index: SpecIndex, credentials: dict[str, str], scope: dict[str, Any],
                 receiver: Any, redact: Redactor, progress: Callable[[str], None]) -> None:
        self.target = target
        self.overrides = Overrides(target.admin)
        self.index = index
        self.credentials = credentials
        self.scope = scope
        self.receiver = receiver
        self.redact = redact
        self.progress = progress

    def step(self, step: dict[str, Any]) -> StepResult:
        if "override" in step or "clear_overrides" in step:
            return self._overrides(step)
        if "expect_webhook" in step and "operation" not in step and "request" not in step:
            return self._webhook(step)
        result = self._request(step)
        if result.ok and "expect_webhook" in step:
            webhook = self._webhook(step)
            if not webhook.ok:
                return webhook
        return result

    def _request(self, step: dict[str, Any]) -> StepResult:
        scope = self.scope
        if "operation" in step:
            info: dict[str, Any] | None = self.index.operation(step["operation"], step.get("api"))
            method, path = info["method"], info["path"]  # type: ignore[index]
        else:
            method, path = step["request"]["method"], render(step["request"]["path"], scope)
            info = self.index.route(method, path)
        params = render(step.get("params") or {}, scope)
        headers = {**_auth_header(step, info, self.credentials, scope), **render(step.get("headers") or {}, scope)}
        body = render(step["body"], scope) if "body" in step else None
        url = _url(path, params)
        result = StepResult(step["name"], False, method, url, body)
        wait = step.get("wait_until")
        deadline = time.monotonic() + (wait or {}).get("timeout", 0)
        expected_fault = (step.get("expect") or {}).get("fault")
        while True:
            started = time.perf_counter()
            try:
                status, ctype, parsed, resp_headers = self.target.send(method, url, headers, body, step.get("timeout"))
            except Exception as exc:
                kind = fault_kind(exc)
                if kind is None:
                    raise
                result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
                result.problem = None if kind == expected_fault else (
                    f"the connection failed: '{kind}' fault" + (f" (expected '{expected_fault}')" if expected_fault
                                                                else ""))
                result.ok = result.problem is None
                self.progress(f"  {'✓' if result.ok else '✗'} {step['name']} ({method} {self.redact(url)} → "
                              f"{kind} fault, {result.elapsed_ms} ms)")
                return result
            result.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            result.status, result.response_body = status, parsed
            if expected_fault:
                result.problem = f"expected a '{expected_fault}' fault, got status {status}"
                self.progress(f"  ✗ {step['name']} ({method} {self.redact(url)} → {status})")
                return result
            expect = render(step.get("expect") or {}, scope)
            problem = self.index.check_response(info, status, ctype, parsed) or self._expect(expect, status, parsed,
                                                                                              resp_headers)
            if problem is None or not wait:
                break
            if time.monotonic() > deadline:
                problem = f"timed out after {wait['timeout']}s waiting for: {problem}"
                break
            time.sleep(wait.get("interval", 0.2))
        result.problem = problem
        result.ok = problem is None
        if result.ok:
            problem = capture(step.get("capture") or {}, parsed, scope)
            result.ok, result.problem = problem is None, problem
        mark = "✓" if result.ok else "✗"
        self.progress(f"  {mark} {step['name']} ({method} {self.redact(url)} → {status}, {result.elapsed_ms} ms)")
        return result

    @staticmethod
    def _expect(expect: dict[str, Any], status: int, body: Any, headers: dict[str, str]) -> str | None:
        wanted = expect.get("status")
        if wanted is not None and status not in (wanted if isinstance(wanted, list) else [wanted]):
            return f"expected status {wanted}, got {status}"
        for name, value in (expect.get("headers") or {}).items():
            if headers.get(name.lower()) != value:
                return f"header {name}: expected {value!r}, got {headers.get(name.lower())!r}"
        for assertion in expect.get("body") or []:
            problem = check(assertion, body)
            if problem:
                return problem
        return None

    def _overrides(self, step: dict[str, Any]) -> StepResult:
        result = StepResult(step["name"], False, "ADMIN", OVERRIDES)
        if "override" in step:
            override = render(step["override"], self.scope)
            result.method, result.request_body = "POST", override
            override_id, result.problem = self.overrides.set(override)
            done = f"override {override_id} set"
        else:
            result.method = "DELETE"
            result.problem = self.overrides.clear(render(step["clear_overrides"], self.scope))
            done = "overrides cleared"
        result.ok = result.problem is None
        self.progress(f"  {'✓' if result.ok else '✗'} {step['name']} ({done if result.ok else result.problem})")
        return result

    def _webhook(self, step: dict[str, Any]) -> StepResult:
        spec = render(step["expect_webhook"], self.scope)
        respond = spec.get("respond") or {}
        self.receiver.respond_status = respond.get("status", 200)
        self.receiver.respond_body = respond.get("body", {"ok": True})
        checks = spec.get("match") or []
        timeout = spec.get("timeout", 10)
        last: list[str | None] = [None]

        def matches(delivery: dict[str, Any]) -> bool:
            for assertion in checks:
                last[0] = check(assertion, delivery)
                if last[0]:
                    return False
            return True

        delivery = self.receiver.wait(matches, timeout)
        result = StepResult(step["name"], delivery is not None, "WEBHOOK", self.scope.get("webhook_url", ""))
        if delivery is None:
            seen = len(self.receiver.deliveries)
            result.problem = (f"no webhook delivery matched within {timeout}s ({seen} received"
                              + (f"; last mismatch: {last[0]}" if last[0] else "") + ")")
        else:
            result.status, result.response_body = 200, delivery["body"]
            result.problem = capture(spec.get("capture") or {}, delivery, self.scope)
            result.ok = result.problem is None
        mark = "✓" if result.ok else "✗"
        self.progress(f"  {mark} {step['name']} (webhook delivery{'' if result.ok else ' missing'})")
        return result


def capture(paths: dict[str, str], value: Any, scope: dict[str, Any]) -> str | None:
    """Store what each (templated) path finds in ``value`` into ``scope``; the problem if one finds nothing."""
    for name, path_expr in paths.items():
        path = render(path_expr, scope)
        try:
            found = find(value, path)
        except PathError as exc:
            return f"capture {name}: {exc}"
        if found is MISSING or (found == [] and finds_many(path)):
            return f"capture {name}: nothing at {path}"
        scope[name] = found
    return None


def _writes(doc: dict[str, Any], index: SpecIndex) -> str | None:
    for step in doc["steps"]:
        if "operation" in step:
            method = index.operation(step["operation"], step.get("api"))["method"]
        elif "request" in step:
            method = step["request"]["method"]
        else:
            continue
        if method not in READ_METHODS:
            return f"step '{step['name']}' is a {method}"
    return None


def run_scenarios(names: list[str], *, app: Any = None, base_url: str | None = None, token: str | None = None,
                  scheme_tokens: dict[str, str] | None = None, allow_writes: bool = False,
                  variables: dict[str, str] | None = None, seed: int = 0,
                  progress: Callable[[str], None] | None = None) -> list[ScenarioResult]:
    """Run scenarios in order. Each one validates before it sends anything; a scenario that writes
    refuses a real target without ``allow_writes``."""
    from .targets import probe_mock_info

    say = progress or (lambda line: None)
    docs = [(str(resolve(n)), load_scenario(str(resolve(n)))) for n in names]
    kind_tokens: dict[str, str] = {}
    is_mock = False
    world_org = ""
    if base_url:
        info = probe_mock_info(base_url)
        is_mock = info is not None
        if info is not None:
            kind_tokens, world_org = info.tokens, info.org_id
    results = []
    for path, doc in docs:
        index = SpecIndex(doc.get("apis") or [])
        needs_mock = mock_only_step(doc)
        if base_url and needs_mock and not is_mock:
            raise ScenarioError(f"scenario {doc['name']} sets runtime overrides (step '{needs_mock}'), which only an "
                                f"epilot-mock has; {base_url} is not one")
        if base_url and not allow_writes and not is_mock:
            writing = _writes(doc, index)
            if writing:
                raise ScenarioError(f"scenario {doc['name']} writes ({writing}); pass --allow-writes to run it "
                                    f"against {base_url}")
        with ExitStack() as stack:
            if base_url:
                target = _Target(base_url=base_url)
            else:
                from mockserver.engine import MockConfig, create_app

                mock = app if app is not None else create_app(MockConfig(seed=seed))
                kind_tokens = {k: t for k in ("org", "portal_user") if (t := mock.services.tokens.token_for(k))}
                world_org = mock.services.variables().get("org_id", "")
                target = _Target(app=mock)
                if app is None:
                    stack.enter_context(target.client)  # lifespan of a mock of our own
            receiver, hook_base = stack.enter_context(running_receiver())
            scope: dict[str, Any] = {"org_id": world_org,
                                     "org_token": kind_tokens.get("org", token or ""),
                                     "portal_token": kind_tokens.get("portal_user", token or ""),
                                     "webhook_url": f"{hook_base}/hooks/{doc['name']}", "base_url": base_url or ""}
            scope.update(render(doc.get("variables") or {}, scope))
            scope.update(variables or {})
            credentials = {name: str(render(value, scope)) for name, value in (doc.get("auth") or {}).items()}
            for scheme_name, kinds in _scheme_kinds(index).items():
                if scheme_name in credentials:
                    continue
                credential = (scheme_tokens or {}).get(scheme_name) or next(
                    (kind_tokens[k] for k in kinds if k in kind_tokens), None) or token
                if credential:
                    credentials[scheme_name] = credential
            redact = Redactor([token or "", *(scheme_tokens or {}).values()] if base_url else [])
            runner = Runner(target, index, credentials, scope, receiver, redact, say)
            result = ScenarioResult(doc["name"], path)
            say(f"scenario {doc['name']}")
            try:
                for step in doc["steps"]:
                    try:
                        outcome = runner.step(step)
                    except ScenarioError as exc:
                        outcome = StepResult(step["name"], False, problem=str(exc))
                    result.steps.append(outcome)
                    if not outcome.ok:
                        break
            finally:
                runner.overrides.cleanup()  # the overrides it set end with the scenario
            result.variables = {k: v for k, v in scope.items() if isinstance(v, (str, int, float, bool))}
            results.append(result)
    return results


def _scheme_kinds(index: SpecIndex) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for infos in index.by_id.values():
        for info in infos:
            for name, scheme in info["schemes"].items():
                out.setdefault(name, list(scheme.get("x-mock-token-kinds") or ["org"]))
    return out


def scenario_junit(results: list[ScenarioResult]) -> str:
    from xml.etree import ElementTree as ET

    suite = ET.Element("testsuite", name="epilot-mock scenarios", tests=str(len(results)),
                       failures=str(sum(1 for r in results if not r.ok)))
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="scenario", name=result.name)
        if not result.ok:
            ET.SubElement(case, "failure", message="scenario failed").text = result.describe_failure()
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write_scenario_report(results: list[ScenarioResult], path: str) -> None:
    import html

    rows = []
    for result in results:
        for step in result.steps:
            rows.append((result.name, step.name, "ok" if step.ok else "FAIL", f"{step.method} {step.url}",
                         step.status, step.elapsed_ms, step.problem or ""))
    passed = sum(1 for r in results if r.ok)
    if path.lower().endswith((".html", ".htm")):
        body = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{c}</td><td><code>{html.escape(d)}"
                       f"</code></td><td>{e}</td><td>{f}</td><td><pre>{html.escape(g)}</pre></td></tr>"
                       for a, b, c, d, e, f, g in rows)
        text = (f"<!doctype html><html><head><meta charset='utf-8'><title>Scenarios</title></head><body>"
                f"<h1>Scenarios: {passed}/{len(results)} passed</h1><table border=1><tr><th>Scenario</th><th>Step</th>"
                f"<th></th><th>Request</th><th>Status</th><th>ms</th><th>Problem</th></tr>{body}</table></body></html>")
    else:
        lines = [f"# Scenarios: {passed}/{len(results)} passed", "", "| Scenario | Step | | Request | Status | ms |",
                 "|---|---|---|---|---:|---:|"]
        lines += [f"| {a} | {b} | {c} | `{d}` | {e} | {f} |" for a, b, c, d, e, f, _g in rows]
        for result in results:
            if not result.ok:
                lines += ["", f"## {result.name}", "", "```", result.describe_failure(), "```"]
        text = "\n".join(lines) + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def preload(app: Any, names: list[str]) -> None:
    """Run scenarios against a fresh app (no network) so it starts with their state; raises
    ScenarioError (one line) when one fails."""
    for result in run_scenarios(list(names), app=app):
        if not result.ok:
            raise ScenarioError(result.describe_failure().replace("\n", " ").replace("  ", " "))
