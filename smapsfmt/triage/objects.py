"""What uses the memory: the mappings of a smaps merged by object, as Android's showmap merges
them, with each field summed, and the totals with the kernel's Pss arithmetic beside them.

An object is what a mapping maps: a file by its path, a special region (``[heap]``,
``[stack]``, ``[vdso]``, ...), named anonymous memory (``[anon:NAME]``, Linux 5.17+ and
Android; or an Android ``Name:`` line), unnamed anonymous memory (``[anon]``), a deleted
file, a memfd, SysV shared memory. Its ``kind`` says which (``KINDS``).

``Totals`` sums every field over the rows; the Pss family (Pss, Pss_Dirty, SwapPss and, from
Linux 5.0, Locked), which the kernel sums in fixed point in smaps_rollup while smaps truncates
each mapping's value, gets the kernel's value from a smaps_rollup when one is at hand, else the
interval ``smapsfmt.aggregate`` proves it lies in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Mapping as AbcMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._model import Mapping

__all__ = [
    "DEFAULT_COLUMNS",
    "DERIVED",
    "KINDS",
    "PSS_FAMILY",
    "Row",
    "Rows",
    "classify",
    "column_value",
    "object_name",
]

# The columns of summary, diff and report unless --fields adds more: Private and Shared are
# derived (procrank and showmap's USS and shared), the others are kernel fields.
DEFAULT_COLUMNS = ("Size", "Rss", "Pss", "Private", "Shared", "Swap", "SwapPss", "Locked")
DERIVED = {
    "Private": ("Private_Clean", "Private_Dirty"),
    "Shared": ("Shared_Clean", "Shared_Dirty"),
}
# Summed in fixed point by the kernel's smaps_rollup (fs/proc/task_mmu.c smaps_account:
# PSS_SHIFT; Locked since 5.0): the sum of the smaps values is the low end of an interval.
PSS_FAMILY = ("Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem", "SwapPss", "Locked")
# Printed per mapping but not amounts of memory: nothing to sum.
NOT_SUMMED = frozenset({"KernelPageSize", "MMUPageSize", "THPeligible", "ProtectionKey"})

KINDS = {
    "file": "a mapped file",
    "deleted": "a mapped file since deleted",
    "memfd": "a memfd (memfd_create)",
    "shm": "SysV shared memory",
    "shmem": "shared anonymous memory (/dev/zero, anon_hugepage, [anon_shmem:NAME])",
    "heap": "[heap]: the brk heap",
    "stack": "[stack]: the main thread's stack",
    "special": "a kernel special mapping ([vdso], [vvar], [vsyscall], [uprobes], ...)",
    "anon-named": "named anonymous memory ([anon:NAME], or an Android Name: line)",
    "anon": "unnamed anonymous memory",
}

_DELETED = " (deleted)"


def object_name(pathname: bytes, name: bytes | None = None) -> str:
    """The object's name as text: the pathname decoded as UTF-8 with undecodable bytes as
    lone surrogates (PEP 383, as smapsfmt's JSON carries pathnames); ``[anon]`` for unnamed
    anonymous memory, or the Android ``Name:`` line's value."""
    if not pathname:
        if name:
            text = name.decode("utf-8", "surrogateescape")
            return text if text.startswith("[") else f"[anon:{text}]"
        return "[anon]"
    return pathname.decode("utf-8", "surrogateescape")


def classify(name: str) -> str:
    """The kind (a key of KINDS) of an object, by its name as ``object_name`` gives it."""
    if name == "[anon]":
        return "anon"
    if name.startswith("[anon:"):
        return "anon-named"
    if name.startswith("[anon_shmem:"):
        return "shmem"
    if name == "[heap]":
        return "heap"
    if name == "[stack]" or name.startswith("[stack:"):  # [stack:TID]: Linux 3.4 to 4.4
        return "stack"
    if name.startswith("["):
        return "special"
    if name.startswith("/memfd:"):
        return "memfd"
    if name.startswith("/SYSV") and name.endswith(_DELETED):
        return "shm"
    if name in ("/dev/zero (deleted)", "/anon_hugepage (deleted)", "/dev/zero"):
        return "shmem"
    if name.endswith(_DELETED):
        return "deleted"
    return "file"


class Row:
    """One object: its name, kind, number of mappings and every field summed (kB)."""

    __slots__ = ("fields", "kind", "mappings", "object")

    def __init__(self, name: str, kind: str | None = None) -> None:
        self.object = name
        self.kind = kind if kind is not None else classify(name)
        self.mappings = 0
        self.fields: dict[str, int] = {}

    def add(self, fields: AbcMapping[str, Any]) -> None:
        self.mappings += 1
        own = self.fields
        for name, value in fields.items():
            if type(value) is int and name not in NOT_SUMMED:
                own[name] = own.get(name, 0) + value

    def value(self, column: str) -> int | None:
        return column_value(self.fields, column)

    def to_jsonable(self, columns: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "kind": self.kind, "mappings": self.mappings}
        for column in columns:
            out[column] = self.value(column)
        return out


def column_value(fields: dict[str, int], column: str) -> int | None:
    """A column's value: a kernel field, or a derived one (Private, Shared); None where the
    kernel printed none of what it sums."""
    parts = DERIVED.get(column)
    if parts is None:
        return fields.get(column)
    present = [fields[p] for p in parts if p in fields]
    return sum(present) if present else None


class Rows:
    """The rows of one smaps, merged by object, in the order objects first appear; ``names``
    the summable fields in the order the kernel printed them."""

    def __init__(self) -> None:
        self.by_object: dict[str, Row] = {}
        self.names: list[str] = []
        self.count = 0

    def add(self, mapping: Mapping) -> None:
        name = object_name(mapping.pathname, mapping.name)
        row = self.by_object.get(name)
        if row is None:
            row = self.by_object[name] = Row(name)
        fields = mapping.fields
        if self.count == 0 or len(fields) != len(self.names):
            for field, value in fields.items():
                if type(value) is int and field not in NOT_SUMMED and field not in self.names:
                    self.names.append(field)
        row.add(fields)
        self.count += 1

    def feed(self, mappings: Iterable[Mapping]) -> Iterator[Mapping]:
        """Pass ``mappings`` on, adding each: one pass serves the rows and the aggregator."""
        for mapping in mappings:
            self.add(mapping)
            yield mapping

    def total(self) -> Row:
        total = Row("TOTAL", "total")
        for row in self.by_object.values():
            total.mappings += row.mappings
            for name, value in row.fields.items():
                total.fields[name] = total.fields.get(name, 0) + value
        return total

    def columns(self) -> list[str]:
        """The fields a user may ask for: the derived ones and every summable kernel field."""
        return [*DERIVED, *self.names]
