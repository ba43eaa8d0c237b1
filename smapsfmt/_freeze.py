"""Freeze a live process with ptrace while its /proc files are read, and always let it go.

How (ptrace(2), "Group-stop" and "PTRACE_SEIZE"/"PTRACE_INTERRUPT"; kernel/ptrace.c):

* ``PTRACE_SEIZE`` every thread listed in ``/proc/PID/task``, then ``PTRACE_INTERRUPT`` it, and
  wait (``waitpid(tid, __WALL)``) until it reports a stop. List ``task`` again until no thread
  appears that is not held: a thread created while we were stopping the others shows up there.
  ``PTRACE_O_TRACECLONE`` is not used, so a new thread is never attached behind our back.
* Every ptrace and waitpid call is made from one dedicated OS thread: a tracee belongs to the
  thread that attached it (kernel/ptrace.c ``ptrace_check_attach``: ``child->parent == current``).
* Release is ``PTRACE_DETACH``, giving back any signal that arrived while the thread was held.
  If smapsfmt dies (SIGKILL included) or its tracer thread ends, the kernel detaches every tracee
  itself (kernel/exit.c ``exit_notify`` -> ``exit_ptrace``) and the target runs on: a target can
  never be left stopped or traced, unlike with SIGSTOP or the cgroup freezer.
* A thread that was in a group-stop (stopped by SIGSTOP from someone else) stays stopped after
  ``PTRACE_DETACH`` (kernel/ptrace.c ``__ptrace_unlink`` re-arms the group stop). On top of that,
  a target found stopped is not touched at all (see ``why_not``).
* A time limit bounds the freeze: when it expires the tracer thread lets the target go, whether
  or not the reader is done, and the reader is told that the read was not frozen throughout.
  A reader blocked in the kernel does not delay it; a reader running Python code can, by up to
  the interpreter's switch interval (``sys.getswitchinterval()``, 5 ms), since the tracer
  thread needs the GIL to call ptrace.

Side effect on the target (signal(7), "Interruption of system calls and library functions by stop
signals"): a few blocking calls return ``EINTR`` when the thread is stopped and resumed, even
without a signal handler: ``epoll_wait``, ``epoll_pwait``, ``semop``/``semtimedop``,
``sigtimedwait``/``sigwaitinfo``, ``recv``/``send`` on a socket with a timeout
(``SO_RCVTIMEO``/``SO_SNDTIMEO``), ``inotify`` ``read``, ``io_getevents``. Other calls are
restarted transparently.

The numbers below are the kernel's uapi constants (include/uapi/linux/ptrace.h, include/uapi/
linux/wait.h), stable since they were introduced (PTRACE_SEIZE/INTERRUPT: Linux 3.4).
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Freezer", "process_of", "tracer_of", "why_not"]

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_EVENT_STOP = 128
WALL = 0x40000000  # __WALL: wait for every kind of child, threads included (uapi/linux/wait.h)

# Polling the stops: a thread stops within microseconds of PTRACE_INTERRUPT (measured: seize,
# interrupt, wait and detach of one thread take about 7 us here), so the first 0.5 ms only
# yields the CPU between checks; then sleeps, doubling up to 1 ms, so that a thread that takes
# long (in an uninterruptible sleep) does not keep a CPU busy. A plain sleep would cost the
# target about 0.1 ms of extra stop: the shortest sleep Linux gives a thread.
_SPIN = 0.5e-3
_FIRST_PAUSE = 50e-6
_LONGEST_PAUSE = 1e-3


class _Backoff:
    """Pause between polls: yield first, then sleep longer and longer."""

    def __init__(self) -> None:
        self.spin_until = time.monotonic() + _SPIN
        self.pause = _FIRST_PAUSE

    def __call__(self) -> None:
        if time.monotonic() < self.spin_until:
            os.sched_yield()
            return
        time.sleep(self.pause)
        self.pause = min(self.pause * 2, _LONGEST_PAUSE)


class _Libc:
    """libc's ptrace(2), loaded on first use."""

    _ptrace: ctypes._CFuncPtr | None = None  # type: ignore[name-defined]

    @classmethod
    def ptrace(cls, request: int, tid: int, data: int = 0) -> int:
        """ptrace(request, tid, 0, data); 0 on success, else the errno."""
        if cls._ptrace is None:
            libc = ctypes.CDLL(None, use_errno=True)
            function = libc.ptrace
            function.restype = ctypes.c_long
            function.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
            cls._ptrace = function
        result = cls._ptrace(request, tid, None, ctypes.c_void_p(data) if data else None)
        return ctypes.get_errno() if result == -1 else 0


