"""Exact mode: a live process's rollup Pss recomputed page by page, with the kernel's rule.

smaps and smaps_rollup alone only bound a fixed-point field of the rollup (see _rollup/bounds.py).
With root, the pages themselves can be read: ``/proc/PID/pagemap`` gives the page frame of
every resident page of a mapping, ``/proc/kpagecount`` its mapcount and ``/proc/kpageflags`` its
kind (Documentation/admin-guide/mm/pagemap.rst). The kernel's rule (fs/proc/task_mmu.c 6.18
smaps_account with CONFIG_PAGE_MAPCOUNT): each resident page adds ``(PAGE_SIZE << 12) /
mapcount`` to the fixed-point Pss when its mapcount is 2 or more, else ``PAGE_SIZE << 12``
(a folio with refcount 1 is mapped once: the same); the increment goes to Pss_Anon, Pss_Shmem
or Pss_File by the folio's kind, and to Locked in a VM_LOCKED mapping
(smaps_page_accumulate). kpagecount reports exactly that mapcount
(``folio_precise_page_mapcount``, fs/proc/page.c 6.18), for small pages and for each page of a
large folio (THP) alike, so the sum reproduces the rollup to the last unit of
``1 / 4096`` byte, and its truncation the printed kB.

What is not reproduced, and said so in the result, never guessed:

* kernels with CONFIG_NO_PAGE_MAPCOUNT (6.15+ option): the kernel divides a whole folio by its
  *average* mapcount once, and kpagecount reports that average (task_mmu.c 6.18
  smaps_account, fs/proc/page.c 6.18): per-page sums can differ; such a kernel is detected
  from /proc/config.gz when present;
* Pss_Dirty: a page counts as dirty by the PTE's dirty bit, which user space cannot read;
* SwapPss: swap entries are divided by their swap count, which user space cannot read;
* entries that are not present (swap, migration; task_mmu.c 6.11+ counts migration entries in
  full): they are counted and reported.

The target must stay still while it is read: stop it, and every process that shares memory
with it, first (SIGSTOP, or ``smapsfmt.snapshot``). Pages it shares with processes that keep
running (shared libraries) can still change mapcount during the read; the rollup is therefore
read before and after the pages, and only a value equal to both reads counts as proven.
"""

from __future__ import annotations

import errno
import gzip
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .._rollup.sums import PSS_SHIFT

if TYPE_CHECKING:
    from .._model import Mapping, Rollup, Smaps
    from .proc import ProcDir

__all__ = ["ExactPss", "exact_pss"]

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_FULL = PAGE_SIZE << PSS_SHIFT  # one page, in the kernel's fixed point
_KB_SHIFT = 10 + PSS_SHIFT  # fixed point -> kB, as the kernel prints it

# /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst; task_mmu.c 6.18)
_PM_PFN_MASK = (1 << 55) - 1
_PM_SWAP = 1 << 62
_PM_PRESENT = 1 << 63
# /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h)
_KPF_ANON = 1 << 12
_KPF_SWAPBACKED = 1 << 14
_KPF_NOPAGE = 1 << 20
_KPF_ZERO_PAGE = 1 << 24

# The fields the page walk reproduces, and those it cannot, with the reason.
REPRODUCED = ("Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Locked")
NOT_REPRODUCED = {
    "Pss_Dirty": "a page is dirty by its PTE's dirty bit, which user space cannot read",
    "SwapPss": "swap entries are divided by their swap count, which user space cannot read",
}

_BATCH = 1 << 16  # pagemap entries read at once (512 KiB)


class ExactUnavailable(OSError):
    """What exact mode alone needs is missing: /proc/kpagecount or /proc/kpageflags is not
    readable (not root) or absent, or /proc/PID/pagemap is absent (no
    CONFIG_PROC_PAGE_MONITOR). Whatever concerns the process itself is a ProcError."""


