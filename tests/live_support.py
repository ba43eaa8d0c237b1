"""Real processes for the tests of live reads (test_live_proc.py, and test_live_edges.py where a
race or an old kernel decides): targets shaped by tests/proc_targets.py, what /proc says of
them, smapsfmt itself run as a job, held in the middle of its frozen read, and a /proc/PID
without smaps_rollup, as kernels before 4.14 list it.

Only the public surface is used here: the command line, run by Python in a process of its own.
No target is ever left stopped or traced: targets are SIGKILLed in ``finally`` blocks and die
with the test process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from proc_targets import act_mid_read
from support import ROOT

TARGETS = ROOT / "tests" / "proc_targets.py"
IS_ROOT = os.geteuid() == 0
NEEDS_ROOT = "needs root: only root can run a reader as another user and reuse a pid"

# Fields the kernel accumulates in bytes (rollup == sum over smaps, exactly, in one snapshot:
# KERNEL-FACTS §9, invariant 1) and that only the process itself changes. The split between
# Shared_* and Private_* follows the page's mapcount, which any other process mapping the same
# file pages changes at any moment, frozen target or not (seen here when other Python processes
# start and exit during the read); Referenced follows page aging, KSM the KSM daemon.
OWN = (
    "Rss", "Anonymous", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
    "Shared_Hugetlb", "Private_Hugetlb", "Swap",
)  # fmt: skip


MANY = 2000  # mappings: about 1.5 MB of smaps, hundreds of kernel buffers


# --- targets ----------------------------------------------------------------------------------


Popen = subprocess.Popen[str]


def target(*args: str, stdin: bool = False) -> contextlib.AbstractContextManager[Popen]:
    """A shaped target process (proc_targets.py), ready; SIGKILLed and reaped whatever
    happens."""
    return started([sys.executable, str(TARGETS), *args], stdin=stdin)


@contextlib.contextmanager
def started(command: list[str], *, stdin: bool = False) -> Iterator[Popen]:
    """``command`` started, once it has printed its line ``ready``; SIGKILLed and reaped
    whatever happens."""
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        yield child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)


@contextlib.contextmanager
def threaded_target(tmp_path: Path, count: int = 16) -> Iterator[tuple[int, Callable[[], int]]]:
    """A target with ``count`` threads, one of which counts; yields (pid, read the counter)."""
    counter = tmp_path / "counter"
    counter.write_bytes(bytes(8))

    def value() -> int:
        return int(struct.unpack("<Q", counter.read_bytes()[:8])[0])

    with target("threads", str(count), str(counter)) as child:
        yield child.pid, value


def mappings_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "pages"
    path.write_bytes(bytes(count * 4096))
    return path


def status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def dead(pid: int) -> bool:
    """Whether ``pid`` has exited: gone, or a zombie (or dead) its parent has not reaped."""
    try:
        return status(pid, "State")[0] in "ZX"
    except FileNotFoundError:
        return True


def tracer(pid: int) -> int:
    """The process tracing ``pid``: TracerPid names a thread of it."""
    return int(status(int(status(pid, "TracerPid")), "Tgid"))


def thread_states(pid: int) -> dict[int, str]:
    states = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            text = Path(f"/proc/{pid}/task/{tid}/stat").read_bytes()
            states[int(tid)] = text.rpartition(b") ")[2][:1].decode()
    return states


def wait_for(condition: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def parent_of(pid: int) -> int:
    return int(status(pid, "PPid"))


def wait_let_go(pid: int, limit: float = 10.0) -> None:
    """Wait until no thread of ``pid`` is traced or stopped: after its tracer is killed, the
    kernel detaches it as the tracer exits, which takes a moment after the kill."""
    wait_for(
        lambda: (
            status(pid, "TracerPid") == "0"
            and not any(state in "Tt" for state in thread_states(pid).values())
        ),
        f"process {pid} to be let go",
        limit=limit,
    )


def stop_group(pid: int) -> None:
    """Stop ``pid`` as someone else would (SIGSTOP), once every thread is in the stop (T)."""
    os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: set(thread_states(pid).values()) == {"T"}, "the group stop")


def assert_still_stopped_then_resumed(pid: int, counter: Callable[[], int]) -> None:
    """Every thread of ``pid`` is still in its group stop, traced by nobody, and does not run
    (its counter stays); SIGCONT then lets it run on."""
    assert set(thread_states(pid).values()) == {"T"}
    assert status(pid, "TracerPid") == "0"
    stopped_at = counter()
    time.sleep(0.05)
    assert counter() == stopped_at
    os.kill(pid, signal.SIGCONT)
    assert_running_and_untraced(pid, counter)


def assert_running_and_untraced(pid: int, counter: Callable[[], int]) -> None:
    """The target is traced by nobody, no thread is stopped, and it runs (its counter moves)."""
    assert status(pid, "TracerPid") == "0"
    assert not any(state in "Tt" for state in thread_states(pid).values())
    before = counter()
    wait_for(lambda: counter() > before + 10, "the target's counter to advance")


# --- smapsfmt run as a job, held in the middle of its frozen read ---------------------------

STOP_LIMIT = 1.0  # the freeze time limit of these tests, in seconds
STOP_MARGIN = 4.0  # how late past it a release may be seen on a loaded machine
EXPIRED = (
    "not frozen throughout: the time limit (1 s) expired before the read ended, and the "
    "process was let go"
)


def _as_a_job() -> None:
    """A process group of its own, and SIGINT at its default action, as an interactive shell
    starts a job: a suite started in the background of a shell script inherits SIGINT
    ignored (POSIX: asynchronous lists without job control), and so would the job."""
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def job(*argv: str, stdin: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` run by Python as a shell runs a job: in a process group of its own (signals
    sent to the group are what Ctrl-Z and ``kill -STOP %1`` send). Killed and reaped, whatever
    happens; output collected with ``communicate``."""
    child = subprocess.Popen(
        [sys.executable, *argv],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tempfile.gettempdir(),  # outside the tree: the installed smapsfmt runs
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        preexec_fn=_as_a_job,  # noqa: PLW1509 - no threads run here
    )
    try:
        yield child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)


