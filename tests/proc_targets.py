"""Target processes for the live /proc tests: each shapes itself, says ``ready``, and waits.

    python proc_targets.py threads N COUNTER_FILE   N threads; one adds 1 to a counter kept in
                                                    COUNTER_FILE (shared memory; "-" for none)
                                                    every 0.5 ms
    python proc_targets.py mappings N FILE          N one-page mappings of FILE, then obeys
                                                    stdin: "exit" or "exec" (into sleep)
    python proc_targets.py churn N                  N threads map, touch and unmap memory
                                                    without pause
    python proc_targets.py epoll N                  calls epoll_wait(2) with an N-second
                                                    timeout, directly (no retry on EINTR), and
                                                    prints its result and errno, N times

Every target dies with its parent (PR_SET_PDEATHSIG), so a failed test leaves nothing behind.

Imported by the tests, ``gated`` runs a reader in a fork of the test process and holds it,
between two of its system calls, at a chosen point of its read of a /proc file, while the test
acts on the target (kills it, makes it exec): a race made deterministic. ``act_mid_read`` does
the same to a thread of a process already running (smapsfmt's command line in a subprocess),
for instance to stop it in the middle of a frozen read.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import re
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1


# --- a reader held at a chosen point of its read ---------------------------------------------

# include/uapi/linux/ptrace.h
PTRACE_SYSCALL = 24
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_O_TRACESYSGOOD = 1
WALL = 0x40000000  # __WALL (include/uapi/linux/wait.h)


def _ptrace(request: int, pid: int, data: int = 0) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(request, pid, None, ctypes.c_void_p(data) if data else None) == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"ptrace({request:#x}, {pid}): {os.strerror(err)}")


def position(pid: int, path: str) -> int | None:
    """How far process ``pid`` has read ``path`` (its fd's ``pos:`` in /proc/PID/fdinfo, proc(5)),
    None while it has no fd of it."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != path:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                for line in info:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except OSError:  # closed since the listing
            continue
    return None


def _fork_reader(reader: Callable[[], str]) -> tuple[int, int, int]:
    """A fork that waits for a byte on its go pipe, runs ``reader`` and writes what it returned
    (or ``"Name: message"`` of what it raised) to its out pipe; (pid, go fd, out fd)."""
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the fork
        try:
            os.close(go_w)
            os.close(out_r)
            os.read(go_r, 1)
            try:
                text = reader()
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                text = f"{type(exc).__name__}: {exc}"
            os.write(out_w, text.encode("utf-8", "backslashreplace"))
        finally:
            os._exit(0)
    os.close(go_r)
    os.close(out_w)
    return pid, go_w, out_r


def _read_all(fd: int, deadline: float) -> str:
    chunks = []
    while select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def gated(
    reader: Callable[[], str],
    path: str,
    when: Callable[[int], bool],
    action: Callable[[], None],
    *,
    timeout: float = 60.0,
) -> tuple[str, int | None]:
    """Run ``reader`` in a fork of this process, traced system call by system call
    (PTRACE_SYSCALL, ptrace(2)); at the first stop where its position in ``path`` satisfies
    ``when``, it is held there (between two system calls: it runs no code) while ``action``
    runs, then let go.

    Returns what ``reader`` returned (or ``"Name: message"`` of what it raised) and the
    position at which ``action`` ran (None: never). The fork is killed if it is not done within
    ``timeout`` seconds; it is never left traced: PTRACE_DETACH, its end, or the kill ends it.
    """
    deadline = time.monotonic() + timeout
    pid, go, out = _fork_reader(reader)
    acted_at: int | None = None
    traced = False
    try:
        _ptrace(PTRACE_SEIZE, pid, PTRACE_O_TRACESYSGOOD)
        traced = True
        _ptrace(PTRACE_INTERRUPT, pid)
        os.waitpid(pid, WALL)  # the interrupt's stop
        os.write(go, b"g")
        give = 0
        while traced and time.monotonic() < deadline:
            _ptrace(PTRACE_SYSCALL, pid, give)
            _, status = os.waitpid(pid, WALL)
            if not os.WIFSTOPPED(status):
                traced = False  # it ended
                continue
            # A system call stop (SIGTRAP | 0x80 with PTRACE_O_TRACESYSGOOD) or an event stop
            # passes nothing on; a signal-delivery-stop passes its signal on.
            stop = os.WSTOPSIG(status)
            give = 0 if stop == signal.SIGTRAP | 0x80 or status >> 16 else stop
            at = position(pid, path)
            if at is not None and when(at):
                acted_at = at
                action()
                _ptrace(PTRACE_DETACH, pid, give)
                traced = False
        return _read_all(out, deadline), acted_at
    finally:
        os.close(go)
        os.close(out)
        if traced or time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, WALL)


