"""Write the expected results of the conformance corpus (tests/fixtures/).

    python tools/update_expected.py            # rewrite every expected file
    python tools/update_expected.py --check    # exit 1 if any expected file would change

For each valid capture ``X`` under tests/fixtures/valid/ this writes ``X.expected.json``: the
parsed model as ``smapsfmt parse --format json`` prints it, one mapping per line so that a change
shows as a readable diff. For each broken input ``X`` under tests/fixtures/invalid/ it writes
``X.expected-error``: ``LINE:COL: message``. Review the diff before committing: the expected files
are the specification's verdicts, and tests/test_corpus.py holds the parser to them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT))

from smapsfmt import SmapsSyntaxError, parse_rollup, parse_smaps  # noqa: E402
from smapsfmt._model import to_jsonable  # noqa: E402

NOT_INPUTS = (".md", ".json", ".expected-error", ".py")


def inputs(kind: str) -> list[Path]:
    """The inputs of one part of the corpus (``valid`` or ``invalid``), sorted."""
    return sorted(
        p
        for p in (FIXTURES / kind).rglob("*")
        if p.is_file() and not p.name.endswith(NOT_INPUTS) and p.name != "README"
    )


def is_rollup(path: Path) -> bool:
    return "rollup" in path.name


def expected_json(path: Path) -> str:
    data = path.read_bytes()
    model = parse_rollup(data) if is_rollup(path) else parse_smaps(data)
    obj = to_jsonable(model)
    if is_rollup(path):
        return json.dumps(obj, separators=(",", ":")) + "\n"
    rows = ",\n".join(json.dumps(m, separators=(",", ":")) for m in obj["mappings"])
    body = f"[\n{rows}\n]" if rows else "[]"
    return f'{{"final_newline":{json.dumps(obj["final_newline"])},"mappings":{body}}}\n'


def expected_error(path: Path) -> str:
    data = path.read_bytes()
    try:
        (parse_rollup if is_rollup(path) else parse_smaps)(data)
    except SmapsSyntaxError as exc:
        return f"{exc.line}:{exc.column}: {exc.msg}\n"
    raise SystemExit(f"{path}: parses without error, so it does not belong in invalid/")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = ap.parse_args()
    stale = 0
    jobs = [(p, Path(f"{p}.expected.json"), expected_json) for p in inputs("valid")]
    jobs += [(p, Path(f"{p}.expected-error"), expected_error) for p in inputs("invalid")]
    for source, target, make in jobs:
        text = make(source)
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old == text:
            continue
        stale += 1
        print(f"{'stale' if args.check else 'wrote'}: {target.relative_to(ROOT)}")
        if not args.check:
            target.write_text(text, encoding="utf-8")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
