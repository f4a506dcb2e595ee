"""The contract suite over every bundled spec: in-process, and against the mock as a real server.

These are the proof that every response the mock sends validates against its spec. They are the
slowest tests (minutes); EPILOT_MOCK_CONTRACT_EXAMPLES sets the examples per operation and phase.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts.runner import RunOptions, run_contracts
from contracts.serving import serve_in_thread
from contracts.targets import remote
from mockserver.cli import main
from mockserver.engine.app import MockConfig, create_app
from mockserver.engine.bundled import bundled_apis

from .test_specs import inventory

EXAMPLES = os.environ.get("EPILOT_MOCK_CONTRACT_EXAMPLES", "5")
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def describe(result) -> str:
    lines = [f"{len(result.failed_operations)} failing operations; errors: {result.errors[:3]}"]
    for op in result.failed_operations[:10]:
        for f in op.failures[:2]:
            lines.append(f"{op.api} {op.label} {f.check}: {f.title}: {f.message[:300]}\n  {f.curl[:400]}")
        lines += [f"{op.api} {op.label} error: {e[:300]}" for e in op.errors[:2]]
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_bundled_spec_passes_in_process(tmp_path: Path):
    report = tmp_path / "contract-report.md"
    out = CliRunner().invoke(main, ["contract", "run", "--max-examples", EXAMPLES, "--seed", "0",
                                    "--report", str(report), "--junit-xml", str(tmp_path / "contract.xml")])
    text = report.read_text() if report.exists() else ""
    summary = os.environ.get("EPILOT_MOCK_CONTRACT_SUMMARY")
    if summary:  # CI keeps the report of the full run
        Path(summary).write_text(text)
    failing = [line for line in text.splitlines() if line.startswith("| FAIL |")]
    details = text[text.find("## Failures"):][:6000] if "## Failures" in text else out.output[-4000:]
    assert out.exit_code == 0, "\n".join(failing) + "\n" + details
    assert "**PASSED:" in text
    for api in bundled_apis():
        assert f"| ok | {api} |" in text
    assert "| FAIL |" not in text


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.timeout(1800)
def test_every_bundled_spec_passes_against_the_mock_as_a_real_server():
    app = create_app(MockConfig(seed=0))
    with serve_in_thread(app) as url:
        target = remote(url, token="demo-org-token")
        assert not target.read_only  # a local epilot-mock is recognised: writes are safe
        result = run_contracts(RunOptions(specs=list(bundled_apis()), max_examples=2, seed=1,
                                          phases=("examples", "coverage", "stateful")), target)
    assert result.ok, describe(result)
    assert len(result.operations) == sum(len(ops) for ops in inventory().values())  # every bundled operation
    assert any(m != "GET" for m, *_ in (op.label.split() for op in result.operations.values()))


@pytest.mark.slow
@pytest.mark.network
def test_read_only_run_against_a_real_server_sends_only_reads():
    app = create_app(MockConfig(seed=0, journal_size=1_000_000))  # keep every request
    with serve_in_thread(app) as url:
        target = remote(url, token="demo-org-token", read_only=True)
        result = run_contracts(RunOptions(specs=list(bundled_apis()), max_examples=1, seed=2,
                                          phases=("examples", "coverage")), target)
    methods = {entry.method for entry in app.services.journal.entries}
    assert methods and methods <= READ_METHODS, methods
    assert result.read_only and result.ok, describe(result)
    assert all(op.label.split()[0] in READ_METHODS for op in result.operations.values())
