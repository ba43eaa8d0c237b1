"""Exact mode on this machine: a live process the test starts, shapes and freezes (SIGSTOP,
with every process sharing memory with it), its rollup Pss recomputed page by page from
/proc/PID/pagemap and /proc/kpagecount with the kernel's fixed-point rule.

Two targets. The first, tests/exact_target.c built static into a fresh file, shares no page
with any process outside its frozen group, so its mapcounts cannot change during the read: the
rollup must be proven equal. The second, a Python interpreter shaped the same way, shares its
libraries' pages with every Python process of the machine, whose starts and exits change their
mapcounts even while the target is stopped: there exact mode must prove the fields of the
group's own pages, and prove Pss or say that the rollup changed during the read.

Then what exact mode raises, on real processes: the live reader's typed errors wherever the
process is the cause (no such process, kernel thread, zombie, no access, exit or exec during
the read), ExactUnavailable only for the page files it alone needs."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from proc_targets import gated
from support import ROOT, run_cli

import smapsfmt
from smapsfmt import ExactPss, ExactUnavailable, exact_pss

# The fields exact mode reproduces from the pages (README: exact PSS).
REPRODUCED = ("Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Locked")

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not IS_ROOT, reason="exact mode reads /proc/kpagecount and page frames: root only"
)
NOBODY = 65534

MIB = 1 << 20

# The Python target: as tests/exact_target.c (see there), with the interpreter's libraries.
PYTHON_TARGET = r"""
import mmap, os, sys, time, ctypes
MIB = 1 << 20
shared = mmap.mmap(-1, 4 * MIB, flags=mmap.MAP_SHARED)
shared.write(b"s" * (4 * MIB))
private = mmap.mmap(-1, 4 * MIB, flags=mmap.MAP_PRIVATE)
private.write(b"p" * (4 * MIB))
huge = mmap.mmap(-1, 8 * MIB, flags=mmap.MAP_PRIVATE)
base = ctypes.addressof(ctypes.c_char.from_buffer(huge))
offset = (-base) % (2 * MIB)
huge.madvise(mmap.MADV_HUGEPAGE, offset, 4 * MIB)
huge[offset : offset + 4 * MIB] = b"h" * (4 * MIB)
locked = mmap.mmap(-1, 1 * MIB, flags=mmap.MAP_PRIVATE)
locked.write(b"l" * MIB)
libc = ctypes.CDLL(None, use_errno=True)
address = ctypes.addressof(ctypes.c_char.from_buffer(locked))
assert libc.mlock(ctypes.c_void_p(address), ctypes.c_size_t(MIB)) == 0
with open(sys.argv[1], "rb") as f:
    mapped = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    _ = sum(mapped[i] for i in range(0, len(mapped), 4096))
ready_r, ready_w = os.pipe()
children = []
for index in range(2):
    pid = os.fork()
    if pid == 0:
        _ = sum(shared[i] for i in range(0, len(shared), 4096))
        _ = sum(mapped[i] for i in range(0, len(mapped), 4096))
        if index == 0:
            private[: MIB] = b"c" * MIB
        os.write(ready_w, b"r")
        time.sleep(600)
        os._exit(0)
    children.append(pid)
