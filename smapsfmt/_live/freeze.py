"""Freeze a live process with ptrace while its /proc files are read, and always let it go.

How (ptrace(2), "Group-stop" and "PTRACE_SEIZE"/"PTRACE_INTERRUPT"; kernel/ptrace.c):

* The tracer is a process of its own, forked for each freeze: the *holder*. On the reader's
  word (each first runs its own code once: their first run after a fork copies the pages it
  writes, a cost not to be paid while the target is stopped), it seizes every thread listed
  in ``/proc/PID/task`` (``PTRACE_SEIZE``), then interrupts it (``PTRACE_INTERRUPT``),
  and waits (``waitpid(tid, __WALL)``) until it reports a stop. It lists ``task`` again until no
  thread appears that is not held: a thread created while it was stopping the others shows up
  there. ``PTRACE_O_TRACECLONE`` is not used, so a new thread is never attached behind our back.
  Then it says so through a socket pair, and the reader (smapsfmt's own process) reads the files.
* Release is ``PTRACE_DETACH``, giving back any signal that arrived while the thread was held.
  The holder detaches when the reader asks it to, or on its own when the time limit expires,
  whichever comes first. The limit is counted on ``CLOCK_MONOTONIC`` (``time.monotonic``, and
  ``poll``'s timeout), which goes on while smapsfmt is stopped.
* smapsfmt may be stopped while it reads (Ctrl-Z: SIGTSTP to its process group; or SIGSTOP):
  the holder is not. It is in a process group of its own, so neither a job-control stop of
  smapsfmt's group nor a SIGSTOP of smapsfmt reaches it, and it blocks SIGTSTP, SIGTTIN and
  SIGTTOU (a stop signal sent to the holder itself is left pending: only SIGSTOP could stop it).
  Its deadline does not depend on the reader running: the target is let go when the limit
  expires, even while smapsfmt is stopped. The reader learns from the holder's report when the
  target was let go; if that was before the read ended, the read was not frozen throughout.
  While a target is frozen, smapsfmt's main thread holds SIGTSTP back (``stop_deferred``): the
  read ends frozen, the target is let go, and only then does smapsfmt stop.
* If smapsfmt dies (SIGKILL included), the kernel kills the holder (``PR_SET_PDEATHSIG``,
  prctl(2); checked against a parent that died before it was armed), and when the holder dies
  the kernel detaches every tracee (kernel/exit.c ``exit_notify`` -> ``exit_ptrace``): the target
  runs on. A target can never be left stopped or traced, unlike with SIGSTOP or the cgroup
  freezer. A holder that does not answer in time is killed by smapsfmt, with the same effect.
* A thread that was in a group-stop (stopped by SIGSTOP from someone else) stays stopped after
  ``PTRACE_DETACH`` (kernel/ptrace.c ``__ptrace_unlink`` re-arms the group stop). On top of that,
  a target found stopped is not touched at all (see ``why_not``).
* Forking costs the time to copy smapsfmt's page tables, and the first run of code in a fork
  is slower (each page it writes is copied), which the warm-up before the first seize only
  partly hides. Measured with bench/freeze.py (busy 2-core machine, medians): a snapshot takes
  about 2 ms more than with a tracer thread; the target is held 0.15 ms (1 thread) and
  0.5 ms (16 threads) by a bare freeze and release, against 0.05 and 0.25 ms with a thread,
  and 0.55 and 1.1 ms around a snapshot's reads, against 0.35 and 0.7 ms. In Python 3.12 and
  later, ``os.fork`` warns (DeprecationWarning) when the calling program has other threads:
  the holder runs only this module's code (no imports, no locks of other threads) and ends
  with ``os._exit``.

Side effect on the target (signal(7), "Interruption of system calls and library functions by stop
signals"): a few blocking calls return ``EINTR`` when the thread is stopped and resumed, even
without a signal handler: ``epoll_wait``, ``epoll_pwait``, ``semop``/``semtimedop``,
``sigtimedwait``/``sigwaitinfo``, ``recv``/``send`` on a socket with a timeout
(``SO_RCVTIMEO``/``SO_SNDTIMEO``), ``inotify`` ``read``, ``io_getevents``. Other calls are
restarted transparently.

The numbers below are the kernel's uapi constants (include/uapi/linux/ptrace.h, include/uapi/
linux/wait.h, include/uapi/linux/prctl.h), stable since they were introduced (PTRACE_SEIZE/
INTERRUPT: Linux 3.4).
"""

from __future__ import annotations

import _socket as socket  # socket.py's wrapper (and its imports) is not needed here
import contextlib
import ctypes
import errno
import gc
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["Freezer", "process_of", "stop_deferred", "tracer_of", "why_not"]

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_EVENT_STOP = 128
WALL = 0x40000000  # __WALL: wait for every kind of child, threads included (uapi/linux/wait.h)
PR_SET_PDEATHSIG = 1  # include/uapi/linux/prctl.h

