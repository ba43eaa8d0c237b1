"""Shared parts of the fleet tests (tests/test_fleet_*.py): stable target processes, a sample of
them taken in a PID namespace of their own, a large smaps, and the dataset read back."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import LIVE, ROOT

# The processes of the namespace sample: MiB of private memory of each, larger than any other
# process there (the sampler with pyarrow loaded stays below 100 MiB of Pss).
TARGET_MIB = tuple(112 + 8 * i for i in range(11))

# Run as PID 1 of a new PID namespace (unshare --pid --fork --mount-proc): start the targets,
# take the samples with the command line, then read every process's smaps_rollup directly.
_DRIVER = r"""
import json, os, shutil, subprocess, sys
binary, directory, options, *sizes = sys.argv[1:]
targets = []
for number, mib in enumerate(sizes):
    copy = f"{binary}-{number}"
    shutil.copy(binary, copy)
    target = subprocess.Popen([copy, mib], stdout=subprocess.PIPE)
    assert target.stdout.readline() == b"ready\n", f"target {number} did not start"
    targets.append(target.pid)
sample = subprocess.run(
    [sys.executable, "-m", "smapsfmt", "sample", "-o", directory, *options.split(),
     "--format", "json", "--host", "fleet-test"],
    capture_output=True, text=True, check=False,
)
import smapsfmt
direct = {}
for name in os.listdir("/proc"):
    if name.isdigit():
        try:
            direct[name] = dict(smapsfmt.read_rollup(int(name)).fields)
        except smapsfmt.ProcError:
            pass
print(json.dumps({"targets": targets, "status": sample.returncode, "stdout": sample.stdout,
                  "stderr": sample.stderr, "direct": direct}))
"""


def build_target(folder: Path) -> Path:
    """tests/fleet_target.c, built static into ``folder``."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler is not None, "a C compiler is needed (CI installs gcc)"
    binary = folder / "fleet_target"
    subprocess.run(
        [compiler, "-static", "-O1", "-o", str(binary), str(ROOT / "tests/fleet_target.c")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return binary


def namespace_sample(
    folder: Path,
    options: str = "--smaps --interval 1 --count 3",
    sizes: tuple[int, ...] = TARGET_MIB,
) -> dict[str, Any]:
    """``smapsfmt sample OPTIONS`` of a PID namespace holding targets of ``sizes`` MiB, into
    ``folder / "dataset"``; the driver's report (targets' pids, the command's status and
    output, the rollups read directly afterwards, by pid)."""
    binary = build_target(folder)
    dataset = folder / "dataset"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", _DRIVER,
         str(binary), str(dataset), options, *map(str, sizes)],
        capture_output=True, text=True, check=False, timeout=300, env=env, cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["status"] == 0, report["stderr"]
    report["dataset"] = dataset
    return report


def top_direct(direct: dict[str, dict[str, int]], count: int = 10) -> list[tuple[int, int]]:
    """(pid, Pss) of the ``count`` processes of largest Pss, as the query orders them."""
    ranked = sorted(
        ((int(pid), f["Pss"]) for pid, f in direct.items()), key=lambda r: (-r[1], r[0])
    )
    return ranked[:count]


_HEADER = re.compile(rb"^([0-9a-f]+)-([0-9a-f]+) ", re.MULTILINE)


def big_smaps(count: int) -> bytes:
    """A smaps of ``count`` mappings: the entries of a real capture (many-small, 6.18), again
    and again at increasing addresses, each keeping its size; its [vsyscall] entry last."""
    text = (LIVE / "6.18/many-small/smaps").read_bytes()
    starts = [m.start() for m in _HEADER.finditer(text)] + [len(text)]
    entries = [text[a:b] for a, b in itertools.pairwise(starts)]
    gate = [e for e in entries if b"[vsyscall]" in e.split(b"\n", 1)[0]]
    entries = [e for e in entries if e not in gate]
    out = []
    cursor = 0x100000000000
    for number in range(count - len(gate)):
        entry = entries[number % len(entries)]
        match = _HEADER.match(entry)
        assert match is not None
        size = int(match.group(2), 16) - int(match.group(1), 16)
        out.append(b"%012x-%012x " % (cursor, cursor + size) + entry[match.end() :])
        cursor += size
    return b"".join(out + gate)


def duckdb_rows(dataset: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` through the command line (``query --format json``)."""
    from support import run_cli

    result = run_cli("query", str(dataset), sql, "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    objects = json.loads(result.stdout)
    return [tuple(o.values()) for o in objects]
