"""The sums: one pass over the mappings of a smaps, column by column.

Everything the aggregator knows of a smaps after reading it is a :class:`Sums`: the header's
range, each field's sum, and the quantities the kernel's fixed-point arithmetic needs (the
mappings whose counter can end in a fraction of a kB, the caps, the split of Pss). It holds
O(number of field names), not O(mappings), so that a smaps of any size is read while it is
streamed (``smapsfmt._parse.stream.iter_smaps``).

The arithmetic is written once, over columns (:class:`~smapsfmt._parse.batch.Batch`: runs of
entries of one shape, each field's values as one list), with ``sum``, ``map`` and ``compress``:
C speed on the runs a parser hands over as Batches. Mappings given one by one are gathered into
Batches of one shape first (:func:`batches`), at most :data:`RUN` entries each, so a mapping is
summed exactly as the same entry in a parser's Batch.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from itertools import accumulate, compress, count, repeat
from operator import add, and_, contains, lt, sub, truth
from typing import TYPE_CHECKING, Final, TypeAlias

from .._spec.layout import rollup_name_text
from .errors import KB_MAX, KernelMismatch, OutOfRange
from .gate import is_gate_entry

if TYPE_CHECKING:
    from .._model import Mapping
    from .._parse.batch import Batch
    from .knowledge import Knowledge

__all__ = ["PSS_SHIFT", "RUN", "Sums", "batches", "read"]

# fs/proc/task_mmu.c (2.6.25 .. 6.18): "#define PSS_SHIFT 12"; printed values are
# counter >> (10 + PSS_SHIFT), i.e. whole kB of the fixed-point byte count.
PSS_SHIFT: Final = 12

# The most mappings gathered into one Batch: long runs are summed at C speed, and what is held
# while a stream is read stays bounded.
RUN: Final = 256


@dataclass(slots=True)
class Sums:
    """Running state of one pass over the mappings: O(number of field names), not O(mappings)."""

    know: Knowledge
    count: int = 0
    first_start: int | None = None
    previous_end: int | None = None  # end of the entry before the last one
    # the last entry, as far as the header needs it (None: no entry yet)
    last_end: int | None = None
    last_pathname: bytes | None = None
    last_vmflags: tuple[str, ...] | None = None
    names: list[str] = field(default_factory=list)  # field names in first-seen order
    sums: dict[str, int] = field(default_factory=dict)
    fractions: dict[str, int] = field(default_factory=dict)  # K of each fixed-point field
    cap_sums: dict[str, int] = field(default_factory=dict)
    # of a field that a VmFlags mnemonic gates (Locked: "lo"), the mappings whose value can
    # carry a fraction, the mnemonic or not
    ungated: dict[str, int] = field(default_factory=dict)
    anon_low: int = 0  # sum of max(0, Pss - (Rss - Anonymous))
    nonanon_low: int = 0  # sum of max(0, Pss - Anonymous)
    file_low: int = 0  # the same, over the mappings that cannot map shmem
    shmem_high: int = 0  # sum of the non-anonymous share's maximum, over those that can
    vmflags: bool = False  # some mapping has a VmFlags line
    name_lines: bool = False  # some mapping has an Android Name: line
    rollup_entry: int | None = None  # the line of a smaps_rollup entry among the mappings
    grand: int = 0  # the sum of every value: no field's sum is above it
    beyond: tuple[str, int] | None = None  # the first sum above KB_MAX, and where

    def add(self, batch: Batch) -> None:
        """Add the entries of ``batch`` (smapsfmt._parse.batch), in order. It relies on what
        every Batch holds (non-negative values): ValueError for a Batch whose lists do not
        have one item per entry or whose labels repeat."""
        labels, columns, ends, flags = batch.labels, batch.columns, batch.end, batch.vmflags
        n = len(ends)
        parts: tuple[Sized, ...] = (
            *columns,
            batch.line,
            batch.start,
            batch.major,
            batch.inode,
            batch.pathname,
            flags,
            batch.name,
        )
        if (
            len(columns) != len(labels)
            or len(set(labels)) != len(labels)
            or set(map(len, parts)) != {n}
        ):
            raise ValueError(
                "not a Batch: each of its lists must have one item per entry, and its labels "
                "must differ"
            )
        if not n:
            return
        if self.last_end is None:
            self.first_start = batch.start[0]
            if n > 1:
                self.previous_end = ends[-2]
        else:
            self.previous_end = ends[-2] if n > 1 else self.last_end
        self.last_end = ends[-1]
        self.last_pathname = batch.pathname[-1]
        self.last_vmflags = flags[-1]
        self.count += n

        sums = self.sums
        totals = list(map(sum, columns))
        grand = sum(totals)
        if self.beyond is None and self.grand + grand > KB_MAX:
            self.beyond = _beyond(sums, labels, columns, totals, batch.line)
        for name, total in zip(labels, totals, strict=True):
            if name not in sums:
                self.names.append(name)
                sums[name] = total
            else:
                sums[name] += total
        self.grand += grand

        # Every smaps entry has Size (task_mmu.c 2.6.14+ show_smap; every profile's smaps lines);
        # the smaps_rollup entry never has it, and its name is "[rollup]"
        # (4.14.78 show_smap, 4.19+ show_smaps_rollup; the profiles' rollup-header), a name no
        # VMA has (files print absolute paths, anonymous names print as [anon:NAME]).
        if self.rollup_entry is None and self.know.smaps_only.isdisjoint(labels):
            at = next(
                (i for i, p in enumerate(batch.pathname) if p in self.know.rollup_names), None
            )
            if at is not None:
                self.rollup_entry = batch.line[at]
        nones = flags.count(None)
        self.vmflags |= nones != n
        self.name_lines |= batch.name.count(None) != n

        cols = dict(zip(labels, columns, strict=True))
        col_totals = dict(zip(labels, totals, strict=True))
        self._add_fixed(cols, col_totals, flags, nones, n)
        if "Pss" in cols and "Rss" in cols and "Anonymous" in cols:
            self._add_split(cols, col_totals, batch.major, batch.inode)

    def _add_fixed(
        self,
        cols: dict[str, list[int]],
        totals: dict[str, int],
        flags: list[tuple[str, ...] | None],
        nones: int,
        n: int,
    ) -> None:
        """The mappings whose fixed-point counter can end in a fraction of a kB, and the caps.

        The counter is at most cap << 22 (a cap of the ABI document: each page adds at most its
        size << PSS_SHIFT to it, and its size to the cap), so it can end in a fraction of a kB
        only below its cap. A field gated by a VmFlags mnemonic (only VM_LOCKED mappings add to
        Locked: task_mmu.c 5.0+ smaps_account(..., locked), locked = vm_flags & VM_LOCKED)
        counts only where the entry's VmFlags, if printed, have it. Masks: see _Mask."""
        caps, gates = self.know.caps, self.know.gates
        fractions = self.fractions
        new: list[tuple[int, int, str, int]] = []  # first entry, order, name, count
        for order, name in enumerate(self.know.fixed):
            fixed = cols.get(name)
            if fixed is None:
                continue
            cap_names = caps.get(name)
            below: _Mask = True
            if cap_names is not None:
                present = [c for c in cap_names if c in cols]
                cap_total = sum(totals[c] for c in present)
                self.cap_sums[name] = self.cap_sums.get(name, 0) + cap_total
                # a cap column whose total is 0 is all zeros: it adds nothing to the cap
                cap_cols = [cols[c] for c in present if totals[c]]
                below = _below(fixed, totals[name], cap_cols)
            counted = below
            gate = gates.get(name)
            if gate is not None:
                self.ungated[name] = self.ungated.get(name, 0) + _count(below, n)
                if nones != n:  # an entry with VmFlags counts where they have the mnemonic
                    counted = _both(below, _flagged(flags, nones, gate.flag))
            number = _count(counted, n)
            if name in fractions:
                fractions[name] += number
            elif number:
                new.append((_first(counted), order, name, number))
        # A field enters fractions at the first entry that counts for it (the fields of one
        # entry in the order of know.fixed): one order, however the entries are batched.
        for _, _, name, number in sorted(new):
            fractions[name] = number

    def _add_split(
        self,
        cols: dict[str, list[int]],
        totals: dict[str, int],
        major: list[int],
        inode: list[int],
    ) -> None:
        """The sums that bound the split of Pss (see bounds.split_bounds): max and min through
        abs (exact)."""
        pss, rss, anon = cols["Pss"], cols["Rss"], cols["Anonymous"]
        pss_total, rss_total, anon_total = totals["Pss"], totals["Rss"], totals["Anonymous"]
        # max(0, Pss - (Rss - Anonymous)) and max(0, Pss - Anonymous)
        self.anon_low += _positive(
            pss_total - rss_total + anon_total, map(sub, pss, map(sub, rss, anon))
        )
        nonanon_low = _positive(pss_total - anon_total, map(sub, pss, anon))
        self.nonanon_low += nonanon_low
        # Shmem pages belong to files of tmpfs/shm superblocks, which have anonymous device
        # numbers (major 0: include/linux/major.h UNNAMED_MAJOR, fs/super.c set_anon_super);
        # a mapping of a block-device file, or without a file (inode 0), maps none. The others
        # add max(0, Pss - Anonymous) to file_low; these min(Rss - Anonymous, Pss + (Pss < Rss))
        # to shmem_high.
        if 0 not in compress(major, inode):
            self.file_low += nonanon_low
            return
        shmem = list(map(lt, major, map(truth, inode)))  # major < bool(inode): majors >= 0
        shmem_pss = list(compress(pss, shmem))
        shmem_rss = list(compress(rss, shmem))
        shmem_anon = list(compress(anon, shmem))
        nonanon = list(map(sub, shmem_pss, shmem_anon))
        self.file_low += nonanon_low - _positive(sum(nonanon), nonanon)
        other = list(map(sub, shmem_rss, shmem_anon))
        high = list(map(add, shmem_pss, map(lt, shmem_pss, shmem_rss)))
        self.shmem_high += _min_sum(other, high)

    def finish(self) -> None:
        """KernelMismatch when no kernel prints these entries as smaps, OutOfRange when no
        kernel prints a rollup of them."""
        line = self.rollup_entry
        if line is not None:
            if self.count == 1:
                raise KernelMismatch(
                    "this is a smaps_rollup, not a smaps: its one entry is the "
                    f"{rollup_name_text()} entry, which no kernel prints in smaps",
                    line,
                )
            raise KernelMismatch(
                f"the entry at line {line} is the {rollup_name_text()} entry of a smaps_rollup, "
                "which no kernel prints in smaps",
                line,
            )
        if self.beyond is not None:
            name, line = self.beyond
            raise OutOfRange(
                f"the {name} values up to this mapping sum to more than {KB_MAX} kB, beyond "
                "what a smaps_rollup can print (u64 byte counters >> 10): no kernel prints a "
                "rollup of this smaps",
                line,
            )

    def header(self) -> tuple[int, dict[bool, int]]:
        """The rollup header's start, and its end by "the gate VMA counts"."""
        end = self.last_end
        if end is None:
            return 0, {True: 0, False: 0}
        start = self.first_start or 0
        ends = {True: end, False: end}
        if is_gate_entry(self.last_pathname, self.last_vmflags):
            if self.previous_end is None:  # the gate alone: the mm has no VMA of its own
                return 0, {True: end, False: 0}
            ends[False] = self.previous_end
        return start, ends


