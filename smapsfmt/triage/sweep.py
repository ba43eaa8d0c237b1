"""One sweep of every process on the machine: the smaps_rollup of each, read safely.

``sweep()`` lists ``/proc``, and for each process opens its ``/proc/PID`` directory once (every
file is then opened relative to that fd, so a pid reused by a new process is never read in place
of the old one: smapsfmt._live), reads ``stat`` (command name, state, start time, kernel-thread
flag), then ``smaps_rollup``, and optionally ``cmdline`` and ``cgroup``; with ``stat=False``
(``smapsfmt ps``, which shows neither the start time nor, where there is a command line, the
command name) ``smaps_rollup`` first, and ``stat`` only where it is needed. Kernel threads, the
children of kthreadd, are told first, each by one read of its ``stat`` by path (no fd is needed
for one read: ``_is_kernel_thread``). The user is the owner
of the ``/proc/PID`` directory (the process's effective uid; root for a process that is not
dumpable, as ``ls -l /proc`` shows it), looked up in the password database once per uid.

Nothing a process can do during the sweep is an error of the sweep:

* kernel threads have no memory map: they are counted (``Sweep.kernel_threads``) and left out;
* a process that exits, or is a zombie, or whose pid is reused, or that may not be read
  (EACCES: ptrace-read access is needed; ``hidepid``), is a ``Skipped`` entry that says which
  and why (``Sweep.skipped``), never an exception.

On a kernel without smaps_rollup (before 4.14), each process's smaps is read and summed with
the kernel's arithmetic (``smapsfmt.aggregate``); ``Process.summed`` is then True and its
Pss-family fields are the low ends of the kernel's intervals.

Each process is read first by a short path that makes the same reads (one ``/proc/PID`` fd,
``stat``, ``smaps_rollup``, then ``cmdline`` and ``cgroup``) with nothing else: no exception,
object or message is built unless something is not ordinary. A kernel thread is counted, and a
process that may not be read or is a zombie is listed, from what the short path read; anything
else that is not ordinary (another error, an empty rollup, a kernel without smaps_rollup) sends the
process to the careful path, the library's safe reader (smapsfmt._live), which reads it again and
names what it is. The rollup's fields are read by smapsfmt.triage.kernel_rollup (the kernel's own
layout, without the re module; any other text by ``smapsfmt.parse_rollup``, which either reads it
or raises the located ``SmapsSyntaxError``). The common case thus never loads pydantic or lark,
and a sweep of a machine costs little more than the kernel's own reads of every rollup
(``bench/ps.py``).

This module imports no command-line code; ``smapsfmt ps`` and ``smapsfmt sample`` build on it.
"""

from __future__ import annotations

import os

from .._live.facts import PF_KTHREAD, PROC, denied, read_to_end, zombie
from .kernel_rollup import rollup_fields

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .._live.errors import ProcError
    from .._live.proc import ProcDir

__all__ = [
    "Process",
    "Skipped",
    "Sweep",
    "cgroup_path",
    "list_pids",
    "read_process",
    "sweep",
    "user_name",
]

_ROLLUP_BUFFER = 16 << 10


class Process:
    """One process of a sweep: who it is, and its smaps_rollup fields in kB by kernel name.

    ``uss`` is Private_Clean + Private_Dirty (the memory only this process maps, as procrank
    and smem count it). ``cmdline`` is the command line with NULs as spaces (empty when not
    read, or for a process without one); ``command`` is it or, when empty, ``[comm]``.
    ``comm`` is empty and ``starttime`` None when the sweep did not read stat (``stat=False``:
    then ``comm`` is read only where the command line is empty).
    ``cgroup`` is None unless asked for. ``text`` is the rollup text when ``keep_text``.
    """

    __slots__ = (
        "cgroup",
        "cmdline",
        "comm",
        "fields",
        "pid",
        "starttime",
        "summed",
        "text",
        "uid",
    )

    def __init__(
        self,
        pid: int,
        *,
        uid: int,
        comm: str,
        starttime: int | None,
        fields: dict[str, int],
        cmdline: str = "",
        cgroup: str | None = None,
        summed: bool = False,
        text: bytes | None = None,
    ) -> None:
        self.pid = pid
        self.uid = uid
        self.comm = comm
        self.starttime = starttime
        self.fields = fields
        self.cmdline = cmdline
        self.cgroup = cgroup
        self.summed = summed
        self.text = text

    @property
    def user(self) -> str:
        return user_name(self.uid)

    @property
    def command(self) -> str:
        return self.cmdline or f"[{self.comm}]"

    @property
    def uss(self) -> int:
        return self.fields.get("Private_Clean", 0) + self.fields.get("Private_Dirty", 0)

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, comm={self.comm!r}, Pss={self.fields.get('Pss')})"