def tracer_of(status: bytes) -> int:
    """The ``TracerPid:`` of a /proc/PID/status text (0: not traced; fs/proc/array.c)."""
    for line in status.split(b"\n"):
        if line.startswith(b"TracerPid:"):
            return int(line.split()[1])
    return 0


def process_of(tid: int) -> int:
    """The process (thread group id) of a thread: TracerPid names the tracing *thread*
    (fs/proc/array.c task_state: ``task_pid_nr_ns(tracer)``)."""
    try:
        with open(f"/proc/{tid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return tid


def why_not(pid: int, states: list[str], status: bytes) -> str | None:
    """Why the process cannot or must not be frozen, or None when it can be tried.

    ``states`` are one-letter states of its threads (/proc/PID/stat gives the main thread's,
    enough for a stop by SIGSTOP, which stops every thread of the group), ``status`` the text
    of /proc/PID/status.
    """
    if pid == os.getpid():
        # ptrace(2): a thread may not attach to its own thread group (EPERM).
        return "a process cannot freeze itself"
    tracer = tracer_of(status)
    if tracer:
        # Only one tracer at a time: PTRACE_SEIZE would fail with EPERM.
        return f"it is already traced by process {process_of(tracer)}"
    if any(state in "Tt" for state in states):
        # Stopped by someone else (SIGSTOP, a debugger): it is left exactly as found.
        return "it was already stopped (state T) by someone else and is left as found"
    return None


@dataclass
class Freezer:
    """Hold every thread of ``pid`` stopped from ``freeze()`` until ``release()``.

    ``list_threads`` lists the tids in the process's ``task`` directory now, and
    ``thread_state`` gives a thread's one-letter state (None once it is gone); both read through
    a held /proc/PID fd, so that a reused pid is never frozen by mistake. ``limit`` is the time
    limit in seconds, counted from the start of ``freeze()`` (``capture`` checks it: finite,
    above 0, at most ``threading.TIMEOUT_MAX``). Anything that fails in the tracer thread ends
    the hold and is said in ``reason``: ``release()`` then returns False, never a false claim.
    """

    pid: int
    limit: float
    list_threads: Callable[[], list[int]]
    thread_state: Callable[[int], str | None]
    reason: str | None = None  # why the target was not held (at all, or not throughout)
    expired: bool = False  # the time limit let the target go before release() was called
    held: dict[int, int] = field(default_factory=dict)  # tid -> signal to give back at detach
    held_from: float = 0.0  # time.monotonic() of the first PTRACE_SEIZE
    held_until: float = 0.0  # time.monotonic() after the last PTRACE_DETACH
    _frozen: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _stopped: bool = False  # every thread was held when freeze() returned
    _deadline: float = 0.0

    def freeze(self) -> bool:
        """Stop every thread; True when they all are held, False (with ``reason``) if not."""
        self._deadline = time.monotonic() + self.limit
        self._thread = threading.Thread(target=self._tracer, name=f"smapsfmt-freeze-{self.pid}")
        self._thread.daemon = True
        self._thread.start()
        self._frozen.wait()
        return self._stopped  # not reason: the thread may already have failed since

    def release(self) -> bool:
        """Let the target go; True when it was held from ``freeze()`` until now."""
        self._release.set()
        if self._thread is not None:
            self._thread.join()
        return self.reason is None and not self.expired

    # --- the tracer thread: every ptrace and waitpid call is made here ------------------------

    def _tracer(self) -> None:
        # Whatever this thread raises is caught and becomes ``reason``: the hold is then never
        # claimed (release() returns False), the target is let go (or, failing that, detached by
        # the kernel when this thread ends), and no traceback reaches stderr.
        try:
            try:
                self._stop_all()
            except BaseException as exc:  # noqa: BLE001 - the target must be let go, whatever
                self.reason = f"freezing failed: {type(exc).__name__}: {exc}"
            if self.reason is None:
                self._stopped = True
                self._frozen.set()
                self._hold()
        finally:
            try:
                self._detach_all()
            except BaseException as exc:  # noqa: BLE001 - recorded, never raised in a thread
                self.reason = self.reason or (
                    f"releasing failed ({type(exc).__name__}: {exc}); the kernel lets the "
                    "process go when the freezer's thread ends"
                )
            finally:
                self._frozen.set()  # freeze() returns even when stopping failed

    def _hold(self) -> None:
        """Keep the target held until release() or the time limit, whichever comes first."""
        try:
            remaining = self._deadline - time.monotonic()
            # Event.wait raises OverflowError beyond threading.TIMEOUT_MAX (about 292 years
            # here); capture() caps its limit there, this thread records whatever it meets.
            self.expired = not self._release.wait(timeout=max(remaining, 0.0))
        except BaseException as exc:  # noqa: BLE001 - recorded, never raised in a thread
            self.reason = (
                f"the freezer failed while it held the process ({type(exc).__name__}: {exc}) "
                "and let it go"
            )

    def _stop_all(self) -> None:
        stopped: set[int] = set()
        gone: set[int] = set()  # listed, but exited: nothing to stop
        while True:
            listed = self.list_threads()
            new = [tid for tid in listed if tid not in self.held and tid not in gone]
            if not new and stopped >= self.held.keys():
                return
            for tid in new:
                err = _Libc.ptrace(PTRACE_SEIZE, tid)
                if err == errno.ESRCH or (
                    err == errno.EPERM and self.thread_state(tid) in (None, "Z", "X")
                ):
                    # The thread exited since the listing. An exited thread runs no code:
                    # nothing to stop (kernel/ptrace.c ptrace_attach refuses a task that has an
                    # exit_state with EPERM).
                    gone.add(tid)
                    continue
                if err:
                    self.reason = _refusal(err)
                    return
                if not self.held:
                    self.held_from = time.monotonic()
                self.held[tid] = 0
                err = _Libc.ptrace(PTRACE_INTERRUPT, tid)
                if err and err != errno.ESRCH:
                    self.reason = f"PTRACE_INTERRUPT failed: {os.strerror(err)}"
                    return
            for tid in list(self.held):
                if tid not in stopped and not self._wait_stop(tid, stopped):
                    return  # the time limit expired (self.reason says so)

    def _wait_stop(self, tid: int, stopped: set[int]) -> bool:
        """Wait for ``tid`` to report a stop (or to vanish); False when the limit expired."""
        backoff = _Backoff()
        while True:
            try:
                got, status = os.waitpid(tid, os.WNOHANG | WALL)
            except ChildProcessError:
                self.held.pop(tid, None)  # no longer ours: it exited and was reaped
                return True
            if got == tid:
                if os.WIFSTOPPED(status):
                    if status >> 16 != PTRACE_EVENT_STOP:
                        # A signal-delivery-stop: the thread is stopped, and the signal it was
                        # about to receive is given back at detach (ptrace(2), "Signal
                        # injection and suppression").
                        self.held[tid] = os.WSTOPSIG(status)
                    stopped.add(tid)
                    return True
                self.held.pop(tid, None)  # exited or killed
                return True
            if time.monotonic() >= self._deadline:
                self.reason = f"thread {tid} did not stop within the time limit ({self.limit:g} s)"
                return False
            backoff()

    def _detach_all(self) -> None:
        """PTRACE_DETACH every held thread, waiting (bounded) for those not yet stopped.

        PTRACE_DETACH needs the tracee in a ptrace-stop; one that is not there yet (the
        freeze was cut short) has a PTRACE_INTERRUPT pending and stops shortly. Whatever is
        left after the grace period is detached by the kernel when this thread ends.
        """
        grace = time.monotonic() + max(self.limit, 0.1)
        pending = dict(self.held)
        backoff = _Backoff()
        while pending:
            for tid, signal in list(pending.items()):
                err = _Libc.ptrace(PTRACE_DETACH, tid, signal)
                if not err:
                    del pending[tid]
                    continue
                # ESRCH: not in a ptrace-stop yet, or gone. Collect what it reports.
                try:
                    got, status = os.waitpid(tid, os.WNOHANG | WALL)
                except ChildProcessError:
                    del pending[tid]
                    continue
                if got == tid and not os.WIFSTOPPED(status):
                    del pending[tid]  # it exited while held
                elif got == tid and status >> 16 != PTRACE_EVENT_STOP:
                    pending[tid] = os.WSTOPSIG(status)
            if not pending or time.monotonic() >= grace:
                break
            backoff()
        self.held.clear()
        self.held_until = time.monotonic()


def _refusal(err: int) -> str:
    if err == errno.EPERM:
        return (
            "ptrace is not permitted (EPERM): freezing needs the right to trace the process "
            "(the same user and ptrace allowed by Yama, or CAP_SYS_PTRACE), and no other tracer"
        )
    return f"PTRACE_SEIZE failed: {os.strerror(err)}"
