"""Facts about /proc that the live readers share, the words of a refused read, and the read of
a /proc file to its end, in a module that imports nothing but ``io`` (which every interpreter
loads at start): the sweep of every process (smapsfmt.triage.sweep, behind ``smapsfmt ps``)
uses them without loading the safe reader (smapsfmt._live.proc) or its errors, which it needs
only for a process that is not ordinary."""

import io

__all__ = ["PF_KTHREAD", "PROC", "denied", "read_to_end", "zombie"]

PROC = "/proc"
PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread (stat field 9)


def denied(path: str) -> str:
    """What a refused read of ``path`` (EACCES or EPERM) says: ptrace-read access is needed
    (fs/proc/base.c proc_mem_open, 6.18: PTRACE_MODE_READ with the file system credentials)."""
    return (
        f"permission denied: {path}: reading a process's memory map needs ptrace-read access "
        "to it (the same user, or CAP_SYS_PTRACE), which this reader does not have"
    )


def zombie(pid: int | str, comm: str) -> str:
    """What a read of a zombie (or dead) process says (fs/proc/array.c task_state_array: state
    Z or X): it has exited, and its memory map with it."""
    return (
        f"process {pid} ({comm}) is a zombie: it has exited and has no memory map left (its "
        "parent has not reaped it yet)"
    )


def read_to_end(fd: int) -> bytes:
    """Everything ``fd`` gives from where it stands until EOF; OSError as read(2) fails.

    A /proc text comes a page or so per read(2) (fs/seq_file.c ``seq_read_iter`` fills one
    buffer of records per call, 6.18). ``FileIO.readall`` reads them into one ``bytes`` that
    it grows as it goes; a large block grows by realloc, which moves its pages instead of
    copying them (glibc: mremap), so the text is written once, by the kernel. On 14 MB of
    smaps the read costs what bare reads of a page each cost (53 ms here), where filling
    pieces and joining them cost 18 ms more (zeroing and faulting in each piece, then the
    copy)."""
    with io.FileIO(fd, closefd=False) as handle:
        return handle.readall()
