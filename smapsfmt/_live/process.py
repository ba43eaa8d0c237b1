"""smapsfmt.Process: one live process, held by its /proc/PID directory across many reads.

``read_smaps``, ``read_rollup`` and ``snapshot`` each open /proc/PID anew: two calls with the
same pid may read two processes, if the first exited and its pid was given to another in
between. A Process opens /proc/PID once and opens every file relative to that fd: once the
process is gone, the fd refuses every open with ESRCH, even when the pid has been reused
(fs/proc/base.c ``pid_revalidate``; measured on Linux 6.18), so a read never returns another
process's file. This is what a tool reading several files of one process over time needs (the
way psutil.Process is used), with smapsfmt's typed outcome for each situation.
"""

from __future__ import annotations

from .facts import PROC
from .hold import Freeze, hold, time_limit
from .proc import DEFAULT_TIMEOUT, ProcDir, Snapshot, capture_from, refusal_of, rollup_from

TYPE_CHECKING = False  # not from typing (mypy knows the idiom)
if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .._model import Rollup, Smaps

__all__ = ["Process"]


class Process:
    """A live process, held by its ``/proc/PID`` directory: every read is of this process.

    ``Process(pid)`` (``pid`` an int or ``"self"``) opens ``/proc/PID`` and keeps it open
    until ``close()``, or the end of a ``with`` block. Every file is opened relative to that
    directory: once the process has exited, every read raises ``ProcessExitedError``, or
    ``PidReusedError`` when its pid now belongs to another process; no read ever returns a
    file of another process. (A process that calls exec stays the same process, running
    another program: later reads show the new program's memory.) Opening raises what
    ``read_smaps`` raises for a process that cannot be read at all (``NoSuchProcessError``,
    ``ProcPermissionError``, ``ProcUnavailableError``); ``ValueError`` for a pid that is
    neither an int above 0 nor ``"self"``.

    ``pid`` is the process id (``"self"`` resolved); ``comm`` its name (/proc/PID/stat), as
    last seen. The methods are those of the module, for this process: ``read_smaps()``,
    ``read_rollup(sum_if_missing=False)``, ``snapshot(freeze=True, timeout=1.0)``, each raising
    the same errors, and ``read_file(name)``, the bytes of any file of ``/proc/PID``
    (``"status"``, ``"maps"``, ``"task/TID/stat"``, ...); ``frozen(timeout=1.0)`` holds the
    process stopped while a ``with`` block reads it. A closed Process refuses to read
    (ValueError).
    """

    __slots__ = ("_dir",)

    def __init__(self, pid: int | str) -> None:
        self._dir: ProcDir | None = ProcDir(pid, PROC)

    @property
    def pid(self) -> int:
        pid = self._held().pid
        assert isinstance(pid, int)  # ProcDir resolves "self"
        return pid

    @property
    def comm(self) -> str:
        return self._held().first.comm

    @property
    def closed(self) -> bool:
        return self._dir is None

    def _held(self) -> ProcDir:
        if self._dir is None:
            raise ValueError("this Process is closed: its /proc directory is no longer held")
        return self._dir

    def _now(self) -> ProcDir:
        """The held directory, its stat read again: the state the checks see is the state now
        (a process found running may be stopped, or a zombie, by the time of a later read)."""
        held = self._held()
        held.first = held.stat()  # through the held fd: ProcessExitedError, PidReusedError
        return held

    def read_smaps(self) -> Smaps:
        """The parsed ``/proc/PID/smaps``, not frozen: see ``smapsfmt.read_smaps``."""
        held = self._now()
        return capture_from(held, freeze=False, timeout=DEFAULT_TIMEOUT, with_rollup=False).smaps

    def read_rollup(self, *, sum_if_missing: bool = False) -> Rollup:
        """The parsed ``/proc/PID/smaps_rollup``: see ``smapsfmt.read_rollup``."""
        return rollup_from(self._now(), sum_if_missing=sum_if_missing)

    def snapshot(self, *, freeze: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Snapshot:
        """smaps and smaps_rollup, read while the process is frozen: see ``smapsfmt.snapshot``."""
        limit = time_limit(timeout)  # before the process is looked at, as smapsfmt.snapshot
        return capture_from(self._now(), freeze=freeze, timeout=limit)

    def frozen(self, *, timeout: float = DEFAULT_TIMEOUT) -> AbstractContextManager[Freeze]:
        """Hold every thread of the process stopped while the ``with`` block runs, as
        ``snapshot`` does around its two reads, so that several files read in the block
        describe one instant::

            with proc.frozen() as freeze:
                smaps, status = proc.read_file("smaps"), proc.read_file("status")
            if not freeze.consistent:
                print(freeze.note)

        The block yields a :class:`~smapsfmt.Freeze`: ``frozen`` tells whether the process is
        held; after the block, whether it was held until its end, and ``consistent`` whether
        it could not run meanwhile. Where it may not be frozen (another tracer, no right to
        trace, the calling process itself) or was already stopped by someone else (left as
        found), the block runs all the same and ``note`` says why not. ``timeout`` bounds
        how long the process stays stopped, even if the block is stuck or the caller is
        stopped: seconds, finite and above 0 (else ValueError, before the process is
        touched), counted from the start of the block; past it the process is let go, and
        the Freeze says so. Ctrl-Z (SIGTSTP) of the calling program is held back until the
        block ends (main thread only). Raises ``KernelThreadError`` and
        ``ZombieProcessError`` (nothing to hold), and what a read of a process that is gone
        raises. The side effects are those of ``snapshot``.
        """
        limit = time_limit(timeout)
        held = self._now()
        refusal = refusal_of(held.pid, held.first)
        if refusal is not None:
            raise refusal
        return hold(held, freeze=True, timeout=limit)

    def read_file(self, name: str) -> bytes:
        """The whole text of ``/proc/PID/NAME``, read through the held directory. ``name`` is a
        path inside it (``"status"``, ``"task/1234/stat"``): not absolute, no ``.`` or ``..``
        part (ValueError), so that nothing outside this process's directory is read."""
        parts = name.split("/") if isinstance(name, str) else []
        if not parts or any(part in ("", ".", "..") for part in parts):
            raise ValueError(
                "a file of a Process is named by a path inside its /proc directory, such as "
                f"'status' or 'task/1234/stat', not {name!r}"
            )
        return self._held().read_file(name)

    def close(self) -> None:
        """Let go of the /proc directory (again: nothing)."""
        if self._dir is not None:
            self._dir.close()
            self._dir = None

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._dir is None:
            return "Process(closed)"
        return f"Process(pid={self.pid}, comm={self.comm!r})"
