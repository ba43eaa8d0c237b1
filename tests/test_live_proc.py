"""Reading live processes: every situation a real process can be in, shown on real processes
that these tests start and shape (tests/proc_targets.py), through the real /proc, and through
smapsfmt's public surface only: the library's ``__all__`` and the command line. Where a race or
an old kernel decides (a tracer or a stop between the checks and the freeze, a block that never
ends, a /proc/PID without smaps_rollup): test_live_edges.py. The helpers are in
live_support.py.

Each test first shows the kernel behaviour it relies on (measured here, Linux 6.18), then what
smapsfmt makes of it: a complete result, or its own exception, message and exit status.
No target is ever left stopped or traced: targets are SIGKILLed in ``finally`` blocks and die
with the test process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import itertools
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from live_support import (
    EXPIRED,
    IS_ROOT,
    MANY,
    NEEDS_ROOT,
    OWN,
    STOP_LIMIT,
    STOP_MARGIN,
    assert_let_go_while_stopped,
    assert_running_and_untraced,
    assert_still_stopped_then_resumed,
    cli_job,
    dead,
    holder,
    job,
    mappings_file,
    parent_of,
    state,
    status,
    stop_group,
    stop_mid_read,
    target,
    thread_states,
    threaded_target,
    tracer,
    wait_for,
    wait_let_go,
)
from proc_targets import gated
from support import ROOT, run_cli
from support import run_main as main_in_process

import smapsfmt

README = (ROOT / "README.md").read_text(encoding="utf-8")
NOBODY = 65534

# --- helpers ----------------------------------------------------------------------------------


def cli_error(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.stdout == b""
    return result.stderr.decode()


def in_forked_child(work: Callable[[], int], *, timeout: float = 60) -> tuple[int, str]:
    """Run ``work`` in a fork of this process; its exit status and what it wrote.

    A fork, not a new interpreter: it can drop to another user (setuid) or enter its own mount
    namespace and still run the smapsfmt already loaded here.
    """
    # Everything a live read loads (parser, models, the freeze), loaded here by reading this
    # process once.
    assert len(smapsfmt.snapshot("self").smaps) > 0
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            os.close(read_end)
            os.dup2(write_end, 1)
            os.dup2(write_end, 2)
            sys.stdout = os.fdopen(1, "w", closefd=False)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            code = work()
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException as exc:  # noqa: BLE001 - report, never return into pytest
            os.write(2, f"child failed: {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while select.select([read_end], [], [], max(deadline - time.monotonic(), 0))[0]:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), b"".join(chunks).decode()


def run_main(*argv: str) -> Callable[[], int]:
    """``smapsfmt ARGV`` in this process (python -m smapsfmt's entry point): its status."""
    return lambda: main_in_process(*argv)


# --- no such process, vanished, reused --------------------------------------------------------


def test_a_pid_that_does_not_exist() -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    pid = pid_max + 1  # never a pid
    with pytest.raises(smapsfmt.NoSuchProcessError) as caught:
        smapsfmt.read_smaps(pid)
    assert str(caught.value) == f"no process {pid}: /proc/{pid} does not exist"
    assert caught.value.errno == errno.ENOENT and isinstance(caught.value, ProcessLookupError)
    result = run_cli("parse", "--pid", str(pid))
    assert result.returncode == 4
    assert cli_error(result) == f"smapsfmt: error: no process {pid}: /proc/{pid} does not exist\n"


def _held_dir(pid: int) -> int:
    """An fd of /proc/PID taken by the test itself, to show what the kernel does."""
    return os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY)


def _every_read_raises(proc: smapsfmt.Process, error: type[Exception]) -> list[Exception]:
    """Each read of ``proc`` raises ``error``: the errors, in the order of the reads."""
    caught = []
    for read in (
        proc.read_smaps,
        proc.read_rollup,
        proc.snapshot,
        lambda: proc.read_file("smaps"),
    ):
        with pytest.raises(error) as one:
            read()
        caught.append(one.value)
    return caught


def test_a_process_that_vanishes_is_reported_through_the_held_directory() -> None:
    """The /proc/PID directory is held (smapsfmt.Process); the process is killed and reaped;
    every later open through the held fd fails with ESRCH (kernel), and every read of the
    Process says the process exited."""
    with target("threads", "2", "-") as child:
        kernel = _held_dir(child.pid)
        proc = smapsfmt.Process(child.pid)
        comm = proc.comm
        try:
            child.kill()
            child.wait()
            with pytest.raises(ProcessLookupError):  # the kernel: ESRCH through the held fd
                os.open("smaps", os.O_RDONLY, dir_fd=kernel)
            caught = _every_read_raises(proc, smapsfmt.ProcessExitedError)
            for bad in (proc.snapshot, proc.frozen):  # a bad time limit: before the process
                with pytest.raises(ValueError) as refused:
                    bad(timeout=0)
                assert str(refused.value) == (
                    "the freeze time limit must be a finite number of seconds above 0, not 0"
                )
        finally:
            proc.close()
            os.close(kernel)
    assert proc.closed and repr(proc) == "Process(closed)"
    assert comm.startswith("python")
    for error in caught:  # found, then gone before any read began
        assert str(error) == f"process {child.pid} ({comm}) exited before it could be read"
        assert error.exit_code == 9
    with pytest.raises(smapsfmt.NoSuchProcessError):  # and afterwards: no such process
        smapsfmt.read_smaps(child.pid)


def _take_pid(pid: int) -> subprocess.Popen[bytes] | None:
    """Start ``sleep`` as ``pid`` (free now), by setting ns_last_pid just below it."""
    for _ in range(50):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        child = subprocess.Popen(["sleep", "1000"])
        if child.pid == pid:
            return child
        child.kill()
        child.wait()
    return None


