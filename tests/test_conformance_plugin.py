"""Python users in three lines: a throwaway project, outside the source tree, whose tests use
the pytest plugin's ``smaps_case`` fixture and ``smapsfmt.conformance.cases()``, run by pytest
in a child process with nothing but the installed smapsfmt."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from smapsfmt.conformance import cases

PROJECT_TESTS = """
import json

import pytest

import smapsfmt.conformance


def test_every_case(smaps_case):
    assert smaps_case.data() is not None


@pytest.mark.smaps_cases("valid", kind="rollup")
def test_rollups_decode_as_expected(smaps_case):
    out = smapsfmt.conformance.decode(smaps_case.data(), "rollup")
    assert json.loads(json.dumps(out)) == smaps_case.expected_json()


@pytest.mark.parametrize("case", smapsfmt.conformance.cases("invalid"), ids=str)
def test_three_lines(case):
    assert case.expected_json()["line"] >= 1
"""


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project, capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip


def test_a_throwaway_project_collects_every_case(tmp_path: Path) -> None:
    (tmp_path / "test_parser.py").write_text(PROJECT_TESTS)
    collected = pytest_in(tmp_path, "--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    ids = collected.stdout.splitlines()
    every = [i for i in ids if i.startswith("test_parser.py::test_every_case[")]
    assert every == [f"test_parser.py::test_every_case[{c.id}]" for c in cases()]
    assert len(every) == 386
    rollups = [i for i in ids if "test_rollups_decode_as_expected[" in i]
    assert len(rollups) == len(cases("valid", kind="rollup")) == 114
    three = [i for i in ids if "test_three_lines[" in i]
    assert len(three) == len(cases("invalid")) == 32
    assert f"{386 + 114 + 32} tests collected" in collected.stdout


def test_the_fixture_runs_the_cases(tmp_path: Path) -> None:
    (tmp_path / "test_parser.py").write_text(PROJECT_TESTS)
    result = pytest_in(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^532 passed in ", result.stdout, re.MULTILINE), result.stdout
