"""What stops a rollup: no kernel prints this smaps, or no kernel prints a rollup of it."""

from __future__ import annotations

from typing import Final

__all__ = ["KB_MAX", "KernelMismatch", "OutOfRange"]


class KernelMismatch(ValueError):
    """No kernel prints this smaps (field lines that no kernel prints together, or a
    smaps_rollup entry), or not the kernel asked for. ``line``: the line of the smaps it shows
    at (1: the smaps as a whole); ``rule``: the rule id of its diagnostic."""

    rule = "rollup-kernel-mismatch"

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


class OutOfRange(KernelMismatch):
    """A sum beyond what a smaps_rollup can print: no kernel prints a rollup of this smaps."""

    rule = "value-range"


# The largest value a smaps_rollup line can hold: the kernel's counters are u64 byte counts
# printed >> 10 (task_mmu.c; invariant value-range of procfs-smaps_rollup). A sum above it is
# no kernel's rollup; refusing it also keeps every number printed short.
KB_MAX: Final = (2**64 - 1) >> 10