class Skipped:
    """A process the sweep could not read, and why: ``reason`` is one of ``exited`` (exited,
    exec'd or became a zombie during the sweep, or its pid was reused), ``denied`` (no
    ptrace-read access), ``hidden`` (``hidepid``), ``error`` (anything else the kernel said);
    ``message`` is the library's one line for people."""

    __slots__ = ("comm", "message", "pid", "reason")

    def __init__(self, pid: int, reason: str, message: str, comm: str = "") -> None:
        self.pid = pid
        self.reason = reason
        self.message = message
        self.comm = comm

    def __repr__(self) -> str:
        return f"Skipped(pid={self.pid}, reason={self.reason!r})"


class Sweep:
    """The result of one sweep: ``processes`` (pid order), ``skipped`` (pid order),
    ``kernel_threads`` (how many were left out), ``rollup_missing`` (True on a kernel without
    smaps_rollup: every process was summed from its smaps)."""

    __slots__ = ("kernel_threads", "processes", "rollup_missing", "skipped")

    def __init__(self) -> None:
        self.processes: list[Process] = []
        self.skipped: list[Skipped] = []
        self.kernel_threads = 0
        self.rollup_missing = False

    def __repr__(self) -> str:
        return (
            f"Sweep({len(self.processes)} processes, {len(self.skipped)} skipped, "
            f"{self.kernel_threads} kernel threads)"
        )


def list_pids(root: str = PROC) -> list[int]:
    """The pids under ``root`` (processes, not threads), in increasing order."""
    try:
        names = os.listdir(root)
    except OSError as exc:
        from .._live.errors import ProcUnavailableError

        raise ProcUnavailableError(
            f"cannot list the processes: {root}: {exc.strerror or exc}", err=exc.errno
        ) from None
    return sorted(int(name) for name in names if name.isdigit())


_USERS: dict[int, str] = {}


def user_name(uid: int) -> str:
    """The login name of ``uid`` from the password database, or the number when it has none."""
    name = _USERS.get(uid)
    if name is None:
        import pwd

        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        _USERS[uid] = name
    return name


_CGROUPS: dict[bytes, str] = {}  # cgroup files read in this process, and their paths


def cgroup_path(text: bytes) -> str:
    """The cgroup that accounts a process's memory, from its ``/proc/PID/cgroup``: the path of
    the v1 ``memory`` controller where one is mounted, else the v2 unified hierarchy's
    (``0::PATH``), else the first line's (Documentation/admin-guide/cgroup-v2.rst, "Processes";
    cgroups(7)). Most processes of a machine share a few cgroups: each file's answer is kept
    (a few thousand at most), so that a sweep works it out once per cgroup."""
    path = _CGROUPS.get(text)
    if path is None:
        if len(_CGROUPS) >= 4096:
            _CGROUPS.clear()
        path = _CGROUPS[text] = _cgroup_path(text)
    return path


def _cgroup_path(text: bytes) -> str:
    if text.startswith(b"0::") and text.endswith(b"\n"):  # v2 alone, the common case
        path = text[3:-1].decode("utf-8", "backslashreplace")
        if len(path.splitlines()) <= 1:  # one line (as the loop below would split it)
            return path
    unified = first = None
    for line in text.decode("utf-8", "backslashreplace").splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if first is None:
            first = path
        if "memory" in controllers.split(","):
            return path
        if number == "0" and controllers == "":
            unified = path
    return unified if unified is not None else (first or "")


def _summed_fields(proc: ProcDir) -> dict[str, int]:
    """Where the kernel has no smaps_rollup: the rollup it would print, summed from smaps."""
    from .._live.proc import capture, summed_rollup

    rollup = summed_rollup(capture(proc.pid, freeze=False, root=proc.root).smaps)
    return {name: value for name, value in rollup.fields.items() if isinstance(value, int)}