# Polling the stops: a thread stops within microseconds of PTRACE_INTERRUPT (measured: seize,
# interrupt, wait and detach of one thread take about 7 us here), so the first 0.5 ms only
# yields the CPU between checks; then sleeps, doubling up to 1 ms, so that a thread that takes
# long (in an uninterruptible sleep) does not keep a CPU busy. A plain sleep would cost the
# target about 0.1 ms of extra stop: the shortest sleep Linux gives a thread.
_SPIN = 0.5e-3
_FIRST_PAUSE = 50e-6
_LONGEST_PAUSE = 1e-3
# The longest single poll(2) wait: its timeout is an int of milliseconds (about 24 days), and
# Python refuses much less than a float can hold. Longer waits are made of several.
_LONGEST_POLL = 3600.0
# The stop signals a terminal sends (signal(7)); the holder blocks them, the reader defers one.
_JOB_STOPS = frozenset({signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
# How long past its own bound the reader waits for the holder's answer before it kills it (the
# kernel then lets the target go): only a holder that is itself stopped or starved gets there.
_ANSWER_MARGIN = 2.0
_GO = b"g"  # the reader's word to start: seize the target
_END = b"\0"  # the end of the holder's report (no reason holds a NUL)
_HELD = b"+"  # the holder's first word when every thread is held; anything else is its report


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
    """libc's ptrace(2) and prctl(2), loaded before the fork (never in the holder)."""

    _ptrace: ctypes._CFuncPtr | None = None  # type: ignore[name-defined]
    _prctl: ctypes._CFuncPtr | None = None  # type: ignore[name-defined]

    @classmethod
    def load(cls) -> None:
        if cls._ptrace is None or cls._prctl is None:
            libc = ctypes.CDLL(None, use_errno=True)
            ptrace = libc.ptrace
            ptrace.restype = ctypes.c_long
            ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
            prctl = libc.prctl
            prctl.restype = ctypes.c_int
            prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
            cls._ptrace, cls._prctl = ptrace, prctl

    @classmethod
    def ptrace(cls, request: int, tid: int, data: int = 0) -> int:
        """ptrace(request, tid, 0, data); 0 on success, else the errno."""
        cls.load()
        assert cls._ptrace is not None
        result = cls._ptrace(request, tid, None, ctypes.c_void_p(data) if data else None)
        return ctypes.get_errno() if result == -1 else 0

    @classmethod
    def die_with_parent(cls) -> None:
        """PR_SET_PDEATHSIG: SIGKILL this process when the thread that forked it ends."""
        cls.load()
        assert cls._prctl is not None
        cls._prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0)


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


@contextlib.contextmanager
def stop_deferred() -> Iterator[None]:
    """Hold SIGTSTP (Ctrl-Z) back while the block runs, then act on it as it would have been.

    A stop in the middle of a frozen read would cut the freeze short (the holder lets the
    target go at its time limit) and leave an inconsistent text; held back, the read ends
    frozen, the target is let go, and the process stops right after. Only the main thread can
    set a signal handler (signal.signal): elsewhere, and where SIGTSTP is ignored or handled
    outside Python, nothing changes (the time limit still holds).
    """
    caught: list[int] = []
    try:
        previous = signal.getsignal(signal.SIGTSTP)
        if previous is None or previous == signal.SIG_IGN:
            previous = None
        else:
            signal.signal(signal.SIGTSTP, lambda signum, _frame: caught.append(signum))
    except ValueError:  # not the main thread (or interpreter): handlers cannot be set here
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTSTP, previous)
            if caught:
                signal.raise_signal(signal.SIGTSTP)