@pytest.mark.skipif(not IS_ROOT, reason=NEEDS_ROOT)
def test_a_reused_pid_is_never_read_in_place_of_the_first_process() -> None:
    """A real pid reuse: the first process is killed and reaped, then a new process is started
    with the same pid (root may set /proc/sys/kernel/ns_last_pid). Re-opening /proc/PID/smaps
    silently reads the new process (kernel); the fd of /proc/PID taken before refuses with
    ESRCH, and smapsfmt.Process names the situation, reading only the new process's stat to
    tell."""
    with target("threads", "2", "-") as first:
        kernel = _held_dir(first.pid)
        proc = smapsfmt.Process(first.pid)
        comm = proc.comm
        first.kill()
        first.wait()
    try:
        second = _take_pid(first.pid)
        assert second is not None, f"pid {first.pid} could not be taken again in 50 tries"
        try:
            wait_for(lambda: Path(f"/proc/{first.pid}/comm").read_text() == "sleep\n", "exec")
            fresh = Path(f"/proc/{first.pid}/smaps").read_bytes()  # the kernel: no complaint
            assert b"/sleep" in fresh and b"python" not in fresh
            with pytest.raises(ProcessLookupError):
                os.open("smaps", os.O_RDONLY, dir_fd=kernel)
            caught = _every_read_raises(proc, smapsfmt.PidReusedError)
        finally:
            second.kill()
            second.wait()
    finally:
        proc.close()
        os.close(kernel)
    assert comm.startswith("python")
    for error in caught:
        assert str(error) == (
            f"process {first.pid} ({comm}) exited and its pid now belongs to another "
            "process (sleep); nothing was read from it"
        )
        assert error.exit_code == 10


# --- kernel thread, zombie --------------------------------------------------------------------


def _a_kernel_thread() -> int:
    for entry in sorted(os.listdir("/proc"), key=lambda name: (len(name), name)):
        if entry.isdecimal():
            with contextlib.suppress(OSError):
                if "Kthread:\t1" in Path(f"/proc/{entry}/status").read_text():
                    return int(entry)
    pytest.fail("no kernel thread is visible in /proc (every Linux has kthreadd)")


def test_a_kernel_thread_has_no_memory_map() -> None:
    pid = _a_kernel_thread()
    comm = Path(f"/proc/{pid}/comm").read_text().strip()
    assert Path(f"/proc/{pid}/smaps").read_bytes() == b""  # the kernel: opens, reads nothing
    with pytest.raises(ProcessLookupError):  # and smaps_rollup fails at open with ESRCH
        os.open(f"/proc/{pid}/smaps_rollup", os.O_RDONLY)
    message = (
        f"process {pid} ({comm}) is a kernel thread: it has no memory map (its smaps is empty "
        "and it has no smaps_rollup)"
    )
    for read in (smapsfmt.read_smaps, smapsfmt.read_rollup, smapsfmt.snapshot):
        with pytest.raises(smapsfmt.KernelThreadError) as caught:
            read(pid)
        assert str(caught.value) == message and caught.value.smaps == b""
    with smapsfmt.Process(pid) as proc:  # held: its directory opens, its memory map is refused
        for held in (proc.read_smaps, proc.read_rollup, proc.snapshot, proc.frozen):
            with pytest.raises(smapsfmt.KernelThreadError) as caught:
                held()
            assert str(caught.value) == message
    result = run_cli("parse", "--pid", str(pid))
    assert result.returncode == 7
    assert cli_error(result) == f"smapsfmt: error: {message}\n"


def test_a_zombie_has_no_memory_map_left() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        wait_for(lambda: thread_states(child.pid).get(child.pid) == "Z", "the child to exit")
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()
        assert Path(f"/proc/{child.pid}/smaps").read_bytes() == b""
        with pytest.raises(ProcessLookupError):
            os.open(f"/proc/{child.pid}/smaps_rollup", os.O_RDONLY)
        message = (
            f"process {child.pid} ({comm}) is a zombie: it has exited and has no memory map "
            "left (its parent has not reaped it yet)"
        )
        for read in (smapsfmt.read_smaps, smapsfmt.read_rollup, smapsfmt.snapshot):
            with pytest.raises(smapsfmt.ZombieProcessError) as caught:
                read(child.pid)
            assert str(caught.value) == message
        result = run_cli("parse", "--pid", str(child.pid))
        assert result.returncode == 8
        assert cli_error(result) == f"smapsfmt: error: {message}\n"
    finally:
        child.wait()


# --- exit and exec during the read ------------------------------------------------------------


def test_what_the_kernel_gives_when_the_target_exits_mid_read(tmp_path: Path) -> None:
    pages = mappings_file(tmp_path, MANY)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        rollup = os.open(f"/proc/{child.pid}/smaps_rollup", os.O_RDONLY)
        smaps = os.open(f"/proc/{child.pid}/smaps", os.O_RDONLY)
        try:
            text = os.read(smaps, 1 << 20)
            assert 0 < len(text) <= 8192  # one kernel buffer per read
            os.kill(child.pid, signal.SIGKILL)  # not reaped yet: a zombie
            wait_for(lambda: thread_states(child.pid).get(child.pid) == "Z", "the exit")
            while chunk := os.read(smaps, 1 << 20):  # the kernel: buffered text, then EOF
                text += chunk
            with pytest.raises(ProcessLookupError):  # the rollup, opened before: ESRCH
                os.read(rollup, 1 << 20)
        finally:
            os.close(smaps)
            os.close(rollup)
    cut = smapsfmt.parse_smaps(text)  # whole blocks only: the text cannot show the cut
    assert 1 <= len(cut) < MANY
    assert cut[-1].vmflags is not None and text.endswith(b"\n")


def _outcome(pid: int, name: bytes) -> Callable[[], str]:
    """The public reader, as the gated fork runs it: how many mappings of ``name`` it gave."""

    def read() -> str:
        smaps = smapsfmt.read_smaps(pid)
        return f"complete: {sum(1 for m in smaps if m.pathname == name)} mappings"

    return read


@pytest.mark.parametrize("at", ["after its first read", "after its last read of smaps"])
@pytest.mark.parametrize("how", ["exit", "exec"])
def test_the_public_reader_held_mid_read_while_the_target_exits_or_execs(
    tmp_path: Path, at: str, how: str
) -> None:
    """read_smaps runs in a fork held by ptrace between two of its system calls (see
    proc_targets.gated), once it has read part of smaps, or all of it but not yet the rollup;
    meanwhile the target exits (killed and reaped) or calls exec. Let go, the reader must
    report it, never return the part it read: a race made deterministic."""
    pages = mappings_file(tmp_path, MANY)
    name = os.fsencode(pages)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        size = len(Path(f"/proc/{child.pid}/smaps").read_bytes())  # the whole text, as read
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()

        def act() -> None:
            if how == "exit":
                child.kill()
                child.wait()
            else:
                assert child.stdin is not None
                child.stdin.write("exec\n")
                child.stdin.flush()
                wait_for(lambda: Path(f"/proc/{child.pid}/comm").read_text() == "sleep\n", "exec")

        def when(position: int) -> bool:
            return position >= size if at.endswith("smaps") else position > 0

        said, acted_at = gated(_outcome(child.pid, name), f"/proc/{child.pid}/smaps", when, act)
    assert acted_at is not None, said
    if at.endswith("smaps"):
        assert acted_at == size
    else:
        assert 0 < acted_at < size  # mid-read, by construction: one kernel buffer was read
    if how == "exit":
        assert said == (
            f"ProcessExitedError: process {child.pid} ({comm}) exited while it was being read"
        )
    else:
        assert said == (
            f"ProcessExitedError: process {child.pid} ({comm}) exited or called exec while it "
            "was being read; what was read may be cut short, so it is not used"
        )