# --- masks and sums over columns ----------------------------------------------------------------

# The entries of a batch that count for something: True (all of them), False (none), or a
# function that gives one bool per entry, in order, each time it is called.
_Mask: TypeAlias = "bool | Callable[[], Iterator[bool]]"


def _count(mask: _Mask, n: int) -> int:
    if isinstance(mask, bool):
        return n if mask else 0
    return sum(mask())


def _first(mask: _Mask) -> int:
    """The first entry that counts (of a mask with one)."""
    if isinstance(mask, bool):
        return 0
    return next(compress(count(), mask()))


def _below(fixed: list[int], fixed_total: int, cap_cols: list[list[int]]) -> _Mask:
    """The entries whose fixed-point value is below its cap, the sum of ``cap_cols`` (the cap
    columns whose total is not 0)."""
    if not cap_cols:  # every cap is 0, and no value is below 0
        return False
    cap = cap_cols[0] if len(cap_cols) == 1 else list(map(_sum_of, *cap_cols))
    if not fixed_total:  # every value is 0: below where the cap is not 0
        return True if 0 not in cap else lambda: map(truth, cap)
    return lambda: map(lt, fixed, cap)


def _sum_of(*values: int) -> int:
    return sum(values)


def _flagged(
    flags: list[tuple[str, ...] | None], nones: int, flag: str
) -> Callable[[], Iterator[bool]]:
    """The entries whose VmFlags, if printed, have ``flag``."""
    if not nones:
        return lambda: map(contains, flags, repeat(flag))  # type: ignore[arg-type]
    return lambda: (f is None or flag in f for f in flags)


