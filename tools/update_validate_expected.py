"""Rewrite the expected verdicts of the validator's broken inputs, for review.

For every input in tests/fixtures/invalid-validate/ (``*.smaps``, ``*.smaps_rollup``), writes
``INPUT.expected``: a first line ``# exit STATUS; profile ...`` (the summary), then one
diagnostic per line as ``LINE:COL: RULE: message``. An optional ``INPUT.args`` holds extra
command-line arguments (``--kernel 6.0``). Review the diff before committing: the files pin the
validator's exact messages.

    python tools/update_validate_expected.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smapsfmt._validate.validate import validate_report  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "invalid-validate"
SUFFIXES = (".smaps", ".smaps_rollup")


def expected_text(path: Path) -> str:
    args_file = Path(f"{path}.args")
    args = args_file.read_text(encoding="utf-8").split() if args_file.is_file() else []
    kernel = args[args.index("--kernel") + 1] if "--kernel" in args else None
    report = validate_report(path.read_bytes(), kernel=kernel, strict="--strict" in args)
    status = 1 if report.errors else 0
    summary = report.summary("").split("; ", 1)[1]
    lines = [f"# exit {status}; {summary}"]
    lines += [d.render().split(":", 1)[1] for d in report.diagnostics]
    return "\n".join(lines) + "\n"


def main() -> int:
    inputs = sorted(p for p in FIXTURES.iterdir() if p.suffix in SUFFIXES)
    if not inputs:
        print(f"no inputs under {FIXTURES}", file=sys.stderr)
        return 1
    for path in inputs:
        Path(f"{path}.expected").write_text(expected_text(path), encoding="utf-8")
    print(f"wrote {len(inputs)} expected verdicts under {FIXTURES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