def test_a_read_racing_an_exit_never_returns_a_short_result(
    tmp_path: Path, rng: random.Random
) -> None:
    """The public reader against targets killed at random moments around the read: every
    outcome is all the mappings or an exception, never a part (whether a kill lands mid-read
    is luck here: the held reader above makes that case certain)."""
    pages = mappings_file(tmp_path, MANY)
    name = os.fsencode(pages)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        smapsfmt.snapshot(child.pid, freeze=False)  # warm
        start = time.perf_counter()
        smapsfmt.snapshot(child.pid, freeze=False)
        duration = time.perf_counter() - start  # the read alone, without parsing
        assert sum(1 for m in smapsfmt.read_smaps(child.pid) if m.pathname == name) == MANY
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sum(outcomes.values()) < 20:
        with target("mappings", str(MANY), str(pages), stdin=True) as child:
            killer = threading.Timer(rng.uniform(0, duration), os.kill, (child.pid, 9))
            killer.start()
            try:
                smaps = smapsfmt.read_smaps(child.pid)
                assert sum(1 for m in smaps if m.pathname == name) == MANY
                outcome = "complete"
            except (smapsfmt.ProcessExitedError, smapsfmt.ZombieProcessError) as exc:
                outcome = type(exc).__name__  # a zombie: killed before the read began
            finally:
                killer.join()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) >= 1, outcomes


# --- permission, hidepid, /proc not mounted ---------------------------------------------------


def test_pid_1_of_this_machine_refuses_even_root() -> None:
    """On this machine pid 1 is the sandbox's own process, whose memory map the kernel refuses
    even to root (EACCES at open): a real "permission denied" for any reader."""
    try:
        os.close(os.open("/proc/1/smaps", os.O_RDONLY))
    except PermissionError:
        pass
    else:
        pytest.skip("pid 1 of this machine lets this reader read its memory map")
    with pytest.raises(smapsfmt.ProcPermissionError) as caught:
        smapsfmt.read_smaps(1)
    assert isinstance(caught.value, PermissionError) and caught.value.errno == errno.EACCES
    result = run_cli("parse", "--pid", "1")
    assert result.returncode == 5
    assert cli_error(result) == (
        "smapsfmt: error: permission denied: /proc/1/smaps: reading a process's memory "
        "map needs ptrace-read access to it (the same user, or CAP_SYS_PTRACE), which this "
        "reader does not have\n"
    )


def _as_nobody(work: Callable[[], int]) -> Callable[[], int]:
    def run() -> int:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return work()

    return run


@pytest.mark.skipif(not IS_ROOT, reason=NEEDS_ROOT)
def test_an_unprivileged_reader_of_a_root_process(tmp_path: Path) -> None:
    with target("threads", "2", "-") as child:

        def kernel() -> int:
            try:
                os.open(f"/proc/{child.pid}/smaps", os.O_RDONLY)
            except PermissionError:
                return 0
            return 1

        assert in_forked_child(_as_nobody(kernel)) == (0, "")  # the kernel: EACCES at open

        def checked_at_open_only() -> int:
            fd = os.open(f"/proc/{child.pid}/smaps", os.O_RDONLY)  # as root
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            return 0 if os.read(fd, 1 << 16).count(b"VmFlags") > 1 else 1

        assert in_forked_child(checked_at_open_only) == (0, "")

        def library() -> int:
            try:
                smapsfmt.read_smaps(child.pid)
            except smapsfmt.ProcPermissionError as exc:
                print(exc)
                return exc.exit_code
            return 0

        code, said = in_forked_child(_as_nobody(library))
        assert code == 5
        assert said == (
            f"permission denied: /proc/{child.pid}/smaps: reading a process's memory "
            "map needs ptrace-read access to it (the same user, or CAP_SYS_PTRACE), which this "
            "reader does not have\n"
        )
        code, cli_said = in_forked_child(_as_nobody(run_main("parse", "--pid", str(child.pid))))
        assert (code, cli_said) == (5, f"smapsfmt: error: {said}")


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18


def _own_proc(options: str | None, fstype: str = "proc") -> None:
    """In this (forked) process: a mount namespace of its own, with /proc remounted."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    data = options.encode() if options else None
    if _libc.mount(fstype.encode(), b"/proc", fstype.encode(), 0, data) != 0:
        raise OSError(ctypes.get_errno(), f"mount -t {fstype} /proc")


@functools.cache
def _can_mount_proc() -> bool:
    if not IS_ROOT:
        return False
    code, _ = in_forked_child(lambda: _own_proc("hidepid=invisible") or 0)
    return code == 0


@pytest.fixture
def own_proc_allowed() -> None:
    if not _can_mount_proc():
        pytest.skip("needs root, allowed to mount a procfs in a mount namespace of its own")


@pytest.mark.usefixtures("own_proc_allowed")
@pytest.mark.parametrize(
    ("hidepid", "kernel", "message"),
    [
        (
            "invisible",
            "ENOENT",
            "no process {pid} is visible: it does not exist, or /proc (mounted with "
            "hidepid=invisible) hides it from this user",
        ),
        (
            "noaccess",
            "EPERM",
            "process {pid} is hidden: /proc is mounted with hidepid=noaccess, which refuses "
            "other users' processes",
        ),
    ],
)
def test_a_process_hidden_by_hidepid(hidepid: str, kernel: str, message: str) -> None:
    """A procfs of its own, mounted with hidepid in a private mount namespace of a forked
    reader that then becomes nobody: the machine's /proc is not touched."""
    with target("threads", "2", "-") as child:

        def reader() -> int:
            _own_proc(f"hidepid={hidepid}")
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                os.open(f"/proc/{child.pid}/smaps", os.O_RDONLY)
            except OSError as exc:  # the kernel's answer
                print(errno.errorcode[exc.errno], flush=True)
            return run_main("parse", "--pid", str(child.pid))()

        code, said = in_forked_child(reader)
    assert code == 6
    assert said == f"{kernel}\nsmapsfmt: error: " + message.format(pid=child.pid) + "\n"


