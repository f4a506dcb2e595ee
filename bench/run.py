"""Load-test the mock against a bare Starlette app in one run, so the ratios hold on a noisy machine.

Servers run as real subprocesses on free loopback ports; wrk drives them. Usage (``make bench ARGS=...``):

    .venv/bin/python bench/run.py [--duration 10] [--connections 20] [--only get,post] [--out report.md]

The Markdown report goes to stdout (progress to stderr). Exit status: 0 ok, 1 a scenario was invalid
(non-2xx responses, socket errors or a failed check request), 2 wrk is missing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
GROUPS = ("baseline", "get", "post", "world-get", "world-post", "world-compute", "world-mapping", "large", "postgres",
          "startup")
POSTGRES_ENV = ("EPILOT_MOCK_BENCH_POSTGRES", "EPILOT_MOCK_TEST_POSTGRES")  # a server URL; else a throwaway cluster
LARGE_WORLD = "large"  # 3,500 customers: ~115,000 entities (mockserver/world/sizes.py)
LARGE_CONNECTIONS = 8
WARMUP_S = 2
WRK_TIMEOUT_S = 10  # wrk leaves timed-out requests out of its latencies: keep slow answers in the p99
READY_TIMEOUT_S = 600.0  # the first start of a large world builds and caches it

ORG = "Bearer demo-org-token"
PORTAL = "Bearer demo-portal-token"
_TAX = {"_id": "18bbbc2e-2c37-4f91-924a-07ae60d830e4", "type": "VAT", "rate": "19", "active": True}


def _line_item(name: str, price_id: str, amount: str, quantity: int, **recurrence: str) -> dict[str, object]:
    """A line item with embedded price and product snapshots: priced without any catalog lookup."""
    price = {"_id": price_id, "unit_amount_decimal": amount, "unit_amount_currency": "EUR", "is_tax_inclusive": True,
             "pricing_model": "per_unit", "tax": [_TAX], **recurrence}
    product_id = f"prod-{price_id}"
    return {"product_id": product_id, "price_id": price_id, "description": name, "quantity": quantity,
            "_price": price, "_product": {"_id": product_id, "name": name, "type": "product"}}


COMPUTE_BODY = {"line_items": [
    _line_item("Solar panel", "7e24ff5d-d580-4136-a32f-19191eed039a", "350.00", 2, type="one_time"),
    _line_item("Ökostrom Flex", "c1d2e3f4-0000-4000-8000-000000000001", "29.90", 1, type="recurring",
               billing_period="monthly"),
], "redeemed_promos": []}
SEARCH_BODY = {"q": "_schema:contact AND last_name:Müller", "size": 10}
CATALOG_BODY = {"q": "_schema:product AND active:true", "sort": "name ASC", "size": 50}
# A simple inbound mapping (a JSONPath field, a JSONata expression, a constant) on a small ERP payload.
MAPPING_BODY = {"format": "json", "event_configuration": {"entities": [{
    "entity_schema": "contract", "unique_ids": ["contract_number"], "fields": [
        {"attribute": "contract_number", "field": "$.contract.number"},
        {"attribute": "status", "jsonataExpression": "contract.status = 'ACTIVE' ? 'active' : 'terminated'"},
        {"attribute": "branch", "constant": "power"}]}]},
    "payload": {"contract": {"number": "SAP-4711", "status": "ACTIVE"}}}


@dataclass(frozen=True)
class Req:
    """One HTTP request that wrk repeats."""

    label: str
    method: str
    path: str
    auth: str | None = None
    body: dict[str, object] | None = None
    note: str = ""  # shown after the target in the mock's rows of the report

    def target(self, noted: bool = True) -> str:
        return f"{self.method} {self.path}" + (f" ({self.note})" if noted and self.note else "")

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": self.auth} if self.auth else {}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def payload(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body, ensure_ascii=False).encode()


# The engine issue's pair: a GET list operation and a POST with a JSON body, stateless and with the world.
GET_LIST = Req("GET list", "GET", "/v2/portal/contract", PORTAL)
SEARCH = Req("POST entity:search", "POST", "/v1/entity:search", ORG, SEARCH_BODY)
CATALOG = Req("POST catalog search", "POST", "/v1/catalog", ORG, CATALOG_BODY, note="the world's catalogue")
# Not comparable across servers: stateless it answers an example, with the world it prices the line items.
COMPUTE = Req("POST pricing:compute", "POST", "/v1/pricing:compute", ORG, COMPUTE_BODY,
              note="real pricing work")
HEALTH = Req("health", "GET", "/__admin/health")
MAPPING = Req("POST mapping_simulation", "POST", "/v2/erp/updates/mapping_simulation", ORG, MAPPING_BODY,
              note="a simple mapping")
# The same at one connection: the latency of one mapping, without queueing behind 19 others.
MAPPING_ONE = Req("POST mapping_simulation, one client", "POST", "/v2/erp/updates/mapping_simulation", ORG,
                  MAPPING_BODY, note="a simple mapping, one connection")

MOCK = [str(BIN / "epilot-mock"), "serve", "--port", "{port}", "--seed", "0"]
SERVERS: dict[str, tuple[str, list[str]]] = {
    "baseline": ("Bare Starlette (bench/baseline_app.py)",
                 [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "baseline_app:app", "--host", "127.0.0.1",
                  "--port", "{port}", "--http", "httptools", "--loop", "uvloop", "--workers", "1",
                  "--no-access-log", "--log-level", "warning"]),
    # Without a world there are no portal users, so strict auth knows no portal token: accept any token.
    "stateless": ("Mock, stateless (--no-behaviours)", [*MOCK, "--no-behaviours", "--auth", "any"]),
    "world": ("Mock, seeded world (default size)", MOCK),
    # The same mock with JSONata evaluated in the server process, as before the sandbox (the cost of the sandbox).
    "inprocess": ("Mock, seeded world, JSONata in-process (no sandbox; bench/inprocess_jsonata.py)",
                  [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--factory", "inprocess_jsonata:app",
                   "--host", "127.0.0.1", "--port", "{port}", "--http", "httptools", "--loop", "uvloop",
                   "--workers", "1", "--no-access-log", "--log-level", "warning"]),
    "large": (f"Mock, large world (--world-size {LARGE_WORLD})", [*MOCK, "--world-size", LARGE_WORLD]),
    # The shared deployment's store: the default world in PostgreSQL ({state}: a fresh schema per run).
    "postgres": ("Mock, seeded world in PostgreSQL (--state postgresql://...)", [*MOCK, "--state", "{state}"]),
}
# (group, server, request, connections or None for --connections)
SCENARIOS: list[tuple[str, str, Req, int | None]] = [
    ("baseline", "baseline", GET_LIST, None),
    ("baseline", "baseline", SEARCH, None),
    ("baseline", "baseline", COMPUTE, None),
    ("baseline", "baseline", MAPPING, None),
    ("get", "stateless", GET_LIST, None),
    ("post", "stateless", SEARCH, None),
    ("world-get", "world", GET_LIST, None),
    ("world-post", "world", SEARCH, None),
    ("world-post", "world", CATALOG, None),
    ("world-compute", "world", COMPUTE, None),
    ("world-mapping", "world", MAPPING, None),
    ("world-mapping", "world", MAPPING_ONE, 1),
    ("world-mapping", "inprocess", MAPPING, None),
    ("world-mapping", "inprocess", MAPPING_ONE, 1),
    ("large", "large", GET_LIST, LARGE_CONNECTIONS),
    ("large", "large", SEARCH, LARGE_CONNECTIONS),
    ("postgres", "postgres", GET_LIST, None),
    ("postgres", "postgres", SEARCH, None),
]


@dataclass
class Result:
    server: str
    req: Req
    connections: int
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    non_2xx: int = 0
    socket_errors: str = ""  # wrk's "connect 0, read 0, write 0, timeout 3" when any is non-zero
    rss_mb: float = 0.0
    body_bytes: int = 0  # size of the check request's response body
    error: str = ""

    @property
    def valid(self) -> bool:
        return not self.error and not self.non_2xx and not self.socket_errors


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, req: Req, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send ``req`` once; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(req.method, req.path, body=req.payload(), headers=req.headers())
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def spawn(argv: list[str], logfile: Path, state: str = "") -> tuple[subprocess.Popen, int]:
    """Start ``argv`` (its ``{port}`` set to a free port) in its own session: Ctrl-C reaches only this script."""
    port = free_port()
    with logfile.open("ab") as out:
        proc = subprocess.Popen([a.format(port=port, state=state) for a in argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=BENCH.parent)
    return proc, port


@contextmanager
def postgres_state() -> Iterator[str | None]:
    """A PostgreSQL URL whose tables live in a fresh schema (dropped after): from the environment, or a
    throwaway cluster (tools/pg-test-cluster; needs Debian's postgresql). None when neither is there."""
    base = next((os.environ[name] for name in POSTGRES_ENV if os.environ.get(name)), None)
    cluster = None
    if base is None:
        tool = BENCH.parent / "tools" / "pg-test-cluster"
        cluster = Path(tempfile.mkdtemp(prefix="epilot-bench-pg-"))  # the postgres user must reach it
        started = subprocess.run([str(tool), "start", str(cluster)], capture_output=True, text=True)
        if started.returncode != 0:
            log(f"  no PostgreSQL: {started.stderr.strip() or started.stdout.strip()}")
            shutil.rmtree(cluster, ignore_errors=True)
            yield None
            return
        base = started.stdout.strip().split("=", 1)[1]
    import psycopg

    schema = f"bench_{os.getpid()}"
    try:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if cluster is not None:
            subprocess.run([str(BENCH.parent / "tools" / "pg-test-cluster"), "stop", str(cluster)], capture_output=True)
            shutil.rmtree(cluster, ignore_errors=True)


@contextmanager
def serve(argv: list[str], logfile: Path, timeout: float = READY_TIMEOUT_S,
          state: str = "") -> Iterator[tuple[subprocess.Popen, int]]:
    """Start a server on a free port, wait until /__admin/health answers 200, stop it on exit."""
    proc, port = spawn(argv, logfile, state)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{logfile.read_text()[-2000:]}")
            try:
                if request(port, HEALTH, timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{logfile.read_text()[-2000:]}")
            time.sleep(0.05)
        yield proc, port
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and all its descendants, in MB."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


def lua_script(req: Req, directory: Path) -> Path:
    """A wrk script that sets the method, headers and body of ``req``."""
    lines = [f'wrk.method = "{req.method}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in req.headers().items()]
    if (payload := req.payload()) is not None:
        lines.append(f"wrk.body = [==[{payload.decode()}]==]")
    path = directory / f"{re.sub(r'[^a-z]+', '-', req.label.lower())}.lua"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    """wrk's formatted time (``812.00us``, ``1.23ms``, ``2.00s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str, result: Result) -> None:
    """Fill req/s, p50, p99, request and error counts from ``wrk --latency`` output."""
    def find(pattern: str) -> str | None:
        match = re.search(pattern, output, re.M)
        return match.group(1) if match else None

    rps, p50, p99 = find(r"^Requests/sec:\s+([\d.]+)"), find(r"^\s+50%\s+(\S+)"), find(r"^\s+99%\s+(\S+)")
    if rps is None or p50 is None or p99 is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    result.rps, result.p50_ms, result.p99_ms = float(rps), to_ms(p50), to_ms(p99)
    result.requests = int(find(r"^\s+(\d+) requests in") or 0)
    result.non_2xx = int(find(r"Non-2xx or 3xx responses:\s+(\d+)") or 0)
    result.socket_errors = find(r"Socket errors: (.+)$") or ""


def wrk(url: str, script: Path, connections: int, threads: int, seconds: int) -> str:
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(script), url]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout


def load(proc: subprocess.Popen, port: int, server: str, req: Req, connections: int, args: argparse.Namespace,
         scripts: Path) -> Result:
    """Check ``req`` answers 2xx, warm up, then measure it under wrk."""
    result = Result(server, req, connections)
    status, body = request(port, req)
    if not 200 <= status < 300:
        result.error = f"check request answered {status}: {body[:300].decode(errors='replace')}"
        return result
    result.body_bytes = len(body)
    script, url = lua_script(req, scripts), f"http://127.0.0.1:{port}{req.path}"
    wrk(url, script, connections, args.threads, WARMUP_S)
    parse_wrk(wrk(url, script, connections, args.threads, args.duration), result)
    result.rss_mb = rss_mb(proc.pid)
    return result


def startup_times(logfile: Path, runs: int = 3) -> list[float]:
    """Seconds from spawning the default mock to its first 200 on GET /v2/portal/contract; one untimed start first."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        proc, port = spawn(MOCK, logfile)
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"mock exited with {proc.returncode}:\n{logfile.read_text()[-2000:]}")
                try:
                    status, body = request(port, GET_LIST, timeout=30)
                except OSError:
                    status, body = 0, b""
                if status == 200:
                    times.append(time.perf_counter() - started)
                    break
                if status:
                    raise RuntimeError(f"{GET_LIST.path} answered {status}: {body[:300]!r}")
                if time.perf_counter() - started > READY_TIMEOUT_S:
                    raise RuntimeError(f"no answer after {READY_TIMEOUT_S:.0f} s")
                time.sleep(0.005)
        finally:
            stop(proc)
    return times[1:]


def shown(argv: list[str]) -> str:
    return shlex.join(a.replace("{port}", "PORT").replace("{state}", "postgresql://HOST/DB") for a in argv)


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "—"


def machine(load_at_start: float) -> list[str]:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return [f"- Machine: {os.cpu_count()} CPUs ({model.group(1) if model else 'unknown CPU'}), "
            f"load average at start {load_at_start:.2f}",
            f"- Python {platform.python_version()} ({sys.executable})",
            f"- {version[0] if version else 'wrk (unknown version)'}"]


def report(results: list[Result], startup: list[float] | None, entities: int | None, args: argparse.Namespace,
           argv: list[str], load_at_start: float) -> str:
    out = ["# epilot-mock benchmark", "", f"Command: `{shlex.join([sys.executable, *argv])}`", "",
           *machine(load_at_start),
           f"- wrk: {args.threads} thread(s), {args.connections} connections ({LARGE_CONNECTIONS} on the large world), "
           f"{args.duration} s per run after a {WARMUP_S} s warm-up, `--latency --timeout {WRK_TIMEOUT_S}s`",
           "- One worker per server; ratios are against bare Starlette measured in this same run "
           "(same method and path, same connection count; Starlette answers the GET with a fixed body and echoes "
           "POST bodies), so they hold better than absolute numbers on a shared machine.",
           f"- Load average at end: {os.getloadavg()[0]:.2f}",
           "- Body B: bytes of the response body to one check request before the run (what each answer carries).",
           ""]
    base = {(r.req.method, r.req.path): r for r in results if r.server == "baseline" and r.valid}
    for server, (title, argv_) in SERVERS.items():
        rows = [r for r in results if r.server == server]
        if not rows:
            continue
        out += [f"## {title}", "", f"`{shown(argv_)}` (PORT: a free loopback port)"]
        if server == "large" and entities is not None:
            flag = "" if entities >= 100_000 else " — **below the 100,000 target**"
            out.append(f"\nWorld: {entities:,} entities (GET /__admin/health){flag}")
        out += ["", "| Target | Conns | req/s | p50 ms | p99 ms | non-2xx of all | Body B | RSS MB "
                "| req/s vs Starlette | p99 vs Starlette | RSS vs Starlette |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            target = r.req.target(noted=server != "baseline")
            if r.error:
                out.append(f"| {target} | {r.connections} | **INVALID: {r.error}** | | | | | | | | |")
                continue
            b = base.get((r.req.method, r.req.path)) if server != "baseline" else None
            b = b if b and b.connections == r.connections else None
            bad = " **INVALID**" if not r.valid else ""
            errors = f"{r.non_2xx:,} of {r.requests:,}"
            errors += f" (socket errors: {r.socket_errors})" if r.socket_errors else ""
            out.append(f"| {target} | {r.connections} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {errors}{bad} "
                       f"| {r.body_bytes:,} | {r.rss_mb:.0f} | {ratio(r.rps, b and b.rps)} "
                       f"| {ratio(r.p99_ms, b and b.p99_ms)} "
                       f"| {ratio(r.rss_mb, b and b.rss_mb)} |")
        out.append("")
    if startup:
        out += ["## Startup", "", f"Spawn of `{shown(MOCK)}` (all bundled specs, default world) until the first "
                f"200 on GET {GET_LIST.path}; spec and world caches warm (one untimed start first).", "",
                f"- Median of {len(startup)}: **{statistics.median(startup):.3f} s** (runs: "
                f"{', '.join(f'{t:.3f}' for t in startup)}); target < 1 s", ""]
    out += checks(results, startup)
    return "\n".join(out) + "\n"


def checks(results: list[Result], startup: list[float] | None) -> list[str]:
    """The issue's targets, each marked met or missed."""
    by = {(r.server, r.req.label): r for r in results if r.valid}
    base = {(r.req.method, r.req.path): r for r in results if r.server == "baseline" and r.valid}
    lines = []

    def check(ok: bool, text: str) -> None:
        lines.append(f"- {'met' if ok else '**MISSED**'}: {text}")

    for server in ("stateless", "world"):
        for req, floor in ((GET_LIST, 5000), (SEARCH, 4000)):
            if r := by.get((server, req.label)):
                check(r.rps >= floor, f"{server} {req.label} ≥ {floor:,} req/s ({r.rps:,.0f})")
                check(r.p99_ms <= 10, f"{server} {req.label} p99 ≤ 10 ms ({r.p99_ms:.2f} ms)")
                if b := base.get((req.method, req.path)):
                    check(r.rps >= b.rps / 5, f"{server} {req.label} ≥ 1/5 of Starlette ({r.rps / b.rps:.2f}x)")
            if server == "world" and (r := by.get(("world", req.label))) and (s := by.get(("stateless", req.label))):
                check(r.rps >= 0.8 * s.rps, f"world {req.label} within 20% of stateless ({r.rps / s.rps:.2f}x)")
    if r := by.get(("world", COMPUTE.label)):
        versus = f", {r.rps / b.rps:.2f}x Starlette's echo" if (b := base.get((COMPUTE.method, COMPUTE.path))) else ""
        lines.append(f"- not a target: world {COMPUTE.label} ({COMPUTE.note}) {r.rps:,.0f} req/s, "
                     f"p99 {r.p99_ms:.2f} ms{versus}")
    if r := by.get(("world", MAPPING_ONE.label)):
        check(r.p99_ms < 10, f"world {MAPPING_ONE.label} (sandboxed) p99 < 10 ms ({r.p99_ms:.2f} ms)")
    for req in (MAPPING, MAPPING_ONE):
        if (r := by.get(("world", req.label))) and (s := by.get(("inprocess", req.label))):
            lines.append(f"- not a target: the sandbox's cost on {req.label} at {r.connections} connection(s): "
                         f"{r.rps / s.rps:.2f}x the req/s and {r.p99_ms / s.p99_ms:.2f}x the p99 of in-process "
                         "evaluation")
    for req in (GET_LIST, SEARCH):
        if r := by.get(("large", req.label)):
            check(r.p99_ms < 20, f"large world {req.label} p99 < 20 ms ({r.p99_ms:.2f} ms at {r.connections} conns)")
    if startup:
        check(statistics.median(startup) < 1, f"startup < 1 s ({statistics.median(startup):.3f} s)")
    for r in results:
        if not r.valid:
            why = r.error or f"{r.non_2xx} non-2xx responses; socket errors: {r.socket_errors or 'none'}"
            check(False, f"**{r.server} {r.req.label} is INVALID**: {why}")
    return ["## Targets", "", *lines, ""] if lines else []


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="Seconds of load per scenario (default 10).")
    parser.add_argument("--connections", type=int, default=20, help="wrk connections (default 20).")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leaves a core to the server).")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"Comma-separated subset of: {', '.join(GROUPS)}.")
    parser.add_argument("--out", type=Path, help="Also write the Markdown report to this file.")
    args = parser.parse_args(argv)
    args.groups = {g.strip() for g in args.only.split(",") if g.strip()}
    if unknown := args.groups - set(GROUPS):
        parser.error(f"unknown --only names: {', '.join(sorted(unknown))} (choose from {', '.join(GROUPS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed; install it with `apt-get install wrk` (Debian/Ubuntu)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the `serve` blocks stop their servers
    load_at_start = os.getloadavg()[0]
    results: list[Result] = []
    entities: int | None = None
    startup: list[float] | None = None
    with tempfile.TemporaryDirectory(prefix="epilot-bench-") as tmp:
        scripts, logfile = Path(tmp), Path(tmp) / "servers.log"
        for server, (title, cmd) in SERVERS.items():
            todo = [(req, conns) for group, srv, req, conns in SCENARIOS if srv == server and group in args.groups]
            if not todo:
                continue
            log(f"starting {title} ..." + (" (its first start builds the world cache: a minute or more)"
                                            if server == "large" else ""))
            with ExitStack() as stack:
                state = stack.enter_context(postgres_state()) if server == "postgres" else ""
                if state is None:
                    log("  skipped: no PostgreSQL (set EPILOT_MOCK_BENCH_POSTGRES, or apt-get install postgresql)")
                    continue
                proc, port = stack.enter_context(serve(cmd, logfile, state=state))
                if server == "large":
                    entities = json.loads(request(port, HEALTH)[1])["world"]["entities"]
                for req, conns in todo:
                    log(f"  {req.label}: {args.duration} s at {conns or args.connections} connections")
                    results.append(load(proc, port, server, req, conns or args.connections, args, scripts))
        if "startup" in args.groups:
            log("measuring startup (1 untimed + 3 timed starts) ...")
            startup = startup_times(logfile)
    text = report(results, startup, entities, args, [sys.argv[0], *argv], load_at_start)
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text)
    return 0 if all(r.valid for r in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted: servers stopped")
        sys.exit(130)
