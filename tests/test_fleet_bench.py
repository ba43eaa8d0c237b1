"""bench/fleet.py prints the issue's four figures, measured on the installed package.

The figures themselves are the benchmark's business (speed targets are never checked in a
test); what is checked is that each is measured and printed, on a small run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from support import ROOT


def test_the_benchmark_prints_the_four_figures() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "bench/fleet.py", "--rounds", "1", "--mappings", "2000",
         "--processes", "3", "--busy-mappings", "200"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (
        len(re.findall(r"per process +[\d.]+ us +[\d.]+x the bare read \(target 1\.2x\)", out))
        == 2
    )
    assert "on a busy host: this machine with 3 targets of 200 mappings" in out
    assert re.search(r"per sample: set-up, 3 Parquet files +[\d.]+ ms", out)
    assert re.search(r"C +[\d,]+ rows/s .*; peak memory \d+ MB", out) or "C module" in out
    assert re.search(r"pure Python +[\d,]+ rows/s .*; peak memory \d+ MB, [+-]\d+ MB over", out)
    assert re.search(r"sample --smaps of this machine: +[\d.]+ B/row", out)
    assert re.search(r"export of the \d+-mapping capture: +[\d.]+ B/row", out)
