#!/usr/bin/env python3
"""Capture /proc/PID/smaps and /proc/PID/smaps_rollup from purpose-built processes.

Usage (as root, on Linux):

    python3 tools/capture_live.py OUTDIR

For every scenario the script starts a target process that shapes its own
memory in a known way (mmap, mlock, madvise, fork, ...), tells this script
over a pipe that it is ready, and then sleeps.  The target and every process
sharing memory with it are frozen with SIGSTOP while both files are read, so
smaps and smaps_rollup describe the same instant.  The files are stored
byte for byte as

    OUTDIR/<scenario>/smaps
    OUTDIR/<scenario>/smaps_rollup

and OUTDIR/CAPTURES.md records what each target did, where and when it was
captured, and the size and SHA-256 of every file.

Each pair is checked before it is written: every smaps_rollup field must
equal the sum of that field over the mappings in smaps, except for the
proportional (Pss-like) fields, which the kernel sums before rounding and
which may therefore exceed the sum of the rounded per-mapping values by less
than 1 kB per mapping.  A pair that fails is re-read while still frozen
(other processes can change the sharing of file pages between the two
reads); if it keeps failing the script stops with an error.

Only the standard library is used.  The targets are this same script run
with ``--target NAME READY_FD WORKDIR``, or plain programs for the baseline
scenarios.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import datetime
import hashlib
import mmap
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

KiB = 1 << 10
MiB = 1 << 20
PAGE = mmap.PAGESIZE
HUGE_PMD = 2 * MiB  # x86_64 PMD size: the THP and default hugetlb page size

PROT_READ = mmap.PROT_READ
PROT_WRITE = mmap.PROT_WRITE
PROT_RW = PROT_READ | PROT_WRITE
MAP_SHARED = mmap.MAP_SHARED
MAP_PRIVATE = mmap.MAP_PRIVATE
MAP_ANONYMOUS = mmap.MAP_ANONYMOUS
MAP_HUGETLB = getattr(mmap, "MAP_HUGETLB", 0x40000)
MADV_FREE = mmap.MADV_FREE
MADV_HUGEPAGE = mmap.MADV_HUGEPAGE

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_VMA = 0x53564D41
PR_SET_VMA_ANON_NAME = 0

NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
HUGETLB_PAGES_NEEDED = 4

ANON_NAME = b"smapsfmt test region"


# ---------------------------------------------------------------------------
# libc access (used by the targets, and by this script for prctl)
# ---------------------------------------------------------------------------


class Unsupported(Exception):
    """The running kernel cannot provide what a scenario needs."""


def _load_libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    libc.mmap.restype = vp
    libc.mmap.argtypes = [vp, sz, i, i, i, ctypes.c_long]
    libc.munmap.argtypes = [vp, sz]
    libc.mprotect.argtypes = [vp, sz, i]
    libc.madvise.argtypes = [vp, sz, i]
    libc.mlock.argtypes = [vp, sz]
    libc.prctl.argtypes = [i, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


LIBC = _load_libc()
MAP_FAILED = ctypes.c_void_p(-1).value


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def sys_mmap(length: int, prot: int, flags: int, fd: int = -1, offset: int = 0) -> int:
    addr = LIBC.mmap(None, length, prot, flags, fd, offset)
    if addr == MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, f"mmap({length}): {os.strerror(err)}")
    return addr


def map_anon(length: int, *, shared: bool = False, prot: int = PROT_RW, extra: int = 0) -> int:
    flags = (MAP_SHARED if shared else MAP_PRIVATE) | MAP_ANONYMOUS | extra
    return sys_mmap(length, prot, flags)


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> None:
    _check(LIBC.prctl(option, a2, a3, a4, a5), f"prctl({option:#x})")


def die_with_parent() -> None:
    """Make the calling process receive SIGKILL when its parent exits."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def write_pages(addr: int, length: int) -> None:
    # A non-zero pattern: zero-filled pages could be deduplicated or have
    # their huge pages split by the kernel's underused-THP shrinker.
    ctypes.memset(addr, 0x5A, length)


def read_pages(addr: int, length: int) -> None:
    for off in range(0, length, PAGE):
        ctypes.c_char.from_address(addr + off).value  # noqa: B018 - the read faults the page in


