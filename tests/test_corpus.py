"""The conformance corpus, run by one data-driven test per part.

valid/: real captures; each parses to its sibling ``.expected.json``.
invalid/: broken inputs; each fails with the exact ``LINE:COL: message`` of its sibling
``.expected-error``. Regenerate both with ``python tools/update_expected.py`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import INVALID, VALID, as_json, corpus, fixture_id, is_rollup, run_cli

import smapsfmt

VALID_INPUTS = corpus(VALID)
INVALID_INPUTS = corpus(INVALID)


def test_corpus_is_not_empty() -> None:
    # The external captures (13 files) and this machine's live captures, at the least.
    assert len(VALID_INPUTS) >= 13
    assert len(INVALID_INPUTS) >= 25


def _parse(path: Path) -> smapsfmt.Smaps | smapsfmt.Rollup:
    data = path.read_bytes()
    if is_rollup(path):
        return smapsfmt.parse_rollup(data, path=str(path))
    return smapsfmt.parse_smaps(data, path=str(path))


@pytest.mark.parametrize("path", VALID_INPUTS, ids=fixture_id)
def test_valid(path: Path) -> None:
    expected_file = Path(f"{path}.expected.json")
    assert expected_file.is_file(), f"{expected_file.name} missing: run tools/update_expected.py"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert as_json(_parse(path)) == expected


@pytest.mark.parametrize("path", INVALID_INPUTS, ids=fixture_id)
def test_invalid(path: Path) -> None:
    expected_file = Path(f"{path}.expected-error")
    assert expected_file.is_file(), f"{expected_file.name} is missing"
    expected = expected_file.read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(smapsfmt.SmapsSyntaxError) as info:
        _parse(path)
    error = info.value
    assert f"{error.line}:{error.column}: {error.msg}" == expected
    assert error.path == str(path)
    assert str(error).startswith(f"{path}:{expected}")


@pytest.mark.parametrize(
    "path", [p for p in INVALID_INPUTS if p.stat().st_size < 4096], ids=fixture_id
)
def test_invalid_on_the_command_line(path: Path) -> None:
    kind = "rollup" if is_rollup(path) else "smaps"
    result = run_cli("parse", "--kind", kind, str(path))
    expected = Path(f"{path}.expected-error").read_text(encoding="utf-8").rstrip("\n")
    assert (result.returncode, result.stdout) == (1, b"")  # the error goes to stderr
    assert b"Traceback" not in result.stdout + result.stderr
    first = result.stderr.decode().split("\n", 1)[0]
    line_col, message = expected.split(": ", 1)
    assert first == f"{path}:{line_col}: syntax: {message}"