@dataclass(frozen=True)
class MappingCount:
    """The page walk of one mapping, next to what smaps printed for it."""

    header: str
    rss_kb: int  # the resident pages counted
    pss_kb: int  # the fixed-point Pss truncated, as smaps prints it
    smaps_rss: int | None
    smaps_pss: int | None


@dataclass(frozen=True)
class ExactPss:
    """A process's rollup next to the page-by-page sums of the kernel's PSS rule."""

    pid: int
    rollup: Rollup  # as read before the pages
    rollup_after: Rollup  # as read after them
    fixed: dict[str, int]  # page-by-page sums, bytes << PSS_SHIFT
    smaps_pss: int  # the sum of the smaps Pss values (each truncated)
    mappings: int
    pages: int
    differing: tuple[MappingCount, ...]  # mappings whose page walk differs from their smaps
    limits: tuple[str, ...]  # why the rule may not be the kernel's here (empty: it is)
    not_present: int = 0  # swap or migration entries met in mappings with Swap 0
    attempts: int = 1
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fields(self) -> dict[str, int]:
        """The page-by-page value of each reproduced field, in kB as the kernel prints it."""
        return {name: value >> _KB_SHIFT for name, value in self.fixed.items()}

    @property
    def stable(self) -> bool:
        """The rollup read the same before and after the pages."""
        return self.rollup.fields == self.rollup_after.fields

    def equal(self, name: str) -> bool:
        """``name`` in the rollup (both reads) equals its page-by-page sum."""
        value = self.fields.get(name)
        return (
            value is not None
            and self.rollup.fields.get(name) == value
            and self.rollup_after.fields.get(name) == value
        )

    @property
    def proven(self) -> bool:
        """The rollup's Pss is shown equal to the page-by-page sum: the rule is the kernel's
        here, the rollup did not change during the read, and the values are equal."""
        return not self.limits and self.stable and self.equal("Pss")

    def report(self) -> list[str]:
        """The result in words, one line each."""
        lines: list[str] = []
        shown = self.fields
        for name in REPRODUCED:
            if name not in self.rollup.fields:
                continue
            rollup_value = self.rollup.fields[name]
            if self.equal(name) and not self.limits:
                verdict = "equal"
            elif self.limits:
                verdict = "not proven (see below)"
            else:
                verdict = "DIFFERENT"
            lines.append(
                f"{name}: rollup {rollup_value} kB, page by page {shown[name]} kB "
                f"({self.fixed[name]} / 2^{_KB_SHIFT}): {verdict}"
            )
        for name, why in NOT_REPRODUCED.items():
            if name in self.rollup.fields:
                lines.append(f"{name}: not reproduced: {why}")
        lines.append(
            f"{self.mappings} mappings, {self.pages} resident pages; the smaps values of Pss "
            f"sum to {self.smaps_pss} kB"
        )
        lines.extend(f"limit: {limit}" for limit in self.limits)
        if not self.stable:
            lines.append("the rollup changed during the read (the process is not still)")
        lines.extend(
            f"mapping {m.header}: smaps Rss {m.smaps_rss} kB Pss {m.smaps_pss} kB, page walk "
            f"Rss {m.rss_kb} kB Pss {m.pss_kb} kB"
            for m in self.differing
        )
        lines.extend(f"note: {note}" for note in self.notes)
        return lines


def _limits() -> list[str]:
    """Why the page rule may not be this kernel's: CONFIG_NO_PAGE_MAPCOUNT."""
    try:
        with gzip.open("/proc/config.gz", "rt", encoding="ascii", errors="replace") as config:
            for line in config:
                if line.startswith("CONFIG_NO_PAGE_MAPCOUNT=y"):
                    return [
                        "this kernel has CONFIG_NO_PAGE_MAPCOUNT: it divides each folio by its "
                        "average mapcount (task_mmu.c 6.18 smaps_account), which per-page sums "
                        "do not reproduce for large folios"
                    ]
    except OSError:
        return [
            "/proc/config.gz is not readable: whether the kernel has CONFIG_NO_PAGE_MAPCOUNT "
            "(average mapcounts per folio) is unknown"
        ]
    return []


