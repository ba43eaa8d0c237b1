"""Which kernels printed a text: the kernel profiles (``kernel/*.profile``) that the one kernel
detector (smapsfmt._spec.kernels, as validate uses it) finds for a smaps, the profiles whose
smaps_rollup lines a rollup has, dated by fields where no profile fits, and the kernels that
``kernel=``/``--kernel`` names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .._spec.kernels import Version, show_version
from .._spec.layout import dating_fields
from .errors import KernelMismatch

if TYPE_CHECKING:
    from .._spec.profiles import Profile
    from .knowledge import Knowledge

NEWEST: Final[Version] = (99, 0)  # the upper end of an open range: "and later"
OLDEST: Final[Version] = (2, 6)
ROLLUP_SINCE: Final[Version] = (4, 14)


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
    from .._spec.kernels import allowed_profiles
    from .._spec.profiles import beyond_every_profile, profile_named

    allowed_profiles(text)  # the one reading of --kernel (TypeError, ValueError)
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


def restrict(fitting: Dating, asked: Dating) -> Dating | None:
    """The kernels of ``fitting`` that are asked for; None when there are none (a profile
    asked for by name must be one that prints the text)."""
    if asked.profiles and not fitting.profiles:
        return None
    return fitting.meet(asked)


# --- which kernel printed a text ----------------------------------------------------------------

# Fields printed in every entry from their first version on (KERNEL-FACTS §2 for smaps, §8 for
# smaps_rollup): their presence or absence dates a text, and says why in messages. Which fields
# they are comes from the kernel profiles (smapsfmt._spec.layout.dating_fields: THPeligible,
# FilePmdMapped, Pss_Dirty, KSM in smaps; Pss_Anon, FilePmdMapped, Pss_Dirty, KSM in
# smaps_rollup, as the profiles stand), their first versions from the ABI document.
# KernelPageSize moved from after the counters to right after Size between 4.12 and 4.14
# (task_mmu.c 4.12.4, 4.14.78): that position dates a smaps too. The kernel profiles then
# decide, line by line.


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
    whose lines they are (with ``sample``, the text of the first entries, also laid out as that
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
        dating_fields("smaps"),
        know,
        Dating(lo, hi, tuple(evidence)),
        file="smaps",
        start_cause=cause,
    )
    from .._spec.kernels import detect_labels, detect_smaps
    from .._spec.profiles import load_profiles

    # The one detector (smapsfmt._spec.kernels), as validate uses it: the sample's entries
    # against each profile's exact lines; else the lines of the whole smaps. Without a mapping
    # (an mm without VMAs, a kernel thread) every kernel prints the same empty smaps.
    pool = [p for p in load_profiles() if asked is None or _admits(asked, p)]
    fits: list[Profile] = []
    if not names:  # the newest first: only 6.1+ prints a rollup of an mm without VMAs
        fits = sorted([p for p in pool if p.variant_of is None] or pool,
                      key=lambda p: p.kernels[1], reverse=True)  # fmt: skip
    elif pool:
        labels = [*names, *(["VmFlags"] if vmflags else [])]
        found = detect_smaps(sample, pool) if sample is not None else None
        if sample is not None and found is not None and not found.matched and asked is not None:
            # Laid out exactly as kernels that were not asked for print it (label padding and
            # value widths tell 5.4-5.8's "FilePmdMapped: " from 5.9's "FilePmdMapped:  ",
            # kernel/5.4-5.8.profile, kernel/5.9-5.19.profile): not these kernels' text,
            # although it has their labels; the caller says which kernels print it.
            anywhere = detect_smaps(sample)
            if anywhere.matched:
                return with_profiles(dated, list(anywhere.profiles))
        with_name = [p for p in pool if ("smaps", "Name") in p.line_of]
        if (found is None or not found.matched) and name_lines and with_name:
            found = detect_labels(labels, "smaps", with_name)  # Android's Name: line
        if found is None or not found.matched:
            found = detect_labels(labels, "smaps", pool)
        if found.matched:
            fits = list(found.profiles)
    return with_profiles(dated, fits)


def rollup_kernels(
    names: Sequence[str],
    know: Knowledge,
    asked: Dating | None = None,
    *,
    text: str | None = None,
) -> Dating:
    """The kernels whose smaps_rollup prints these field lines, in this order (``asked``: as
    for :func:`smaps_kernels`). ``text``: the rollup as read; the profiles that print its
    lines exactly, label padding and value widths included, where some do (the same fields are
    printed by 5.4-5.8 with "FilePmdMapped: " and by 5.9-5.19 with "FilePmdMapped:  ",
    kernel/5.4-5.8.profile and kernel/5.9-5.19.profile)."""
    from .._spec.kernels import body_pattern
    from .._spec.profiles import load_profiles

    dated = _date(
        names, dating_fields("rollup"), know, Dating(ROLLUP_SINCE, NEWEST), file="smaps_rollup"
    )
    fits = [
        p
        for p in load_profiles()
        if p.rollup_lines is not None and [line.field for line in p.rollup_lines] == list(names)
    ]
    if text is not None:
        body = text.split("\n", 1)[1] if "\n" in text else ""
        body += "" if body.endswith("\n") or not body else "\n"  # a final newline stripped
        exact = [p for p in fits if body_pattern(p, "rollup").fullmatch(body)]
        if exact and asked is not None and not any(_admits(asked, p) for p in exact):
            return with_profiles(dated, exact)  # not the asked kernels' text: the caller says
        fits = exact or fits
    fits = [p for p in fits if asked is None or _admits(asked, p)]
    return with_profiles(dated, [p for p in fits if p.variant_of is None] or fits)


def with_profiles(dated: Dating, fits: list[Profile]) -> Dating:
    if not fits:
        return dated
    lo = min(p.kernels[0][:2] for p in fits)
    hi = max(p.kernels[1][:2] for p in fits)
    return Dating(lo, hi, dated.evidence, tuple(fits))


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
        elif names and since[:2] > lo[:2] and _before(since, know.last_minor) < hi:
            hi = _before(since, know.last_minor)
            evidence.append(f"no {name} (before {show_version(since)})")
            cause = (f"without {name}", f"{name} is printed from {show_version(since)} on")
    return Dating(lo, hi, tuple(evidence))


def _before(version: Version, last_minor: dict[int, int]) -> Version:
    """The last minor release before ``version`` (6.0 -> 5.19; ``last_minor``: by major, as
    the kernel profiles show it; 99, "every minor", where they do not)."""
    major, minor = version[0], version[1]
    if minor > 0:
        return (major, minor - 1)
    return (major - 1, last_minor.get(major - 1, 99))
