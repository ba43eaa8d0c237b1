"""The aggregator: the smaps_rollup a kernel prints for a smaps, and the proof that a rollup is
the sum of a smaps, with the kernel's own arithmetic.

smaps_rollup (Linux 4.14+) is one entry whose fields are sums over all mappings of smaps. The
ABI document (``Documentation/ABI/testing/procfs-smaps``, read by ``smapsfmt._spec.abi``) says how
each field's rollup value relates to its smaps values (its ``:Rollup:`` lines):

* ``exact-sum``: byte counters (Rss, Shared_Clean, ..., Swap), multiples of the page size printed
  ``>> 10``: the rollup is the sum of the smaps values, exactly;
* ``fixed-point-sum``: counters of bytes << PSS_SHIFT (Pss, Pss_Dirty, SwapPss, Locked), to which
  each page adds ``(PAGE_SIZE << 12) / mapcount``. smaps prints each mapping's counter
  ``>> (10 + PSS_SHIFT)``, truncated per mapping; the rollup sums the counters and truncates
  once. With ``S`` the sum of the printed values and ``K`` the number of mappings whose counter
  can end in a fraction of a kB, the rollup lies in ``[S, S + K - 1]`` (``[S, S]`` for K <= 1):
  the K remainders are each below 1 kB, so together they make at most K - 1 whole kB;
* ``rollup-only`` (Pss_Anon, Pss_File, Pss_Shmem, 5.3+): the Pss increment of each page goes to
  exactly one of them; smaps does not print them, and only bounds follow (:func:`_split_bounds`);
* ``unreliable``: a known kernel bug makes the rollup value unrelated to smaps on some kernels.

Which kernel printed a text, the rollup lines it prints and whether its header range ends with
the gate VMA come from the kernel profiles (``kernel/*.profile``, read by
``smapsfmt._spec.profiles``); text output goes through the exact renderer (``smapsfmt._render``).
This module holds the arithmetic, how to recognise the gate VMA, and a fallback for texts no
profile prints, each with its source. It reads the mappings in one pass and holds O(1) of them, so
a smaps of any size can be aggregated or checked while it is read
(``smapsfmt._parse.parser.iter_smaps``). A parser may hand it runs of entries of one shape column
by column (``smapsfmt._parse.batch``): it sums those at C speed, to the same state as entry by
entry.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from itertools import accumulate, compress, count, repeat
from operator import add, and_, contains, lt, sub, truth
from typing import TYPE_CHECKING, Final, NamedTuple, TypeAlias

from .._diagnostics import Diagnostic

if TYPE_CHECKING:
    from .._model import AggregatedRollup, Mapping, Rollup
    from .._parse.batch import Batch
    from .._spec.abi import ABI, KernelRange
    from .._spec.profiles import Profile

__all__ = ["aggregate", "check_rollup"]

# fs/proc/task_mmu.c (2.6.25 .. 6.18): "#define PSS_SHIFT 12"; printed values are
# counter >> (10 + PSS_SHIFT), i.e. whole kB of the fixed-point byte count.
PSS_SHIFT: Final = 12

Version = tuple[int, ...]

NEWEST: Final[Version] = (99, 0)  # the upper end of an open range: "and later"
OLDEST: Final[Version] = (2, 6)

EXACT: Final = "exact-sum"
FIXED: Final = "fixed-point-sum"
ROLLUP_ONLY: Final = "rollup-only"
NOT_IN_ROLLUP: Final = "not-in-rollup"
UNRELIABLE: Final = "unreliable"


# --- what stops a rollup -------------------------------------------------------------------------


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


# --- kernel versions ----------------------------------------------------------------------------


def show_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


# Not smapsfmt._spec.abi.KernelRange: that is a range as the ABI document writes it (open ends as
# None, an upper bound "4.11" that includes every 4.11.y), plain data. A Dating is the outcome of
# dating a text: closed major.minor bounds, the evidence that set them, the kernel profiles that
# fit, and the intersection of two datings (meet); the document's ranges become Datings in _range.
@dataclass(frozen=True, slots=True)
class Dating:
    """Kernels ``lo`` to ``hi`` (by major.minor), with what dates them, and the kernel
    profiles (``kernel/*.profile``) of that range that fit, when some do."""

    lo: Version
    hi: Version
    evidence: tuple[str, ...] = ()
    profiles: tuple[Profile, ...] = ()

    def __str__(self) -> str:
        if self.profiles:
            return " or ".join(p.describe() for p in self.profiles)
        lo, hi = show_version(self.lo[:2]), show_version(self.hi[:2])
        if self.hi >= NEWEST:
            return f"Linux {lo} or later"
        return f"Linux {lo}" if lo == hi else f"Linux {lo} to {hi}"

    @property
    def why(self) -> str:
        return "; ".join(self.evidence) or "no dating field"

    def contains(self, version: Version) -> bool:
        return self.lo[:2] <= version[:2] <= self.hi[:2]

    def meet(self, other: Dating) -> Dating | None:
        """The kernels in both (profiles: those of both, or of one within the other's range)."""
        lo, hi = max(self.lo[:2], other.lo[:2]), min(self.hi[:2], other.hi[:2])
        if lo > hi:
            return None
        evidence = self.evidence + tuple(e for e in other.evidence if e not in self.evidence)
        if self.profiles and other.profiles:
            names = {p.name for p in other.profiles}
            profiles = tuple(p for p in self.profiles if p.name in names)
        else:
            profiles = tuple(
                p
                for p in self.profiles or other.profiles
                if p.kernels[0][:2] <= hi and lo <= p.kernels[1][:2]
            )
        if not profiles:
            return None if self.profiles or other.profiles else Dating(lo, hi, evidence)
        lo = max(lo, min(p.kernels[0][:2] for p in profiles))
        hi = min(hi, max(p.kernels[1][:2] for p in profiles))
        return Dating(lo, hi, evidence, profiles)

    @property
    def newest(self) -> Version:
        """The kernel a text of this range is taken to come from, when one must be chosen."""
        return self.hi if self.hi < NEWEST else self.lo


def asked_kernels(text: str) -> tuple[Dating, str]:
    """The kernels that ``kernel=``/``--kernel`` names, and how to name them in a message.

    ``text`` is read as ``validate --kernel`` reads it (one reading for every command): the name
    of a kernel profile (``android-4.9``), then a version as ``uname -r`` prints it (``5.4``,
    ``6.18.44-fc-v669``, smapsfmt._spec.abi.parse_version) that some profile covers, or that is
    newer than every profile (then the newest profile). ValueError, with the validator's
    one-line message, for anything else."""
    from .._spec.profiles import beyond_every_profile, profile_named
    from .._validate.validate import _allowed_profiles

    _allowed_profiles(text)  # the validator's checks and messages (TypeError, ValueError)
    named = profile_named(text)
    if named is None and (newest := beyond_every_profile(text)) is not None:
        low, high = newest.kernels  # newer than every profile: the newest, as validate takes it
        label = f"kernel {text.strip()}, taken as {newest.describe()}"
        why = f"kernel {text.strip()} asked for: newer than every profile"
        return Dating(low[:2], high[:2], (why,), (newest,)), label
    if named is not None:
        low, high = named.kernels
        return Dating(low[:2], high[:2], (f"{text} asked for",), (named,)), named.describe()
    from .._spec.abi import parse_version

    version = parse_version(text)[:2]
    shown = show_version(parse_version(text))
    return Dating(version, version, (f"kernel {text.strip()} asked for",)), f"kernel {shown}"


def _admits(asked: Dating, profile: Profile) -> bool:
    """``profile`` is one of the kernels asked for: the profile named, or one of the version."""
    if asked.profiles:
        return profile in asked.profiles
    return profile.kernels[0][:2] <= asked.hi and asked.lo <= profile.kernels[1][:2]


def _restrict(fitting: Dating, asked: Dating) -> Dating | None:
    """The kernels of ``fitting`` that are asked for; None when there are none (a profile
    asked for by name must be one that prints the text)."""
    if asked.profiles and not fitting.profiles:
        return None
    return fitting.meet(asked)


# --- the rollup implementations -----------------------------------------------------------------
#
# The header range (Documentation/ABI/testing/procfs-smaps_rollup; KERNEL-FACTS §8):
# * 4.14 .. 4.18 (fs/proc/task_mmu.c 4.14.78 show_smap in rollup mode; also the Android 4.9.159
#   backport): the smaps walk itself; the header ends at vm_end of the last entry *including the
#   gate VMA* (m_next_vma returns tail_vma);
# * 4.19 on (4.19.78 show_smaps_rollup): a walk of the mm's own VMAs, which never holds the gate
#   VMA: the header ends at vm_end of the highest real VMA;
# * start is the first VMA's start; 6.1+ (and stable trees) print 00000000-00000000 for an mm
#   without VMAs.

GATE_EXCLUDED_SINCE: Final[Version] = (4, 19)
ROLLUP_SINCE: Final[Version] = (4, 14)

# The gate VMA is printed last in smaps (tail_vma = get_gate_vma(mm)); it is not a VMA of the mm
# and is never walked for pages. x86_64: [vsyscall] (arch/x86/entry/vsyscall/vsyscall_64.c);
# 32-bit ARM: [vectors] (KERNEL-FACTS §12). Special mappings installed with
# install_special_mapping (arm64 compat [vectors], [vdso]) are real VMAs and carry VM_DONTEXPAND
# ("de" in VmFlags, mm/mmap.c __install_special_mapping); the gate VMA does not.
_GATE_NAMES: Final = frozenset({b"[vsyscall]", b"[vectors]"})


def is_gate(mapping: Mapping) -> bool:
    return _is_gate(mapping.pathname, mapping.vmflags)


def _is_gate(pathname: bytes | None, flags: tuple[str, ...] | None) -> bool:
    return pathname in _GATE_NAMES and (flags is None or "de" not in flags)


# --- field knowledge, from the ABI document -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollupRule:
    """An invariant of the smaps_rollup entry that names a rollup-only field."""

    id: str
    expr: str
    kernels: tuple[Dating, ...]
    names: frozenset[str]
    check: Callable[[dict[str, object]], bool | None]  # None: a name has no value


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What the aggregator knows about fields; all of it from the ABI document."""

    # field -> its (relation, kernels) lines, for example Swap: exact-sum 4.19+, unreliable
    # 4.14..4.18
    relations: dict[str, tuple[tuple[str, Dating], ...]]
    # fixed-point field -> the byte fields its per-mapping value is at most the sum of
    caps: dict[str, tuple[str, ...]]
    since: dict[str, Version]
    rules: tuple[RollupRule, ...] = ()
    fixed: frozenset[str] = frozenset()  # the fields summed in fixed point on some kernel
    # relation's answers, by name and kernels: a rollup asks the same few again and again
    known: dict[tuple[str, Dating], str | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def relation(self, name: str, kernels: Dating) -> str | None:
        """How the rollup value of ``name`` relates to smaps on all of ``kernels``: one
        relation, ``unreliable`` when any of them has a known bug, None for unknown fields."""
        key = (name, kernels)
        if key not in self.known:
            if len(self.known) >= 4096:
                self.known.clear()
            self.known[key] = self._relation(name, kernels)
        return self.known[key]

    def _relation(self, name: str, kernels: Dating) -> str | None:
        lines = self.relations.get(name)
        if not lines:
            return None
        found = {rel for rel, where in lines if where.meet(kernels) is not None}
        if not found:
            # Outside every range of the document (a vendor backport to an older kernel, such
            # as Android 4.9's rollup of 4.14): the relation of the nearest range.
            older = [(where.lo, rel) for rel, where in lines if where.lo[:2] > kernels.hi[:2]]
            newer = [(where.hi, rel) for rel, where in lines if where.hi[:2] < kernels.lo[:2]]
            if kernels.lo[:2] > kernels.hi[:2] or not (older or newer):
                # No kernel at all (a range whose low end is above its high end): the relation
                # of the newest range, the one the kernel keeps.
                return max((where.hi, rel) for rel, where in lines)[1]
            return min(older)[1] if older else max(newer)[1]
        if UNRELIABLE in found:
            return UNRELIABLE
        return sorted(found)[0] if len(found) > 1 else found.pop()

    def in_rollup(self, name: str, version: Version) -> bool:
        relation = self.relation(name, Dating(version, version))
        return relation in (EXACT, FIXED, UNRELIABLE)

    def rollup_only(self, version: Version) -> list[str]:
        return [
            name
            for name, lines in self.relations.items()
            if any(rel == ROLLUP_ONLY for rel, _ in lines)
            and self.since.get(name, NEWEST)[:2] <= version[:2]
        ]


_KNOWLEDGE: list[Knowledge] = []


def knowledge() -> Knowledge:
    """The field knowledge of the shipped ABI document, read once."""
    if not _KNOWLEDGE:
        from .._spec.abi import load_abi

        _KNOWLEDGE.append(knowledge_from(load_abi()))
    return _KNOWLEDGE[0]


def knowledge_from(abi: ABI) -> Knowledge:
    """The aggregator's knowledge from a loaded ABI document
    (``smapsfmt._spec.abi.load_abi()``)."""
    from .._spec.abi import parse_version

    relations: dict[str, tuple[tuple[str, Dating], ...]] = {}
    since: dict[str, Version] = {}
    for name, spec in abi.fields.items():
        lines = spec.rollup_by_kernels or ((None, spec.rollup),)
        relations[name] = tuple((rel, _range(where)) for where, rel in lines)
        since[name] = parse_version(spec.since)
    bytes_fields = {n for n, lines in relations.items() if any(r == EXACT for r, _ in lines)}
    fixed_fields = {n for n, lines in relations.items() if any(r == FIXED for r, _ in lines)}
    caps: dict[str, tuple[str, ...]] = {}
    rules: list[RollupRule] = []
    rollup_only = {n for n, lines in relations.items() if any(r == ROLLUP_ONLY for r, _ in lines)}
    for inv in abi.invariants:
        if "smaps" in inv.scope:
            for name, cap in _caps(inv.expr):
                if name in fixed_fields and set(cap) <= bytes_fields and name not in caps:
                    caps[name] = cap
        elif inv.fields & rollup_only:
            rules.append(
                RollupRule(
                    id=inv.id,
                    expr=inv.expr,
                    kernels=tuple(_range(k) for k in inv.kernels),
                    names=inv.fields,
                    check=inv.check,
                )
            )
    return Knowledge(relations, caps, since, tuple(rules), frozenset(fixed_fields))


def _range(where: KernelRange | None) -> Dating:
    if where is None:
        return Dating(OLDEST, NEWEST)
    return Dating(where.low or OLDEST, where.high or NEWEST)


def _caps(expr: str) -> list[tuple[str, tuple[str, ...]]]:
    """The ``F <= A + B`` parts of an invariant expression (joined by ``and``): F is at most
    the sum of the fields A, B."""
    found: list[tuple[str, tuple[str, ...]]] = []
    body = ast.parse(expr.strip(), mode="eval").body
    parts = (
        body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    )
    for part in parts:
        if (
            isinstance(part, ast.Compare)
            and len(part.ops) == 1
            and isinstance(part.ops[0], ast.LtE)
            and isinstance(part.left, ast.Name)
        ):
            terms = _sum_of_names(part.comparators[0])
            if terms:
                found.append((part.left.id, terms))
    return found


def _sum_of_names(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sum_of_names(node.left), _sum_of_names(node.right)
        return left + right if left and right else ()
    return ()


# --- one pass over the mappings -----------------------------------------------------------------


class _Row(NamedTuple):
    """One entry of a Batch, as _Pass.add reads a Mapping."""

    line: int
    start: int
    end: int
    major: int
    inode: int
    pathname: bytes
    vmflags: tuple[str, ...] | None
    name: bytes | None
    fields: dict[str, int]


@dataclass(slots=True)
class _Pass:
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
    anon_low: int = 0  # sum of max(0, Pss - (Rss - Anonymous))
    nonanon_low: int = 0  # sum of max(0, Pss - Anonymous)
    file_low: int = 0  # the same, over the mappings that cannot map shmem
    shmem_high: int = 0  # sum of the non-anonymous share's maximum, over those that can
    vmflags: bool = False  # some mapping has a VmFlags line
    name_lines: bool = False  # some mapping has an Android Name: line
    locked_any: int = 0  # mappings whose Locked can carry a fraction, lo flag or not
    rollup_entry: int | None = None  # the line of a smaps_rollup entry among the mappings
    grand: int = 0  # the sum of every value: no field's sum is above it
    beyond: tuple[str, int] | None = None  # the first sum above KB_MAX, and where

    def add(self, mapping: Mapping | _Row) -> None:
        if self.last_end is not None:
            self.previous_end = self.last_end
        else:
            self.first_start = mapping.start
        self.last_end = mapping.end
        self.last_pathname = mapping.pathname
        self.last_vmflags = mapping.vmflags
        self.count += 1
        values = mapping.fields
        sums = self.sums
        for name, value in values.items():
            if name not in sums:
                self.names.append(name)
                sums[name] = value
            else:
                sums[name] += value
        self.grand += sum(values.values())
        if self.grand > KB_MAX and self.beyond is None:
            for name in values:
                if sums[name] > KB_MAX:
                    self.beyond = (name, mapping.line)
                    break
        # Every smaps entry starts with Size (task_mmu.c 2.6.14+ show_smap); the smaps_rollup
        # entry never has it, and its name is "[rollup]" (4.14.78 show_smap, 4.19+
        # show_smaps_rollup), a name no VMA has (files print absolute paths, anonymous
        # names print as [anon:NAME]).
        if mapping.pathname == b"[rollup]" and "Size" not in values:
            self.rollup_entry = self.rollup_entry or mapping.line
        flags = mapping.vmflags
        self.vmflags |= flags is not None
        self.name_lines |= mapping.name is not None
        caps = self.know.caps
        for name in self.know.fixed:
            fixed = values.get(name)
            if fixed is None:
                continue
            cap_names = caps.get(name)
            # The counter is at most cap << 22 (a cap of the ABI document: each page adds at
            # most its size << PSS_SHIFT to it, and its size to the cap), so it can end in a
            # fraction of a kB only below its cap. Only VM_LOCKED mappings add to Locked
            # (task_mmu.c 5.0+ smaps_account(..., locked), locked = vm_flags & VM_LOCKED).
            below = True
            if cap_names is not None:
                cap = sum(values.get(c, 0) for c in cap_names)
                self.cap_sums[name] = self.cap_sums.get(name, 0) + cap
                below = fixed < cap
            if below and (name != "Locked" or flags is None or "lo" in flags):
                self.fractions[name] = self.fractions.get(name, 0) + 1
            if below and name == "Locked":
                self.locked_any += 1
        pss, rss, anon = values.get("Pss"), values.get("Rss"), values.get("Anonymous")
        if pss is not None and rss is not None and anon is not None:
            self.anon_low += max(0, pss - (rss - anon))
            self.nonanon_low += max(0, pss - anon)
            # Shmem pages belong to files of tmpfs/shm superblocks, which have anonymous device
            # numbers (major 0: include/linux/major.h UNNAMED_MAJOR, fs/super.c set_anon_super);
            # a mapping of a block-device file, or without a file (inode 0), maps none.
            if mapping.major == 0 and mapping.inode != 0:
                self.shmem_high += min(rss - anon, pss + (pss < rss))
            else:
                self.file_low += max(0, pss - anon)

    def add_batch(self, batch: Batch) -> None:
        """Add the entries of ``batch`` (smapsfmt._parse.batch): to every part of the state,
        exactly
        what :meth:`add` of each entry, in order, does; column by column, at C speed (sum,
        map, compress), where add works entry by entry. It relies on what every Batch holds
        (non-negative values): ValueError for a Batch whose lists do not have one item per
        entry or whose labels repeat."""
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
        if n == 1:  # add's work costs less than the fixed cost of working by column
            self.add(
                _Row(
                    batch.line[0],
                    batch.start[0],
                    ends[0],
                    batch.major[0],
                    batch.inode[0],
                    batch.pathname[0],
                    flags[0],
                    batch.name[0],
                    dict(zip(labels, [column[0] for column in columns], strict=True)),
                )
            )
            return
        if self.last_end is None:
            self.first_start = batch.start[0]
        self.previous_end = ends[-2]
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

        if "Size" not in labels:  # see add: only the smaps_rollup entry lacks Size
            try:
                at = batch.pathname.index(b"[rollup]")
            except ValueError:
                pass
            else:
                self.rollup_entry = self.rollup_entry or batch.line[at]
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
        """add's loop over the fixed-point fields, for a batch (masks: see _Mask)."""
        caps = self.know.caps
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
            if name == "Locked":
                self.locked_any += _count(below, n)
                if nones != n:  # an entry with VmFlags counts where they have "lo" (VM_LOCKED)
                    counted = _both(below, _locked(flags, nones))
            number = _count(counted, n)
            if name in fractions:
                fractions[name] += number
            elif number:
                new.append((_first(counted), order, name, number))
        # add puts a field into fractions at the first entry that counts for it (the fields of
        # one entry in the order of know.fixed): the same dict, in the same order.
        for _, _, name, number in sorted(new):
            fractions[name] = number

    def _add_split(
        self,
        cols: dict[str, list[int]],
        totals: dict[str, int],
        major: list[int],
        inode: list[int],
    ) -> None:
        """add's sums for the split of Pss, for a batch: max and min through abs (exact)."""
        pss, rss, anon = cols["Pss"], cols["Rss"], cols["Anonymous"]
        pss_total, rss_total, anon_total = totals["Pss"], totals["Rss"], totals["Anonymous"]
        # max(0, Pss - (Rss - Anonymous)) and max(0, Pss - Anonymous)
        self.anon_low += _positive(
            pss_total - rss_total + anon_total, map(sub, pss, map(sub, rss, anon))
        )
        nonanon_low = _positive(pss_total - anon_total, map(sub, pss, anon))
        self.nonanon_low += nonanon_low
        # The entries that can map shmem: major 0 among those with an inode (see add).
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
                    "this is a smaps_rollup, not a smaps: its one entry is the [rollup] entry, "
                    "which no kernel prints in smaps",
                    line,
                )
            raise KernelMismatch(
                f"the entry at line {line} is the [rollup] entry of a smaps_rollup, which no "
                "kernel prints in smaps",
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
        if _is_gate(self.last_pathname, self.last_vmflags):
            if self.previous_end is None:  # the gate alone: the mm has no VMA of its own
                return 0, {True: end, False: 0}
            ends[False] = self.previous_end
        return start, ends


# --- batches: the arithmetic of _Pass.add over columns ------------------------------------------

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


def _locked(flags: list[tuple[str, ...] | None], nones: int) -> Callable[[], Iterator[bool]]:
    """The entries whose VmFlags, if printed, have "lo"."""
    if not nones:
        return lambda: map(contains, flags, repeat("lo"))  # type: ignore[arg-type]
    return lambda: (f is None or "lo" in f for f in flags)


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
    """Where add would find a sum above KB_MAX first in these entries (``sums``: before
    them; ``totals``: each column's sum): the first entry after which some field's running sum
    is above it, and the first such field in the entry's order. Running sums only grow (values
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


def _is_text(value: object) -> bool:
    return isinstance(value, (str, bytes, bytearray, memoryview))


def _read(smaps: object, know: Knowledge) -> _Pass:
    """One pass over ``smaps``; TypeError for anything but mappings, KernelMismatch (see
    _Pass.finish) for entries no kernel prints in smaps.

    An object with a ``_batches()`` method (the parser's stream of mappings) is read through
    it: an iterator of Batches (smapsfmt._parse.batch) and Mappings, in the order of the text."""
    from .._model import Mapping
    from .._parse.batch import Batch

    wanted = "expected a Smaps or an iterable of Mapping"
    if _is_text(smaps):
        raise TypeError(
            f"{wanted}, not {type(smaps).__name__}: parse the text first "
            "(smapsfmt.parse_smaps, or smapsfmt.iter_smaps for a stream)"
        )
    batches = getattr(smaps, "_batches", None)
    items: Iterator[object]
    if callable(batches):
        items = iter(batches())
    else:
        try:
            items = iter(smaps)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(f"{wanted}, not {type(smaps).__name__}") from None
    state = _Pass(know)
    add, add_batch = state.add, state.add_batch
    for item in items:
        if isinstance(item, Mapping):
            add(item)
        elif isinstance(item, Batch):
            add_batch(item)
        else:
            raise TypeError(f"{wanted}, not an iterable of {type(item).__name__}")
    state.finish()
    return state


# --- intervals ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """The values the kernel's rollup field can have, given the smaps: ``lo <= value <= hi``
    (``hi`` None: no upper bound), with the reason in words."""

    lo: int
    hi: int | None
    why: str

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    def __contains__(self, value: object) -> bool:
        return (
            isinstance(value, int) and self.lo <= value and (self.hi is None or value <= self.hi)
        )

    def __str__(self) -> str:
        if self.exact:
            return f"{self.lo} kB"
        return f"[{self.lo}, {'...' if self.hi is None else self.hi}] kB"

    @property
    def text(self) -> str:
        """The value as ``smapsfmt rollup`` prints it: ``N``, ``LO..HI`` or ``?``."""
        if self.hi is None:
            return "?"
        return str(self.lo) if self.exact else f"{self.lo}..{self.hi}"


def _plural(count: int, word: str = "mapping") -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def bounds(
    state: _Pass, names: Sequence[str], kernels: Dating, *, pss: int | None = None
) -> dict[str, Interval]:
    """The interval of each rollup field in ``names`` for the kernels ``kernels``. ``pss``:
    the rollup's own Pss, when known (it narrows the rollup-only fields)."""
    know = state.know
    out: dict[str, Interval] = {}
    for name in names:
        relation = know.relation(name, kernels)
        total = state.sums.get(name, 0)
        if relation == EXACT:
            out[name] = Interval(total, total, f"the sum over the {_plural(state.count)}")
        elif relation == FIXED:
            out[name] = _fixed_bound(state, name, total, kernels)
        elif relation == UNRELIABLE:
            out[name] = Interval(
                0,
                None,
                f"{kernels} has a known bug in its rollup {name} (see the ABI document): "
                "no relation to smaps",
            )
    split = [n for n in names if know.relation(n, kernels) == ROLLUP_ONLY]
    if split and "Pss" in out:
        base = out["Pss"] if pss is None else Interval(pss, pss, "the rollup's Pss")
        out.update(_split_bounds(state, base, split))
    return {name: out[name] for name in names if name in out}


def _fixed_bound(state: _Pass, name: str, total: int, kernels: Dating) -> Interval:
    fractions = state.fractions.get(name, 0)
    if name == "Locked" and any("smaps-locked-lo" in p.deviations for p in kernels.profiles):
        # a vendor kernel that counts Locked without VM_LOCKED (kernel/android-4.9.profile)
        fractions = state.locked_any
    hi = total + max(fractions - 1, 0)
    why = (
        f"the kernel sums {name} in fixed point (PSS_SHIFT {PSS_SHIFT}) and truncates once, "
        f"smaps truncates each of the {_plural(state.count)}: from their sum, {total} kB"
    )
    if fractions > 1:
        why += f", to {fractions - 1} kB more ({_plural(fractions)} can carry a fraction of a kB)"
    else:
        why += f", exactly ({_plural(fractions)} can carry a fraction of a kB)"
    cap = state.cap_sums.get(name)
    if cap is not None and cap < hi:
        hi = cap
        caps = " + ".join(state.know.caps[name])
        why += f", and at most the sum of {caps}, {cap} kB"
    return Interval(total, hi, why)


def _split_bounds(state: _Pass, pss: Interval, split: list[str]) -> dict[str, Interval]:
    """Pss_Anon, Pss_File, Pss_Shmem (task_mmu.c 5.3.1+ smaps_page_accumulate): each page's Pss
    increment goes to pss_anon if its folio is anonymous, else to pss_shmem if swap-backed
    (shmem), else to pss_file; Anonymous counts the size of the same anonymous pages
    (smaps_account). So per mapping the anonymous share of the fixed-point Pss is at most
    Anonymous and the rest at most Rss - Anonymous: the anonymous share is at least
    Pss - (Rss - Anonymous), the rest at least Pss - Anonymous, and the rest is file, not shmem,
    where the mapping cannot map shmem (see _Pass.add)."""
    rss = state.sums.get("Rss", 0)
    anonymous = state.sums.get("Anonymous", 0)
    top = pss.hi if pss.hi is not None else rss
    other_hi = max(0, min(rss - anonymous, top - state.anon_low))
    out: dict[str, Interval] = {}
    for name in split:
        if name == "Pss_Anon":
            out[name] = Interval(
                state.anon_low,
                max(state.anon_low, min(anonymous, top - state.nonanon_low)),
                f"the Pss of anonymous pages: at least the sum over the mappings of "
                f"Pss - (Rss - Anonymous), {state.anon_low} kB; at most Anonymous, "
                f"{anonymous} kB, and Pss ({pss}) less the sum of Pss - Anonymous, "
                f"{state.nonanon_low} kB",
            )
        elif name == "Pss_File":
            out[name] = Interval(
                min(state.file_low, other_hi),
                other_hi,
                f"the Pss of file pages: at least the sum of Pss - Anonymous over the mappings "
                f"that cannot map shmem, {state.file_low} kB; at most Rss - Anonymous, "
                f"{rss - anonymous} kB, and Pss ({pss}) less the sum of Pss - (Rss - Anonymous), "
                f"{state.anon_low} kB",
            )
        else:
            out[name] = Interval(
                0,
                min(other_hi, state.shmem_high),
                f"the Pss of shmem pages: at most the non-anonymous Pss of the mappings of files "
                f"on devices with major 0 (tmpfs, shm), {state.shmem_high} kB, and Pss ({pss}) "
                f"less the sum of Pss - (Rss - Anonymous), {state.anon_low} kB",
            )
    return out


# --- which kernel printed a text ----------------------------------------------------------------

# Fields printed unconditionally from their first version on (KERNEL-FACTS §2 for smaps, §8 for
# smaps_rollup): their presence or absence dates a text, and says why in messages. Their first
# versions come from the ABI document. KernelPageSize moved from after the counters to right
# after Size between 4.12 and 4.14 (task_mmu.c 4.12.4, 4.14.78): that position dates a smaps
# too. The kernel profiles (kernel/*.profile) then decide, line by line.
_DATING_SMAPS: Final = ("THPeligible", "FilePmdMapped", "Pss_Dirty", "KSM")
_DATING_ROLLUP: Final = ("Pss_Anon", "FilePmdMapped", "Pss_Dirty", "KSM")


def smaps_kernels(
    names: Sequence[str],
    know: Knowledge,
    *,
    vmflags: bool = True,
    name_lines: bool = False,
    sample: str | None = None,
    asked: Dating | None = None,
) -> Dating:
    """The kernels whose smaps prints these field lines, in this order: the kernel profiles
    whose lines they are (with ``sample``, the text of the first entry, also laid out as that
    profile prints them); dated by fields alone where no profile fits. ``asked``: only the
    profiles of these kernels (before a mainline profile is preferred to a vendor variant)."""
    lo, hi = OLDEST, NEWEST
    evidence: list[str] = []
    cause = None
    if len(names) > 1 and names[0] == "Size" and names[1] == "KernelPageSize":
        lo = ROLLUP_SINCE
        evidence.append("KernelPageSize right after Size (4.14+)")
    elif "KernelPageSize" in names:
        hi = (4, 13)
        evidence.append("KernelPageSize after the counters (before 4.14)")
        cause = (
            "with KernelPageSize after the counters",
            "KernelPageSize is right after Size from 4.14 on",
        )
    dated = _date(
        names,
        _DATING_SMAPS,
        know,
        Dating(lo, hi, tuple(evidence)),
        file="smaps",
        start_cause=cause,
    )
    from .._spec.profiles import load_profiles

    # Without a mapping (an mm without VMAs, a kernel thread) every kernel prints the same
    # empty smaps.
    fits = [p for p in load_profiles() if not names or _fits_smaps(p, names, vmflags)]
    if asked is not None:
        fits = [p for p in fits if _admits(asked, p)]
    if sample is not None:
        laid_out = [p for p in fits if _fits_layout(p, sample)]
        fits = laid_out or fits
    if name_lines:  # Android's Name: line: its variants
        fits = [p for p in fits if ("smaps", "Name") in p.line_of] or fits
    else:  # a vendor variant only where no mainline kernel prints these lines
        fits = [p for p in fits if p.variant_of is None] or fits
    return _with_profiles(dated, fits)


def rollup_kernels(names: Sequence[str], know: Knowledge, asked: Dating | None = None) -> Dating:
    """The kernels whose smaps_rollup prints these field lines, in this order (``asked``: as
    for :func:`smaps_kernels`)."""
    from .._spec.profiles import load_profiles

    dated = _date(names, _DATING_ROLLUP, know, Dating(ROLLUP_SINCE, NEWEST), file="smaps_rollup")
    fits = [
        p
        for p in load_profiles()
        if p.rollup_lines is not None
        and [line.field for line in p.rollup_lines] == list(names)
        and (asked is None or _admits(asked, p))
    ]
    return _with_profiles(dated, [p for p in fits if p.variant_of is None] or fits)


def _with_profiles(dated: Dating, fits: list[Profile]) -> Dating:
    if not fits:
        return dated
    lo = min(p.kernels[0][:2] for p in fits)
    hi = max(p.kernels[1][:2] for p in fits)
    return Dating(lo, hi, dated.evidence, tuple(fits))


def _fits_smaps(profile: Profile, names: Sequence[str], vmflags: bool) -> bool:
    optional = {line.field for line in profile.smaps_lines if line.optional}
    wanted = [line.field for line in profile.smaps_lines if not line.optional]
    have = [name for name in names if name not in optional]
    return have == wanted and vmflags == (profile.vmflags_prefix is not None)


def _fits_layout(profile: Profile, sample: str) -> bool:
    """Every field line of ``sample`` (one entry's text) is printed as ``profile`` prints it."""
    import re as regex

    for raw in sample.split("\n")[1:]:
        label = raw.partition(":")[0]
        line = profile.line_of.get(("smaps", label))
        if line is not None and not regex.fullmatch(line.pattern(), raw + "\n"):
            return False
    return True


def _date(
    names: Sequence[str],
    dating: Sequence[str],
    know: Knowledge,
    start: Dating,
    *,
    file: str,
    start_cause: tuple[str, str] | None = None,
) -> Dating:
    """``start`` narrowed by the fields of ``dating`` that ``names`` has or lacks.
    KernelMismatch when no kernel is left: a field newer than a field it lacks (or than what
    ``start_cause`` says: the cause of ``start.hi``, and why, in words)."""
    lo, hi, evidence = start.lo, start.hi, list(start.evidence)
    cause = start_cause
    present = set(names)
    for name in dating:
        since = know.since.get(name)
        if since is None:
            continue
        if name in present:
            lo = max(lo, since[:2])
            evidence.append(f"{name} ({show_version(since)}+)")
            if lo > hi and cause is not None:
                without, why = cause
                raise KernelMismatch(
                    f"no kernel prints {name} {without} in {file}: {name} appeared in "
                    f"{show_version(since)}; {why}"
                )
        elif names and since[:2] > lo[:2] and _before(since) < hi:
            hi = _before(since)
            evidence.append(f"no {name} (before {show_version(since)})")
            cause = (f"without {name}", f"{name} is printed from {show_version(since)} on")
    return Dating(lo, hi, tuple(evidence))


def _before(version: Version) -> Version:
    """The last minor release before ``version`` (6.0 -> 5.19)."""
    major, minor = version[0], version[1]
    if minor > 0:
        return (major, minor - 1)
    return (major - 1, {3: 19, 4: 20, 5: 19, 6: 19}.get(major - 1, 99))


def rollup_fields(
    smaps_names: Sequence[str], version: Version, know: Knowledge, profile: Profile | None = None
) -> list[str]:
    """The rollup's lines for a smaps with these fields: the profile's, when a profile is
    known; else the summed smaps fields in smaps order (one __show_smap block prints both,
    task_mmu.c 4.19+; the same seq_printf in 4.14.78), with the rollup-only ones of ``version``
    right after Pss_Dirty, or after Pss before 6.0 (task_mmu.c 5.3.1, 6.0.19)."""
    if profile is not None and profile.rollup_lines is not None:
        return [line.field for line in profile.rollup_lines]
    names = [n for n in smaps_names if know.in_rollup(n, version)]
    extra = know.rollup_only(version)
    if extra:
        after = "Pss_Dirty" if "Pss_Dirty" in names else "Pss"
        at = names.index(after) + 1 if after in names else len(names)
        names[at:at] = extra
    return names


def _includes_gate(profile: Profile | None, version: Version) -> bool:
    """Whether the rollup's range ends with the gate VMA: the profile's rollup-end line, else
    by version (before 4.19)."""
    if profile is not None and profile.rollup_end is not None:
        return profile.rollup_end == "includes-gate"
    return version[:2] < GATE_EXCLUDED_SINCE


def _choose(profiles: Sequence[Profile]) -> Profile | None:
    """The profile a rollup is computed for: the newest mainline one that has smaps_rollup,
    else the newest vendor variant that has it."""
    with_rollup = [p for p in profiles if p.rollup_lines is not None]
    mainline = [p for p in with_rollup if p.variant_of is None]
    chosen = mainline or with_rollup
    return max(chosen, key=lambda p: p.kernels[1]) if chosen else None


# --- aggregate ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """The rollup that the kernel of a smaps prints, as far as the smaps determines it."""

    mappings: int
    start: int
    end: int
    kernels: Dating  # the kernels the smaps fits (or the one asked for)
    version: Version  # the kernel whose rollup this is (the chosen profile's newest)
    fields: dict[str, Interval]  # in the kernel's rollup order
    unknown: tuple[str, ...]  # smaps fields the specification does not know, left out
    notes: tuple[str, ...] = ()  # what a reader should know: other kernels of the range
    profile: Profile | None = None  # the kernel profile whose rollup this is

    def values(self) -> dict[str, int]:
        """Each rollup field's value: the low end of its interval where smaps leaves it open."""
        return {name: bound.lo for name, bound in self.fields.items()}

    def to_jsonable(self) -> dict[str, object]:
        return {
            "mappings": self.mappings,
            "start": format(self.start, "08x"),
            "end": format(self.end, "08x"),
            "fields": self.values(),
            "intervals": {n: [b.lo, b.hi] for n, b in self.fields.items() if not b.exact},
        }


def _smaps_dating(state: _Pass, sample: str | None, kernel: str | None) -> Dating:
    """The kernels that print the smaps of ``state`` (of them, those ``kernel`` names)."""
    know = state.know
    fitting = smaps_kernels(
        state.names, know, vmflags=state.vmflags, name_lines=state.name_lines, sample=sample
    )
    if kernel is None:
        return fitting
    asked, label = asked_kernels(kernel)
    restricted = smaps_kernels(
        state.names,
        know,
        vmflags=state.vmflags,
        name_lines=state.name_lines,
        sample=sample,
        asked=asked,
    )
    found = _restrict(restricted, asked)
    if found is None:
        raise KernelMismatch(
            f"the smaps cannot come from {label}: it is printed by {fitting} ({fitting.why})"
        )
    return found


def summarize(
    mappings: Iterable[Mapping],
    *,
    kernel: str | None = None,
    know: Knowledge | None = None,
    sample: str | None = None,
) -> Summary:
    """One pass over ``mappings``: the rollup that their kernel prints, as intervals.
    ``sample``: the text of the first entry, to tell apart kernels that print the same lines
    in different layouts."""
    if kernel is not None:
        asked_kernels(kernel)  # a TypeError or ValueError before the mappings are read
    know = know or knowledge()
    state = _read(mappings, know)
    kernels = _smaps_dating(state, sample, kernel)
    profile = _choose(kernels.profiles)
    layout = profile
    if profile is not None:
        version = max(min(kernels.hi, profile.kernels[1][:2]), profile.kernels[0][:2])
        scope = Dating(version, version, kernels.evidence, (profile,))
    else:
        version = kernels.newest
        if version < ROLLUP_SINCE <= kernels.hi:
            version = ROLLUP_SINCE
        scope = Dating(version, version, kernels.evidence)
        if kernels.hi < ROLLUP_SINCE:
            # A kernel without smaps_rollup (before 4.14): the sum of its smaps as the kernel
            # sums them where no known bug intervenes (the newest kernel's relations), in the
            # layout of the oldest smaps_rollup (4.14.78: its header range and line formats).
            layout = rollup_layout(version)
            newest = rollup_layout(NEWEST).kernels[1][:2]
            scope = Dating(newest, newest, kernels.evidence)
    names = rollup_fields(state.names, version, know, profile)
    if not state.count and layout is not None and layout.rollup_lines is not None:
        names = [line.field for line in layout.rollup_lines]
    start, ends = state.header()
    end = ends[_includes_gate(layout, version)]
    if state.count:
        fields = bounds(state, names, scope)
    else:  # task_mmu.c 6.1.119+ show_smaps_rollup: empty_set, every counter still 0
        fields = {name: Interval(0, 0, "no mapping: every counter stays 0") for name in names}
    return Summary(
        mappings=state.count,
        start=start,
        end=end,
        kernels=kernels,
        version=version,
        fields=fields,
        unknown=tuple(n for n in state.names if know.relation(n, kernels) is None),
        notes=tuple(_notes(state, kernels, profile, layout, names=names, end=end, ends=ends)),
        profile=profile,
    )


def rollup_layout(version: Version) -> Profile:
    """The mainline profile whose smaps_rollup layout is used for a text no profile prints a
    rollup of: the oldest one for a kernel before 4.14 (which has no smaps_rollup), else the
    newest."""
    from .._spec.profiles import load_profiles

    with_rollup = [
        p for p in load_profiles() if p.rollup_lines is not None and p.variant_of is None
    ]
    return with_rollup[0] if version[:2] < ROLLUP_SINCE else with_rollup[-1]


def _notes(
    state: _Pass,
    kernels: Dating,
    profile: Profile | None,
    layout: Profile | None,
    *,
    names: list[str],
    end: int,
    ends: dict[bool, int],
) -> list[str]:
    notes = []
    if not state.count:
        # KERNEL-FACTS section 8: 6.1.119+ (and the 5.4.273, 5.15.85, 6.0.19 stable trees);
        # 4.19-6.0 read the first VMA's start without checking that there is one.
        notes.append(
            "the smaps has no mapping: this is the smaps_rollup of an address space without "
            "VMAs, as Linux 6.1 and later print it (a kernel thread's smaps is empty too, but it "
            "has no smaps_rollup)"
        )
    if profile is None and kernels.hi < ROLLUP_SINCE:
        where = f"{layout.describe()}'s" if layout is not None else "the oldest"
        return [
            *notes,
            f"{kernels} has no smaps_rollup (it appeared in Linux 4.14): this is the sum of the "
            f"smaps laid out as the oldest smaps_rollup, {where}",
        ]
    if profile is None:
        return [
            *notes,
            f"no kernel profile prints these smaps lines; dated {kernels} ({kernels.why}), and "
            "the rollup has the summed fields in smaps order",
        ]
    if not state.count:
        return notes
    others = []
    for other in kernels.profiles:
        if other is profile or other.rollup_lines is None:
            continue
        other_end = ends[_includes_gate(other, other.kernels[0])]
        other_names = rollup_fields(state.names, other.kernels[0], state.know, other)
        if other_end != end:
            others.append(f"{other.describe()} ends the range at {other_end:08x}")
        if other_names != names:
            missing = [n for n in names if n not in other_names]
            added = [n for n in other_names if n not in names]
            change = "; ".join(
                part
                for part in (
                    f"prints no {', '.join(missing)}" if missing else "",
                    f"also prints {', '.join(added)}" if added else "",
                )
                if part
            )
            others.append(f"{other.describe()} {change}")
    if not others:
        return []
    return [
        f"the smaps is printed by {kernels}; this is the rollup of {profile.describe()} "
        f"({'; '.join(others)}): give --kernel for another"
    ]


def aggregate(smaps: Iterable[Mapping], *, kernel: str | None = None) -> AggregatedRollup:
    """The smaps_rollup that the kernel which printed ``smaps`` prints for these mappings.

    ``smaps`` is a :class:`~smapsfmt.Smaps` or any iterable of mappings, read once (a stream of
    mappings is aggregated in constant memory). The kernel is the newest one whose profile
    prints these smaps lines, or ``kernel``, read as ``validate --kernel`` reads it: a version
    (``"4.14"``, ``"6.18.44-fc-v669"``) or a profile name (``"android-4.9"``). Its rollup lines,
    and its header range rule (the gate VMA ``[vsyscall]`` ends the range in 4.14 to 4.18, not
    from 4.19 on).

    Fields summed in bytes are exact. Fixed-point fields (Pss, Pss_Dirty, SwapPss, Locked) hold
    the sum of the smaps values, the low end of the interval the kernel's value lies in;
    rollup-only fields (Pss_Anon, Pss_File, Pss_Shmem) the low end of theirs; fields with a known
    kernel bug the plain sum. The result's ``intervals`` hold each field's
    :class:`~smapsfmt.Interval` (``lo``, ``hi``, ``why``), as ``smapsfmt rollup`` prints them;
    :func:`check_rollup` checks a rollup against them. Fields the specification does not know
    (vendor additions it has not described) are not in the result.

    An empty smaps gives the rollup of an address space without VMAs, as 6.1+ prints it: range
    00000000-00000000, every field 0, in the lines of the newest kernel (or ``kernel``). A
    kernel before 4.14 prints no smaps_rollup: its smaps gives the sum of its fields in smaps
    order, the fixed-point ones as the kernel sums them, with the header range of the oldest
    smaps_rollup (4.14: up to the gate VMA).

    Raises ``TypeError`` when ``smaps`` is not mappings (bytes or text: parse them first with
    :func:`~smapsfmt.parse_smaps` or :func:`~smapsfmt.iter_smaps`) or ``kernel`` is not a
    string; ``ValueError`` when ``kernel`` is neither a profile's name nor a version a profile
    covers, and :class:`~smapsfmt.KernelMismatch` (a ``ValueError``) when no kernel prints a
    rollup of this smaps. It has a ``line`` (in the smaps; 1 for the whole text) and a
    ``rule``: ``rollup-kernel-mismatch`` for field lines no kernel prints together
    (FilePmdMapped without THPeligible), a smaps_rollup entry given as the smaps, or a smaps
    that ``kernel`` does not print; ``value-range`` (:class:`~smapsfmt.OutOfRange`, a
    KernelMismatch) for a field whose sum is beyond what a rollup can print,
    ``(2**64 - 1) >> 10`` kB (the mapping where the sum goes beyond it). The mappings are read
    before that error is raised.
    """
    from .._model import AggregatedRollup

    summary = summarize(smaps, kernel=kernel)
    return AggregatedRollup.of(to_rollup(summary), summary.fields)


def to_rollup(summary: Summary) -> Rollup:
    from .._model import Rollup

    return Rollup(
        line=1,
        start=summary.start,
        end=summary.end,
        perms="---p",
        offset=0,
        major=0,
        minor=0,
        inode=0,
        pathname=b"[rollup]",
        fields=summary.values(),
    )


def render_text(summary: Summary, word_size: int = 64) -> str:
    """The rollup as its kernel prints it, through the exact renderer and the kernel profile:
    every field smaps determines byte for byte; ``LO..HI`` for an open field and ``?`` for an
    unreliable one, where the kernel puts the number."""
    from .._render import header_text, latest_line

    profile = summary.profile or rollup_layout(summary.version)
    text = [header_text(to_rollup(summary), profile, word_size)]
    for name, bound in summary.fields.items():
        line = profile.line_of.get(("rollup", name)) or latest_line(name)
        if line is None:  # pragma: no cover - every field of the document has a profile line
            text.append(f"{name + ':':<16}{bound.text:>8} kB\n")
        else:
            text.append(line.render(bound.text))
    return "".join(text)


# --- check --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldProof:
    """One line of the proof: a rollup field, its value, and what smaps allows for it."""

    name: str
    value: int | None  # None: the rollup lacks the field
    bound: Interval | None  # None: no relation to smaps is known
    line: int
    smaps_sum: int | None = None  # the field's sum over the smaps; None: a rollup-only field

    @property
    def checked(self) -> bool:
        """smaps bounds this field (it is neither unknown nor unreliable on this kernel)."""
        return self.bound is not None and self.bound.hi is not None

    @property
    def holds(self) -> bool:
        bound = self.bound
        return bound is not None and bound.hi is not None and self.value in bound


@dataclass(slots=True)
class Proof:
    """The outcome of :func:`check`: the diagnostics and one proof line per rollup field."""

    diagnostics: list[Diagnostic]
    fields: list[FieldProof]
    mappings: int
    kernels: Dating


def check_rollup(
    smaps: Iterable[Mapping],
    rollup: Rollup,
    *,
    kernel: str | None = None,
    path: str | None = None,
) -> list[Diagnostic]:
    """Prove or refute that ``rollup`` is what the kernel prints for ``smaps``, field by field.

    Returns the violations (none: proven consistent), each on the rollup line concerned, with
    ``path`` naming the rollup: ``rollup-sum`` (a field summed in bytes differs from the sum),
    ``rollup-pss-bound`` (a fixed-point or rollup-only field outside the interval the kernel's
    arithmetic allows; the message states it), ``rollup-header-range`` (the header's range
    against the mappings), ``rollup-fields`` (a line one side has that the other side's kernel
    would not print), and
    ``rollup-kernel-mismatch`` (the smaps, the rollup and ``kernel`` cannot all be one kernel,
    or no kernel prints the rollup's lines together).
    ``smaps`` is any iterable of mappings, read once.

    Raises ``TypeError`` when ``smaps`` is not mappings, ``rollup`` not a
    :class:`~smapsfmt.Rollup` (bytes: parse them with :func:`~smapsfmt.parse_rollup`) or
    ``kernel`` not a string; ``ValueError`` for a ``kernel`` no profile has, and, as
    :func:`aggregate` does, :class:`~smapsfmt.KernelMismatch` (with ``line`` and ``rule``) when
    no kernel prints this smaps or a rollup of it: those are problems of the smaps, not of
    ``rollup``.
    """
    return check(smaps, rollup, kernel=kernel, path=path).diagnostics


def check(
    smaps: Iterable[Mapping],
    rollup: Rollup,
    *,
    kernel: str | None = None,
    path: str | None = None,
    know: Knowledge | None = None,
    sample: str | None = None,
) -> Proof:
    """:func:`check_rollup`, with the per-field proof (``sample``: see :func:`summarize`)."""
    from .._model import Rollup

    if not isinstance(rollup, Rollup):
        raise TypeError(
            f"expected a Rollup for rollup, not {type(rollup).__name__}"
            + (": parse the text first (smapsfmt.parse_rollup)" if _is_text(rollup) else "")
        )
    if kernel is not None:
        asked_kernels(kernel)
    state = _read(smaps, know or knowledge())
    return _Checker(state, rollup, kernel, path, sample).run()


class _Checker:
    def __init__(
        self,
        state: _Pass,
        rollup: Rollup,
        kernel: str | None,
        path: str | None,
        sample: str | None,
    ) -> None:
        self.state = state
        self.know = state.know
        self.rollup = rollup
        self.kernel = kernel
        self.path = path
        self.sample = sample
        self.diagnostics: list[Diagnostic] = []
        self.proofs: list[FieldProof] = []
        self.lines = {name: rollup.line + 1 + i for i, name in enumerate(rollup.fields)}

    def report(self, line: int, rule: str, message: str, *, column: int = 1) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, column, rule, "error", message))

    def warn(self, line: int, rule: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.path, line, 1, rule, "warning", message))

    def run(self) -> Proof:
        kernels = self._kernels()
        self._check_header(kernels)
        self._check_fields(kernels)
        self._check_rules(kernels)
        self.diagnostics.sort(key=lambda d: (d.line, d.column))
        return Proof(self.diagnostics, self.proofs, self.state.count, kernels)

    def _kernels(self) -> Dating:
        """The kernels both texts (and ``kernel``) fit; a mismatch is reported."""
        smaps_range = self._smaps_dating(None)
        rollup = self.rollup
        try:
            rollup_range: Dating | None = self._rollup_dating(None)
        except KernelMismatch as exc:  # lines that no kernel prints together
            self.report(rollup.line, exc.rule, str(exc))
            rollup_range = None
        if self.kernel is not None:
            asked, label = asked_kernels(self.kernel)
            found: list[Dating] = []
            candidates = [("smaps", smaps_range, self._smaps_dating(asked))]
            if rollup_range is not None:
                candidates.append(("rollup", rollup_range, self._rollup_dating(asked)))
            for what, fitting, restricted in candidates:
                kept = _restrict(restricted, asked)
                if kept is None:
                    self.report(
                        rollup.line,
                        "rollup-kernel-mismatch",
                        f"the {what} cannot come from {label}: it is printed by {fitting} "
                        f"({fitting.why})",
                    )
                else:
                    found.append(kept)
            if len(found) != len(candidates):
                return smaps_range
            return (found[0].meet(found[1]) if len(found) == 2 else found[0]) or smaps_range
        if rollup_range is None:
            return smaps_range
        both = smaps_range.meet(rollup_range)
        if both is None:
            self.report(
                rollup.line,
                "rollup-kernel-mismatch",
                f"the smaps and the rollup come from different kernels: the smaps is printed by "
                f"{smaps_range} ({smaps_range.why}), the rollup by {rollup_range} "
                f"({rollup_range.why})",
            )
            return smaps_range
        return both

    def _smaps_dating(self, asked: Dating | None) -> Dating:
        state = self.state
        return smaps_kernels(
            state.names,
            self.know,
            vmflags=state.vmflags,
            name_lines=state.name_lines,
            sample=self.sample,
            asked=asked,
        )

    def _rollup_dating(self, asked: Dating | None) -> Dating:
        """The kernels whose rollup prints these lines, and its header range, when the smaps
        ends with the gate VMA (the range includes it up to 4.18 only)."""
        rollup = self.rollup
        rollup_range = rollup_kernels(list(rollup.fields), self.know, asked)
        _, ends = self.state.header()
        if ends[True] != ends[False] and rollup.end in ends.values():
            gate = rollup.end == ends[True]
            dated = (
                Dating(ROLLUP_SINCE, (4, 18), ("the range ends with the gate VMA",))
                if gate
                else Dating(GATE_EXCLUDED_SINCE, NEWEST, ("the range ends before the gate",))
            )
            if rollup_range.profiles:
                kept = tuple(
                    p for p in rollup_range.profiles if _includes_gate(p, p.kernels[0]) == gate
                )
                if kept:
                    rollup_range = _with_profiles(
                        Dating(
                            rollup_range.lo,
                            rollup_range.hi,
                            (*rollup_range.evidence, *dated.evidence),
                        ),
                        list(kept),
                    )
            else:
                rollup_range = rollup_range.meet(dated) or rollup_range
        return rollup_range

    def _expected(self, kernels: Dating) -> tuple[set[str], set[str]]:
        """The rollup lines some, and every, kernel of ``kernels`` prints for this smaps."""
        state, know = self.state, self.know
        lists = [
            rollup_fields(state.names, p.kernels[0], know, p)
            for p in kernels.profiles
            if p.rollup_lines is not None
        ] or [
            rollup_fields(state.names, kernels.lo, know),
            rollup_fields(state.names, kernels.hi, know),
        ]
        return set().union(*lists), set(lists[0]).intersection(*lists[1:])

    def _check_header(self, kernels: Dating) -> None:
        rollup = self.rollup
        start, ends = self.state.header()
        allowed: dict[int, str] = {}
        gates = {_includes_gate(p, p.kernels[0]) for p in kernels.profiles} or {
            kernels.lo[:2] < GATE_EXCLUDED_SINCE,
            kernels.hi[:2] < GATE_EXCLUDED_SINCE,
        }
        if False in gates:
            allowed[ends[False]] = "the end of the last mapping before the gate VMA (4.19+)"
        if True in gates:
            allowed.setdefault(
                ends[True], "the end of the gate VMA, the last entry (4.14 to 4.18)"
            )
        if rollup.start != start:
            self.report(
                rollup.line,
                "rollup-header-range",
                f"the rollup's range starts at {rollup.start:08x}, the first mapping at "
                f"{start:08x}",
            )
        if rollup.end not in allowed:
            expected = " or ".join(f"{end:08x}, {why}" for end, why in allowed.items())
            self.report(
                rollup.line,
                "rollup-header-range",
                f"the rollup's range ends at {rollup.end:08x}; {kernels} ends it at {expected}",
                column=len(f"{rollup.start:08x}-") + 1,
            )

    def _check_fields(self, kernels: Dating) -> None:
        state, know, rollup = self.state, self.know, self.rollup
        possible, certain = self._expected(kernels)
        pss = rollup.fields.get("Pss")
        found = bounds(state, [n for n in rollup.fields if n in possible], kernels, pss=pss)
        for name, value in rollup.fields.items():
            line = self.lines[name]
            relation = know.relation(name, kernels)
            bound = found.get(name)
            total = None if relation == ROLLUP_ONLY else state.sums.get(name, 0)
            self.proofs.append(FieldProof(name, value, bound, line, total))
            if relation is None:
                self.warn(
                    line,
                    "rollup-fields",
                    f"{name} is not in the specification: how the kernel sums it is unknown "
                    f"(the {_plural(state.count)} sum to {state.sums.get(name, 0)} kB); not "
                    "checked",
                )
            elif name not in possible:
                self.report(line, "rollup-fields", self._extra(name, relation, kernels))
            elif bound is not None and value not in bound:
                if relation == EXACT:
                    self.report(
                        line,
                        "rollup-sum",
                        f"{name} is {value} kB in the rollup, the {_plural(state.count)} sum to "
                        f"{bound.lo} kB",
                    )
                else:
                    self.report(
                        line,
                        "rollup-pss-bound",
                        f"{name} is {value} kB in the rollup, outside {bound}: {bound.why}",
                    )
        from .._model import KNOWN_FIELDS

        # the smaps's order, then the kernel's (rollup-only fields), never a set's (hash seed)
        order = dict.fromkeys([*state.names, *KNOWN_FIELDS])  # first place kept
        rank = {n: i for i, n in enumerate(order)}
        for name in sorted(
            certain - rollup.fields.keys(), key=lambda n: (rank.get(n, len(rank)), n)
        ):
            self.report(
                rollup.line,
                "rollup-fields",
                f"the rollup has no {name} line, which {kernels} prints in the rollup of this "
                "smaps",
            )
        for name in state.names:
            if know.relation(name, kernels) is None and name not in rollup.fields:
                self.warn(
                    rollup.line,
                    "rollup-fields",
                    f"the smaps has {name}, a field not in the specification, and the rollup "
                    "has no such line; not checked",
                )

    def _extra(self, name: str, relation: str, kernels: Dating) -> str:
        if relation == NOT_IN_ROLLUP:
            why = "no kernel prints it in smaps_rollup"
        elif relation == ROLLUP_ONLY:
            why = f"{kernels} does not print it (first in {self._since(name)})"
        else:
            why = f"the smaps has no {name} line, and the rollup sums the smaps fields"
        return f"{name} is in the rollup but cannot be in the rollup of this smaps: {why}"

    def _since(self, name: str) -> str:
        since = self.know.since.get(name)
        return show_version(since) if since else "an unknown version"

    def _check_rules(self, kernels: Dating) -> None:
        """The ABI document's invariants of the rollup entry that name a rollup-only field (the
        split of Pss): they tie those fields to the rollup's Pss."""
        values = dict(self.rollup.fields)
        for rule in self.know.rules:
            if not rule.names <= values.keys():
                continue
            if all(where.meet(kernels) is None for where in rule.kernels):
                continue
            if rule.check(dict(values)) is not False:
                continue
            first = min(rule.names, key=self.lines.__getitem__)
            named = sorted(rule.names, key=self.lines.__getitem__)
            shown = ", ".join(f"{n} {values[n]} kB" for n in named)
            self.report(
                self.lines[first],
                "rollup-pss-bound",
                f"{rule.expr} does not hold ({shown}): invariant {rule.id} of the ABI document",
            )
