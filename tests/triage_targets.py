"""Target processes for the triage tests (ps, summary, diff) and the ps benchmark.

    python triage_targets.py N FILE [KIB]   N one-page mappings of FILE (read-only and
                                            read-write in turn, so none merge), each touched,
                                            and KIB KiB of touched anonymous memory; prints
                                            "ready", then on each line of stdin "grow K" maps
                                            and touches K more KiB and says "ready" again

``start(n, path, kib)`` runs one and waits for it; it dies with its parent (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import mmap
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()


def start(count: int, path: Path, kib: int = 0) -> subprocess.Popen[str]:
    """A target with ``count`` file mappings and ``kib`` KiB of anonymous memory, ready."""
    with open(path, "ab") as handle:
        if handle.tell() < count * mmap.PAGESIZE:
            handle.truncate(count * mmap.PAGESIZE)
    proc = subprocess.Popen(
        [sys.executable, "-I", str(HERE), str(count), str(path), str(kib)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        raise RuntimeError(f"target did not start: {line!r}")
    return proc


def grow(proc: subprocess.Popen[str], kib: int) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"grow {kib}\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "ready\n"


def _anon(kib: int) -> mmap.mmap:
    region = mmap.mmap(-1, kib * 1024, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for offset in range(0, len(region), mmap.PAGESIZE):
        region[offset] = 1
    return region


def main(count: int, path: str, kib: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    with open(path, "r+b") as handle:
        regions = [
            mmap.mmap(
                handle.fileno(),
                mmap.PAGESIZE,
                prot=mmap.PROT_READ | (mmap.PROT_WRITE if i % 2 else 0),
                offset=i * mmap.PAGESIZE,
            )
            for i in range(count)
        ]
    touched = sum(region[0] for region in regions)  # read: resident
    held = [_anon(kib)] if kib else []
    print("ready" if touched >= 0 else "", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["grow"]:
            held.append(_anon(int(words[1])))
            print("ready", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))


# --- the static target (tests/triage_target.c) -------------------------------------------------


def build_static(directory: Path) -> Path | None:
    """tests/triage_target.c built static into ``directory``; None without a C compiler."""
    import shutil

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    binary = directory / "triage_target"
    build = subprocess.run(
        [compiler, "-static", "-O1", "-o", str(binary), str(HERE.parent / "triage_target.c")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return binary if build.returncode == 0 else None


def start_static(binary: Path, count: int, path: Path, kib: int = 0) -> subprocess.Popen[str]:
    """The static target, ready; it dies with its parent (PR_SET_PDEATHSIG)."""
    path.touch()
    proc = subprocess.Popen(
        [str(binary), str(count), str(path), str(kib)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        raise RuntimeError(f"static target did not start: {line!r}")
    return proc
