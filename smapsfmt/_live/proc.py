"""Reading live processes: /proc/PID/smaps and smaps_rollup, safely, with a typed outcome for
every situation a real process can be in.

Every file is opened relative to one fd of the ``/proc/PID`` directory, taken first: if the
process dies and its pid is given to a new process, the old fd keeps refusing (ESRCH) instead of
silently reading the new process (measured on 6.18; fs/proc/base.c ``pid_revalidate``).

A read of smaps cut short by exit or exec cannot be seen in its text: the kernel stops at a
whole block, then gives EOF (fs/proc/task_mmu.c ``m_start``: ``mmget_not_zero`` fails, NULL),
or ESRCH once the task is reaped. So smaps_rollup is opened *before* smaps is read, and read
*after* it: its ``show_smaps_rollup`` fails with ESRCH when the address space it was opened on
is gone (fs/proc/task_mmu.c, 4.19 to 6.18), which is exactly "exited or exec'd since". On a
kernel without smaps_rollup (< 4.14) a second smaps fd, opened before, serves the same purpose:
reading it gives nothing once its address space is gone (same ``m_start``).
"""

from __future__ import annotations

import errno
import os

from .errors import (
    KernelThreadError,
    NoSuchProcessError,
    PidReusedError,
    ProcError,
    ProcessExitedError,
    ProcPermissionError,
    ProcUnavailableError,
    RollupMissingError,
    ZombieProcessError,
    permission_error,
    rollup_missing,
)
from .facts import PF_KTHREAD, PROC, read_to_end, zombie

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from typing import Any

    from .._model import Rollup, Smaps

__all__ = [
    "KernelThreadError",
    "NoSuchProcessError",
    "PidReusedError",
    "ProcError",
    "ProcPermissionError",
    "ProcUnavailableError",
    "ProcessExitedError",
    "RollupMissingError",
    "Snapshot",
    "ZombieProcessError",
    "permission_error",
    "read_rollup",
    "read_smaps",
    "snapshot",
]

# Seconds a target may stay frozen. Both reads of a process with 64,000 mappings (about the
# default vm.max_map_count, 65,530) take 0.16 to 0.39 s on this machine (Linux 6.18).
DEFAULT_TIMEOUT = 1.0


# --- /proc/PID, held by an fd -----------------------------------------------------------------


def _pid_part(pid: int | str) -> str:
    if pid == "self":
        return "self"
    if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
        return str(pid)
    raise ValueError(f"a pid is a positive int or 'self', not {pid!r}")


def _proc_mounted(root: str) -> bool:
    return os.path.exists(os.path.join(root, "self", "stat"))


def _hidepid(root: str) -> str | None:
    """The ``hidepid=`` option of the procfs mounted at ``root`` (None when not hidden)."""
    try:
        with open("/proc/self/mountinfo", "rb") as handle:
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    value = None
    for line in lines:  # proc(5) mountinfo: the last mount on a mount point is the visible one
        parts = line.split(" - ", 1)
        fields = parts[0].split()
        if len(parts) == 2 and len(fields) > 4 and fields[4] == root:
            options = parts[1].split()[2].split(",") if len(parts[1].split()) > 2 else []
            value = next((o[8:] for o in options if o.startswith("hidepid=")), None)
    # Numbers before Linux 5.8, names since (fs/proc/root.c proc_parse_hidepid_param).
    names = {"1": "noaccess", "2": "invisible", "4": "ptraceable", "0": None, "off": None}
    return names.get(value, value) if value is not None else None


class _Stat:
    """The parts of /proc/PID/stat used here (fs/proc/array.c ``do_task_stat``)."""

    __slots__ = ("comm", "flags", "starttime", "state")

    def __init__(self, comm: str, state: str, flags: int, starttime: int) -> None:
        self.comm = comm
        self.state = state
        self.flags = flags
        self.starttime = starttime

    def __repr__(self) -> str:
        return f"_Stat({self.comm!r}, {self.state!r}, {self.flags:#x}, {self.starttime})"

    @classmethod
    def parse(cls, data: bytes) -> _Stat:
        # "pid (comm) state ppid ..."; comm may itself hold ") ", so split at the last one.
        head, _, rest = data.rpartition(b") ")
        comm = head.partition(b" (")[2].decode("utf-8", "backslashreplace")
        fields = rest.split()
        # state is field 3, flags field 9, starttime field 22 (proc(5)); rest starts at field 3.
        return cls(comm, fields[0].decode(), int(fields[6]), int(fields[19]))


