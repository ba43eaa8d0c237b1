"""The fuzz contract (tests/fuzz_contract.py): on mutated captures every verb's entry point
succeeds or raises its documented error, never anything else, and the C path and the
pure-Python path give the same outcome, verb by verb, mutant by mutant.

The suite runs mutants 0 .. 16,999 (with the other property tests, about 20,000 mutants).
The long job is opt-in (deselected by default)::

    SMAPSFMT_FUZZ_COUNT=1000000 pytest -m fuzz_long -s

``SMAPSFMT_FUZZ_START`` (default 0) and ``SMAPSFMT_FUZZ_COUNT`` choose the mutants, so that
several machines can take a range each; ``SMAPSFMT_FUZZ_JOBS`` (default: the CPUs) how many
processes share the work. A mutant is rebuilt and rerun alone with
``python tests/fuzz_contract.py INDEX 1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent / "fuzz_contract.py"
IN_THE_SUITE = 17_000


def _run(pure: bool, start: int, count: int) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("SMAPSFMT_PURE_PYTHON", None)
    if pure:
        env["SMAPSFMT_PURE_PYTHON"] = "1"
    # One hash seed for both: the two paths are compared, not two orders of a set.
    env["PYTHONHASHSEED"] = "0"
    return subprocess.Popen(
        [sys.executable, str(RUNNER), str(start), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _chunk(start: int, count: int) -> list[str]:
    """The problems with mutants ``start`` .. ``start + count - 1``: crashes (an exception no
    documentation names), and outcomes where the two paths differ."""
    runs = {pure: _run(pure, start, count) for pure in (False, True)}
    outputs = {pure: run.communicate() for pure, run in runs.items()}
    problems: list[str] = []
    for pure, (_, err) in outputs.items():
        path = "pure-Python path" if pure else "C path"
        if runs[pure].returncode != 0 or err:  # crashes, each with its traceback's end
            problems.append(f"{path}, exit status {runs[pure].returncode}:\n{err[:8000]}")
    c_lines, pure_lines = outputs[False][0].splitlines(), outputs[True][0].splitlines()
    if len(c_lines) != count or len(pure_lines) != count:
        problems.append(f"mutants {start}+{count}: {len(c_lines)} and {len(pure_lines)} outcomes")
    for c_line, pure_line in zip(c_lines, pure_lines, strict=False):
        if c_line != pure_line:
            index = c_line.split()[0]
            problems.append(
                f"mutant {index}: the paths differ (verbs parse, iter for smaps, validate, "
                f"aggregate, render, check): C {c_line!r}, pure {pure_line!r}; rerun with "
                f"python tests/fuzz_contract.py {index} 1 (and SMAPSFMT_PURE_PYTHON=1)"
            )
    return problems


def _fuzz(start: int, count: int, jobs: int, chunk: int) -> list[str]:
    ranges = [(at, min(chunk, start + count - at)) for at in range(start, start + count, chunk)]
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs // 2)) as pool:  # two processes each
        for found in pool.map(lambda r: _chunk(*r), ranges):
            problems += found
    return problems


def _jobs() -> int:
    return int(os.environ.get("SMAPSFMT_FUZZ_JOBS", "0")) or os.cpu_count() or 1


def test_every_verb_keeps_its_contract_on_mutants_and_the_paths_agree() -> None:
    jobs = min(_jobs(), 8)
    problems = _fuzz(0, IN_THE_SUITE, jobs, -(-IN_THE_SUITE // max(1, jobs // 2)))
    assert not problems, "\n".join(problems[:20])


@pytest.mark.fuzz_long
def test_the_long_fuzz_job() -> None:
    start = int(os.environ.get("SMAPSFMT_FUZZ_START", "0"))
    count = int(os.environ.get("SMAPSFMT_FUZZ_COUNT", "1000000"))
    began = time.monotonic()
    problems = _fuzz(start, count, _jobs(), 10_000)
    took = time.monotonic() - began
    print(
        f"\nfuzz: mutants {start} to {start + count - 1}, {len(problems)} problems, {took:.0f} s"
    )
    assert not problems, "\n".join(problems[:50])