def cli_job(
    pid: int, limit: float = STOP_LIMIT
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return job("-m", "smapsfmt", "parse", "--pid", str(pid), "--freeze-timeout", f"{limit:g}")


def state(pid: int) -> str:
    return status(pid, "State")


def stop_mid_read(
    reader: int, target_pid: int, how: Callable[[], None], tid: int | None = None, **kw: Any
) -> dict[str, Any]:
    """Hold ``reader`` (thread ``tid``) in the middle of its read of the target's smaps, check
    that the target is frozen, run ``how`` there and let the reader go on. What was seen (the
    target's tracer: smapsfmt's holder), and when ``how`` ran."""
    seen: dict[str, Any] = {}

    def act() -> None:
        seen["states"] = set(thread_states(target_pid).values())
        seen["holder"] = tracer(target_pid)
        how()
        seen["at"] = time.monotonic()

    at = act_mid_read(tid or reader, f"/proc/{target_pid}/smaps", lambda at: at > 0, act, **kw)
    assert at > 0
    assert seen["states"] == {"t"}
    return seen


def assert_let_go_while_stopped(reader: int, target_pid: int, seen: dict[str, Any]) -> None:
    """The reader stops and stays stopped, and the target is let go within the time limit
    (plus a margin) all the same: by the holder, whose report waits for the reader."""
    wait_for(lambda: state(reader).startswith("T (stopped)"), "smapsfmt to stop")
    wait_let_go(target_pid, limit=STOP_LIMIT + STOP_MARGIN)
    assert time.monotonic() - seen["at"] < STOP_LIMIT + STOP_MARGIN
    # The holder ends once it has let the target go (a moment after: it reports first), and
    # waits for its stopped parent to reap it.
    holder = seen["holder"]
    wait_for(lambda: state(holder).startswith("Z (zombie)"), "the holder to end", STOP_MARGIN)
    assert state(reader).startswith("T (stopped)")


@contextlib.contextmanager
def holder(pid: int) -> Iterator[subprocess.Popen[bytes]]:
    """Another smapsfmt holding ``pid`` frozen until it is killed: ``smapsfmt parse --pid PID``
    with a time limit of 600 s, stopped (SIGSTOP) in the middle of its frozen read. Its
    holder process, the target's tracer, keeps the target frozen meanwhile; killed, smapsfmt
    takes its holder with it and the kernel lets the target go."""
    with cli_job(pid, limit=600) as reader:
        stop_mid_read(reader.pid, pid, lambda: os.killpg(reader.pid, signal.SIGSTOP))
        wait_for(lambda: state(reader.pid).startswith("T (stopped)"), "smapsfmt to stop")
        yield reader


# --- a /proc/PID as a kernel before 4.14 lists it ---------------------------------------------

# Run in a mount namespace of its own (unshare(1)), so that nothing outside it sees a change:
# procfs mounted a second time at $2 (this kernel's own files of the process, read where they
# are), an empty tmpfs mounted over /proc/$1, and in it the files a live read opens (stat,
# status, smaps, task/), each bind-mounted from the second procfs. What is missing there is
# smaps_rollup, which Linux 4.14 added (fs/proc/base.c tgid_base_stuff); every file there is
# the kernel's own, so only the listing is an older kernel's.
_WITHOUT_ROLLUP = r"""
set -e
pid=$1 real=$2
shift 2
mount -t proc proc "$real"
mount -t tmpfs none "/proc/$pid"
for name in stat status smaps; do
    : > "/proc/$pid/$name"
    mount --bind "$real/$pid/$name" "/proc/$pid/$name"
done
mkdir "/proc/$pid/task"
mount --bind "$real/$pid/task" "/proc/$pid/task"
exec "$@"
"""
NEEDS_UNSHARE = "needs root and unshare(1) (util-linux): a mount namespace of the test's own"
CAN_UNSHARE = IS_ROOT and shutil.which("unshare") is not None


def without_rollup(
    pid: int, real: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` run where ``/proc/PID`` has no smaps_rollup, as on a kernel before 4.14 (see
    above); ``real`` is an empty folder where this kernel's /proc is mounted again for
    ``argv`` to read (``REAL_PROC`` in its environment)."""
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", _WITHOUT_ROLLUP, "sh",
         str(pid), str(real), *argv],
        check=False, capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir(),
        env={**(env or os.environ), "REAL_PROC": str(real)},
    )  # fmt: skip
