"""The aggregator: the smaps_rollup a kernel prints for a smaps.

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
  exactly one of them; smaps does not print them, and only bounds follow;
* ``unreliable``: a known kernel bug makes the rollup value unrelated to smaps on some kernels.

The package's modules, each with one job: ``errors`` (what stops a rollup), ``dating`` (which
kernels printed a text), ``gate`` (the gate VMA and the header range), ``knowledge`` (field
facts from the ABI document and the profiles), ``sums`` (the one pass over the mappings),
``bounds`` (each field's interval), ``layout`` (the rollup's lines and profile), this module
(the rollup of a smaps, and its text through ``smapsfmt._render``) and ``check`` (the proof
that a rollup is the sum of a smaps).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._spec.header import address_text
from .._spec.kernels import Version
from .bounds import Interval, bounds
from .dating import NEWEST, ROLLUP_SINCE, Dating, asked_kernels, restrict, smaps_kernels
from .errors import KernelMismatch
from .gate import includes_gate
from .knowledge import Knowledge, knowledge
from .layout import choose, rollup_fields, rollup_layout
from .sums import Sums, read

if TYPE_CHECKING:
    from .._model import AggregatedRollup, Mapping, Rollup
    from .._spec.profiles import Profile

__all__ = ["Summary", "aggregate", "render_text", "summarize", "to_rollup"]


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
            "start": address_text(self.start),
            "end": address_text(self.end),
            "fields": self.values(),
            "intervals": {n: [b.lo, b.hi] for n, b in self.fields.items() if not b.exact},
        }


def smaps_dating(state: Sums, sample: str | None, kernel: str | None) -> Dating:
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
    found = restrict(restricted, asked)
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
    state = read(mappings, know)
    kernels = smaps_dating(state, sample, kernel)
    profile = choose(kernels.profiles)
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
    end = ends[includes_gate(layout, version)]
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


def _notes(
    state: Sums,
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
        other_end = ends[includes_gate(other, other.kernels[0])]
        other_names = rollup_fields(state.names, other.kernels[0], state.know, other)
        if other_end != end:
            others.append(f"{other.describe()} ends the range at {address_text(other_end)}")
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
    """The rollup of ``summary`` as a model: its header as the kernel profile's rollup-header
    line prints it (permissions, offset, device, inode and name: task_mmu.c 4.14.78 show_smap,
    4.19+ show_smaps_rollup), each field at the low end of its interval."""
    from .._model import Rollup
    from .._render import printf

    profile = summary.profile or rollup_layout(summary.version)
    assert profile.rollup_header is not None, "a rollup's profile has smaps_rollup"
    fmt, name = profile.rollup_header
    _, perms, offset, device, inode = printf(fmt, [summary.start, summary.end]).split()
    major, _, minor = device.partition(":")
    return Rollup(
        line=1,
        start=summary.start,
        end=summary.end,
        perms=perms,
        offset=int(offset, 16),
        major=int(major, 16),
        minor=int(minor, 16),
        inode=int(inode),
        pathname=name.encode("latin-1"),
        fields=summary.values(),
    )


def render_text(summary: Summary, word_size: int = 64) -> str:
    """The rollup as its kernel prints it, through the exact renderer and the kernel profile:
    every field smaps determines byte for byte; ``LO..HI`` for an open field and ``?`` for an
    unreliable one, where the kernel puts the number."""
    from .._render import rollup_text

    profile = summary.profile or rollup_layout(summary.version)
    values = {name: bound.text for name, bound in summary.fields.items()}
    return rollup_text(to_rollup(summary), values, profile, word_size)