def read_process(
    pid: int,
    *,
    root: str = PROC,
    cmdline: bool = True,
    cgroup: bool = False,
    keep_text: bool = False,
) -> Process:
    """One process: its identity and smaps_rollup fields. Raises the ProcError subclass of the
    situation (no such process, permission, kernel thread, zombie, exited during the read,
    pid reused; RollupMissingError is never raised: smaps is summed instead)."""
    # here: the short path of a sweep does without the safe reader and its errors
    from .._live.errors import ProcError
    from .._live.proc import ProcDir

    with ProcDir(pid, root) as proc:
        try:
            return _read_open(proc, cmdline=cmdline, cgroup=cgroup, keep_text=keep_text)
        except ProcError as exc:
            exc.comm = proc.first.comm  # type: ignore[attr-defined]
            raise


def _read_fd(proc: ProcDir, fd: int, name: str) -> bytes:
    """Everything ``fd`` gives (``_read_whole``), a failed read as the ProcError of ``proc``."""
    try:
        return _read_whole(fd)
    except OSError as exc:
        raise proc.error(exc, name) from None


def _read_open(proc: ProcDir, *, cmdline: bool, cgroup: bool, keep_text: bool) -> Process:
    from .._live.errors import ProcError, RollupMissingError
    from .._live.proc import refusal_of

    refusal = refusal_of(proc.pid, proc.first)
    if refusal is not None:
        raise refusal
    uid = os.fstat(proc.fd).st_uid
    text: bytes | None = None
    summed = False
    try:
        fd = proc.open("smaps_rollup", at_start=True)
    except RollupMissingError:
        fields = _summed_fields(proc)
        summed = True
    else:
        try:
            text = _read_fd(proc, fd, "smaps_rollup")
        finally:
            os.close(fd)
        if not text:  # the address space went between the open and the read
            raise proc.gone(at_start=True)
        fields = rollup_fields(text, proc.path("smaps_rollup"))
    line = ""
    if cmdline:
        try:
            raw = _read_at(proc.fd, "cmdline")
        except OSError:  # gone, or not to be read: the command is then [comm]
            raw = b""
        line = raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "backslashreplace")
    group = None
    if cgroup:
        try:
            group = cgroup_path(proc.read_file("cgroup"))
        except ProcError:
            group = ""
    assert isinstance(proc.pid, int)
    return Process(
        proc.pid,
        uid=uid,
        comm=proc.first.comm,
        starttime=proc.first.starttime,
        fields=fields,
        cmdline=line,
        cgroup=group,
        summed=summed,
        text=text if keep_text else None,
    )


_OPEN = os.O_RDONLY | os.O_CLOEXEC
_DIRECTORY = _OPEN | os.O_DIRECTORY


def _read_whole(fd: int) -> bytes:
    """Everything ``fd`` gives. One read is enough when it returns less than asked: the files
    read so are produced whole by the first read that has room for them (smaps_rollup is one
    single_open seq_file record, fs/proc/task_mmu.c; cmdline is copied up to the count asked,
    fs/proc/base.c get_mm_cmdline), which saves the read that would return the end."""
    text = os.read(fd, _ROLLUP_BUFFER)
    if len(text) < _ROLLUP_BUFFER:
        return text
    return text + read_to_end(fd)


def _read_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, _OPEN, dir_fd=dir_fd)
    try:
        return _read_whole(fd)
    finally:
        os.close(fd)


def _stat_at(dir_fd: int | None, path: str = "stat") -> tuple[bytes, list[bytes]]:
    """``stat`` through the held fd (or, with no fd, the ``path`` given): the part up to the
    command name's end, and the fields from the state (field 3) to the start time (field 22),
    as smapsfmt._live's reader splits it (the command name may itself hold ") ")."""
    fd = os.open(path, _OPEN, dir_fd=dir_fd)
    try:
        stat = os.read(fd, 4096)
    finally:
        os.close(fd)
    head, _, rest = stat.rpartition(b") ")
    return head, rest.split(None, 20)


def _comm(head: bytes) -> str:
    return head.partition(b" (")[2].decode("utf-8", "backslashreplace")