def sleep_forever() -> None:
    while True:
        time.sleep(1000)


def fork_sleepers(count: int, before_ready: Callable[[int], None] | None = None) -> list[int]:
    """Fork COUNT children that run BEFORE_READY(index) and then sleep.

    Returns once every child has finished BEFORE_READY, with their PIDs.
    """
    r, w = os.pipe()
    pids = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                die_with_parent()
                if before_ready is not None:
                    before_ready(index)
                os.write(w, b".")
                os.close(w)
                sleep_forever()
            finally:
                os._exit(1)
        pids.append(pid)
    os.close(w)
    done = 0
    while done < count:
        chunk = os.read(r, count)
        if not chunk:
            raise RuntimeError("a forked child exited before becoming ready")
        done += len(chunk)
    os.close(r)
    return pids


# ---------------------------------------------------------------------------
# Targets.  Each one shapes the memory of the process it runs in and returns
# the PIDs of any further processes that share that memory.
# ---------------------------------------------------------------------------


def target_anonymous(workdir: str) -> list[int]:
    # Rss/Private_Dirty/Anonymous of one large private mapping that is only
    # partly resident.  Read-only faults map the shared zero page, which
    # smaps does not count in Rss, so Size >> Rss.
    addr = map_anon(64 * MiB)
    write_pages(addr, 40 * MiB)
    read_pages(addr + 40 * MiB, 8 * MiB)
    return []


def target_shared_fork(workdir: str) -> list[int]:
    # Shared_Dirty and fractional Pss: a MAP_SHARED anonymous region (shmem,
    # shown as "/dev/zero (deleted)", Pss_Shmem) and a private region whose
    # pages are shared copy-on-write with three forked children.
    shared = map_anon(32 * MiB, shared=True)
    private = map_anon(16 * MiB)
    write_pages(shared, 32 * MiB)
    write_pages(private, 16 * MiB)

    def child(index: int) -> None:
        # fork() does not copy page tables of shared mappings without an
        # anon_vma; reading the region maps its pages into the child too.
        read_pages(shared, 32 * MiB)
        if index == 0:
            # Breaks COW for 1 MiB: those parent pages are now mapped by
            # three of the four processes, so their Pss is 1/3 per page.
            write_pages(private, 1 * MiB)

    children = fork_sleepers(3, child)
    # The parent also breaks COW for a different 1 MiB, so the measured
    # process has Private_Dirty pages inside the otherwise shared region.
    write_pages(private + 8 * MiB, 1 * MiB)
    return children


def target_mlocked(workdir: str) -> list[int]:
    # Locked (and the "lo" VmFlag) for anonymous and file-backed mappings.
    anon = map_anon(8 * MiB)
    write_pages(anon, 8 * MiB)
    _check(LIBC.mlock(anon, 8 * MiB), "mlock(anonymous)")

    path = os.path.join(workdir, "mlocked-4MiB.bin")
    with open(path, "wb") as f:
        f.write(b"\xa5" * (4 * MiB))
    fd = os.open(path, os.O_RDONLY)
    try:
        filemap = sys_mmap(4 * MiB, PROT_READ, MAP_PRIVATE, fd)
    finally:
        os.close(fd)
    read_pages(filemap, 4 * MiB)
    _check(LIBC.mlock(filemap, 4 * MiB), "mlock(file)")
    return []


def target_madv_free(workdir: str) -> list[int]:
    # LazyFree: MADV_FREE turns written anonymous pages into clean,
    # lazily freeable ones that stay resident until memory pressure.
    addr = map_anon(32 * MiB)
    write_pages(addr, 32 * MiB)
    # Stay on one CPU so the second, empty MADV_FREE below drains the
    # per-CPU batch that still holds the last pages marked lazy-free.
    os.sched_setaffinity(0, {os.sched_getaffinity(0).pop()})
    _check(LIBC.madvise(addr, 16 * MiB, MADV_FREE), "madvise(MADV_FREE)")
    spare = map_anon(PAGE)
    _check(LIBC.madvise(spare, PAGE, MADV_FREE), "madvise(MADV_FREE, drain)")
    LIBC.munmap(spare, PAGE)
    return []