def _read_u64s(fd: int, indexes: Iterable[int]) -> dict[int, int]:
    """Entries of a /proc array of u64 (kpagecount, kpageflags), one read per run of
    consecutive indexes (a list is taken to be sorted and without duplicates)."""
    wanted = indexes if isinstance(indexes, list) else sorted(set(indexes))
    values: dict[int, int] = {}
    at = 0
    while at < len(wanted):
        first = last = wanted[at]
        at += 1
        while at < len(wanted) and wanted[at] == last + 1 and last - first < _BATCH:
            last = wanted[at]
            at += 1
        data = os.pread(fd, (last - first + 1) * 8, first * 8)
        for offset, (value,) in enumerate(struct.iter_unpack("<Q", data)):
            values[first + offset] = value
    return values


@dataclass
class _Frames:
    """Phase 1, which does not depend on mapcounts: the page frames of each mapping."""

    frames: list[tuple[Mapping, list[int]]] = field(default_factory=list)
    hidden: int = 0  # present entries without a frame number (not CAP_SYS_ADMIN)
    not_present: int = 0  # swap or migration entries in mappings with Swap 0

    def read(self, pagemap: int, mapping: Mapping) -> bool:
        """Add the frames of ``mapping``; False when pagemap reads short: its address space
        is gone (fs/proc/task_mmu.c pagemap_read returns 0 once mmget_not_zero fails)."""
        flags = mapping.vmflags or ()
        # hugetlb pages feed Shared_/Private_Hugetlb only, PFN-mapped ones nothing
        # (task_mmu.c 6.18 smaps_hugetlb_range; vm_normal_page is NULL for VM_PFNMAP).
        if "ht" in flags or "pf" in flags:
            return True
        first = mapping.start // PAGE_SIZE
        count = (mapping.end - mapping.start) // PAGE_SIZE
        frames: list[int] = []
        swap_entries = 0
        for at in range(first, first + count, _BATCH):
            n = min(_BATCH, first + count - at)
            data = os.pread(pagemap, n * 8, at * 8)
            if len(data) != n * 8:
                return False
            entries = struct.unpack(f"<{n}Q", data)
            present = [e & _PM_PFN_MASK for e in entries if e & _PM_PRESENT]
            swap_entries += sum(1 for e in entries if e & _PM_SWAP and not e & _PM_PRESENT)
            if 0 in present:  # task_mmu.c pagemap_read: no frame without CAP_SYS_ADMIN
                self.hidden += present.count(0)
                present = [pfn for pfn in present if pfn]
            frames.extend(present)
        if swap_entries and not mapping.fields.get("Swap"):
            self.not_present += swap_entries
        self.frames.append((mapping, frames))
        return True


def _shares(
    frames: _Frames, kinds: dict[int, int], counts: dict[int, int]
) -> tuple[dict[str, int], int, list[MappingCount]]:
    """Phase 3: the kernel's rule over the frames, with the mapcounts and kinds read."""
    fixed = dict.fromkeys(REPRODUCED, 0)
    pages = 0
    differing: list[MappingCount] = []
    for mapping, pfns in frames.frames:
        locked = "lo" in (mapping.vmflags or ())
        counted = 0
        pss = 0
        for pfn in pfns:
            kind = kinds.get(pfn, 0)
            # the zero page and frames without struct page are not counted
            # (vm_normal_page returns NULL for them, task_mmu.c smaps_pte_entry)
            if kind & (_KPF_ZERO_PAGE | _KPF_NOPAGE):
                continue
            mapcount = counts.get(pfn, 0)
            share = _FULL // mapcount if mapcount >= 2 else _FULL
            counted += 1
            pss += share
            if kind & _KPF_ANON:
                fixed["Pss_Anon"] += share
            elif kind & _KPF_SWAPBACKED:
                fixed["Pss_Shmem"] += share
            else:
                fixed["Pss_File"] += share
            if locked:
                fixed["Locked"] += share
        fixed["Pss"] += pss
        pages += counted
        count = MappingCount(
            mapping.header_text(),
            counted * PAGE_SIZE >> 10,
            pss >> _KB_SHIFT,
            mapping.rss,
            mapping.pss,
        )
        if (count.rss_kb, count.pss_kb) != (count.smaps_rss, count.smaps_pss):
            differing.append(count)
    return fixed, pages, differing


