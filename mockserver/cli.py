"""`epilot-mock`: serve the mock, inspect and check specs, run contract checks and scenarios.

The composition root: it puts the engine, the installed plugins (their options become `serve`
options) and the contract harness (its commands, and scenario preloading) together.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import sys
from typing import Any

import click

from .engine.config import DEFAULT_BODY_LIMIT, MockConfig, StartupError
from .engine.plugin import PluginError, PluginOption, discover_plugins

CONFIG_ENV = "EPILOT_MOCK_CONFIG"


def _size(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    value = value.strip().lower().rstrip("b")
    if value and value[-1] in units:
        return int(float(value[:-1]) * units[value[-1]])
    return int(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="epilot-mock")
def main() -> None:
    """epilot-mock: a stateful mock of epilot's APIs and a contract-testing harness."""


def _plugin_options() -> list[PluginOption]:
    try:
        return [opt for plugin in discover_plugins() for opt in plugin.options]
    except PluginError as exc:  # pragma: no cover - a broken third-party plugin
        click.echo(f"warning: {exc}", err=True)
        return []


def _with_plugin_options(command: Any) -> Any:
    """Offer every installed plugin's options on ``serve`` (``world_size`` -> ``--world-size``)."""
    for opt in reversed(_plugin_options()):
        flag = "--" + opt.name.replace("_", "-")
        if opt.type is bool:
            command = click.option(flag, opt.name, is_flag=True, default=bool(opt.default), help=opt.help)(command)
        else:
            command = click.option(flag, opt.name, default=opt.default, show_default=True, type=opt.type,
                                   metavar=opt.metavar, help=opt.help)(command)
    return command


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option("--spec", "specs", multiple=True, metavar="[/PREFIX=][NAME=]SPEC",
              help="A bundled API name, a path/URL of an OpenAPI 3 document, or NAME=PATH to serve a "
                   "document as API NAME with its behaviours. Repeatable. Default: every bundled spec.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the world and generated data.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--auth", type=click.Choice(["strict", "any", "off"]), default="strict", show_default=True,
              help="strict: only known tokens; any: any non-empty token; off: no auth checks.")
@click.option("--dynamic", is_flag=True, help="Generate a new body for every generic response.")
@click.option("--max-body-size", default=str(DEFAULT_BODY_LIMIT), show_default=True,
              help="Largest accepted request body (e.g. 512k, 2m); larger bodies get 413.")
