"""Facts about /proc that the live readers share, and the words of a refused read, in a module
that imports nothing: the sweep of every process (smapsfmt.triage.sweep, behind
``smapsfmt ps``) reads them without loading the safe reader (smapsfmt._live.proc) or its
errors, which it needs only for a process that is not ordinary."""

__all__ = ["PF_KTHREAD", "PROC", "denied", "zombie"]

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