def _both(one: _Mask, other: Callable[[], Iterator[bool]]) -> _Mask:
    if isinstance(one, bool):
        return other if one else False
    return lambda: map(and_, one(), other())


def _positive(total: int, values: Iterable[int]) -> int:
    """The sum of max(0, v) over ``values`` whose sum is ``total``: (v + |v|) / 2 is v or 0."""
    return (total + sum(map(abs, values))) >> 1


def _min_sum(one: list[int], other: list[int]) -> int:
    """The sum of min(a, b) over pairs: (a + b - |a - b|) / 2 is the smaller."""
    differences: Iterable[int] = map(sub, one, other)
    return (sum(one) + sum(other) - sum(map(abs, differences))) >> 1


def _beyond(
    sums: dict[str, int],
    labels: tuple[str, ...],
    columns: tuple[list[int], ...],
    totals: list[int],
    line: list[int],
) -> tuple[str, int] | None:
    """Where a sum goes above KB_MAX first in these entries (``sums``: before them;
    ``totals``: each column's sum): the first entry after which some field's running sum is
    above it, and the first such field in the entry's order. Running sums only grow (values
    are non-negative): the entry is found by bisection of each field's running sums."""
    found: tuple[int, str] | None = None
    for name, column, total in zip(labels, columns, totals, strict=True):
        before = sums.get(name, 0)
        if before + total <= KB_MAX:
            continue
        running = list(accumulate(column, initial=before))
        at = bisect_right(running, KB_MAX, 1) - 1  # running[at + 1]: after entry at
        if found is None or at < found[0]:
            found = (at, name)
    return None if found is None else (found[1], line[found[0]])