assert len(os.read(ready_r, 1) + os.read(ready_r, 1)) == 2
print(" ".join(map(str, children)), flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def c_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler: the isolated target (tests/exact_target.c) cannot be built")
    binary = tmp_path_factory.mktemp("exact") / "exact_target"
    build = subprocess.run(
        [compiler, "-static", "-O1", "-o", str(binary), str(ROOT / "tests/exact_target.c")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if build.returncode != 0:
        pytest.skip(f"cannot build a static tests/exact_target.c: {build.stderr.strip()[:200]}")
    return binary


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return stat.read().rsplit(b")", 1)[1].split()[0] == b"T"


def _start(command: list[str]) -> Iterator[int]:
    """Start a target, stop it and its two children, yield its pid; kill all three after."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    children = [int(pid) for pid in proc.stdout.readline().split()]
    group = [proc.pid, *children]
    try:
        assert len(children) == 2, f"the target did not start (status {proc.poll()})"
        for pid in group:
            os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while not all(_stopped(pid) for pid in group):
            assert time.monotonic() < deadline, "the target did not stop"
            time.sleep(0.01)
        yield proc.pid
    finally:
        for pid in group:
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def data_file(tmp_path: Path, rng: random.Random) -> Path:
    data = tmp_path / "data.bin"
    data.write_bytes(rng.randbytes(2 * MIB))  # pages no other file shares
    return data


@pytest.fixture
def isolated(c_target: Path, data_file: Path) -> Iterator[int]:
    program = data_file.parent / "target"  # a fresh copy: its pages are this group's alone
    shutil.copyfile(c_target, program)
    program.chmod(0o755)
    yield from _start([str(program), str(data_file)])


@pytest.fixture
def python_target(data_file: Path) -> Iterator[int]:
    yield from _start([sys.executable, "-c", PYTHON_TARGET, str(data_file)])


@needs_root
def test_the_rollup_pss_equals_the_page_by_page_sum(isolated: int) -> None:
    result = exact_pss(isolated)
    report = "\n".join(result.report())
    assert result.limits == (), report  # CONFIG_PAGE_MAPCOUNT, page frames visible to root
    assert result.stable, report
    assert result.proven, report
    for name in REPRODUCED:  # Pss, its split into anon, file and shmem, and Locked
        assert result.equal(name), (name, report)
    rollup = result.rollup
    assert result.fields["Pss"] == rollup.pss
    # Not trivially: the fixed-point sum has a fraction, the rollup is above the sum of the
    # truncated per-mapping values, and the shaped memory is where it should be.
    assert result.fixed["Pss"] % (1 << 22) != 0
    assert rollup.pss > result.smaps_pss  # type: ignore[operator]
    assert rollup.anon_huge_pages >= 2048  # PMD-mapped THPs shared three ways: large folios
    assert rollup.locked == 341  # 1 MiB mlocked, COW-shared by three processes: 1024 / 3
    assert rollup.pss_shmem == 1365  # 4 MiB of shmem mapped by three processes: 4096 / 3
    # Each mapping's page walk gives the Rss and Pss that smaps printed for it.
    assert result.differing == (), report
    lines = result.report()
    assert lines[0] == (
        f"Pss: rollup {rollup.pss} kB, page by page {rollup.pss} kB "
        f"({result.fixed['Pss']} / 2^22): equal"
    )
    assert (
        "Pss_Dirty: not reproduced: a page is dirty by its PTE's dirty bit, which user space "
        "cannot read"
    ) in lines
    assert any(line.startswith("SwapPss: not reproduced: ") for line in lines)


@needs_root
def test_a_fresh_frozen_pair_is_proven_by_check_and_exact_mode(
    isolated: int, tmp_path: Path
) -> None:
    """A pair this test reads itself, from a process no other process shares a page with:
    `check` proves it within the intervals, exact mode pins Pss inside them."""
    (tmp_path / "smaps").write_bytes(Path(f"/proc/{isolated}/smaps").read_bytes())
    (tmp_path / "smaps_rollup").write_bytes(Path(f"/proc/{isolated}/smaps_rollup").read_bytes())
    result = run_cli("check", "--format", "json", "smaps", "smaps_rollup", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    proof = json.loads(result.stdout)
    assert proof["diagnostics"] == []
    assert all(item["verdict"] == "holds" for item in proof["fields"])
    pss = next(item for item in proof["fields"] if item["name"] == "Pss")
    low, high = pss["interval"]
    assert low < high  # smaps alone leaves Pss open ...
    exact = exact_pss(isolated)
    assert exact.proven and exact.fields["Pss"] == pss["value"]  # ... the pages close it


@needs_root
def test_a_process_sharing_libraries_is_proven_or_told_why_not(python_target: int) -> None:
    """Its own pages (anonymous, shmem, locked) are proven; Pss also when the libraries'
    mapcounts hold still long enough, else the report says that the rollup changed."""
    result = exact_pss(python_target, attempts=5)
    report = "\n".join(result.report())
    assert result.limits == (), report
    if result.stable:
        for name in ("Pss_Anon", "Pss_Shmem", "Locked"):
            assert result.equal(name), (name, report)
        assert result.rollup.locked == 341
    if not result.proven:
        assert not result.stable or result.differing, report
        if not result.stable:
            assert "the rollup changed during the read (the process is not still)" in report
    # Only mappings of pages other processes map too (files, the vDSO) can differ from smaps,
    # and only in Pss: the resident pages are the same.
    for mapping in result.differing:
        assert mapping.rss_kb == mapping.smaps_rss, report
        name = mapping.header.split(" ", 5)[-1]
        assert name.startswith("/") or name == "[vdso]", (mapping.header, report)


@needs_root
def test_a_rollup_that_differs_is_not_proven(isolated: int) -> None:
    result = exact_pss(isolated)
    assert result.proven
    wrong = smapsfmt.parse_rollup(
        b"00400000-00401000 ---p 00000000 00:00 0 [rollup]\n"
        + f"Rss: {result.rollup.rss} kB\nPss: {result.rollup.pss + 1} kB\n".encode()  # type: ignore[operator]
    )
    tampered: ExactPss = replace(result, rollup=wrong, rollup_after=wrong)
    assert not tampered.proven
    assert tampered.report()[0].endswith(": DIFFERENT")
    unstable = replace(result, rollup_after=wrong)
    assert not unstable.stable and not unstable.proven
    assert "the rollup changed during the read (the process is not still)" in unstable.report()


@needs_root
def test_this_kernel_counts_mapcounts_per_page() -> None:
    """Exact mode reproduces the kernel only with per-page mapcounts (CONFIG_PAGE_MAPCOUNT);
    this machine's kernel has them, and exact mode says so by finding no limit."""
    config = Path("/proc/config.gz")
    if not config.exists():
        pytest.skip("no /proc/config.gz: the kernel configuration is not visible")
    import gzip

    text = gzip.decompress(config.read_bytes()).decode("ascii", "replace")
    assert "CONFIG_PAGE_MAPCOUNT=y" in text.splitlines()
    assert exact_pss("self").limits == ()


# --- what exact mode raises: the live reader's typed errors, and its own for the rest -----------


def _a_kernel_thread() -> int:
    for entry in sorted(os.listdir("/proc"), key=lambda name: (len(name), name)):
        if entry.isdecimal():
            with contextlib.suppress(OSError):
                if "Kthread:\t1" in Path(f"/proc/{entry}/status").read_text():
                    return int(entry)
    pytest.fail("no kernel thread is visible in /proc (every Linux has kthreadd)")


def _raised(call: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as caught:  # compared by class and text by the caller
        call()
    return caught.value


def _same_error(pid: int | str) -> BaseException:
    """exact_pss(pid) raises what read_smaps(pid) raises: the same class, the same message."""
    expected = _raised(lambda: smapsfmt.read_smaps(pid))  # type: ignore[arg-type]
    got = _raised(lambda: exact_pss(pid))  # type: ignore[arg-type]
    assert (type(got), str(got)) == (type(expected), str(expected))
    return got


def test_a_pid_that_is_not_one_or_not_there_is_refused_as_read_smaps_refuses_it() -> None:
    for pid in (0, -1, "12"):
        error = _same_error(pid)  # type: ignore[arg-type]
        assert type(error) is ValueError
        assert str(error) == f"a pid is a positive int or 'self', not {pid!r}"
    missing = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # never a pid
    error = _same_error(missing)
    assert isinstance(error, smapsfmt.NoSuchProcessError) and error.exit_code == 4
    assert str(error) == f"no process {missing}: /proc/{missing} does not exist"


def test_a_kernel_thread_is_named_as_such() -> None:
    """kthreadd and its kind have no memory map: not a missing privilege."""
    pid = _a_kernel_thread()
    error = _same_error(pid)
    assert isinstance(error, smapsfmt.KernelThreadError) and error.exit_code == 7
    assert "root is needed" not in str(error)


def test_a_zombie_is_named_as_such() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_bytes().rpartition(b") ")[2][:1] != b"Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.005)
        error = _same_error(child.pid)
        assert isinstance(error, smapsfmt.ZombieProcessError) and error.exit_code == 8
    finally:
        child.wait()


def test_pid_1_of_this_machine_is_a_permission_error_as_for_read_smaps() -> None:
    """pid 1 here is the sandbox's own process, whose memory map the kernel refuses even to
    root (EACCES at open)."""
    try:
        os.close(os.open("/proc/1/smaps", os.O_RDONLY))
    except PermissionError:
        pass
    else:
        pytest.skip("pid 1 of this machine lets this reader read its memory map")
    error = _same_error(1)
    assert isinstance(error, smapsfmt.ProcPermissionError) and error.exit_code == 5


PR_SET_DUMPABLE = 4  # include/uapi/linux/prctl.h


def _as_nobody(work: Callable[[], str]) -> str:
    """What ``work`` returns in a fork of this process that became nobody (or what it raised,
    as ``Name: message``). Dumpable again, as any process nobody starts would be: a change of
    user makes a process undumpable, and its /proc/PID files root's (proc(5), "dumpable")."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the fork
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
            try:
                text = work()
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                text = f"{type(exc).__name__}: {exc}"
            os.write(write_end, text.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as said:
        text = said.read().decode()
    os.waitpid(pid, 0)
    return text


def _raise_name(call: Callable[[], object]) -> Callable[[], str]:
    def run() -> str:
        call()
        return "no error"

    return run


@pytest.mark.skipif(not IS_ROOT, reason="only root can start a reader as another user")
def test_another_users_process_and_the_page_files_without_root() -> None:
    """A reader that is not root: another user's process is a ProcPermissionError, as for
    read_smaps; its own process opens, and what only exact mode needs (/proc/kpageflags, mode
    0400 root) is the one ExactUnavailable."""
    with subprocess.Popen(["sleep", "1000"]) as child:
        try:
            smaps = _as_nobody(_raise_name(lambda: smapsfmt.read_smaps(child.pid)))
            exact = _as_nobody(_raise_name(lambda: exact_pss(child.pid)))
        finally:
            child.kill()
    assert smaps.startswith("ProcPermissionError: permission denied: ")
    assert exact == smaps
    own = _as_nobody(_raise_name(lambda: exact_pss("self")))
    assert own == (
        "ExactUnavailable: [Errno 13] cannot read /proc/kpageflags: Permission denied (root is "
        "needed)"
    )
    assert issubclass(ExactUnavailable, OSError)
    assert not issubclass(ExactUnavailable, smapsfmt.ProcError)


@needs_root
@pytest.mark.parametrize("how", ["exit", "exec"])
def test_an_exit_or_exec_during_the_page_walk_is_named(tmp_path: Path, how: str) -> None:
    """exact_pss runs in a fork held by ptrace once it has read the target's smaps whole (see
    proc_targets.gated); meanwhile the target exits, or calls exec. Let go, exact mode must say
    so, as read_smaps does, instead of walking pages that are gone or another program's."""
    pages = tmp_path / "pages"
    pages.write_bytes(bytes(200 * 4096))
    command = [sys.executable, str(ROOT / "tests/proc_targets.py"), "mappings", "200", str(pages)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "ready\n"
        size = len(Path(f"/proc/{child.pid}/smaps").read_bytes())
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()

        def act() -> None:
            if how == "exit":
                child.kill()
                child.wait()
                return
            assert child.stdin is not None
            child.stdin.write("exec\n")
            child.stdin.flush()
            deadline = time.monotonic() + 10
            while Path(f"/proc/{child.pid}/comm").read_text() != "sleep\n":
                assert time.monotonic() < deadline, "the target did not exec"
                time.sleep(0.005)

        def read() -> str:
            return f"complete: {exact_pss(child.pid).mappings} mappings"

        said, acted_at = gated(read, f"/proc/{child.pid}/smaps", lambda at: at >= size, act)
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        child.wait()
    assert acted_at == size, said
    if how == "exit":
        assert said == (
            f"ProcessExitedError: process {child.pid} ({comm}) exited while it was being read"
        )
    else:
        assert said == (
            f"ProcessExitedError: process {child.pid} ({comm}) exited or called exec while it "
            "was being read; what was read may be cut short, so it is not used"
        )