def _quick(
    pid: int, root: str, cmdline: bool, cgroup: bool, keep_text: bool, *, stat: bool = True
) -> Process | Skipped | bool:
    """``read_process`` for the common case, in the fewest steps: the same files read the same
    way (each relative to the one ``/proc/PID`` fd), without its classes and messages. True for
    a kernel thread; a Skipped for a process that may not be read or is a zombie; False for
    anything else that is not the common case (any other error, an empty rollup, a command line
    or cgroup that cannot be read): the careful path then reads the process again and says what
    it is.

    With ``stat``, stat is read first (the command name, the start time, and the kernel-thread
    flag, which then spares a kernel thread every other read). Without it, smaps_rollup is read
    first and stat only where the command name is needed: a command line that is empty, or a
    rollup that could not be read (a kernel thread or a zombie: neither has a memory map)."""
    try:
        dir_fd = os.open(f"{root}/{pid}", _DIRECTORY)
    except OSError:
        return False
    head = b""
    parts: list[bytes] = []
    try:
        if stat:
            head, parts = _stat_at(dir_fd)
            if int(parts[6]) & PF_KTHREAD:
                return True
            if parts[0] in (b"Z", b"X"):
                return _zombie(pid, head)
        try:
            text = _read_at(dir_fd, "smaps_rollup")
        except OSError as exc:
            return _unread(pid, root, dir_fd, exc.errno, (head, parts))
        if not text:
            return False
        raw = _read_at(dir_fd, "cmdline") if cmdline else b""
        if not stat and not raw:  # the command is then [comm]: stat has it
            head, parts = _stat_at(dir_fd)
        group = cgroup_path(_read_at(dir_fd, "cgroup")) if cgroup else None
        uid = os.fstat(dir_fd).st_uid
    except (OSError, ValueError, IndexError):
        return False
    finally:
        os.close(dir_fd)
    return Process(
        pid,
        uid=uid,
        comm=_comm(head) if head else "",
        starttime=int(parts[19]) if stat else None,
        fields=rollup_fields(text, f"{root}/{pid}/smaps_rollup"),
        cmdline=raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "backslashreplace"),
        cgroup=group,
        text=text if keep_text else None,
    )


def _unread(
    pid: int, root: str, dir_fd: int, err: int | None, stat: tuple[bytes, list[bytes]]
) -> Skipped | bool:
    """A smaps_rollup that could not be read: True for a kernel thread, a Skipped for a
    process that may not be read or is a zombie, else False (the careful path says what it
    is). A kernel thread never has a memory map to show: the kernel gives no mm of a
    PF_KTHREAD task to /proc, even one that borrowed an mm (kernel/fork.c get_task_mm, 6.18),
    so smaps_rollup fails with ESRCH, at open on 6.18 (fs/proc/task_mmu.c smaps_rollup_open)
    and at the read on 4.19 (show_smaps_rollup); its stat's flags say which it is. ``stat``:
    what the short path read of stat (nothing yet without ``stat``)."""
    head, parts = stat
    if not parts:
        try:
            head, parts = _stat_at(dir_fd)
            if int(parts[6]) & PF_KTHREAD:
                return True
        except (OSError, ValueError, IndexError):
            return False
    if parts[0] in (b"Z", b"X"):
        return _zombie(pid, head)
    import errno  # here: an ordinary sweep never needs it (ps's start-up does without it)

    if err in (errno.EACCES, errno.EPERM):
        path = f"{root}/{pid}/smaps_rollup"
        return Skipped(pid, "denied", denied(path), _comm(head))
    return False


# kthreadd, the kernel's creator of kernel threads: every other kernel thread is its child
# (kernel/kthread.c, 6.18: kthreadd creates each one with kernel_thread()).
_KTHREADD = 2


def _kernel_thread_pids(root: str) -> frozenset[int]:
    """The pids that one look says are kernel threads: kthreadd and the children it lists in
    ``/proc/2/task/2/children`` (fs/proc/array.c children_seq_show, CONFIG_PROC_CHILDREN),
    when pid 2 is kthreadd (in another pid namespace it is not); else none. This only orders
    the reads: each of these pids is still judged by its own stat (``_is_kernel_thread``)."""
    if not _is_kernel_thread(_KTHREADD, root):
        return frozenset()
    try:
        fd = os.open(f"{root}/{_KTHREADD}/task/{_KTHREADD}/children", _OPEN)
        try:
            # Read to the end: one read of this file gives at most a page of whole records
            # (fs/seq_file.c seq_read_iter, 6.18: a record that would overflow its page-sized
            # buffer waits for the next read), however much more is asked.
            children = read_to_end(fd)
        finally:
            os.close(fd)
        return frozenset([_KTHREADD, *map(int, children.split())])
    except (OSError, ValueError):
        return frozenset((_KTHREADD,))