class ProcDir:
    """An open ``/proc/PID`` directory; every file is opened relative to it."""

    def __init__(self, pid: int | str, root: str = PROC) -> None:
        part = _pid_part(pid)
        self.root = root
        self.pid: int | str = pid
        try:
            self.fd = os.open(
                os.path.join(root, part), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
            )
        except OSError as exc:
            raise self._open_error(exc) from None
        try:
            if part == "self":
                self.pid = int(os.readlink(os.path.join(root, "self")))
            self.first = self._first_stat()
        except BaseException:
            os.close(self.fd)
            raise

    def _raw_stat(self) -> _Stat:
        """/proc/PID/stat through the held fd; a failure is the bare OSError."""
        fd = os.open("stat", os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            return _Stat.parse(os.read(fd, 4096))
        finally:
            os.close(fd)

    def _first_stat(self) -> _Stat:
        try:
            return self._raw_stat()
        except ProcessLookupError:  # gone between the two opens: as if it never was
            path = f"{self.root}/{self.pid}"
            raise NoSuchProcessError(
                f"no process {self.pid}: {path} does not exist", pid=self.pid, err=errno.ESRCH
            ) from None
        except OSError as exc:
            raise self._open_error(exc) from None

    def __enter__(self) -> ProcDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def path(self, name: str) -> str:
        return f"{self.root}/{self.pid}/{name}"

    # --- opening and reading ------------------------------------------------------------------

    def open(self, name: str, *, at_start: bool = False) -> int:
        """An fd of ``/proc/PID/name``, or the ProcError that says why not."""
        try:
            return os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            raise self.error(exc, name, at_start=at_start) from None

    def read(self, fd: int, name: str) -> bytes:
        """Everything ``fd`` gives until EOF (``facts.read_to_end``); ``name`` names the file
        in an error."""
        try:
            return read_to_end(fd)
        except OSError as exc:
            raise self.error(exc, name) from None

    def read_file(self, name: str) -> bytes:
        fd = self.open(name, at_start=True)
        try:
            return self.read(fd, name)
        finally:
            os.close(fd)

    def stat(self) -> _Stat:
        return _Stat.parse(self.read_file("stat"))

    def list_threads(self) -> list[int]:
        fd = self.open("task")
        try:
            return [int(name) for name in os.listdir(fd)]
        finally:
            os.close(fd)

    def thread_state(self, tid: int) -> str | None:
        try:
            return self.read_file(f"task/{tid}/stat").rpartition(b") ")[2][:1].decode()
        except (ProcError, OSError):
            return None

    # --- what went wrong ----------------------------------------------------------------------

    def _open_error(self, exc: OSError) -> ProcError:
        """The outcome of a failed open of ``/proc/PID`` itself."""
        pid, root = self.pid, self.root
        hidden = _hidepid(root)
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if not _proc_mounted(root):
                return ProcUnavailableError(
                    f"cannot read process {pid}: {root} is not mounted (procfs is needed to "
                    "read live processes)", pid=pid, err=exc.errno,
                )  # fmt: skip
            if hidden in ("invisible", "ptraceable"):
                return ProcUnavailableError(
                    f"no process {pid} is visible: it does not exist, or {root} (mounted with "
                    f"hidepid={hidden}) hides it from this user", pid=pid, err=exc.errno,
                )  # fmt: skip
            return NoSuchProcessError(
                f"no process {pid}: {root}/{pid} does not exist", pid=pid, err=exc.errno
            )
        if exc.errno == errno.EPERM and hidden is not None:
            return ProcUnavailableError(
                f"process {pid} is hidden: {root} is mounted with hidepid={hidden}, which "
                "refuses other users' processes", pid=pid, err=exc.errno,
            )  # fmt: skip
        if exc.errno in (errno.EACCES, errno.EPERM):
            return permission_error(pid, f"{root}/{pid}", exc.errno)
        return ProcError(
            f"cannot read process {pid}: {root}/{pid}: {exc.strerror}", pid=pid, err=exc.errno
        )

    def error(self, exc: OSError, name: str, *, at_start: bool = False) -> ProcError:
        """The outcome of a failed open or read of ``/proc/PID/name``."""
        pid, path = self.pid, self.path(name)
        if isinstance(exc, ProcError):
            return exc
        if exc.errno == errno.ESRCH:
            return self.gone(at_start=at_start)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return permission_error(pid, path, exc.errno)
        if exc.errno == errno.ENOENT and name == "smaps_rollup":
            return rollup_missing(pid, path)
        return ProcError(f"cannot read {path}: {exc.strerror}", pid=pid, err=exc.errno)

    def gone(self, *, at_start: bool = False) -> ProcError:
        """Classify an ESRCH: the address space the files were opened on is gone.

        ``at_start``: nothing was read yet, so a zombie or a kernel thread is reported as such
        rather than as a process that exited during the read.
        """
        pid = self.pid
        try:
            now: _Stat | None = self._raw_stat()
        except OSError:
            now = None
        if now is None:  # reaped: the held fd refuses everything
            try:
                with open(f"{self.root}/{pid}/stat", "rb") as handle:
                    other: _Stat | None = _Stat.parse(handle.read())
            except OSError:
                other = None
            if other is not None and other.starttime != self.first.starttime:
                # Only the new process's stat is read, to tell the two apart.
                return PidReusedError(
                    f"process {pid} ({self.first.comm}) exited and its pid now belongs to "
                    f"another process ({other.comm}); nothing was read from it", pid=pid,
                    err=errno.ESRCH,
                )  # fmt: skip
            # at_start: the files were opened (or the process found) but nothing read yet.
            when = "before it could be read" if at_start else "while it was being read"
            return ProcessExitedError(
                f"process {pid} ({self.first.comm}) exited {when}", pid=pid, err=errno.ESRCH
            )
        if at_start:
            refusal = refusal_of(pid, now)
            if refusal is not None:
                return refusal
        return ProcessExitedError(
            f"process {pid} ({self.first.comm}) exited or called exec while it was being "
            "read; what was read may be cut short, so it is not used", pid=pid, err=errno.ESRCH,
        )  # fmt: skip


def refusal_of(pid: int | str, stat: _Stat) -> ProcError | None:
    """The error for a process that has no memory map to read, or None."""
    if stat.flags & PF_KTHREAD:
        return KernelThreadError(
            f"process {pid} ({stat.comm}) is a kernel thread: it has no memory map (its smaps "
            "is empty and it has no smaps_rollup)", pid=pid,
        )  # fmt: skip
    if stat.state in ("Z", "X"):  # fs/proc/array.c task_state_array: zombie, dead
        return ZombieProcessError(zombie(pid, stat.comm), pid=pid)
    return None


# --- reading ----------------------------------------------------------------------------------


class Snapshot:
    """smaps and smaps_rollup of one process, read one right after the other (read-only).

    ``frozen``: smapsfmt held every thread of the process stopped (ptrace) from before the first
    read until after the last. ``consistent``: the process could not run during the reads
    (frozen, or already stopped by someone else before and after); only then do the two texts
    describe the same instant. ``note`` says why not, when not. ``rollup_text`` is None where
    the kernel has no smaps_rollup (older than 4.14). ``smaps`` and ``rollup`` are the parsed
    texts, parsed on first use.
    """

    __slots__ = ("_parsed", "consistent", "frozen", "note", "pid", "rollup_text", "smaps_text")

    pid: int
    smaps_text: bytes
    rollup_text: bytes | None
    frozen: bool
    consistent: bool
    note: str | None

    def __init__(
        self,
        pid: int,
        smaps_text: bytes,
        rollup_text: bytes | None,
        *,
        frozen: bool,
        consistent: bool,
        note: str | None = None,
    ) -> None:
        values: tuple[object, ...] = (pid, smaps_text, rollup_text, frozen, consistent, note, {})
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    _fields = ("pid", "smaps_text", "rollup_text", "frozen", "consistent", "note", "_parsed")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Snapshot is read-only: cannot set {name!r}")

    def __repr__(self) -> str:
        return (
            f"Snapshot(pid={self.pid}, smaps_text=<{len(self.smaps_text)} bytes>, rollup_text="
            f"{'None' if self.rollup_text is None else f'<{len(self.rollup_text)} bytes>'}, "
            f"frozen={self.frozen}, consistent={self.consistent}, note={self.note!r})"
        )

    @property
    def smaps_path(self) -> str:
        return f"{PROC}/{self.pid}/smaps"

    @property
    def rollup_path(self) -> str:
        return f"{PROC}/{self.pid}/smaps_rollup"

    @property
    def smaps(self) -> Smaps:
        """The parsed smaps (SmapsSyntaxError if the text is not a smaps file)."""
        parsed: dict[str, Any] = self._parsed  # type: ignore[attr-defined]
        if "smaps" not in parsed:
            from .._parse.parser import parse_smaps

            parsed["smaps"] = parse_smaps(self.smaps_text, path=self.smaps_path)
        return parsed["smaps"]  # type: ignore[no-any-return]

    @property
    def rollup(self) -> Rollup | None:
        """The parsed smaps_rollup, None where the kernel has none."""
        parsed: dict[str, Any] = self._parsed  # type: ignore[attr-defined]
        if "rollup" not in parsed:
            from .._parse.parser import parse_rollup

            text = self.rollup_text
            parsed["rollup"] = None if text is None else parse_rollup(text, path=self.rollup_path)
        return parsed["rollup"]  # type: ignore[no-any-return]


class _Files:
    """The files of one read, opened before any is read (see the module docstring)."""

    __slots__ = ("probe", "rollup", "smaps")

    def __init__(self, smaps: int, rollup: int | None, probe: int) -> None:
        self.smaps = smaps
        self.rollup = rollup  # None: the kernel has no smaps_rollup
        self.probe = probe  # read after smaps to see whether its address space is still there


def _open_files(proc: ProcDir, with_rollup: bool = True) -> _Files:
    opened: list[int] = []
    try:
        rollup: int | None = None
        if with_rollup:
            try:
                rollup = proc.open("smaps_rollup", at_start=True)
            except RollupMissingError:
                pass
            else:
                opened.append(rollup)
        smaps = proc.open("smaps", at_start=True)
        opened.append(smaps)
        probe = rollup if rollup is not None else proc.open("smaps", at_start=True)
    except BaseException:
        for fd in set(opened):
            os.close(fd)
        raise
    return _Files(smaps, rollup, probe)


def _probe(fd: int) -> bytes:
    """The first byte of a smaps opened before the read: nothing once the address space it was
    opened on is gone (exit or exec: an empty read, or ESRCH as the exit completes)."""
    try:
        return os.read(fd, 1)
    except ProcessLookupError:
        return b""


def _close_files(files: _Files) -> None:
    for fd in {files.smaps, files.probe, files.rollup}:
        if fd is not None:
            os.close(fd)


def capture(
    pid: int | str,
    *,
    freeze: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    root: str = PROC,
    with_rollup: bool = True,
) -> Snapshot:
    """Read smaps, then smaps_rollup, of ``pid``, frozen if asked and allowed: see ``snapshot``.
    ``with_rollup=False`` reads smaps alone (``rollup_text`` is then None): the kernel walks the
    address space once instead of twice.

    A read cut short by exit or exec raises ProcessExitedError (see the module docstring).
    """
    from .hold import time_limit

    timeout = time_limit(timeout)  # before the process is looked at
    with ProcDir(pid, root) as proc:
        return capture_from(proc, freeze=freeze, timeout=timeout, with_rollup=with_rollup)


def capture_from(
    proc: ProcDir, *, freeze: bool, timeout: float, with_rollup: bool = True
) -> Snapshot:
    """``capture`` of the process that ``proc`` holds (smapsfmt.Process reads it many times).
    ``timeout`` is checked by the caller (``hold.time_limit``), before the process is looked
    at."""
    refusal = refusal_of(proc.pid, proc.first)
    if refusal is not None:
        raise refusal
    files = _open_files(proc, with_rollup)
    try:
        return _read(proc, files, freeze=freeze, timeout=timeout)
    finally:
        _close_files(files)


def _read(proc: ProcDir, files: _Files, *, freeze: bool, timeout: float) -> Snapshot:
    """Read the opened files, under a freeze if asked and allowed, and check the read whole."""
    from .hold import hold

    assert isinstance(proc.pid, int)
    with hold(proc, freeze=freeze, timeout=timeout) as held:
        smaps_text = proc.read(files.smaps, "smaps")
        rollup_text: bytes | None = None
        if files.rollup is not None:
            # ESRCH here: the address space smaps was read from is gone (exit or exec).
            rollup_text = proc.read(files.rollup, "smaps_rollup")
        elif not _probe(files.probe):
            # No smaps_rollup: the second smaps is empty once its address space is gone.
            raise proc.gone()
    if not smaps_text:
        # A user process always has mappings: an empty smaps means its memory map is gone.
        raise proc.gone(at_start=True)
    return Snapshot(
        proc.pid,
        smaps_text,
        rollup_text,
        frozen=held.frozen,
        consistent=held.consistent,
        note=held.note,
    )


def read_smaps(pid: int | str) -> Smaps:
    """The parsed ``/proc/PID/smaps`` of a live process (``pid`` an int or ``"self"``).

    The process is not frozen (see ``snapshot`` for that): a process that changes its mappings
    while it is read can show one mapping twice or overlapping ranges. Raises a ProcError
    subclass for each situation where there is no complete smaps to return.
    """
    return capture(pid, freeze=False, with_rollup=False).smaps


def read_rollup(pid: int | str, *, sum_if_missing: bool = False) -> Rollup:
    """The parsed ``/proc/PID/smaps_rollup`` of a live process (``pid`` an int or ``"self"``).

    On a kernel without smaps_rollup (older than 4.14) this raises RollupMissingError, unless
    ``sum_if_missing``: then smaps is read and summed with ``smapsfmt.aggregate`` (the rollup
    that kernel would print), and the result is a ``SummedRollup``, a Rollup whose
    ``summed_from_smaps`` is True (also in its JSON). Its Pss-like fields are the sums of the
    values smaps printed: the low end of the kernel's interval, which the kernel's own sum can
    exceed by less than 1 kB per mapping.
    """
    with ProcDir(pid) as proc:
        return rollup_from(proc, sum_if_missing=sum_if_missing)


def rollup_from(proc: ProcDir, *, sum_if_missing: bool = False) -> Rollup:
    """``read_rollup`` of the process that ``proc`` holds."""
    from .._parse.parser import parse_rollup

    refusal = refusal_of(proc.pid, proc.first)
    if refusal is not None:
        raise refusal
    try:
        fd = proc.open("smaps_rollup", at_start=True)
    except RollupMissingError:
        if not sum_if_missing:
            raise
        return summed_rollup(capture_from(proc, freeze=False, timeout=DEFAULT_TIMEOUT).smaps)
    try:
        text = proc.read(fd, "smaps_rollup")
    finally:
        os.close(fd)
    return parse_rollup(text, path=f"{PROC}/{proc.pid}/smaps_rollup")


def snapshot(pid: int | str, *, freeze: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Snapshot:
    """smaps and smaps_rollup of a live process, read while it is frozen: a consistent pair.

    Every thread is stopped with ``PTRACE_SEIZE`` + ``PTRACE_INTERRUPT`` while both files are
    read, then let go with ``PTRACE_DETACH``, by a helper process forked for the freeze.
    ``timeout`` bounds how long the process stays frozen, even if the read is stuck or the
    calling process is stopped (SIGSTOP; SIGTSTP is held back until the release when called
    from the main thread): seconds, finite and above 0 (else ValueError), capped at
    ``threading.TIMEOUT_MAX``, counted on CLOCK_MONOTONIC; a read that the limit cut short
    is not ``frozen``, and ``note`` says so. If the caller dies, SIGKILL included, the
    helper dies with it and the kernel lets the process go. A process already stopped by
    someone else is read as found and never resumed. Where freezing is not permitted (another
    tracer, no right to trace, the caller itself) or not asked for (``freeze=False``), the
    files are read unfrozen and ``Snapshot.note`` says so: the pair may then disagree.

    Side effect: in the frozen process, a few blocking calls (``epoll_wait``, ``semop``,
    ``sigtimedwait``, ``recv``/``send`` with a socket timeout, ...) return EINTR when it
    resumes, as after SIGSTOP/SIGCONT (signal(7)); well-written programs retry them.

    Raises a ProcError subclass for each situation where there is nothing complete to return.
    """
    return capture(pid, freeze=freeze, timeout=timeout)


# --- a rollup summed from smaps ---------------------------------------------------------------


def _summed_rollup_class() -> type[Rollup]:
    global _SUMMED  # noqa: PLW0603 - built once, on first use: pydantic loads lazily
    if _SUMMED is None:
        from pydantic import ConfigDict, Field
        from pydantic.dataclasses import dataclass as model

        from .._model import Rollup

        # The same dataclass parameters as Rollup's own (frozen or not, slots, keywords).
        params: dict[str, Any] = {
            "frozen": Rollup.__dataclass_params__.frozen,  # type: ignore[attr-defined]
            "slots": True,
            "kw_only": True,
            "config": ConfigDict(strict=False),
        }

        @model(**params)
        class SummedRollup(Rollup):
            """A smaps_rollup computed by summing smaps, where the kernel has none (< 4.14)."""

            summed_from_smaps: bool = Field(
                default=True, description="computed from smaps: the kernel printed no rollup"
            )

        SummedRollup.__module__ = __name__
        _SUMMED = SummedRollup
    return _SUMMED


_SUMMED: type[Rollup] | None = None


def summed_rollup(smaps: Smaps) -> Rollup:
    """The rollup of ``smaps``, as the kernel that printed it would compute it
    (``smapsfmt.aggregate``), as a ``SummedRollup`` (``summed_from_smaps`` True)."""
    import dataclasses

    from .._rollup.aggregate import aggregate

    rollup = aggregate(smaps)
    values = {f.name: getattr(rollup, f.name) for f in dataclasses.fields(rollup)}
    return _summed_rollup_class()(**values)
