"""Developer check for one bundled API: `python tools/check_api.py customer-portal [--strict]`.

Runs the spec checks of `epilot-mock specs check` and compares the operations with the
project's inventory (tests/data/inventory.tsv).
"""

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver.engine.loader import bundle, iter_operations  # noqa: E402
from mockserver.engine.speccheck import check_document  # noqa: E402


def main() -> int:
    api = sys.argv[1]
    strict = "--strict" in sys.argv
    source = ROOT / "specs" / api / "openapi.yaml"
    spec, _ = bundle(str(source))
    findings = check_document(spec, name=api)
    for f in findings:
        print(f)
    with open(ROOT / "tests/data/inventory.tsv") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["api"] == api]
    want = {(r["operationId"], r["method"].upper(), r["path"]) for r in rows}
    have = {(op.get("operationId"), m.upper(), p) for p, m, op, _ in iter_operations(spec)}
    for miss in sorted(want - have):
        print("inventory: missing", *miss)
    for extra in sorted(have - want):
        print("inventory: not in inventory", *extra)
    errors = [f for f in findings if f.level == "error" or strict]
    print(f"{api}: {len(have)} operations, {len(findings)} findings, inventory diff {len(want ^ have)}")
    return 1 if errors or want != have else 0


if __name__ == "__main__":
    raise SystemExit(main())
