"""Run schemathesis over specs against a target, and turn its events into results.

The engine yields events; this module consumes them into plain data (`RunResult`) and passes each
one to an optional observer, which is how the CLI draws its progress bar. Failures are data.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockserver.engine.bundled import parse_spec_arg
from mockserver.engine.loader import bundle

from .exclusions import for_api, operation_configs
from .safety import Redactor
from .targets import Target

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
READ_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class RunOptions:
    specs: list[str]
    operation_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    max_examples: int = 10
    seed: int | None = 0
    workers: int = 1
    checks: list[str] | None = None  # None: every check
    exclude_checks: list[str] = field(default_factory=list)
    phases: tuple[str, ...] = ALL_PHASES
    max_failures: int | None = None
    use_exclusions: bool = True  # the justified exclusions of contracts/exclusions.yaml (bundled specs)


@dataclass
class Failure:
    check: str
    title: str
    message: str
    curl: str
    status: int | None = None


@dataclass
class OperationResult:
    api: str
    label: str  # "GET /path"
    operation_id: str | None = None
    passed: dict[str, int] = field(default_factory=dict)  # check name -> passed count
    failed: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)  # first failure of each check
    errors: list[str] = field(default_factory=list)
    cases: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors


@dataclass
class RunResult:
    target: str
    read_only: bool
    operations: dict[tuple[str, str], OperationResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    duration: float = 0.0
    seed: int | None = None
    phases: tuple[str, ...] = ALL_PHASES
    exclusions: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a phase with nothing to do after filtering

    @property
    def ok(self) -> bool:
        return not self.errors and all(op.ok for op in self.operations.values())

    @property
    def failed_operations(self) -> list[OperationResult]:
        return [op for op in self.operations.values() if not op.ok]

    def totals(self) -> tuple[int, int]:
        passed = sum(sum(op.passed.values()) for op in self.operations.values())
        failed = sum(sum(op.failed.values()) for op in self.operations.values())
        return passed, failed


Observer = Callable[[str, dict[str, Any]], None]


def load_spec(value: str) -> tuple[str, dict[str, Any], bool]:
    src = parse_spec_arg(value)
    spec, _ = bundle(src.source)
    return src.name, spec, src.bundled


def run_contracts(options: RunOptions, target: Target, observer: Observer | None = None) -> RunResult:
    """Run every spec of ``options`` against ``target``; never raises for API misbehaviour."""
    import schemathesis
    from schemathesis.core.errors import NoLinksFound
    from schemathesis.engine import events, from_schema

    warnings.filterwarnings("ignore", module="schemathesis")
    notify = observer or (lambda kind, data: None)
    redact = Redactor(target.secrets())
    result = RunResult(target=target.describe(), read_only=target.read_only, seed=options.seed,
                       phases=options.phases)
    started = time.monotonic()
    for spec_value in options.specs:
        api, spec, bundled = load_spec(spec_value)
        excluded = for_api(api) if bundled and options.use_exclusions else []
        result.exclusions += excluded
        schema = schemathesis.openapi.from_dict(spec, config=schemathesis.Config.from_dict(
            _config(options, target, spec, excluded, bundled=bundled)))
        schema = _filter(schema, options, target)
        target.attach(schema)
        total = sum(1 for r in schema.get_all_operations() if r.ok() is not None)
        notify("spec", {"api": api, "operations": total})
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                _record(result, api, event.recorder, redact, target)
                notify("scenario", {"api": api, "label": event.recorder.label, "phase": str(event.phase)})
            elif isinstance(event, events.PhaseStarted):
                notify("phase", {"api": api, "phase": event.phase.name})
            elif isinstance(event, events.NonFatalError) and isinstance(event.value, NoLinksFound):
                result.notes.append(f"{api}: stateful phase skipped: the selected operations have no links")
            elif isinstance(event, events.NonFatalError):
                message = redact(f"{event.label}: {event.info.message}")
                op = result.operations.get((api, event.label))
                if op is not None:
                    op.errors.append(message)
                else:
                    result.errors.append(f"{api} {message}")
            elif isinstance(event, events.FatalError):
                result.errors.append(redact(f"{api}: {event.exception}"))
    result.duration = time.monotonic() - started
    return result


def _config(options: RunOptions, target: Target, spec: dict[str, Any], excluded: list[Any], *,
            bundled: bool = False) -> dict[str, Any]:
    phases: dict[str, Any] = {p: {"enabled": p in options.phases} for p in ALL_PHASES}
    if bundled:
        # The bundled specs declare their links. Schemathesis' inferred ones ("dependency analysis")
        # feed values from earlier responses into look-alike parameters (an entity id into a ULID
        # `activity_id`), then count the API's rightful 400 as rejecting valid data.
        phases["stateful"]["inference"] = {"algorithms": ["location-headers"]}
    if target.read_only:
        # No undeclared-method probes (they would be writes), and no stateful chains of writes.
        phases["coverage"]["unexpected-methods"] = []
    checks: dict[str, Any] = {}
    if options.checks is not None:
        checks["enabled"] = False
        for name in options.checks:
            checks[name] = {"enabled": True}
    for name in options.exclude_checks:
        checks[name] = {"enabled": False}
    config: dict[str, Any] = {
        "generation": {"max-examples": options.max_examples},
        "workers": options.workers,
        "phases": phases,
        "checks": checks,
        "max-redirects": 0,
        "output": {"sanitization": {"enabled": True}},
        "headers": dict(target.headers),
    }
    if options.seed is not None:
        config["seed"] = options.seed
    if options.max_failures:
        config["max-failures"] = options.max_failures
    auth = target.scheme_credentials(spec)
    if auth:
        config["auth"] = {"openapi": auth}
    if target.base_url:
        config["base-url"] = target.base_url
    if excluded:
        config["operations"] = operation_configs(excluded)
    return config


def _filter(schema: Any, options: RunOptions, target: Target) -> Any:
    # Excludes, not includes: schemathesis ORs a new include with the filter that its loader built
    # from the config's per-operation entries (our exclusions), which matches every operation.
    ids, tags = set(options.operation_ids), set(options.tags)

    def unwanted(ctx: Any) -> bool:
        operation = ctx.operation
        raw = operation.definition.raw
        if ids and raw.get("operationId") not in ids:
            return True
        if tags and not tags & set(raw.get("tags") or []):
            return True
        return bool(target.read_only and operation.method.upper() not in READ_METHODS)

    return schema.exclude(func=unwanted) if ids or tags or target.read_only else schema


def _record(result: RunResult, api: str, recorder: Any, redact: Callable[[str], str], target: Target) -> None:
    label = recorder.label
    for case_id, checks in recorder.checks.items():
        node = recorder.cases.get(case_id)
        op_label = label
        operation_id = None
        if node is not None:
            operation = node.value.operation
            op_label = operation.label
            operation_id = operation.definition.raw.get("operationId") if hasattr(operation, "definition") else None
        op = result.operations.get((api, op_label))
        if op is None:
            op = result.operations[(api, op_label)] = OperationResult(api, op_label, operation_id)
        op.cases += 1
        for check in checks:
            name = check.name
            if check.status.name == "SUCCESS":
                op.passed[name] = op.passed.get(name, 0) + 1
            elif check.status.name == "FAILURE":
                op.failed[name] = op.failed.get(name, 0) + 1
                if check.failure_info is not None and not any(f.check == name for f in op.failures):
                    info = check.failure_info
                    curl = target.curl(node.value) if node is not None else info.code_sample
                    interaction = recorder.interactions.get(case_id)
                    status = interaction.response.status_code if interaction and interaction.response else None
                    op.failures.append(Failure(name, redact(info.failure.title), redact(info.failure.message or ""),
                                               redact(curl), status))
