"""bench/ps.py measures what it says, in one run: ps against smem and the bare reads.

Times are not checked here (the benchmark's targets are its own); what is checked is that it
runs the installed package, finds the same numbers as smem, and reports each measurement."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from support import ROOT


@pytest.mark.skipif(shutil.which("smem") is None, reason="smem: .ci/run installs it")
def test_the_ps_benchmark_reports_each_measurement() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "bench/ps.py", "--processes", "3", "--mappings", "50", "--rounds", "1",
         "--sweeps", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "of which 3 targets of " in out
    assert (
        "same numbers as smem (Rss, USS, Swap equal; Pss within the kernel's interval): yes"
        in out.splitlines()
    )
    for row in (
        "| `smapsfmt ps` (C install) |",
        "| `smapsfmt ps` (SMAPSFMT_PURE_PYTHON=1) |",
        "| `smem` | ",
        "| bare reads of every /proc/PID/smaps_rollup |",
        "| `sweep(stat=False)`, as ps runs it: every process read safely, rollup fields, user, "
        "command line |",
    ):
        assert row in out, row
    assert "pydantic, lark, the parser: none." in out
