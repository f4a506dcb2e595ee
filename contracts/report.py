"""Reports of a contract run: Markdown or HTML (by file extension) and JUnit XML.

A person should understand a report in ten seconds: the verdict and counts first, then one row
per operation (checks passed and failed), then each failure with its first reproduction.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from .runner import RunResult


def _verdict(result: RunResult) -> str:
    passed, failed = result.totals()
    failing = len(result.failed_operations)
    state = "PASSED" if result.ok else "FAILED"
    return (f"{state}: {len(result.operations)} operations, {failing} failing; {passed} checks passed, "
            f"{failed} failed; {len(result.errors)} errors; {result.duration:.1f}s")


def _rows(result: RunResult) -> list[tuple[str, str, str, int, int, str]]:
    rows = []
    for op in sorted(result.operations.values(), key=lambda o: (o.ok, o.api, o.label)):
        passed, failed = sum(op.passed.values()), sum(op.failed.values())
        failing = ", ".join(sorted(op.failed)) or ("error" if op.errors else "")
        rows.append(("ok" if op.ok else "FAIL", op.api, op.label, passed, failed, failing))
    return rows


def markdown(result: RunResult) -> str:
    lines = [f"# Contract run: {result.target}", "", f"**{_verdict(result)}**", "",
             f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; seed {result.seed}; "
             f"phases: {', '.join(result.phases)}" + ("; read-only (GET/HEAD/OPTIONS only)" if result.read_only
                                                      else ""),
             "", "| | API | Operation | Checks passed | Failed | Failing checks |", "|---|---|---|---:|---:|---|"]
    for state, api, label, passed, failed, failing in _rows(result):
        lines.append(f"| {state} | {api} | `{label}` | {passed} | {failed} | {failing} |")
    failures = [(op, f) for op in result.failed_operations for f in op.failures]
    if failures or any(op.errors for op in result.operations.values()) or result.errors:
        lines += ["", "## Failures", ""]
    for op, f in failures:
        lines += [f"### `{op.label}` ({op.api}{', ' + op.operation_id if op.operation_id else ''}): {f.check}", "",
                  f"{f.title}" + (f" (status {f.status})" if f.status else ""), "", "```", f.message.strip(), "```",
                  "", "Reproduce:", "", "```sh", f.curl, "```", ""]
    for op in result.operations.values():
        for error in op.errors:
            lines += [f"### `{op.label}` ({op.api}): error", "", "```", error, "```", ""]
    for error in result.errors:
        lines += ["### Run error", "", "```", error, "```", ""]
    if result.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in result.notes]]
    if result.exclusions:
        lines += ["", "## Exclusions applied", "", "| API | Operation | Check | Also accepted | Reason |",
                  "|---|---|---|---|---|"]
        for e in result.exclusions:
            lines.append(f"| {e.api} | `{e.operation_id}` | {e.check} | {', '.join(map(str, e.allow))} | {e.reason} |")
    return "\n".join(lines) + "\n"


_EXCLUSIONS_HEAD = ("<h2>Exclusions applied</h2><table><tr><th>API</th><th>Operation</th><th>Check</th>"
                    "<th>Also accepted</th><th>Reason</th></tr>")


def html_report(result: RunResult) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr class='{'ok' if state == 'ok' else 'fail'}'><td>{esc(state)}</td><td>{esc(api)}</td>"
        f"<td><code>{esc(label)}</code></td><td>{passed}</td><td>{failed}</td><td>{esc(failing)}</td></tr>"
        for state, api, label, passed, failed, failing in _rows(result))
    failures = "".join(
        f"<section><h3><code>{esc(op.label)}</code> ({esc(op.api)}): {esc(f.check)}</h3><p>{esc(f.title)}</p>"
        f"<pre>{esc(f.message.strip())}</pre><p>Reproduce:</p><pre>{esc(f.curl)}</pre></section>"
        for op in result.failed_operations for f in op.failures)
    errors = "".join(f"<pre>{esc(e)}</pre>" for op in result.operations.values() for e in op.errors)
    errors += "".join(f"<pre>{esc(e)}</pre>" for e in result.errors)
    exclusions = "".join(f"<tr><td>{esc(e.api)}</td><td><code>{esc(e.operation_id)}</code></td><td>{esc(e.check)}</td>"
                         f"<td>{esc(', '.join(map(str, e.allow)))}</td><td>{esc(e.reason)}</td></tr>"
                         for e in result.exclusions)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Contract run: {esc(result.target)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}tr.fail td{{background:#fde8e8}}
tr.ok td:first-child{{color:#1a7f37}}pre{{background:#f6f8fa;padding:.6em;overflow:auto}}
.verdict{{font-size:1.2em;font-weight:bold}}</style></head><body>
<h1>Contract run: {esc(result.target)}</h1><p class="verdict">{esc(_verdict(result))}</p>
<p>Seed {result.seed}; phases: {esc(', '.join(result.phases))}{'; read-only' if result.read_only else ''}</p>
<table><tr><th></th><th>API</th><th>Operation</th><th>Checks passed</th><th>Failed</th><th>Failing checks</th></tr>
{rows}</table>
{'<h2>Failures</h2>' + failures if failures else ''}{'<h2>Errors</h2>' + errors if errors else ''}
{_EXCLUSIONS_HEAD + exclusions + '</table>' if exclusions else ''}
</body></html>
"""


def junit_xml(result: RunResult) -> str:
    suite = ET.Element("testsuite", name="epilot-mock contract run", tests=str(len(result.operations)),
                       failures=str(len(result.failed_operations)), errors=str(len(result.errors)),
                       time=f"{result.duration:.3f}")
    for op in sorted(result.operations.values(), key=lambda o: (o.api, o.label)):
        case = ET.SubElement(suite, "testcase", classname=op.api, name=op.label)
        for f in op.failures:
            failure = ET.SubElement(case, "failure", message=f"{f.check}: {f.title}", type=f.check)
            failure.text = f"{f.message.strip()}\n\nReproduce:\n{f.curl}"
        for error in op.errors:
            ET.SubElement(case, "error", message=error[:200]).text = error
    for error in result.errors:
        case = ET.SubElement(suite, "testcase", classname="run", name="run error")
        ET.SubElement(case, "error", message=error[:200]).text = error
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write_report(result: RunResult, path: str) -> None:
    text = html_report(result) if path.lower().endswith((".html", ".htm")) else markdown(result)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