def act_mid_read(
    tid: int,
    path: str,
    when: Callable[[int], bool],
    action: Callable[[], None],
    *,
    traced: Callable[[], None] = lambda: None,
    timeout: float = 60.0,
) -> int:
    """Trace thread ``tid`` of a running process system call by system call (as ``gated``
    does) until its process's position in ``path`` satisfies ``when``; run ``action`` there,
    with the thread held between two system calls, then let it go. Returns that position.

    A signal that ``action`` sends to the process is pending when the thread is let go: it
    is received there, in the middle of the read, before the thread's next system call.
    ``traced`` runs once the thread is traced (to let it start its read).
    """
    pid = int(re.findall(r"^Tgid:\s*(\d+)", Path(f"/proc/{tid}/status").read_text(), re.M)[0])
    deadline = time.monotonic() + timeout
    _ptrace(PTRACE_SEIZE, tid, PTRACE_O_TRACESYSGOOD)
    held = True
    give = 0
    try:
        _ptrace(PTRACE_INTERRUPT, tid)
        os.waitpid(tid, WALL)  # the interrupt's stop
        traced()
        while time.monotonic() < deadline:
            _ptrace(PTRACE_SYSCALL, tid, give)
            _, status = os.waitpid(tid, WALL)
            if not os.WIFSTOPPED(status):
                held = False
                raise AssertionError(f"thread {tid} ended before its read of {path}")
            stop = os.WSTOPSIG(status)
            give = 0 if stop == signal.SIGTRAP | 0x80 or status >> 16 else stop
            at = position(pid, path)
            if at is not None and when(at):
                action()
                held = False
                with contextlib.suppress(OSError):  # ESRCH: the action killed it
                    _ptrace(PTRACE_DETACH, tid, give)
                return at
        raise AssertionError(f"thread {tid} did not reach the chosen point of {path}")
    finally:
        if held:
            with contextlib.suppress(OSError):
                _ptrace(PTRACE_DETACH, tid, give)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _ready() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def _sleep_forever() -> None:
    while True:
        time.sleep(1000)


def threads(count: int, counter_file: str) -> None:
    shared: mmap.mmap | bytearray = bytearray(8)  # COUNTER_FILE "-": counted, not shown
    if counter_file != "-":
        with open(counter_file, "r+b") as handle:
            shared = mmap.mmap(handle.fileno(), 8)

    def count_up() -> None:
        value = 0
        while True:
            value += 1
            shared[0:8] = struct.pack("<Q", value)
            time.sleep(0.0005)

    workers = [threading.Thread(target=count_up, daemon=True)]
    workers += [threading.Thread(target=_sleep_forever, daemon=True) for _ in range(count - 2)]
    for worker in workers:
        worker.start()
    _ready()
    _sleep_forever()


def mappings(count: int, path: str) -> None:
    with open(path, "r+b") as handle:
        # One page each, read-only and read-write in turn: no two can merge into one VMA.
        regions = [
            mmap.mmap(
                handle.fileno(),
                mmap.PAGESIZE,
                prot=mmap.PROT_READ | (mmap.PROT_WRITE if i % 2 else 0),
                offset=i * mmap.PAGESIZE,
            )
            for i in range(count)
        ]
    _ready()
    command = sys.stdin.readline().strip()
    if command == "exec":
        os.execv("/bin/sleep", ["sleep", "1000"])
    if command == "exit":
        os._exit(0)
    del regions


def churn(count: int) -> None:
    def work() -> None:
        while True:
            region = mmap.mmap(-1, 64 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE)
            for offset in range(0, len(region), mmap.PAGESIZE):
                region[offset] = 1
            region.close()

    for _ in range(count):
        threading.Thread(target=work, daemon=True).start()
    _ready()
    _sleep_forever()


def epoll(count: int) -> None:
    import select

    libc = ctypes.CDLL(None, use_errno=True)
    poller = select.epoll()
    events = ctypes.create_string_buffer(64)
    _ready()
    for _ in range(count):
        result = libc.epoll_wait(poller.fileno(), events, 1, count * 1000)
        code = ctypes.get_errno() if result < 0 else 0
        sys.stdout.write(f"{result} {errno.errorcode.get(code, code)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _die_with_parent()
    shape, number, *rest = sys.argv[1:]
    {"threads": threads, "mappings": mappings, "churn": churn, "epoll": epoll}[shape](
        int(number), *rest
    )