def _open(path: str) -> int:
    """An fd of a machine-wide page file (/proc/kpagecount, /proc/kpageflags)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ExactUnavailable(exc.errno, f"cannot read {path}: {_why_not(exc)}") from None


def _why_not(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        # fs/proc/Makefile: page.o (kpagecount, kpageflags) and base.c's pagemap exist only
        # with CONFIG_PROC_PAGE_MONITOR.
        return "this kernel has no page monitoring (CONFIG_PROC_PAGE_MONITOR is off)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        # fs/proc/page.c 6.18 proc_page_init: kpagecount and kpageflags are mode 0400, root's.
        return f"{exc.strerror} (root is needed)"
    return str(exc.strerror)


def _open_pagemap(proc: ProcDir) -> int:
    """/proc/PID/pagemap through the held directory: its errors are the process's (ESRCH,
    EACCES: the same ptrace-read check as smaps, fs/proc/task_mmu.c pagemap_open), except a
    missing file, which is the kernel's (no CONFIG_PROC_PAGE_MONITOR)."""
    try:
        return os.open("pagemap", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc.fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            path = proc.path("pagemap")
            raise ExactUnavailable(exc.errno, f"cannot read {path}: {_why_not(exc)}") from None
        raise proc.error(exc, "pagemap", at_start=True) from None


def _reread(proc: ProcDir, fd: int) -> bytes:
    """smaps_rollup again, through the fd opened before smaps: each read from offset 0 shows
    it anew (fs/seq_file.c seq_lseek), and fails with ESRCH once the address space it was
    opened on is gone (fs/proc/task_mmu.c show_smaps_rollup), exit or exec alike."""
    os.lseek(fd, 0, os.SEEK_SET)
    return proc.read(fd, "smaps_rollup")


def _frames_of(proc: ProcDir) -> tuple[Smaps, _Frames]:
    """smaps, then the page frames of each of its mappings from pagemap (opened first)."""
    from .._parse.parser import parse_smaps
    from .._rollup.gate import is_gate

    pagemap = _open_pagemap(proc)
    try:
        smaps_fd = proc.open("smaps", at_start=True)
        try:
            smaps_text = proc.read(smaps_fd, "smaps")
        finally:
            os.close(smaps_fd)
        if not smaps_text:  # a user process always has mappings (see _live.capture)
            raise proc.gone(at_start=True)
        smaps = parse_smaps(smaps_text, path=proc.path("smaps"))
        frames = _Frames()
        for mapping in smaps:
            if not is_gate(mapping) and not frames.read(pagemap, mapping):
                raise proc.gone()
    finally:
        os.close(pagemap)
    return smaps, frames


def _once(proc: ProcDir) -> ExactPss:
    from .._parse.parser import parse_rollup

    assert isinstance(proc.pid, int)
    # smaps is opened first, so that a reader without access is refused naming the file that
    # read_smaps names. smaps_rollup and pagemap are opened before smaps is read, and read after
    # it: both refuse (ESRCH, or an empty pagemap read) once that address space is gone.
    os.close(proc.open("smaps", at_start=True))
    rollup = proc.open("smaps_rollup", at_start=True)
    try:
        smaps, frames = _frames_of(proc)
        every = sorted({pfn for _, pfns in frames.frames for pfn in pfns})
        kpageflags = _open("/proc/kpageflags")
        try:
            kinds = _read_u64s(kpageflags, every)
        finally:
            os.close(kpageflags)
        kpagecount = _open("/proc/kpagecount")
        try:
            # As short as possible: while the process is stopped only mapcounts change (other
            # processes map and unmap the pages it shares with them); the rollup is read right
            # before and right after them, and parsed later.
            before_text = _reread(proc, rollup)
            counts = _read_u64s(kpagecount, every)
            after_text = _reread(proc, rollup)
        finally:
            os.close(kpagecount)
    finally:
        os.close(rollup)
    rollup_path = proc.path("smaps_rollup")
    before = parse_rollup(before_text, path=rollup_path)
    after = parse_rollup(after_text, path=rollup_path)
    fixed, pages, differing = _shares(frames, kinds, counts)
    limits = _limits()
    if frames.hidden:
        limits.append("pagemap hides the page frames: CAP_SYS_ADMIN is needed to see them")
    notes = []
    if frames.not_present:
        notes.append(
            f"{frames.not_present} non-present entries (swap or migration) outside swapped "
            "mappings are not counted; task_mmu.c 6.11+ counts migration entries in full"
        )
    if any(c.rss_kb == c.smaps_rss for c in differing):
        notes.append(
            "a mapping's Pss differs from smaps while its resident pages agree: pages it "
            "shares with running processes changed mapcount between the reads"
        )
    return ExactPss(
        pid=proc.pid,
        rollup=before,
        rollup_after=after,
        fixed=fixed,
        smaps_pss=sum(m.pss or 0 for m in smaps),
        mappings=len(smaps),
        pages=pages,
        differing=tuple(differing),
        limits=tuple(limits),
        not_present=frames.not_present,
        notes=tuple(notes),
    )


def exact_pss(pid: int | str, *, attempts: int = 3) -> ExactPss:
    """Recompute the rollup's Pss (and Pss_Anon, Pss_File, Pss_Shmem, Locked) of process
    ``pid`` (an int, or ``"self"``) page by page, with the kernel's fixed-point rule, and
    compare.

    Needs root (page frames in pagemap, /proc/kpagecount). Stop the process (and the processes
    sharing memory with it) first; pages shared with running processes may still change
    mapcount during the read, so a read whose rollup changed, or whose values differ, is
    repeated up to ``attempts`` times. ``result.proven`` is true only when the rollup's Pss,
    read before and after the pages, equals the page-by-page sum and nothing limits the rule;
    ``result.report()`` says what was shown and what was not.

    The process is opened as ``read_smaps`` opens it (one held /proc/PID fd), and each
    situation raises what ``read_smaps`` raises for it:

    * ``ValueError``: ``pid`` is not a positive int or ``"self"``;
    * ``NoSuchProcessError``, ``ProcPermissionError`` (no ptrace-read access: smaps_rollup and
      pagemap are refused alike), ``ProcUnavailableError`` (/proc not mounted, hidepid),
      ``KernelThreadError``, ``ZombieProcessError``, ``ProcessExitedError`` (exited or
      exec'd during the read), ``PidReusedError``, ``RollupMissingError`` (no smaps_rollup to
      compare with: kernel older than 4.14); all ``ProcError`` subclasses;
    * ``ExactUnavailable`` (an OSError), only for what exact mode alone needs:
      /proc/kpagecount and /proc/kpageflags readable (root) and present, and /proc/PID/pagemap
      present (CONFIG_PROC_PAGE_MONITOR).
    """
    from .proc import ProcDir, refusal_of

    with ProcDir(pid) as proc:
        refusal = refusal_of(proc.pid, proc.first)
        if refusal is not None:
            raise refusal
        result = _once(proc)
        tries = 1
        while (
            tries < attempts
            and not result.limits
            and not (
                result.stable
                and all(result.equal(n) for n in REPRODUCED if n in result.rollup.fields)
            )
        ):
            result = _once(proc)
            tries += 1
    return replace(result, attempts=tries)