@pytest.mark.usefixtures("own_proc_allowed")
def test_proc_not_mounted() -> None:
    """A tmpfs over /proc, in a private mount namespace of a forked reader."""

    def reader() -> int:
        _own_proc(None, fstype="tmpfs")
        return run_main("parse", "--pid", "self")()

    code, said = in_forked_child(reader)
    assert code == 6
    assert said == (
        "smapsfmt: error: cannot read process self: /proc is not mounted (procfs is needed to "
        "read live processes)\n"
    )


# --- freezing ---------------------------------------------------------------------------------


def test_a_frozen_snapshot_of_a_multithreaded_target_agrees(tmp_path: Path) -> None:
    """Frozen throughout, so smaps and smaps_rollup agree; the target runs on afterwards,
    untraced. (Held while the test looks:
    test_a_multithreaded_target_is_held_by_a_freeze_and_released.)"""
    with threaded_target(tmp_path) as (pid, counter):
        assert len(thread_states(pid)) == 16
        snap = smapsfmt.snapshot(pid)
        assert (snap.frozen, snap.consistent, snap.note) == (True, True, None)
        totals = snap.smaps.totals()
        assert snap.rollup is not None
        for name in OWN:
            assert snap.rollup.fields.get(name) == totals.get(name), name
        assert_running_and_untraced(pid, counter)


def test_frozen_pairs_agree_and_unfrozen_pairs_do_not() -> None:
    """A target that maps, touches and unmaps memory without pause: frozen, smaps and
    smaps_rollup agree on every field that only the target changes, every time, and show no
    mapping twice; unfrozen, they disagree (the kernel measures them at different moments)."""
    with target("churn", "3") as child:
        for _ in range(20):
            snap = smapsfmt.snapshot(child.pid)
            assert snap.frozen and snap.rollup is not None
            totals = snap.smaps.totals()
            assert [snap.rollup.fields.get(n) for n in OWN] == [totals.get(n) for n in OWN]
            ranges = [(m.start, m.end) for m in snap.smaps]
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(ranges))
        disagreements = 0
        for _ in range(50):
            loose = smapsfmt.snapshot(child.pid, freeze=False)
            assert (loose.frozen, loose.consistent) == (False, False)
            assert loose.note == "not frozen: freezing was not asked for"
            assert loose.rollup is not None
            disagreements += loose.rollup.rss != loose.smaps.totals()["Rss"]
        assert disagreements > 0


def test_sigkill_of_smapsfmt_while_frozen_lets_the_target_go(tmp_path: Path) -> None:
    with threaded_target(tmp_path) as (pid, counter):
        with holder(pid) as frozen_by:
            assert set(thread_states(pid).values()) == {"t"}
            holder_pid = tracer(pid)
            assert parent_of(holder_pid) == frozen_by.pid
            frozen_at = counter()
            time.sleep(0.1)
            assert counter() == frozen_at
            frozen_by.send_signal(signal.SIGKILL)
            frozen_by.wait()
        # The kernel killed the holder when its parent died, and detached every thread when
        # the holder died: the detach comes in the holder's exit, before its last steps.
        wait_let_go(pid)
        wait_for(lambda: dead(holder_pid), f"the holder {holder_pid} to have died")
        assert_running_and_untraced(pid, counter)


LOOPER = """
import sys
from smapsfmt import snapshot
print("looping", flush=True)
while True:
    snapshot(int(sys.argv[1]))
"""


def test_sigkill_at_any_moment_never_leaves_the_target_stopped(
    tmp_path: Path, rng: random.Random
) -> None:
    """smapsfmt snapshots the target in a loop and is SIGKILLed at random moments."""
    with threaded_target(tmp_path) as (pid, counter):
        for _ in range(15):
            child = subprocess.Popen(
                [sys.executable, "-c", LOOPER, str(pid)], stdout=subprocess.PIPE, text=True
            )
            try:
                assert child.stdout is not None and child.stdout.readline() == "looping\n"
                time.sleep(rng.uniform(0.0, 0.05))
            finally:
                child.send_signal(signal.SIGKILL)
                child.wait()
            wait_let_go(pid)
            assert_running_and_untraced(pid, counter)


def test_an_already_traced_target_is_read_unfrozen_and_said_so(tmp_path: Path) -> None:
    with threaded_target(tmp_path, count=2) as (pid, _), holder(pid) as frozen_by:
        holder_pid = tracer(pid)  # the other smapsfmt's holder process
        assert parent_of(holder_pid) == frozen_by.pid
        snap = smapsfmt.snapshot(pid)
        assert (snap.frozen, snap.consistent) == (False, False)
        assert snap.note == f"not frozen: it is already traced by process {holder_pid}"
        assert len(snap.smaps) > 10 and snap.rollup is not None
        # (A tracer that attaches after that check: PTRACE_SEIZE says no, test_live_edges.py.)
        assert tracer(pid) == holder_pid  # the other tracer keeps it
        assert tracer(pid) == holder_pid  # the other tracer keeps it
        result = run_cli("parse", "--pid", str(pid))
        assert result.returncode == 0 and result.stdout.endswith(b" mappings\n")
        assert result.stderr.decode() == (
            f"smapsfmt: warning: process {pid} not frozen: it is already traced by process "
            f"{holder_pid}: the text may be inconsistent\n"
        )


def test_a_target_stopped_by_someone_else_stays_stopped(tmp_path: Path) -> None:
    with threaded_target(tmp_path, count=4) as (pid, counter):
        stop_group(pid)
        snap = smapsfmt.snapshot(pid)
        assert (snap.frozen, snap.consistent) == (False, True)
        assert snap.note == (
            "not frozen: it was already stopped (state T) by someone else and is left as "
            "found; it stayed stopped during the read"
        )
        assert_still_stopped_then_resumed(pid, counter)
    # (Stopped after the check, then frozen and released by ptrace, it is not resumed:
    # test_live_edges.py.)


