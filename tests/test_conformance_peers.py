"""The peers' results table in docs/conformance.md is what the peers do today: psutil, jc,
prometheus/procfs and gopsutil (the Go ones built here from Debian's packaged sources, as
.ci/run installs them), each through its adapter in conformance/adapters/."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_peers_table_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "tools/conformance_peers.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "smapsfmt conformance decode: 386 passed, 0 failed, 0 skipped",
        "psutil: 188 passed, 78 failed, 120 skipped",
        "jc: 237 passed, 29 failed, 120 skipped",
        "prometheus/procfs: 353 passed, 33 failed, 0 skipped",
        "gopsutil: 13 passed, 253 failed, 120 skipped",
    ]