DELETED_FILE_NAMES = [
    # (name, unlinked after mapping)
    (b"file with blanks.bin", True),
    (b"name with\nnewline.bin", True),  # the kernel prints the newline as \012
    (b"latin1-\xe9\xff.bin", False),  # not valid UTF-8
    (b"trailing  ", False),  # ends in two spaces
]
DELETED_FILE_SIZE = 64 * KiB


def target_deleted_file(workdir: str) -> list[int]:
    # Pathname edge cases in the header line: blanks, an escaped newline,
    # undecodable bytes, trailing blanks and the " (deleted)" suffix.  Each
    # file is mapped twice in the same process, so its page-cache pages have
    # two mappings: Shared_Dirty/Shared_Clean within a single process.
    base = os.fsencode(workdir)
    for name, unlink in DELETED_FILE_NAMES:
        path = base + b"/" + name
        with open(path, "wb") as f:
            f.write(b"\x3c" * DELETED_FILE_SIZE)
        fd = os.open(path, os.O_RDWR)
        try:
            rw = sys_mmap(DELETED_FILE_SIZE, PROT_RW, MAP_SHARED, fd)
            ro = sys_mmap(DELETED_FILE_SIZE, PROT_READ, MAP_PRIVATE, fd)
        finally:
            os.close(fd)
        write_pages(rw, DELETED_FILE_SIZE)
        read_pages(ro, DELETED_FILE_SIZE)
        if unlink:
            os.unlink(path)
    return []


def _map_pmd_aligned(length: int, extra: int = 0) -> int:
    """Map LENGTH bytes of private anonymous memory starting on a 2 MiB boundary."""
    raw = map_anon(length + HUGE_PMD, extra=extra)
    start = (raw + HUGE_PMD - 1) & ~(HUGE_PMD - 1)
    if start > raw:
        LIBC.munmap(raw, start - raw)
    tail = raw + length + HUGE_PMD - (start + length)
    if tail:
        LIBC.munmap(start + length, tail)
    return start


def target_thp(workdir: str) -> list[int]:
    # AnonHugePages: with THP in "madvise" mode only MADV_HUGEPAGE regions
    # get transparent huge pages at fault time; the region is 2 MiB aligned
    # so every 2 MiB of it can be a PMD mapping.
    addr = _map_pmd_aligned(8 * MiB)
    _check(LIBC.madvise(addr, 8 * MiB, MADV_HUGEPAGE), "madvise(MADV_HUGEPAGE)")
    write_pages(addr, 8 * MiB)
    return []


def target_hugetlb(workdir: str) -> list[int]:
    # Shared_Hugetlb and Private_Hugetlb (hugetlb pages are not part of Rss):
    # a MAP_SHARED hugetlb region that a child also maps, and a MAP_PRIVATE
    # one created after the fork, so only the measured process maps it.
    try:
        shared = map_anon(4 * MiB, shared=True, extra=MAP_HUGETLB)
    except OSError as exc:
        raise Unsupported(f"MAP_HUGETLB failed: {exc.strerror}") from exc
    write_pages(shared, 4 * MiB)
    children = fork_sleepers(1, lambda index: read_pages(shared, 4 * MiB))
    try:
        private = map_anon(2 * MiB, extra=MAP_HUGETLB)
    except OSError as exc:
        raise Unsupported(f"MAP_HUGETLB failed: {exc.strerror}") from exc
    write_pages(private, 2 * MiB)
    return children


SMALL_MAPPINGS = 3000


def target_many_small(workdir: str) -> list[int]:
    # Thousands of entries: consecutive pages of one reservation alternate
    # between read-only and read-write, so the kernel cannot merge them into
    # one VMA.  Only the writable half is touched.
    base = map_anon(SMALL_MAPPINGS * PAGE, prot=PROT_READ)
    for index in range(1, SMALL_MAPPINGS, 2):
        _check(LIBC.mprotect(base + index * PAGE, PAGE, PROT_RW), "mprotect")
    for index in range(1, SMALL_MAPPINGS, 2):
        write_pages(base + index * PAGE, PAGE)
    return []