def test_a_snapshot_past_its_time_limit_says_it_was_not_frozen(tmp_path: Path) -> None:
    """A limit far shorter than the read: the target is let go mid-read and the snapshot says
    so. The limit is kept by the freezer's holder process, which a busy machine can delay: the
    read is repeated until the expiry is seen (it is at once)."""
    pages = mappings_file(tmp_path, MANY)
    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        for _ in range(20):
            snap = smapsfmt.snapshot(child.pid, timeout=0.0001)
            assert status(child.pid, "TracerPid") == "0"
            assert set(thread_states(child.pid).values()) <= {"S", "R"}
            if not snap.frozen:
                break
        assert (snap.frozen, snap.consistent) == (False, False)
        assert snap.note in (
            "not frozen throughout: the time limit (0.0001 s) expired before the read ended, "
            "and the process was let go",
            f"not frozen: thread {child.pid} did not stop within the time limit (0.0001 s)",
            "not frozen: the time limit (0.0001 s) expired before the freeze started",
        )


def test_a_time_limit_must_be_finite_and_above_zero(tmp_path: Path) -> None:
    """No thread can wait an infinite time (Event.wait raises OverflowError), and a limit of 0,
    below 0 or NaN bounds nothing: each is refused before the target is touched."""
    with threaded_target(tmp_path, count=2) as (pid, counter):
        for bad in (float("inf"), float("-inf"), float("nan"), 0, -1.0):
            with pytest.raises(ValueError) as caught:
                smapsfmt.snapshot(pid, timeout=bad)
            assert str(caught.value) == (
                f"the freeze time limit must be a finite number of seconds above 0, not {bad!r}"
            )
        assert_running_and_untraced(pid, counter)


LIMIT_PROBE = """
import sys
from smapsfmt import snapshot
snap = snapshot(int(sys.argv[1]), timeout=float(sys.argv[2]))
print(snap.frozen, snap.consistent, snap.note)
"""


