"""What can stop a read of a live process: one ProcError subclass per situation, each with
the exit status the command line gives it (see smapsfmt._live.proc for when each is raised)."""

from __future__ import annotations

import errno

from .facts import denied

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = [
    "KernelThreadError",
    "NoSuchProcessError",
    "PidReusedError",
    "ProcError",
    "ProcPermissionError",
    "ProcUnavailableError",
    "ProcessExitedError",
    "RollupMissingError",
    "ZombieProcessError",
    "permission_error",
    "rollup_missing",
]


class ProcError(OSError):
    """A live process could not be read as asked. ``str(error)`` is one line for people.

    ``pid`` is the process asked for (a number, ``"self"`` resolved), ``exit_code`` the exit
    status the command line gives for this situation. Subclasses name each situation.
    """

    exit_code: ClassVar[int] = 2

    def __init__(
        self, message: str, *, pid: int | str | None = None, err: int | None = None
    ) -> None:
        if err is None:
            super().__init__(message)
        else:
            super().__init__(err, message)
        self.message = message
        self.pid = pid

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, self.pid, self.errno))


def _rebuild(cls: type[ProcError], message: str, pid: int | str | None, err: int | None) -> Any:
    return cls(message, pid=pid, err=err)


class NoSuchProcessError(ProcError, ProcessLookupError):
    """No process has this pid (``/proc/PID`` does not exist). Exit status 4."""

    exit_code = 4


class ProcPermissionError(ProcError, PermissionError):
    """The reader may not read this process's memory map (EACCES at open). Exit status 5.

    smaps and smaps_rollup need ptrace-read access to the process (fs/proc/base.c
    ``proc_mem_open`` -> ``mm_access(task, PTRACE_MODE_READ_FSCREDS)``), checked only when the
    file is opened: the same user (and not a setuid or otherwise undumpable process), or
    CAP_SYS_PTRACE.
    """

    exit_code = 5


class ProcUnavailableError(ProcError):
    """/proc is not mounted, or its ``hidepid`` option hides the process. Exit status 6.

    ``hidepid=noaccess`` (1) refuses other users' ``/proc/PID`` with EPERM; ``invisible`` (2)
    and ``ptraceable`` (4) make them look absent (ENOENT), so "no such process" and "hidden"
    cannot be told apart there, and the message says both (Documentation/filesystems/proc.rst,
    "Mount options").
    """

    exit_code = 6


class KernelThreadError(ProcError):
    """The process is a kernel thread: it has no memory map. Exit status 7.

    Its smaps reads empty and its smaps_rollup fails with ESRCH (measured on 6.18); an empty
    result is never returned for it without saying why. ``smaps`` holds that empty text.
    """

    exit_code = 7
    smaps: bytes = b""


class ZombieProcessError(ProcError):
    """The process has exited and waits to be reaped by its parent (state Z). Exit status 8.

    Its address space is gone: smaps reads empty, smaps_rollup fails with ESRCH.
    """

    exit_code = 8


class ProcessExitedError(ProcError, ProcessLookupError):
    """The process exited, or called exec, while it was being read. Exit status 9.

    What was read may be cut short (the text cannot show it), so none of it is returned.
    """

    exit_code = 9


class PidReusedError(ProcError, ProcessLookupError):
    """The process exited and its pid now belongs to another process. Exit status 10.

    Nothing is read from the new process: the files are opened relative to the first process's
    ``/proc/PID`` fd, which refuses with ESRCH once that process is gone.
    """

    exit_code = 10


class RollupMissingError(ProcError, FileNotFoundError):
    """The kernel has no smaps_rollup (older than 4.14). Exit status 11.

    ``read_rollup(pid, sum_if_missing=True)`` sums smaps instead.
    """

    exit_code = 11


def permission_error(pid: int | str, path: str, err: int) -> ProcPermissionError:
    """The refusal of ``path`` (EACCES or EPERM) to a reader without ptrace-read access."""
    return ProcPermissionError(denied(path), pid=pid, err=err)


def rollup_missing(pid: int | str, path: str) -> RollupMissingError:
    """The answer where ``path``, a process's smaps_rollup, does not exist (ENOENT): a kernel
    older than 4.14, which added it (fs/proc/base.c tgid_base_stuff, Linux 4.14)."""
    return RollupMissingError(
        f"{path} does not exist: this kernel has no smaps_rollup (it appeared in Linux 4.14)",
        pid=pid, err=errno.ENOENT,
    )  # fmt: skip