def target_anon_name(workdir: str) -> list[int]:
    # "[anon:NAME]" pathnames, available only with CONFIG_ANON_VMA_NAME.
    addr = map_anon(1 * MiB)
    write_pages(addr, 1 * MiB)
    name = ctypes.create_string_buffer(ANON_NAME)
    try:
        prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, 1 * MiB, ctypes.addressof(name))
    except OSError as exc:
        raise Unsupported(
            f"prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) failed: {exc.strerror}"
        ) from exc
    return []


TARGETS: dict[str, Callable[[str], list[int]]] = {
    "anonymous": target_anonymous,
    "shared-fork": target_shared_fork,
    "mlocked": target_mlocked,
    "madv-free": target_madv_free,
    "deleted-file": target_deleted_file,
    "thp": target_thp,
    "hugetlb": target_hugetlb,
    "many-small": target_many_small,
    "anon-name": target_anon_name,
}


def target_main(name: str, ready_fd: int, workdir: str) -> None:
    """Entry point of a shaped target: shape memory, report, sleep."""
    try:
        others = TARGETS[name](workdir)
        message = "ready " + " ".join(str(pid) for pid in [os.getpid(), *others])
    except Unsupported as exc:
        message = f"skip {exc}"
    os.write(ready_fd, message.encode() + b"\n")
    os.close(ready_fd)
    sleep_forever()


# ---------------------------------------------------------------------------
# Scenario table
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Scenario:
    name: str
    did: str  # what the target did, for CAPTURES.md
    command: list[str] | None = None  # plain program; None = shaped target
    expect_nonzero: tuple[str, ...] = ()  # smaps_rollup fields verified > 0
    show: tuple[str, ...] = ()  # smaps_rollup fields quoted in CAPTURES.md
    needs_hugetlb_pool: bool = False


SCENARIOS = [
    # Small baseline: a C program with few mappings.
    Scenario(
        "sleep",
        "execve `/bin/sleep 1000`; no shaping",
        command=["/bin/sleep", "1000"],
        show=("Rss", "Pss"),
    ),
    # A realistic interpreter: many shared-library mappings, file Pss.
    Scenario(
        "self-python",
        "execve `python3 -c 'import time; time.sleep(1000)'`; no shaping",
        command=[sys.executable, "-c", "import time; time.sleep(1000)"],
        show=("Rss", "Pss", "Pss_File"),
    ),
    Scenario(
        "anonymous",
        "mmap(64 MiB, RW, MAP_PRIVATE|MAP_ANONYMOUS); wrote the first 40 MiB; "
        "read (only) the next 8 MiB; last 16 MiB untouched",
        expect_nonzero=("Anonymous", "Private_Dirty"),
        show=("Rss", "Anonymous", "Private_Dirty"),
    ),
    Scenario(
        "shared-fork",
        "mmap(32 MiB, RW, MAP_SHARED|MAP_ANONYMOUS) and mmap(16 MiB, RW, "
        "MAP_PRIVATE|MAP_ANONYMOUS), both fully written; fork() x3; each child reads "
        "the whole shared region, child 0 also writes the first 1 MiB of the private "
        "region, then the children sleep; then the parent writes "
        "1 MiB at offset 8 MiB of the private region. Parent captured, parent and "
        "children frozen together",
        expect_nonzero=("Shared_Dirty", "Pss_Shmem"),
        show=("Rss", "Pss", "Pss_Anon", "Pss_Shmem", "Shared_Dirty", "Private_Dirty"),
    ),
    Scenario(
        "mlocked",
        "mmap(8 MiB, RW, MAP_PRIVATE|MAP_ANONYMOUS), written, mlock(8 MiB); "
        "4 MiB temp file mmap(4 MiB, PROT_READ, MAP_PRIVATE), read, mlock(4 MiB)",
        expect_nonzero=("Locked",),
        show=("Rss", "Locked"),
    ),
    Scenario(
        "madv-free",
        "mmap(32 MiB, RW, MAP_PRIVATE|MAP_ANONYMOUS), written; "
        "madvise(first 16 MiB, MADV_FREE); madvise(MADV_FREE) on an empty "
        "page to drain the per-CPU batch",
        expect_nonzero=("LazyFree",),
        show=("Rss", "Private_Dirty", "LazyFree"),
    ),
    Scenario(
        "deleted-file",
        "4 files of 64 KiB in the temporary directory: `file with blanks.bin`, "
        "`name with<LF>newline.bin` (a real newline byte), `latin1-<E9><FF>.bin` "
        "(raw bytes 0xE9 0xFF, not UTF-8), `trailing  ` (two trailing blanks); "
        "each mapped twice, mmap(64 KiB, RW, MAP_SHARED) "
        "written and mmap(64 KiB, PROT_READ, MAP_PRIVATE) read; the first two "
        'unlinked afterwards (" (deleted)")',
        show=("Rss", "Pss_File", "Shared_Dirty"),
    ),
    Scenario(
        "thp",
        "mmap(8 MiB, RW, MAP_PRIVATE|MAP_ANONYMOUS) trimmed to a 2 MiB boundary, "
        "madvise(8 MiB, MADV_HUGEPAGE), written (THP mode `madvise`)",
        expect_nonzero=("AnonHugePages",),
        show=("Rss", "AnonHugePages"),
    ),
    Scenario(
        "hugetlb",
        f"vm.nr_hugepages raised by {HUGETLB_PAGES_NEEDED} for the capture; "
        "mmap(4 MiB, RW, MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB), written; fork() x1, "
        "child reads it; then mmap(2 MiB, RW, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB), "
        "written. Parent captured, parent and child frozen together",
        expect_nonzero=("Shared_Hugetlb", "Private_Hugetlb"),
        show=("Shared_Hugetlb", "Private_Hugetlb"),
        needs_hugetlb_pool=True,
    ),
    Scenario(
        "many-small",
        f"mmap({SMALL_MAPPINGS} x 4 KiB, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); "
        f"mprotect(RW) on every second page ({SMALL_MAPPINGS // 2} calls); "
        "each RW page written",
        show=("Rss", "Private_Dirty"),
    ),
    Scenario(
        "anon-name",
        "mmap(1 MiB, RW, MAP_PRIVATE|MAP_ANONYMOUS), written; "
        f'prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 1 MiB, "{ANON_NAME.decode()}")',
        show=("Rss",),
    ),
]