@click.option("--no-cors", is_flag=True, help="Do not add CORS headers.")
@click.option("--cors-origins", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Origins allowed to call the APIs from a browser, with credentials (repeatable or "
                   "comma-separated, e.g. http://localhost:3000). Default: any origin, without credentials.")
@click.option("--admin-token", envvar="EPILOT_MOCK_ADMIN_TOKEN", metavar="TOKEN",
              help="Bearer token the admin API (/__admin) requires [env: EPILOT_MOCK_ADMIN_TOKEN]. Default: none "
                   "on loopback; generated and printed when --host is not a loopback address.")
@click.option("--body-timeout", default=5.0, show_default=True, type=float, metavar="SECONDS",
              help="Time to receive a request body; a slower or stalled upload gets 408.")
@click.option("--no-behaviours", is_flag=True, help="Stateless: answer every operation from the spec alone.")
@click.option("--validate-responses", is_flag=True,
              help="Check every response against the spec; a violation becomes a 500 naming the operation.")
@click.option("--latency", metavar="DELAY", help="Delay every answer: 800ms, 1.5s, or a range such as 50ms..300ms "
                                                  "(drawn per request; Prefer: delay= and overrides take precedence).")
@click.option("--state", metavar="FILE|URL",
              help="Where the world lives: a SQLite file (kept across restarts, shared by --workers), or "
                   "postgresql://user:password@host/db (shared by every replica on that database).")
@click.option("--journal-size", default=1000, show_default=True, type=int, help="Requests the journal keeps.")
@click.option("--journal-body-limit", default="16k", show_default=True,
              help="Bytes of each request and response body the journal keeps (e.g. 64k).")
@click.option("--journal-mask", multiple=True, metavar="NAME",
              help="Also mask this header or JSON field in the journal (Authorization, cookies and names "
                   "with token, secret, password... are always masked). Repeatable.")
@click.option("--scenario", "scenarios", multiple=True, help="Run a scenario at start-up to preload state.")
@click.option("--manual-time", is_flag=True,
              help="Deferred work (webhook retries, their backoff) waits until the clock is advanced with "
                   "PUT /__admin/clock, instead of running on the wall clock.")
@click.option("--outbound-deny", "outbound_deny", multiple=True, metavar="HOST|CIDR",
              help="Never send webhooks or proxied calls there (a host, *.suffix, address or CIDR; repeatable, "
                   "or comma-separated). Added to the built-in refusals: the mock itself, link-local and metadata.")
@click.option("--outbound-allow", "outbound_allow", multiple=True, metavar="HOST|CIDR",
              help="Only send webhooks and proxied calls there (same forms; repeatable). Default: anywhere "
                   "the built-in refusals and --outbound-deny leave.")
@click.option("--log-level", default="warning", show_default=True)
@_with_plugin_options
def serve(host: str, port: int, specs: tuple[str, ...], seed: int, workers: int, auth: str, dynamic: bool,
          max_body_size: str, no_cors: bool, no_behaviours: bool, validate_responses: bool, latency: str | None,
          state: str | None, journal_size: int, journal_body_limit: str, journal_mask: tuple[str, ...],
          scenarios: tuple[str, ...], manual_time: bool, outbound_deny: tuple[str, ...],
          outbound_allow: tuple[str, ...],
          cors_origins: tuple[str, ...], admin_token: str | None, body_timeout: float, log_level: str,
          **plugin_options: Any) -> None:
    """Serve the mock (every bundled spec unless --spec is given)."""
    import uvicorn

    try:
        limit = _size(max_body_size)
    except ValueError:
        raise click.BadParameter(f"not a size: {max_body_size}", param_hint="--max-body-size") from None
    if latency:
        from .engine.faults import parse_delay

        try:
            parse_delay(latency)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--latency") from None
    try:
        journal_limit = _size(journal_body_limit)
    except ValueError:
        raise click.BadParameter(f"not a size: {journal_body_limit}", param_hint="--journal-body-limit") from None
    config = MockConfig(specs=list(specs), seed=seed, auth=auth, dynamic=dynamic, body_limit=limit,
                        cors=not no_cors, behaviours=not no_behaviours, state=state,
                        validate_responses=validate_responses, latency=latency, journal_size=journal_size,
                        journal_body_limit=journal_limit, journal_mask=list(journal_mask), options=plugin_options,
                        listen=[f"{host}:{port}"], outbound_deny=list(outbound_deny),
                        outbound_allow=list(outbound_allow) or None, cors_origins=list(cors_origins) or None,
                        admin_token=admin_token or None, body_timeout=body_timeout, manual_time=manual_time)
    generated = config.admin_token is None and not _is_loopback(host)
    if generated:  # reachable from other machines: the admin API is never open there
        config.admin_token = secrets.token_urlsafe(24)
    if workers > 1 and not state:
        click.echo("note: with --workers > 1 each worker has its own in-memory world; "
                   "pass --state FILE to share one world", err=True)
    os.environ[CONFIG_ENV] = json.dumps({"config": config.__dict__, "scenarios": list(scenarios)})
    try:
        app = app_from_env()  # build once in this process: bad specs fail here, with one line
    except StartupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if state and scenarios:
        # Workers share the state file, which already holds what the scenarios wrote.
        os.environ[CONFIG_ENV] = json.dumps({"config": config.__dict__, "scenarios": []})
    _print_banner(app, host, port)
    if generated:
        click.echo(f"  admin token (generated; set EPILOT_MOCK_ADMIN_TOKEN to choose one): {config.admin_token}\n"
                   f"    curl -H 'Authorization: Bearer {config.admin_token}' http://{host}:{port}/__admin/tokens",
                   err=True)
    elif config.admin_token:
        click.echo("  admin API: protected by the admin token (Authorization: Bearer ...)", err=True)
    common: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "access_log": False,
                              "http": "httptools", "loop": "uvloop", "lifespan": "on"}
    if workers > 1:
        uvicorn.run("mockserver.cli:app_from_env", factory=True, workers=workers, **common)
    else:
        uvicorn.run(app, **common)