def _is_kernel_thread(pid: int, root: str) -> bool:
    """Whether ``/proc/PID/stat`` says PF_KTHREAD; False when it cannot be read or parsed.

    Reading it by its path, with no ``/proc/PID`` fd held, is sound: the answer rests on this
    one read, of one task, so there are no two reads for a held fd to tie to the same process.
    A kernel thread is left out as it was at that moment; a pid listed for a process that has
    since exited and whose pid now belongs to a new kernel thread counts as that kernel thread,
    as it would had the fd been opened at the same moment (an fd orders nothing before its own
    open). A pid that is not a kernel thread, or no longer one, is read by ``_quick`` from the
    start, its identity held by its ``/proc/PID`` fd as any other process."""
    try:
        return bool(int(_stat_at(None, f"{root}/{pid}/stat")[1][6]) & PF_KTHREAD)
    except (OSError, ValueError, IndexError):
        return False


def _zombie(pid: int, head: bytes) -> Skipped:
    """A zombie, as the careful path says it (smapsfmt._live.proc refusal_of, which reads the
    same stat through its own fd): a zombie that a busy machine keeps for a while is then not
    read twice, nor does it load the safe reader and its errors in every sweep."""
    comm = _comm(head)
    return Skipped(pid, "exited", zombie(pid, comm), comm)


def sweep(
    pids: Iterable[int] | None = None,
    *,
    root: str = PROC,
    cmdline: bool = True,
    cgroup: bool = False,
    keep_text: bool = False,
    stat: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Read every process (or those of ``pids``) as ``read_process`` does, and sort the outcomes
    into a Sweep: read, skipped (and why), kernel threads (counted). Never raises for what a
    process does; ProcUnavailableError only when ``root`` cannot be listed at all.
    Without ``stat``, a process's ``starttime`` is None and its ``comm`` is read only where its
    command line is empty (``command`` is then ``[comm]``): what ``smapsfmt ps`` shows needs
    no more. ``progress(done, total)``, when given, is called after each process."""
    result = Sweep()
    todo = list_pids(root) if pids is None else list(pids)
    processes = result.processes
    # Kernel threads, a third of a small machine's pids, are told by one read of their stat
    # each, without the /proc/PID fd and the refused smaps_rollup that _quick would spend on
    # them first (bench/ps.py: ps against the bare reads of every rollup).
    kernel = _kernel_thread_pids(root)
    for done, pid in enumerate(todo, 1):
        quick = (pid in kernel and _is_kernel_thread(pid, root)) or _quick(
            pid, root, cmdline, cgroup, keep_text, stat=stat
        )
        if quick is True:
            result.kernel_threads += 1
        elif quick is False:
            _careful(result, pid, root=root, cmdline=cmdline, cgroup=cgroup, keep_text=keep_text)
        elif type(quick) is Process:
            processes.append(quick)
        else:
            assert isinstance(quick, Skipped)
            result.skipped.append(quick)
        if progress is not None:
            progress(done, len(todo))
    result.rollup_missing = any(p.summed for p in processes)
    return result


def _careful(
    result: Sweep, pid: int, *, root: str, cmdline: bool, cgroup: bool, keep_text: bool
) -> None:
    """One process through ``read_process``, its outcome added to ``result``."""
    from .._live.errors import (
        KernelThreadError,
        NoSuchProcessError,
        PidReusedError,
        ProcError,
        ProcessExitedError,
        ProcPermissionError,
        ProcUnavailableError,
        ZombieProcessError,
    )

    try:
        result.processes.append(
            read_process(pid, root=root, cmdline=cmdline, cgroup=cgroup, keep_text=keep_text)
        )
    except KernelThreadError:
        result.kernel_threads += 1
    except ProcError as exc:
        reasons: tuple[tuple[type[ProcError], str], ...] = (
            (NoSuchProcessError, "exited"),
            (ProcessExitedError, "exited"),
            (PidReusedError, "exited"),
            (ZombieProcessError, "exited"),
            (ProcPermissionError, "denied"),
            (ProcUnavailableError, "hidden"),
        )
        reason = next((r for cls, r in reasons if isinstance(exc, cls)), "error")
        comm = getattr(exc, "comm", None) or _comm_in(exc.message)
        result.skipped.append(Skipped(pid, reason, exc.message, comm))


def _comm_in(message: str) -> str:
    """The command name a ProcError's message gives in parentheses after the pid, if any: the
    text from ``process PID (`` to the first ``) `` on the message's first line. Without the re
    module: a process that exits during the sweep comes here, and importing re (with enum)
    would cost ``smapsfmt ps`` more than all of its own start-up (bench/ps.py)."""
    word, _, rest = message.partition(" ")
    number, _, rest = rest.partition(" ")
    if word != "process" or not number.isdecimal() or not rest.startswith("("):
        return ""
    comm, close, _ = rest[1:].partition(") ")
    return comm if close and "\n" not in comm else ""