# ---------------------------------------------------------------------------
# Consistency check of one smaps/smaps_rollup pair
# ---------------------------------------------------------------------------

# The pair is checked by smapsfmt itself (the rollup arithmetic of the ABI document and the
# kernel profiles), so that this tool keeps no second description of the format.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def count_mappings(smaps: bytes) -> int:
    import smapsfmt

    return len(smapsfmt.parse_smaps(smaps))


def rollup_fields(rollup: bytes) -> dict[str, int]:
    import smapsfmt

    return dict(smapsfmt.parse_rollup(rollup).fields)


def pair_problems(smaps: bytes, rollup: bytes) -> list[str]:
    import smapsfmt

    found = smapsfmt.check_rollup(smapsfmt.parse_smaps(smaps), smapsfmt.parse_rollup(rollup))
    return [d.render() for d in found if d.severity == "error"]


# ---------------------------------------------------------------------------
# Process control
# ---------------------------------------------------------------------------


def read_raw(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def proc_stat(pid: int) -> tuple[str, int]:
    """Return (state letter, utime + stime) from /proc/PID/stat."""
    data = read_raw(f"/proc/{pid}/stat")
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[11]) + int(fields[12])


def wait_idle(pid: int, timeout: float = 60.0) -> None:
    """Wait until PID sits in one blocking syscall without using CPU time.

    Shaped targets report readiness just before they call sleep; plain
    programs report nothing.  Either way the capture must not start while
    the target is still running its start-up code.
    """
    deadline = time.monotonic() + timeout
    previous, streak = None, 0
    while time.monotonic() < deadline:
        state, cpu = proc_stat(pid)
        try:
            syscall = read_raw(f"/proc/{pid}/syscall")
        except PermissionError:
            syscall = b""
        sample = (state, cpu, syscall)
        streak = streak + 1 if state == "S" and sample == previous else 0
        if streak >= 5:
            return
        previous = sample
        time.sleep(0.05)
    raise TimeoutError(f"process {pid} did not become idle")


def wait_stopped(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while proc_stat(pid)[0] != "T":
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} did not stop")
        time.sleep(0.005)


