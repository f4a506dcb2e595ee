"""The `contract` and `scenario` commands of `epilot-mock` (click and rich live only here)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected 'Name: value', got '{value}'", param_hint="-H")
        out[name.strip()] = content.strip()
    return out


def _pairs(values: tuple[str, ...], hint: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got '{value}'", param_hint=hint)
        out[key] = content
    return out


def _token(token: str | None, token_env: str | None) -> str | None:
    if token_env:
        value = os.environ.get(token_env)
        if not value:
            raise click.BadParameter(f"environment variable {token_env} is empty or not set", param_hint="--token-env")
        return value
    return token


@click.group()
def contract() -> None:
    """Contract checks: run the specs against the mock or a real server, and diff spec versions."""


@contract.command("run")
@click.option("--spec", "specs", multiple=True, help="Bundled API name or spec path/URL (repeatable; default: all).")
@click.option("--base-url", help="A server to check; without it, the bundled mock runs in-process (no network).")
@click.option("--token", help="Bearer token (or API key) for the target's security schemes.")
@click.option("--token-env", help="Read the token from this environment variable instead.")
@click.option("--scheme-token", "scheme_tokens", multiple=True, metavar="SCHEME=TOKEN",
              help="A credential for one security scheme (repeatable), e.g. PortalAuth=...")
@click.option("-H", "--header", "headers", multiple=True, help="Extra header 'Name: value' (repeatable).")
@click.option("--operation-id", "operation_ids", multiple=True, help="Only these operations (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only operations with these tags (repeatable).")
@click.option("--max-examples", default=10, show_default=True, type=int, help="Examples per operation and phase.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the generated data (and of the mock).")
@click.option("--workers", default=1, show_default=True, type=int, help="Concurrent schemathesis workers.")
@click.option("--checks", help="Comma-separated checks to run (default: all).")
@click.option("--exclude-checks", default="", help="Comma-separated checks to skip.")
@click.option("--phases", default="examples,coverage,fuzzing,stateful", show_default=True)
@click.option("--allow-writes", is_flag=True, help="Send POST/PUT/PATCH/DELETE to a real --base-url too.")
@click.option("--read-only", is_flag=True, help="Only GET/HEAD/OPTIONS, even against a mock.")
@click.option("--no-exclusions", is_flag=True, help="Do not apply the justified exclusions of the bundled specs.")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--report", type=click.Path(dir_okay=False), help="Write a report here (.md or .html).")
@click.option("--max-failures", type=int, help="Stop after this many failures.")
def run(specs: tuple[str, ...], base_url: str | None, token: str | None, token_env: str | None,
        scheme_tokens: tuple[str, ...], headers: tuple[str, ...], operation_ids: tuple[str, ...],
        tags: tuple[str, ...], max_examples: int, seed: int, workers: int, checks: str | None, exclude_checks: str,
        phases: str, allow_writes: bool, read_only: bool, no_exclusions: bool, junit_xml: str | None,
        report: str | None, max_failures: int | None) -> None:
    """Run contract checks (schemathesis: examples, coverage, fuzzing, stateful links) and report."""
    from mockserver.engine.bundled import bundled_apis

    from .report import junit_xml as to_junit
    from .report import write_report
    from .runner import ALL_PHASES, RunOptions, run_contracts
    from .targets import in_process, remote

    chosen_phases = tuple(p.strip() for p in phases.split(",") if p.strip())
    unknown = set(chosen_phases) - set(ALL_PHASES)
    if unknown:
        raise click.BadParameter(f"unknown phase(s) {', '.join(sorted(unknown))}", param_hint="--phases")
    options = RunOptions(
        specs=list(specs) or list(bundled_apis()), operation_ids=list(operation_ids), tags=list(tags),
        max_examples=max_examples, seed=seed, workers=workers,
        checks=[c.strip() for c in checks.split(",") if c.strip()] if checks else None,
        exclude_checks=[c.strip() for c in exclude_checks.split(",") if c.strip()], phases=chosen_phases,
        max_failures=max_failures, use_exclusions=not no_exclusions)
    secret = _token(token, token_env)
    try:
        if base_url:
            target = remote(base_url, token=secret, headers=_headers(headers), allow_writes=allow_writes,
                            read_only=read_only, scheme_tokens=_pairs(scheme_tokens, "--scheme-token"))
        else:
            from mockserver.engine import MockConfig, StartupError, create_app

            try:
                app = create_app(MockConfig(specs=list(specs), seed=seed))
            except StartupError as exc:
                raise click.ClickException(str(exc)) from None
            target = in_process(app)
            target.read_only = read_only
            target.headers.update(_headers(headers))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--base-url") from None
    result = _run_with_progress(options, target, run_contracts)
    _print_summary(result)
    if junit_xml:
        with open(junit_xml, "w", encoding="utf-8") as fh:
            fh.write(to_junit(result))
    if report:
        write_report(result, report)
        click.echo(f"report: {report}", err=True)
    sys.exit(0 if result.ok else 1)


def _run_with_progress(options: Any, target: Any, run_contracts: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    per_op = len([p for p in options.phases if p != "stateful"])
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(f"contract run against {target.describe()}", total=None)
        totals = {"ops": 0}

        def observe(kind: str, data: dict[str, Any]) -> None:
            if kind == "spec":
                totals["ops"] += data["operations"] * per_op + (1 if "stateful" in options.phases else 0)
                progress.update(task, total=totals["ops"])
            elif kind == "scenario":
                progress.update(task, advance=1, description=f"{data['api']}: {data['phase']} {data['label']}"[:70])
            elif kind == "phase":
                progress.update(task, description=f"{data['api']}: {data['phase']}")

        result = run_contracts(options, target, observe)
        progress.update(task, completed=totals["ops"], description="done")
    return result


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from .report import _rows, _verdict

    console = Console()
    table = Table(title=f"Contract run: {result.target}", show_lines=False)
    for column, justify in (("", "left"), ("API", "left"), ("Operation", "left"), ("passed", "right"),
                            ("failed", "right"), ("failing checks", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for state, api, label, passed, failed, failing in _rows(result):
        style = "red" if state != "ok" else None
        table.add_row(state, api, label, str(passed), str(failed), failing, style=style)
    console.print(table)
    for op in result.failed_operations:
        for f in op.failures:
            console.print(f"[bold red]{op.label}[/] ({op.api}) [red]{f.check}[/]: {f.title}")
            console.print(f"  reproduce: {f.curl}", soft_wrap=True, markup=False, highlight=False)
    for op in result.operations.values():
        for error in op.errors:
            console.print(f"[bold red]{op.label}[/] ({op.api}) error: {error}", markup=True)
    for error in result.errors:
        console.print(f"[bold red]run error:[/] {error}")
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(("[green]" if result.ok else "[red]") + _verdict(result))


@contract.command("diff")
@click.argument("old")
@click.argument("new")
def diff(old: str, new: str) -> None:
    """Breaking changes from spec OLD to spec NEW (exit code 1 when there are any, 2 on unreadable specs)."""
    from mockserver.engine.bundled import parse_spec_arg
    from mockserver.engine.loader import SpecError

    from .diff import diff_sources

    try:
        changes = diff_sources(parse_spec_arg(old).source, parse_spec_arg(new).source)
    except SpecError as exc:  # exit codes as diff(1): 0 compatible, 1 breaking, 2 trouble
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for change in changes:
        click.echo(str(change))
    click.echo(f"{len(changes)} breaking change(s)" if changes else "no breaking changes")
    sys.exit(1 if changes else 0)


@click.group()
def scenario() -> None:
    """Multi-step scenarios (YAML) against the mock or a real server."""


@scenario.command("list")
def scenario_list() -> None:
    """The bundled scenarios."""
    from .scenarios import bundled_scenarios, load_scenario

    for name, path in bundled_scenarios().items():
        doc = load_scenario(str(path))
        click.echo(f"{name:<28} {doc['description'].splitlines()[0] if doc.get('description') else ''}")


@scenario.command("run")
@click.argument("names", nargs=-1)
@click.option("--base-url", help="A server to run against; default: the bundled mock in-process.")
@click.option("--token", help="Bearer token for the real target.")
@click.option("--token-env", help="Read the token from this environment variable.")
@click.option("--scheme-token", "scheme_tokens", multiple=True, metavar="SCHEME=TOKEN")
@click.option("--allow-writes", is_flag=True, help="Allow scenarios that write to run against a real --base-url.")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a scenario variable (repeatable).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the in-process mock.")
@click.option("--junit-xml", type=click.Path(dir_okay=False))
@click.option("--report", type=click.Path(dir_okay=False), help="Write a report here (.md or .html).")
def scenario_run(names: tuple[str, ...], base_url: str | None, token: str | None, token_env: str | None,
                 scheme_tokens: tuple[str, ...], allow_writes: bool, variables: tuple[str, ...], seed: int,
                 junit_xml: str | None, report: str | None) -> None:
    """Run scenarios (bundled names or YAML paths; default: every bundled scenario)."""
    from .scenarios import ScenarioError, bundled_scenarios, run_scenarios, scenario_junit, write_scenario_report

    selected = list(names) or list(bundled_scenarios())

    def progress(line: str) -> None:
        click.echo(line, err=True)

    try:
        results = run_scenarios(selected, base_url=base_url, token=_token(token, token_env),
                                scheme_tokens=_pairs(scheme_tokens, "--scheme-token"), allow_writes=allow_writes,
                                variables=_pairs(variables, "--var"), seed=seed, progress=progress)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        if not result.ok:
            click.echo(result.describe_failure(), err=True)
    passed = sum(1 for r in results if r.ok)
    click.echo(f"{passed}/{len(results)} scenarios passed")
    if junit_xml:
        with open(junit_xml, "w", encoding="utf-8") as fh:
            fh.write(scenario_junit(results))
    if report:
        write_scenario_report(results, report)
    sys.exit(0 if passed == len(results) else 1)


@click.group()
def webhook() -> None:
    """A local webhook receiver, for outbound ERP events."""


@webhook.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9999, show_default=True, type=int)
@click.option("--status", default=200, show_default=True, type=int, help="Status to answer every delivery with.")
@click.option("--secret", help="Check each delivery's x-epilot-signature (HMAC-SHA256 of the body) with this secret.")
def webhook_listen(host: str, port: int, status: int, secret: str | None) -> None:
    """Print each delivery (one JSON line: path, ACK id, signature check, body) and answer it."""
    import hashlib
    import hmac
    import json

    import uvicorn

    from .webhooks import WebhookReceiver

    def show(delivery: dict[str, Any]) -> None:
        headers = delivery["headers"]
        line: dict[str, Any] = {"path": delivery["path"], "ack_id": headers.get("x-epilot-ack-id"),
                                "event": headers.get("x-epilot-event-name")}
        signature = headers.get("x-epilot-signature", "")
        if secret is not None:
            expected = "sha256=" + hmac.new(secret.encode(), delivery["raw"].encode(), hashlib.sha256).hexdigest()
            line["signature"] = "valid" if hmac.compare_digest(signature, expected) else "INVALID"
        else:
            line["signature"] = signature or None
        line["body"] = delivery["body"]
        click.echo(json.dumps(line, ensure_ascii=False))

    receiver = WebhookReceiver(on_delivery=show)
    receiver.respond_status = status
    click.echo(f"listening on http://{host}:{port}/ (answering {status})", err=True)
    uvicorn.run(receiver, host=host, port=port, log_level="warning", access_log=False)