def test_a_huge_time_limit_is_capped_at_what_a_thread_can_wait(tmp_path: Path) -> None:
    """1e308 s is finite, but a thread can wait at most threading.TIMEOUT_MAX (about 292
    years): the limit is capped there and the snapshot is frozen for real, with nothing on
    stderr (run in a process of its own, whose stderr is seen whole)."""
    with threaded_target(tmp_path, count=4) as (pid, counter):
        probe = subprocess.run(
            [sys.executable, "-c", LIMIT_PROBE, str(pid), "1e308"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert (probe.returncode, probe.stdout, probe.stderr) == (0, "True True None\n", "")
        result = run_cli("parse", "--pid", str(pid), "--freeze-timeout", "1e308")
        assert result.returncode == 0 and result.stderr == b""
        assert result.stdout.endswith(b" mappings\n")
        assert_running_and_untraced(pid, counter)


def test_a_failure_of_the_freezer_is_never_a_claim_of_frozen(tmp_path: Path) -> None:
    """Whatever ends the holder while it holds the target ends the hold, and the hold is not
    claimed. A real failure: the holder is SIGKILLed (as the OOM killer or a careless ``kill``
    would) while the reader is held in the middle of its read of smaps: the snapshot says it
    was not frozen throughout. (Its holder killed during a block of Process.frozen():
    test_a_killed_holder_is_never_a_claim_of_frozen.)"""
    pages = mappings_file(tmp_path, MANY)
    killed: list[int] = []

    def kill_the_holder() -> None:
        killed.append(tracer(child.pid))
        os.kill(killed[0], signal.SIGKILL)

    def read() -> str:
        snap = smapsfmt.snapshot(child.pid)
        return f"{snap.frozen} {snap.consistent} {len(snap.smaps)} {snap.note}"

    with target("mappings", str(MANY), str(pages), stdin=True) as child:
        outcome, at = gated(read, f"/proc/{child.pid}/smaps", lambda at: at > 0, kill_the_holder)
        assert at is not None and at > 0
        assert outcome == (
            f"False False {len(smapsfmt.read_smaps(child.pid))} not frozen "
            f"throughout: the freezing process {killed[0]} was killed by SIGKILL before it "
            "reported; the kernel let the process go"
        )
        wait_let_go(child.pid)


def test_smapsfmt_stopped_mid_read_lets_the_target_go_at_the_time_limit(tmp_path: Path) -> None:
    """``kill -STOP`` of smapsfmt's job (SIGSTOP: it cannot be caught) in the middle of a
    frozen read: the target runs again once the time limit has passed, while smapsfmt is still
    stopped. Continued, smapsfmt finishes and warns that the limit cut the freeze short."""
    pages = mappings_file(tmp_path, MANY)
    with (
        target("mappings", str(MANY), str(pages), stdin=True) as child,
        cli_job(child.pid) as reader,
    ):
        seen = stop_mid_read(reader.pid, child.pid, lambda: os.killpg(reader.pid, signal.SIGSTOP))
        assert_let_go_while_stopped(reader.pid, child.pid, seen)
        os.killpg(reader.pid, signal.SIGCONT)
        out, err = reader.communicate(timeout=60)
        assert (reader.returncode, out.endswith(b" mappings\n")) == (0, True)
        assert err.decode() == (
            f"smapsfmt: warning: process {child.pid} {EXPIRED}: the text may be inconsistent\n"
        )


def test_ctrl_z_during_a_frozen_read_stops_smapsfmt_once_the_target_is_let_go(
    tmp_path: Path,
) -> None:
    """SIGTSTP (Ctrl-Z) sent to smapsfmt's job in the middle of a frozen read is held back:
    the read ends frozen, the target is let go, and then smapsfmt stops. Continued, it
    finishes with a consistent text, and says nothing."""
    pages = mappings_file(tmp_path, MANY)
    with (
        target("mappings", str(MANY), str(pages), stdin=True) as child,
        cli_job(child.pid, limit=60) as reader,
    ):
        stop_mid_read(reader.pid, child.pid, lambda: os.killpg(reader.pid, signal.SIGTSTP))
        wait_for(lambda: state(reader.pid).startswith("T (stopped)"), "smapsfmt to stop")
        # Stopped only now, after it let the target go: far within the limit of 60 s.
        assert status(child.pid, "TracerPid") == "0"
        assert set(thread_states(child.pid).values()) <= {"S", "R"}
        os.killpg(reader.pid, signal.SIGCONT)
        out, err = reader.communicate(timeout=60)
        assert (reader.returncode, out.endswith(b" mappings\n"), err) == (0, True, b"")

    # The handler it found is the one it leaves.
    def mine(signum: int, frame: object) -> None: ...

    previous = signal.signal(signal.SIGTSTP, mine)
    try:
        with threaded_target(tmp_path, count=2) as (pid, _):
            assert smapsfmt.snapshot(pid).frozen
            assert signal.getsignal(signal.SIGTSTP) is mine
    finally:
        signal.signal(signal.SIGTSTP, previous)


SNAPSHOT_IN_A_THREAD = """
import sys, threading
from smapsfmt import snapshot
out = []
def read():
    sys.stdin.readline()
    snap = snapshot(int(sys.argv[1]), timeout=float(sys.argv[2]))
    out.append(f"{snap.frozen} {snap.consistent} {snap.note}")
reader = threading.Thread(target=read)
reader.start()
print(reader.native_id, flush=True)
reader.join()
print(out[0])
"""


def test_ctrl_z_of_a_program_reading_in_another_thread_cannot_outlast_the_limit(
    tmp_path: Path,
) -> None:
    """A program that takes a snapshot in a thread other than its main one cannot have its
    SIGTSTP held back (only the main thread sets handlers): Ctrl-Z stops it in the middle of
    the frozen read, the target runs again at the time limit, and the snapshot, once the
    program is continued, says it was not frozen throughout."""
    pages = mappings_file(tmp_path, MANY)
    with (
        target("mappings", str(MANY), str(pages), stdin=True) as child,
        job("-c", SNAPSHOT_IN_A_THREAD, str(child.pid), f"{STOP_LIMIT:g}", stdin=True) as reader,
    ):
        assert reader.stdout is not None and reader.stdin is not None
        tid = int(reader.stdout.readline())
        stdin = reader.stdin

        def go() -> None:
            stdin.write(b"go\n")
            stdin.flush()

        seen = stop_mid_read(
            reader.pid, child.pid, lambda: os.killpg(reader.pid, signal.SIGTSTP), tid, traced=go
        )
        assert_let_go_while_stopped(reader.pid, child.pid, seen)
        os.killpg(reader.pid, signal.SIGCONT)
        out, err = reader.communicate(timeout=60)
        assert (reader.returncode, out.decode(), err) == (0, f"False False {EXPIRED}\n", b"")


def test_sigkill_of_smapsfmt_mid_read_lets_the_target_go_at_once(tmp_path: Path) -> None:
    """SIGKILL of smapsfmt in the middle of a frozen read, with a time limit of 60 s: the
    kernel kills the holder (its parent died) and detaches the target, within seconds, not at
    the limit; no holder is left running."""
    pages = mappings_file(tmp_path, MANY)
    with (
        target("mappings", str(MANY), str(pages), stdin=True) as child,
        cli_job(child.pid, limit=60) as reader,
    ):
        seen = stop_mid_read(reader.pid, child.pid, lambda: os.kill(reader.pid, signal.SIGKILL))
        assert reader.wait(timeout=60) == -signal.SIGKILL
        wait_let_go(child.pid, limit=STOP_MARGIN)
        holder_gone = re.compile(r"(Z \(zombie\))?")

        def gone() -> bool:
            try:
                return holder_gone.fullmatch(state(seen["holder"])) is not None
            except FileNotFoundError:
                return True

        wait_for(gone, "the holder to end", limit=STOP_MARGIN)
        assert set(thread_states(child.pid).values()) <= {"S", "R"}


def test_ctrl_c_of_smapsfmt_mid_read_lets_the_target_go_at_once(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) of smapsfmt's job in the middle of a frozen read, with a time limit of
    60 s: smapsfmt lets the target go as it ends, within seconds, not at the limit. (The
    holder, in its own process group, does not get the SIGINT: smapsfmt ends it.)"""
    pages = mappings_file(tmp_path, MANY)
    with (
        target("mappings", str(MANY), str(pages), stdin=True) as child,
        cli_job(child.pid, limit=60) as reader,
    ):
        seen = stop_mid_read(reader.pid, child.pid, lambda: os.killpg(reader.pid, signal.SIGINT))
        reader.communicate(timeout=60)
        wait_let_go(child.pid, limit=STOP_MARGIN)
        assert time.monotonic() - seen["at"] < STOP_MARGIN + 2
        assert not Path(f"/proc/{seen['holder']}").exists() or state(seen["holder"])[0] in "ZX"


def test_the_documented_side_effect_epoll_wait_returns_eintr() -> None:
    """A target blocked in epoll_wait(2) (called directly, as C code would, without Python's
    retry) sees it return EINTR after a frozen snapshot, as after SIGSTOP/SIGCONT."""
    with target("epoll", "30") as child:
        assert child.stdout is not None
        wait_for(lambda: "epoll" in Path(f"/proc/{child.pid}/wchan").read_text(), "epoll_wait")
        snap = smapsfmt.snapshot(child.pid)
        assert snap.frozen
        assert child.stdout.readline() == "-1 EINTR\n"


def test_smapsfmt_cannot_freeze_itself() -> None:
    snap = smapsfmt.snapshot("self")
    assert snap.pid == os.getpid()
    assert (snap.frozen, snap.consistent) == (False, False)
    assert snap.note == "not frozen: a process cannot freeze itself"
    assert any(m.pathname == b"[heap]" for m in snap.smaps)


# --- one process held across reads: smapsfmt.Process ----------------------------------------


def test_a_process_is_read_many_times_through_its_held_directory(tmp_path: Path) -> None:
    """Every read of a Process is of the process it opened, in the state it is in now: found
    running, then stopped by someone else (SIGSTOP), it is read as found and left stopped."""
    with threaded_target(tmp_path, count=2) as (pid, counter), smapsfmt.Process(pid) as proc:
        assert (proc.pid, proc.closed) == (pid, False)
        assert proc.comm == Path(f"/proc/{pid}/comm").read_text().strip()
        assert repr(proc) == f"Process(pid={pid}, comm={proc.comm!r})"
        assert f"\nPid:\t{pid}\n".encode() in proc.read_file("status")
        assert proc.read_file(f"task/{pid}/stat").startswith(f"{pid} (".encode())
        assert any(m.pathname == b"[stack]" for m in proc.read_smaps())
        assert proc.read_rollup().pathname == b"[rollup]"
        snap = proc.snapshot()
        assert (snap.pid, snap.frozen, snap.consistent, snap.note) == (pid, True, True, None)
        loose = proc.snapshot(freeze=False)
        assert (loose.frozen, loose.note) == (False, "not frozen: freezing was not asked for")
        with pytest.raises(ValueError) as caught:
            proc.snapshot(timeout=0)
        assert str(caught.value) == (
            "the freeze time limit must be a finite number of seconds above 0, not 0"
        )
        stop_group(pid)
        snap = proc.snapshot()
        assert (snap.frozen, snap.consistent) == (False, True)
        assert snap.note == (
            "not frozen: it was already stopped (state T) by someone else and is left as "
            "found; it stayed stopped during the read"
        )
        assert_still_stopped_then_resumed(pid, counter)
    with smapsfmt.Process("self") as itself:
        assert (
            itself.pid == os.getpid() and itself.comm == Path("/proc/self/comm").read_text()[:-1]
        )


def test_a_process_that_becomes_a_zombie_while_held() -> None:
    """Found alive, then killed: a zombie (not reaped yet) is refused as a zombie, and once
    reaped, the Process says it exited."""
    with target("threads", "2", "-") as child, smapsfmt.Process(child.pid) as proc:
        comm = proc.comm
        assert len(proc.read_smaps()) > 10
        os.kill(child.pid, signal.SIGKILL)
        wait_for(lambda: thread_states(child.pid).get(child.pid) == "Z", "the exit")
        for read in (proc.read_smaps, proc.read_rollup, proc.snapshot, proc.frozen):
            with pytest.raises(smapsfmt.ZombieProcessError) as zombie:
                read()
            assert str(zombie.value) == (
                f"process {child.pid} ({comm}) is a zombie: it has exited and has no memory "
                "map left (its parent has not reaped it yet)"
            )
        child.wait()
        with pytest.raises(smapsfmt.ProcessExitedError) as exited:
            proc.read_smaps()
        assert str(exited.value) == f"process {child.pid} ({comm}) exited before it could be read"


def test_a_process_reads_nothing_outside_its_directory_nor_once_closed() -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    with pytest.raises(smapsfmt.NoSuchProcessError) as absent:
        smapsfmt.Process(pid_max + 1)
    assert str(absent.value) == f"no process {pid_max + 1}: /proc/{pid_max + 1} does not exist"
    with pytest.raises(ValueError, match="a pid is a positive int or 'self', not '12'"):
        smapsfmt.Process("12")  # type: ignore[arg-type]
    proc = smapsfmt.Process("self")
    for bad in ("", "/etc/passwd", "../1/smaps", "./status", "task//stat", "status/", ".."):
        with pytest.raises(ValueError) as caught:
            proc.read_file(bad)
        assert str(caught.value) == (
            "a file of a Process is named by a path inside its /proc directory, such as "
            f"'status' or 'task/1234/stat', not {bad!r}"
        )
    with pytest.raises(smapsfmt.ProcError) as missing:
        proc.read_file("no-such-file")
    assert type(missing.value) is smapsfmt.ProcError and missing.value.errno == errno.ENOENT
    assert str(missing.value) == (
        f"cannot read /proc/{os.getpid()}/no-such-file: No such file or directory"
    )
    proc.close()
    proc.close()  # again: nothing
    for read in (proc.read_smaps, proc.read_rollup, proc.snapshot, lambda: proc.read_file("maps")):
        with pytest.raises(ValueError) as closed:
            read()
        assert str(closed.value) == "this Process is closed: its /proc directory is no longer held"


# --- a process held stopped while a block reads it: Process.frozen() -------------------------


def test_a_multithreaded_target_is_held_by_a_freeze_and_released(tmp_path: Path) -> None:
    """Inside ``with proc.frozen()`` every thread is in a ptrace stop, the tracer is the
    freezer's holder (a child of this process) and the counting thread does not count; after
    it, the target runs on, untraced, and the Freeze says it was held throughout."""
    with threaded_target(tmp_path) as (pid, counter), smapsfmt.Process(pid) as proc:
        assert len(thread_states(pid)) == 16
        with proc.frozen(timeout=30) as freeze:
            assert (freeze.pid, freeze.frozen, freeze.note) == (pid, True, None)
            assert set(thread_states(pid).values()) == {"t"}
            assert parent_of(tracer(pid)) == os.getpid()
            frozen_at = counter()
            time.sleep(0.1)
            assert counter() == frozen_at
            smaps, rollup = proc.read_file("smaps"), proc.read_file("smaps_rollup")
        assert (freeze.frozen, freeze.consistent, freeze.note) == (True, True, None)
        assert repr(freeze) == f"Freeze(pid={pid}, frozen=True, consistent=True, note=None)"
        with pytest.raises(AttributeError, match="a Freeze is read-only: cannot set 'frozen'"):
            freeze.frozen = False  # type: ignore[misc]
        assert_running_and_untraced(pid, counter)
    # What was read in the block describes one instant.
    totals = smapsfmt.parse_smaps(smaps).totals()
    for name in OWN:
        assert smapsfmt.parse_rollup(rollup).fields.get(name) == totals.get(name), name


def test_a_freeze_that_cannot_be_made_runs_the_block_and_says_why(tmp_path: Path) -> None:
    with smapsfmt.Process("self") as itself, itself.frozen() as freeze:
        assert (freeze.frozen, freeze.note) == (
            False,
            "not frozen: a process cannot freeze itself",
        )
    assert (freeze.frozen, freeze.consistent) == (False, False)
    with threaded_target(tmp_path, count=2) as (pid, counter), smapsfmt.Process(pid) as proc:
        for bad in (0, float("inf"), float("nan")):
            with pytest.raises(ValueError) as caught:
                proc.frozen(timeout=bad)
            assert str(caught.value) == (
                f"the freeze time limit must be a finite number of seconds above 0, not {bad!r}"
            )
        with holder(pid) as frozen_by:  # another smapsfmt holds it: it keeps it
            holder_pid = tracer(pid)
            assert parent_of(holder_pid) == frozen_by.pid
            with proc.frozen() as freeze:
                assert freeze.note == f"not frozen: it is already traced by process {holder_pid}"
            assert (freeze.frozen, freeze.consistent) == (False, False)
            assert tracer(pid) == holder_pid
        wait_let_go(pid)
        stop_group(pid)  # stopped by someone else: read as found, left stopped
        with proc.frozen() as freeze:
            assert freeze.frozen is False
        assert (freeze.frozen, freeze.consistent) == (False, True)
        assert freeze.note == (
            "not frozen: it was already stopped (state T) by someone else and is left as "
            "found; it stayed stopped during the read"
        )
        assert_still_stopped_then_resumed(pid, counter)


def test_a_killed_holder_is_never_a_claim_of_frozen(tmp_path: Path) -> None:
    """Whatever ends the holder while it holds the target ends the hold, is said in the
    note, and the hold is not claimed. A real failure: the holder is SIGKILLed (as the OOM
    killer or a careless ``kill`` would), and the kernel lets the target go. (The same failure
    during a snapshot: test_a_failure_of_the_freezer_is_never_a_claim_of_frozen.)"""
    with threaded_target(tmp_path, count=4) as (pid, counter), smapsfmt.Process(pid) as proc:
        with proc.frozen(timeout=30) as freeze:
            assert freeze.frozen
            holder_pid = tracer(pid)
            os.kill(holder_pid, signal.SIGKILL)
        assert (freeze.frozen, freeze.consistent) == (False, False)
        assert freeze.note == (
            f"not frozen throughout: the freezing process {holder_pid} was killed by SIGKILL "
            "before it reported; the kernel let the process go"
        )
        assert_running_and_untraced(pid, counter)
        # A limit as long as a float holds is kept: capped at what a thread can wait, and
        # waited in bounded steps by the holder.
        with proc.frozen(timeout=1e308) as freeze:
            assert freeze.frozen
        assert (freeze.frozen, freeze.note) == (True, None)
        assert_running_and_untraced(pid, counter)


EXPIRED_BEFORE_THE_END = """
import signal, sys, time
from smapsfmt import Process
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a command line that dies quietly on EPIPE
pid = int(sys.argv[1])
with Process(pid) as proc, proc.frozen(timeout=0.2) as freeze:
    holder = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status")
                  if line.startswith("TracerPid:"))
    while not open(f"/proc/{holder}/stat").read().rpartition(") ")[2].startswith("Z"):
        time.sleep(0.01)  # the holder let the target go at its limit and ended
print(freeze.frozen, freeze.consistent, freeze.note, flush=True)
"""


def test_a_holder_that_ended_on_its_own_is_no_danger_to_its_reader(tmp_path: Path) -> None:
    """The holder lets the target go at the limit and ends; the reader, asking it to release
    at the end of the block, is not killed by SIGPIPE even where SIGPIPE has its default
    action, and is told the truth: not held until the end of the block, the limit expired."""
    with threaded_target(tmp_path, count=2) as (pid, counter):
        probe = subprocess.run(
            [sys.executable, "-c", EXPIRED_BEFORE_THE_END, str(pid)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert (probe.returncode, probe.stderr) == (0, "")
        assert probe.stdout == (
            "False False not frozen throughout: the time limit (0.2 s) expired before the read "
            "ended, and the process was let go\n"
        )
        assert_running_and_untraced(pid, counter)


# --- every process of this machine ------------------------------------------------------------


def test_every_process_of_this_machine_reads_or_says_why() -> None:
    """Every pid in /proc, read unfrozen (freezing processes the test did not start would touch
    them): a complete, parsable smaps and smaps_rollup, or one of the typed outcomes."""
    outcomes: dict[str, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdecimal():
            continue
        try:
            snap = smapsfmt.snapshot(int(entry), freeze=False)
        except smapsfmt.ProcError as exc:
            assert type(exc) is not smapsfmt.ProcError, exc  # always a named situation
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            continue
        assert len(snap.smaps) > 0 and snap.rollup is not None
        assert snap.rollup.pathname == b"[rollup]"
        outcomes["read"] = outcomes.get("read", 0) + 1
    assert outcomes.get("read", 0) > 0 and outcomes.get("KernelThreadError", 0) > 0


def test_the_plain_readers() -> None:
    smaps = smapsfmt.read_smaps("self")
    assert any(m.pathname == b"[stack]" for m in smaps)
    rollup = smapsfmt.read_rollup(os.getpid())
    assert rollup.pathname == b"[rollup]" and (rollup.rss or 0) > 0
    assert getattr(rollup, "summed_from_smaps", False) is False
    with pytest.raises(ValueError, match="a pid is a positive int or 'self', not '12'"):
        smapsfmt.read_smaps("12")  # type: ignore[arg-type]


# --- the command line -------------------------------------------------------------------------


def test_parse_pid_prints_the_live_process(tmp_path: Path) -> None:
    with threaded_target(tmp_path, count=2) as (pid, _):
        result = run_cli("parse", "--pid", str(pid), "--format", "json")
        assert result.returncode == 0 and result.stderr == b""
        assert b'"pathname": "[stack]"' in result.stdout
        result = run_cli("parse", "--pid", str(pid), "--kind", "rollup")
        assert result.returncode == 0 and result.stderr == b""
        assert result.stdout.split(b"\n")[0].endswith(b" [rollup]")
        result = run_cli("parse", "--pid", str(pid), "--no-freeze")
        assert result.returncode == 0
        assert result.stderr.decode() == (
            f"smapsfmt: warning: process {pid} not frozen: freezing was not asked for: the "
            "text may be inconsistent\n"
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pid", "x"], "argument --pid: expected a process id or 'self', not 'x'"),
        (["--pid", "0"], "argument --pid: expected a process id or 'self', not '0'"),
        (["FILE", "--pid", "self"], "give either FILE or --pid PID, not both"),
        (
            ["--pid", "self", "--freeze-timeout", "0"],
            "--freeze-timeout must be a finite number of seconds above 0, not 0",
        ),
        (
            ["--pid", "self", "--freeze-timeout", "inf"],
            "--freeze-timeout must be a finite number of seconds above 0, not inf",
        ),
        (
            ["--pid", "\uff11\uff12"],
            "argument --pid: expected a process id or 'self', not '\uff11\uff12'",
        ),
    ],
)
def test_pid_usage_errors(args: list[str], message: str) -> None:
    result = run_cli("parse", *args)
    assert result.returncode == 2
    hint = "" if message.startswith("--freeze") else " (see 'smapsfmt parse --help')"
    assert cli_error(result) == f"smapsfmt: error: {message}{hint}\n"


# --- the exception classes --------------------------------------------------------------------


def test_every_situation_has_its_own_class_and_exit_status() -> None:
    classes = [
        smapsfmt.NoSuchProcessError, smapsfmt.ProcPermissionError,
        smapsfmt.ProcUnavailableError, smapsfmt.KernelThreadError,
        smapsfmt.ZombieProcessError, smapsfmt.ProcessExitedError, smapsfmt.PidReusedError,
        smapsfmt.RollupMissingError,
    ]  # fmt: skip
    assert [c.exit_code for c in classes] == list(range(4, 12))
    for cls in classes:
        assert issubclass(cls, smapsfmt.ProcError) and issubclass(cls, OSError)
        assert f"| {cls.exit_code} | `{cls.__name__}` |" in README  # the table of statuses
    import pickle

    error = smapsfmt.ZombieProcessError("process 7 is a zombie", pid=7)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is smapsfmt.ZombieProcessError and (again.pid, str(again)) == (
        7,
        "process 7 is a zombie",
    )