# --- reading the mappings -----------------------------------------------------------------------


def is_text(value: object) -> bool:
    """``value`` is text or bytes, which the aggregator takes only parsed."""
    return isinstance(value, (str, bytes, bytearray, memoryview))


def batches(items: Iterable[object]) -> Iterator[object]:
    """``items`` with each run of consecutive Mappings of one shape (the same field labels in
    the same order) as Batches of at most :data:`RUN` entries; Batches and anything else as
    they are, in order."""
    from .._model import Mapping
    from .._parse.batch import Batch

    run: list[Mapping] = []
    shape: tuple[str, ...] = ()
    for item in items:
        if isinstance(item, Mapping):
            labels = tuple(item.fields)
            if run and (labels != shape or len(run) >= RUN):
                yield _gathered(run, shape, Batch)
                run = []
            shape = labels
            run.append(item)
            continue
        if run:
            yield _gathered(run, shape, Batch)
            run = []
        yield item
    if run:
        yield _gathered(run, shape, Batch)


def _gathered(run: list[Mapping], labels: tuple[str, ...], batch: type[Batch]) -> Batch:
    values = [m.fields.values() for m in run]
    return batch(
        labels,
        tuple(map(list, zip(*values, strict=True))) if labels else (),
        [m.line for m in run],
        [m.start for m in run],
        [m.end for m in run],
        [m.major for m in run],
        [m.inode for m in run],
        [m.pathname for m in run],
        [m.vmflags for m in run],
        [m.name for m in run],
    )


def read(smaps: object, know: Knowledge) -> Sums:
    """One pass over ``smaps``; TypeError for anything but mappings, KernelMismatch (see
    Sums.finish) for entries no kernel prints in smaps.

    An object with a ``_batches()`` method (the parser's stream of mappings) is read through
    it: an iterator of Batches (smapsfmt._parse.batch) and Mappings, in the order of the text."""
    from .._parse.batch import Batch

    wanted = "expected a Smaps or an iterable of Mapping"
    if is_text(smaps):
        raise TypeError(
            f"{wanted}, not {type(smaps).__name__}: parse the text first "
            "(smapsfmt.parse_smaps, or smapsfmt.iter_smaps for a stream)"
        )
    parts = getattr(smaps, "_batches", None)
    items: Iterator[object]
    if callable(parts):
        items = iter(parts())
    else:
        try:
            items = iter(smaps)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(f"{wanted}, not {type(smaps).__name__}") from None
    state = Sums(know)
    add = state.add
    for item in batches(items):
        if not isinstance(item, Batch):
            raise TypeError(f"{wanted}, not an iterable of {type(item).__name__}")
        add(item)
    state.finish()
    return state