def await_report(proc: subprocess.Popen, fd: int, timeout: float = 120.0) -> str:
    """Read the one-line readiness report a shaped target writes to FD."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError(f"target {proc.pid} did not report readiness")
        readable, _, _ = select.select([fd], [], [], 0.2)
        if readable:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(
                    f"target {proc.pid} exited before reporting (status {proc.wait()})"
                )
            buf += chunk
        elif proc.poll() is not None:
            raise RuntimeError(f"target {proc.pid} exited with status {proc.returncode}")
    return buf.split(b"\n", 1)[0].decode()


def release(proc: subprocess.Popen, pids: list[int]) -> None:
    """Resume, kill and reap all target processes, whatever state they are in."""
    for sig in (signal.SIGCONT, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    proc.wait()
    # The target's own children were reparented to us (child subreaper)
    # when the target died.
    for pid in pids:
        if pid != proc.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


@dataclasses.dataclass
class Capture:
    scenario: Scenario
    when: str
    smaps: bytes
    rollup: bytes


def read_frozen_pair(pid: int, attempts: int = 5) -> tuple[bytes, bytes]:
    problems: list[str] = []
    for _ in range(attempts):
        smaps = read_raw(f"/proc/{pid}/smaps")
        rollup = read_raw(f"/proc/{pid}/smaps_rollup")
        problems = pair_problems(smaps, rollup)
        if not problems:
            return smaps, rollup
        print(f"  inconsistent pair, reading again: {'; '.join(problems)}", file=sys.stderr)
    raise RuntimeError(f"inconsistent smaps/smaps_rollup of {pid}: " + "; ".join(problems))


def run_target(scenario: Scenario, workdir: str) -> Capture:
    """Start the scenario's target, freeze it, read both files, clean up.

    Raises Unsupported if the target reports that the kernel lacks a feature.
    """
    if scenario.command is None:
        read_fd, write_fd = os.pipe()
        argv = [
            sys.executable,
            os.path.abspath(__file__),
            "--target",
            scenario.name,
            str(write_fd),
            workdir,
        ]
        pass_fds: tuple[int, ...] = (write_fd,)
    else:
        read_fd = write_fd = -1
        argv = scenario.command
        pass_fds = ()

    proc = subprocess.Popen(
        argv,
        pass_fds=pass_fds,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads here
    )
    pids = [proc.pid]
    try:
        if scenario.command is None:
            os.close(write_fd)
            report = await_report(proc, read_fd)
            kind, _, rest = report.partition(" ")
            if kind == "skip":
                raise Unsupported(rest)
            if kind != "ready":
                raise RuntimeError(f"unexpected report from target: {report!r}")
            pids = [int(pid) for pid in rest.split()]

        for pid in pids:
            wait_idle(pid)
        # Freeze every process that shares memory with the measured one:
        # their faults and exits would change Rss/Pss/Shared_* mid-read.
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        for pid in pids:
            wait_stopped(pid)
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        smaps, rollup = read_frozen_pair(pids[0])
    finally:
        if read_fd >= 0:
            os.close(read_fd)
        release(proc, pids)
    return Capture(scenario, when, smaps, rollup)


class HugetlbPool:
    """Temporarily add default-size huge pages to the hugetlb pool."""

    def __init__(self, extra: int):
        self.extra = extra
        self.old: int | None = None

    def __enter__(self) -> HugetlbPool:
        try:
            self.old = int(read_raw(NR_HUGEPAGES))
            with open(NR_HUGEPAGES, "w") as f:
                f.write(str(self.old + self.extra))
            now = int(read_raw(NR_HUGEPAGES))
        except OSError as exc:
            self.__exit__()
            raise Unsupported(f"cannot raise vm.nr_hugepages: {exc.strerror}") from exc
        if now < self.old + self.extra:
            self.__exit__()
            raise Unsupported(f"vm.nr_hugepages could only be raised to {now}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.old is not None:
            with open(NR_HUGEPAGES, "w") as f:
                f.write(str(self.old))
            self.old = None


def capture(scenario: Scenario, workdir: str) -> Capture:
    if scenario.needs_hugetlb_pool:
        with HugetlbPool(HUGETLB_PAGES_NEEDED):
            return run_target(scenario, workdir)
    return run_target(scenario, workdir)


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def filesystem_of(path: str) -> str:
    """Return "MOUNTPOINT (FSTYPE)" of the mount that holds PATH."""
    path = os.path.realpath(path)
    best = ("/", "unknown")
    with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
        for line in f:
            _, mountpoint, fstype = line.split()[:3]
            mountpoint = mountpoint.replace("\\040", " ")
            inside = path == mountpoint or path.startswith(mountpoint.rstrip("/") + "/")
            if inside and len(mountpoint) >= len(best[0]):
                best = (mountpoint, fstype)
    return f"{best[0]} ({best[1]})"


def md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_captures_md(outdir: str, captures: list[Capture], notes: list[str]) -> None:
    uname = os.uname()
    lines = [
        "# Live captures",
        "",
        "Byte-exact copies of `/proc/PID/smaps` and `/proc/PID/smaps_rollup` of",
        "processes that shaped their own memory, read while the target and every",
        "process sharing memory with it were stopped with SIGSTOP.",
        "Generated by `tools/capture_live.py`; sizes are bytes, hashes are SHA-256.",
        "",
        "| Scenario | What the target did | Kernel | Machine | Captured (UTC) | Mappings "
        "| smaps bytes | smaps sha256 | smaps_rollup bytes | smaps_rollup sha256 |",
        "|---|---|---|---|---|---:|---:|---|---:|---|",
    ]
    for cap in captures:
        lines.append(
            f"| `{cap.scenario.name}` | {md_cell(cap.scenario.did)} | {uname.release} "
            f"| {uname.machine} | {cap.when} | {count_mappings(cap.smaps)} | {len(cap.smaps)} "
            f"| `{sha256(cap.smaps)}` "
            f"| {len(cap.rollup)} | `{sha256(cap.rollup)}` |"
        )
    lines += ["", "## Selected smaps_rollup values", "", "| Scenario | Values |", "|---|---|"]
    for cap in captures:
        fields = rollup_fields(cap.rollup)
        shown = ", ".join(f"{name} {fields.get(name, 0)} kB" for name in cap.scenario.show)
        lines.append(f"| `{cap.scenario.name}` | {shown} |")
    lines += ["", "## Notes", ""]
    lines += [f"- {note}" for note in notes]
    lines.append("")
    with open(os.path.join(outdir, "CAPTURES.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--target":
        target_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "outdir",
        help="directory that receives <scenario>/smaps, <scenario>/smaps_rollup and CAPTURES.md",
    )
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        parser.error("this tool reads Linux /proc files")

    # Orphaned children of targets are reparented to this process, so it can
    # reap them itself.
    prctl(PR_SET_CHILD_SUBREAPER, 1)

    os.makedirs(args.outdir, exist_ok=True)
    captures: list[Capture] = []
    notes = ["`swap` not captured: the machine has no swap, so Swap/SwapPss stay 0."]
    workdir = tempfile.mkdtemp(prefix="smapsfmt-capture-")
    notes.append(
        f"Temporary files (mlocked, deleted-file) were created in `{workdir}` "
        f"on {filesystem_of(workdir)}, removed after the capture."
    )
    try:
        for scenario in SCENARIOS:
            print(f"capturing {scenario.name} ...", file=sys.stderr)
            try:
                cap = capture(scenario, workdir)
            except Unsupported as exc:
                notes.append(f"`{scenario.name}` not captured: {exc}.")
                print(f"  skipped: {exc}", file=sys.stderr)
                continue
            captures.append(cap)

            target_dir = os.path.join(args.outdir, scenario.name)
            os.makedirs(target_dir, exist_ok=True)
            for filename, data in (("smaps", cap.smaps), ("smaps_rollup", cap.rollup)):
                with open(os.path.join(target_dir, filename), "wb") as f:
                    f.write(data)

            fields = rollup_fields(cap.rollup)
            missing = [name for name in scenario.expect_nonzero if fields.get(name, 0) == 0]
            if missing:
                notes.append(
                    f"`{scenario.name}`: expected non-zero {', '.join(missing)} "
                    "but the kernel reported 0 kB."
                )
            elif scenario.expect_nonzero:
                got = ", ".join(f"{name} {fields[name]} kB" for name in scenario.expect_nonzero)
                notes.append(f"`{scenario.name}`: verified non-zero {got}.")
            print(f"  {count_mappings(cap.smaps)} mappings", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    write_captures_md(args.outdir, captures, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
