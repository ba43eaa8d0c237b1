"""The target processes the benchmarks start: a Python process with N small mappings, and the
busy host of bench/ps.py and bench/fleet.py (static C targets, tests/triage_target.c).

The mappings are kept apart by alternating protections (every second one writable, with a few
pages written; every other one read-only, with a page read), so the kernel cannot merge them
and its page walk has real work, as in a process with many live mappings.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from _installed import ROOT

__all__ = ["build_static_target", "start_busy", "start_target", "stop"]

TARGET = textwrap.dedent(
    """
    import ctypes, sys
    n, pages = int(sys.argv[1]), int(sys.argv[2])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = 4096
    span = pages * page
    base = libc.mmap(None, n * span, 1, 0x22, -1, 0)  # PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS
    for i in range(0, n, 2):
        if libc.mprotect(base + i * span, span, 3) != 0:
            raise SystemExit("mprotect failed")
        for p in range(pages):
            ctypes.memset(base + i * span + p * page, 1, 8)
    for i in range(1, n, 2):
        ctypes.c_char.from_address(base + i * span).value
    print("ready", flush=True)
    sys.stdin.read()
    """
)


def start_target(mappings: int, pages: int = 4) -> subprocess.Popen[str]:
    """A running target with about ``mappings`` mappings (plus the interpreter's own)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", TARGET, str(mappings), str(pages)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline() != "ready\n":
        raise SystemExit("the target process did not start")
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.stdin:
        proc.stdin.close()
    proc.kill()
    proc.wait()


def build_static_target(directory: Path) -> Path:
    """tests/triage_target.c built static into ``directory``: a process of N mappings that
    maps little else (no interpreter, no libc of its own)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("a C compiler is needed to build tests/triage_target.c")
    binary = directory / "triage_target"
    source = ROOT / "tests/triage_target.c"
    subprocess.run([compiler, "-static", "-O1", "-o", str(binary), str(source)], check=True)
    return binary


def start_busy(
    binary: Path, count: int, mappings: int, backing: Path
) -> list[subprocess.Popen[str]]:
    """``count`` targets of ``mappings`` mappings each (a busy host), every one ready."""
    procs = []
    for _ in range(count):
        proc = subprocess.Popen(
            [str(binary), str(mappings), str(backing), "1024"], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        if proc.stdout.readline() != "ready\n":
            raise SystemExit("a target did not start")
        procs.append(proc)
    return procs