@dataclass
class Freezer:
    """Hold every thread of ``pid`` stopped from ``freeze()`` until ``release()``.

    ``list_threads`` lists the tids in the process's ``task`` directory now, and
    ``thread_state`` gives a thread's one-letter state (None once it is gone); both read through
    a held /proc/PID fd, so that a reused pid is never frozen by mistake (the holder inherits
    it). ``limit`` is the time limit in seconds, counted from the start of ``freeze()``
    (``hold.time_limit`` checks it: finite, above 0, at most ``threading.TIMEOUT_MAX``).
    Anything that fails in the holder ends the hold and is said in ``reason``: ``release()``
    then returns False, never a false claim. The times are ``time.monotonic()`` values, as
    measured by the holder (CLOCK_MONOTONIC is one clock for every process).
    """

    pid: int
    limit: float
    list_threads: Callable[[], list[int]]
    thread_state: Callable[[int], str | None]
    reason: str | None = None  # why the target was not held (at all, or not throughout)
    expired: bool = False  # the time limit let the target go before the reader asked
    held: dict[int, int] = field(default_factory=dict)  # tid -> signal to give back at detach
    held_from: float = 0.0  # the first PTRACE_SEIZE
    let_go_at: float = 0.0  # the first PTRACE_DETACH: held until then
    held_until: float = 0.0  # after the last PTRACE_DETACH
    holder: int = 0  # the holder's pid (its parent is this process)
    _stopped: bool = False  # every thread was held when freeze() returned
    _reaped: bool = False  # the holder has been waited for
    _deadline: float = 0.0
    _channel: socket.socket | None = None  # the reader's end of its line to the holder
    _answer: bytes = b""

    def freeze(self) -> bool:
        """Stop every thread; True when they all are held, False (with ``reason``) if not."""
        self._deadline = time.monotonic() + self.limit
        _Libc.load()
        # A socket pair, not pipes: send(MSG_NOSIGNAL) never raises SIGPIPE, whatever its
        # disposition, when the other end has gone.
        try:
            self._channel, theirs = socket.socketpair()
        except OSError as exc:  # EMFILE, ENFILE: nothing started, nothing touched
            self.reason = f"cannot start the freezing process: {exc.strerror}"
            return False
        parent = os.getpid()
        # Stop signals are blocked from the fork on, so that the holder can never be stopped
        # by one, even before it leaves smapsfmt's process group; the reader unblocks them.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _JOB_STOPS)
        try:
            self.holder = os.fork()
            if self.holder == 0:  # pragma: no cover - the holder; measured by the tests
                self._holder(parent, theirs)
        except OSError as exc:  # EAGAIN, ENOMEM: no process to hold the target; none touched
            self.reason = f"cannot start the freezing process: {exc.strerror}"
            self._channel.close()
            return False
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # only the reader gets here
            theirs.close()
        try:
            with contextlib.suppress(OSError):  # both sides set it: whichever comes first
                os.setpgid(self.holder, self.holder)
            # The reader's first run of its reading code after the fork copies the pages it
            # writes (the holder shares them): done here, before the holder is told to go,
            # it is not paid while the target is stopped.
            self.thread_state(self.pid)
            with contextlib.suppress(OSError):  # EPIPE: it has ended already; its end says why
                self._channel.send(_GO, socket.MSG_NOSIGNAL)
            word = self._hear(1)
            if word == _HELD:
                self._stopped = True
                return True
            self._answer = word
            self._end()
        except BaseException:
            self._kill()
            raise
        return False

    def release(self, until: float | None = None) -> bool:
        """Let the target go; True when it was held from ``freeze()`` until ``until`` (a
        ``time.monotonic()`` value: when the read ended; by default, now)."""
        if until is None:
            until = time.monotonic()
        try:
            if self.holder and not self._reaped:
                assert self._channel is not None
                with contextlib.suppress(OSError):  # EPIPE: it has ended on its own
                    self._channel.send(b"r", socket.MSG_NOSIGNAL)
                self._end()
        except BaseException:
            self._kill()
            raise
        return self.reason is None and self._stopped and until <= self.let_go_at

    # --- the reader's side: hear the holder, end it ---------------------------------------

    def _bound(self) -> float:
        """When the holder must have answered: its deadline, its grace to detach, a margin."""
        return self._deadline + max(self.limit, 0.1) + _ANSWER_MARGIN

    def _hear(self, size: int) -> bytes:
        """Up to ``size`` bytes from the holder (b"": it ended), waiting until ``_bound()``;
        TimeoutError past it."""
        assert self._channel is not None
        poller = select.poll()
        poller.register(self._channel, select.POLLIN)
        while True:
            remaining = self._bound() - time.monotonic()
            # Past the bound, one last look: what it wrote before counts.
            if poller.poll(min(max(remaining, 0.0), _LONGEST_POLL) * 1000):
                try:
                    return self._channel.recv(size)
                except ConnectionResetError:  # it ended before it read what it was sent
                    return b""
            if remaining <= 0:
                raise TimeoutError

    def _end(self) -> None:
        """Read the holder's report to its end, reap it, and take in what it says."""
        try:
            # To its end mark, not to EOF: a fork made meanwhile by another thread of this
            # program holds a copy of the holder's end, and would delay EOF until it ends.
            while not self._answer.endswith(_END) and (chunk := self._hear(4096)):
                self._answer += chunk
        except TimeoutError:
            self._kill()
            self.reason = self.reason or (
                f"the freezing process {self.holder} did not answer in time (stopped?); it "
                "was killed and the kernel let the process go"
            )
            return
        self._take(self._answer, self._reap())

    def _take(self, report: bytes, status: int) -> None:
        try:
            if not report.endswith(_END):
                raise ValueError("cut short")
            head, _, why = report[: -len(_END)].decode().partition("\n")
            held_from, let_go_at, held_until, expired = head.split(" ")
            self.held_from, self.let_go_at = float(held_from), float(let_go_at)
            self.held_until, self.expired = float(held_until), expired == "1"
            if why:
                self.reason = self.reason or why
        except ValueError:  # no report: it was killed
            self._stopped = False
            if os.WIFSIGNALED(status):
                end = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
            else:
                end = f"ended with status {os.waitstatus_to_exitcode(status)}"
            self.reason = self.reason or (
                f"the freezing process {self.holder} {end} before it reported; the kernel "
                "let the process go"
            )

    def _reap(self) -> int:
        """Wait for the holder to end; its wait status."""
        if self._channel is not None:
            self._channel.close()
        if self._reaped:
            return 0
        self._reaped = True
        return os.waitpid(self.holder, 0)[1]

    def _kill(self) -> None:
        """End the holder at once (the kernel lets the target go) and reap it."""
        if self.holder and not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.holder, signal.SIGKILL)
            self._reap()
            self._stopped = False

    # --- the holder: a fork; every ptrace and waitpid call is made here -----------------------

    def _holder(self, parent: int, channel: socket.socket) -> None:  # pragma: no cover
        """The holder's whole life: it never returns, and never writes anything but its report
        (a traceback on the terminal would come from a background process group)."""
        try:
            # A collection would write to every object it visits: each page copied from
            # smapsfmt's, while the target may be stopped. The holder is short-lived.
            gc.disable()
            assert self._channel is not None
            self._channel.close()
            with contextlib.suppress(OSError):
                os.setpgid(0, 0)
            _Libc.die_with_parent()
            if os.getppid() != parent:
                os._exit(0)  # smapsfmt died before the death signal was armed: touch nothing
            self._hold_and_report(channel)
        finally:
            os._exit(0)

    def _hold_and_report(self, channel: socket.socket) -> None:  # pragma: no cover
        try:
            try:
                self._warm_up(channel)
                if self._wait_word(channel) != _GO:  # the reader is gone, or never said go
                    self.reason = (
                        f"the time limit ({self.limit:g} s) expired before the freeze started"
                    )
                else:
                    self._stop_all()
            except BaseException as exc:  # noqa: BLE001 - the target must be let go, whatever
                self.reason = f"freezing failed: {type(exc).__name__}: {exc}"
            if self.reason is None:
                channel.send(_HELD, socket.MSG_NOSIGNAL)
                if self._wait_word(channel) is None:
                    self.expired = True
        except BaseException as exc:  # noqa: BLE001 - recorded and reported, never raised
            self.reason = self.reason or (
                f"the freezer failed while it held the process ({type(exc).__name__}: {exc}) "
                "and let it go"
            )
        finally:
            try:
                self._detach_all()
            except BaseException as exc:  # noqa: BLE001 - recorded and reported
                self.reason = self.reason or (
                    f"releasing failed ({type(exc).__name__}: {exc}); the kernel lets the "
                    "process go when the freezing process ends"
                )
            report = f"{self.held_from!r} {self.let_go_at!r} {self.held_until!r} "
            report += f"{int(self.expired)}\n{self.reason or ''}{_END.decode()}"
            with contextlib.suppress(OSError):
                channel.sendall(report.encode(), socket.MSG_NOSIGNAL)

    def _warm_up(self, channel: socket.socket) -> None:  # pragma: no cover - in the holder
        """Make, once and before the target is touched, the calls that the hold makes: their
        first run in a fork is slow (every page they write is copied from smapsfmt's), and it
        would be paid while the target is stopped (measured: 0.2 ms more, for 1 thread)."""
        _Libc.ptrace(PTRACE_DETACH, 0)  # ESRCH: no such tracee
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-1, os.WNOHANG | WALL)  # it has no child
        channel.send(b"", socket.MSG_NOSIGNAL)  # sends nothing on a stream socket
        poller = select.poll()
        poller.register(channel, select.POLLIN)
        poller.poll(0)
        self.thread_state(self.pid)
        _Backoff()()

    def _wait_word(self, channel: socket.socket) -> bytes | None:  # pragma: no cover
        """The reader's next word (b"": it is gone), or None once the time limit expires. It
        is read, so that the reader's end is not reset when the holder ends."""
        poller = select.poll()
        poller.register(channel, select.POLLIN)
        while True:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                return None
            if poller.poll(min(remaining, _LONGEST_POLL) * 1000):
                return channel.recv(1)

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
        left after the grace period is detached by the kernel when the holder ends.
        """
        self.let_go_at = time.monotonic()
        grace = self.let_go_at + max(self.limit, 0.1)
        pending = dict(self.held)
        backoff = _Backoff()
        while pending:
            for tid, given in list(pending.items()):
                err = _Libc.ptrace(PTRACE_DETACH, tid, given)
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