def _is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well be reachable from elsewhere


def app_from_env() -> Any:
    """The app factory that uvicorn workers call; the config comes from the environment."""
    from .engine.app import create_app

    data = json.loads(os.environ.get(CONFIG_ENV, "{}"))
    app = create_app(MockConfig(**data.get("config", {})))
    if data.get("scenarios"):
        from contracts.scenarios import ScenarioError, preload

        try:
            preload(app, data["scenarios"])
        except ScenarioError as exc:
            raise StartupError(str(exc)) from None
    return app


def _print_banner(app: Any, host: str, port: int) -> None:
    from .engine.admin import api_summary

    services = app.services
    total = sum(len(ctx.operations) for ctx in services.apis.values())
    click.echo(f"epilot-mock serving {total} operations on http://{host}:{port}", err=True)
    for ctx in services.apis.values():
        summary = api_summary(ctx, services)
        backed = f"{summary['behaviours']} world-backed" if summary["behaviours"] else "generic responses"
        click.echo(f"  {ctx.name:<20} {summary['operations']:>4} operations  ({backed})", err=True)
        generic = summary["generic"] if summary["behaviours"] else []
        if generic:
            more = f" and {len(generic) - 8} more" if len(generic) > 8 else ""
            click.echo(f"    generic: {', '.join(generic[:8])}{more}", err=True)
        if summary["unmounted"]:
            click.echo(f"    not in this document: {', '.join(summary['unmounted'])}", err=True)
    if services.latency is not None:
        click.echo(f"  latency: {services.latency.describe()} on every answer", err=True)
    click.echo(f"  admin API: http://{host}:{port}/__admin/health   tokens: /__admin/tokens", err=True)
    click.echo(f"  console: http://{host}:{port}/__admin/ui   API docs: http://{host}:{port}/__docs", err=True)


@main.group()
def specs() -> None:
    """Inspect and check OpenAPI specs."""


@specs.command("list")
def specs_list() -> None:
    """Each bundled API with its operation count."""
    from .engine.bundled import bundled_apis
    from .engine.loader import bundle, iter_operations

    rows = []
    for name, path in bundled_apis().items():
        spec, _files = bundle(str(path))
        count = sum(1 for _ in iter_operations(spec))
        rows.append((name, count, (spec.get("info") or {}).get("title", ""), path))
    width = max((len(r[0]) for r in rows), default=4)
    for name, count, title, path in rows:
        click.echo(f"{name:<{width}}  {count:>4} operations  {title}  ({path})")
    click.echo(f"{'total':<{width}}  {sum(r[1] for r in rows):>4} operations")


@specs.command("check")
@click.argument("sources", nargs=-1)
@click.option("--strict", is_flag=True, help="Treat lint warnings as errors.")
def specs_check(sources: tuple[str, ...], strict: bool) -> None:
    """Validate specs (default: every bundled spec): structure, $refs, examples, richness, lint."""
    from .engine.bundled import bundled_apis, parse_spec_arg
    from .engine.speccheck import check_source

    targets = [(s, parse_spec_arg(s).source) for s in sources] or [(n, str(p)) for n, p in bundled_apis().items()]
    failed = False
    for label, source in targets:
        findings = check_source(source, name=label)
        errors = [f for f in findings if f.level == "error" or strict]
        for f in findings:
            click.echo(str(f))
        state = "FAIL" if errors else "ok"
        click.echo(f"{state}: {label}: {len(errors)} errors, {len(findings) - len(errors)} warnings")
        failed = failed or bool(errors)
    sys.exit(1 if failed else 0)


def _register_plugins() -> None:
    """Subcommands from the contracts package (contract, scenario), when it is installed."""
    try:
        from contracts.cli import contract, scenario, webhook
    except ImportError:
        return
    for group in (contract, scenario, webhook):
        main.add_command(group)


_register_plugins()


if __name__ == "__main__":  # pragma: no cover
    main()
