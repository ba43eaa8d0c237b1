"""Kernel versions, and which kernel profile printed a text: the one detector of every command.

``validate``, ``rollup`` and ``check`` all ask this module which profile (``kernel/*.profile``)
printed a smaps or smaps_rollup, and name it in the same words (:meth:`Detection.describe`:
``profile Linux 6.6-7.3 (matched)``).

How a smaps is detected: the bodies (the lines after the header) of its first entries, up to
:data:`SAMPLE`, are matched against each profile's exact line patterns; the profiles that print
the most of them win, "matched" when they print at least half, "closest" otherwise. When none
prints a single one, the profile whose lines are the fewest edits away from the sample's labels
is the closest. A smaps_rollup is one entry: the profiles that render its model to exactly its
text are matched (the caller may break their tie, see :func:`detect_rollup`), else the closest.

Where several profiles fit equally (the same text is printed by 4.14-4.18 and 4.19-4.20), a
vendor variant is named only where no mainline profile fits, and the oldest is named first, the
others as printing the same text; every command uses the one named first. (The one real capture
in the corpus with such a tie, prometheus-procfs 26231, comes with its smaps_rollup, whose
range ends at the gate VMA: only 4.14-4.18 does that, the oldest of the two.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .abi import Version, parse_version
from .profiles import Profile, beyond_every_profile, load_profiles, profile_named

__all__ = [
    "KERNELS_HELP",
    "SAMPLE",
    "Detection",
    "Version",
    "allowed_profiles",
    "asked_suffix",
    "body_pattern",
    "detect_labels",
    "detect_rollup",
    "detect_smaps",
    "entry_labels",
    "label_distance",
    "optional_fields",
    "parse_version",
    "ranked",
    "sample_bodies",
    "show_version",
]

# How many entries of a smaps are sampled to detect its profile.
SAMPLE = 8


def show_version(version: Version) -> str:
    """``(6, 18, 2)`` -> ``6.18.2``: the one way a version is written in a message."""
    return ".".join(str(part) for part in version)


# --- --kernel ----------------------------------------------------------------------------------

KERNELS_HELP = "a version such as 5.4, a release as uname -r prints it (6.18.44-fc-v669)"


def allowed_profiles(kernel: str | None) -> tuple[Profile, ...]:
    """The profiles that ``kernel`` (``--kernel``, ``kernel=``) allows: every one for None;
    the profile of that name; the profiles covering that version; the newest profile for a
    version newer than every profile. TypeError when ``kernel`` is not a string, ValueError
    (one line, for the user) for an unknown kernel."""
    profiles = load_profiles()
    if kernel is None:
        return profiles
    if not isinstance(kernel, str):
        number = type(kernel) in (int, float)
        raise TypeError(
            f"kernel is a string: {KERNELS_HELP} or a profile name (android-4.9); "
            f"not {type(kernel).__name__}"
            + (": quote the version (as a number, 5.10 is 5.1)" if number else "")
        )
    named = profile_named(kernel)
    if named is not None:
        return (named,)
    try:
        version = parse_version(kernel)
    except ValueError:
        names = ", ".join(p.name for p in profiles)
        raise ValueError(
            f"unknown kernel {kernel!r}: give {KERNELS_HELP} or a profile name ({names})"
        ) from None
    found = tuple(p for p in profiles if p.kernel_range.contains(version))
    newest = beyond_every_profile(kernel)
    if not found and newest is not None:  # checked against the newest profile, and said so
        return (newest,)
    if not found:
        first, last = profiles[0].kernels[0], max(p.kernels[1] for p in profiles)
        raise ValueError(
            f"no profile for Linux {kernel}: the profiles cover {show_version(first)} to "
            f"{show_version(last)}"
        )
    return found


def asked_suffix(kernel: str | None) -> str:
    """How a detection names ``--kernel``: ``; --kernel 7.3``, or for a kernel newer than
    every profile ``; --kernel 8.1 is newer than every profile: the newest is used``."""
    if not kernel:
        return ""
    beyond = " is newer than every profile: the newest is used"
    return f"; --kernel {kernel}" + (beyond if beyond_every_profile(kernel) else "")


# --- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Detection:
    """The profiles that print a text equally well (the one named first), and how they were
    found: ``matched`` or ``closest``, then what ``--kernel`` asked (:func:`asked_suffix`)."""

    profiles: tuple[Profile, ...]
    how: str

    @property
    def profile(self) -> Profile | None:
        return self.profiles[0] if self.profiles else None

    @property
    def alternatives(self) -> tuple[Profile, ...]:
        return self.profiles[1:]

    @property
    def matched(self) -> bool:
        return self.how.startswith("matched")

    def describe(self) -> str:
        """``profile Linux 6.6-7.3 (matched)``; with the others that print the same text,
        ``...; the same text as 4.14-4.18``: the words every command uses."""
        if self.profile is None:
            return f"no profile ({self.how})"
        text = f"profile {self.profile.describe()} ({self.how})"
        if self.alternatives:
            text += f"; the same text as {', '.join(p.name for p in self.alternatives)}"
        return text

    def to_jsonable(self) -> dict[str, object]:
        """The detection in JSON (one key, ``profile``, in every command's output)."""
        return {
            "name": None if self.profile is None else self.profile.name,
            "how": self.how,
            "same_text": [p.name for p in self.alternatives],
            "text": self.describe(),
        }


def ranked(profiles: Iterable[Profile]) -> tuple[Profile, ...]:
    """Equally fitting profiles in the order they are named: mainline before vendor variants
    (a variant only where no mainline profile fits), in the order of kernel/INDEX (oldest
    first)."""
    profiles = set(profiles)
    mainline = [p for p in load_profiles() if p in profiles and p.variant_of is None]
    return tuple(mainline or [p for p in load_profiles() if p in profiles])


# --- what tells profiles apart -------------------------------------------------------------------


def optional_fields() -> frozenset[str]:
    """The fields that some profile prints only for some mappings (``smaps?`` lines): they do
    not tell kernels apart."""
    return _optional(load_profiles())


@functools.lru_cache(maxsize=4)  # one per set of profiles read (a copy of the spec has its own)
def _optional(profiles: tuple[Profile, ...]) -> frozenset[str]:
    return frozenset(line.field for p in profiles for line in p.smaps_lines if line.optional)


_LABEL_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*):", re.M)


def entry_labels(body: str) -> list[str]:
    """The labels of an entry's lines, in order."""
    return _LABEL_LINE.findall(body)


def _signature(labels: Iterable[str]) -> tuple[str, ...]:
    optional = optional_fields()
    return tuple(label for label in labels if label not in optional)


def _signatures(kind: str) -> dict[tuple[str, ...], tuple[Profile, ...]]:
    """Profiles by the labels of their entries of ``kind``, optional lines left out."""
    return _signatures_of(load_profiles(), kind)


@functools.lru_cache(maxsize=8)
def _signatures_of(profiles: tuple[Profile, ...],
                   kind: str) -> dict[tuple[str, ...], tuple[Profile, ...]]:  # fmt: skip
    found: dict[tuple[str, ...], list[Profile]] = {}
    for profile in profiles:
        if kind == "rollup" and profile.rollup_lines is None:
            continue
        labels = [line.field for line in profile.lines(kind)]
        if kind == "smaps" and profile.vmflags_prefix is not None:
            labels.append("VmFlags")
        found.setdefault(_signature(labels), []).append(profile)
    return {key: tuple(value) for key, value in found.items()}


def label_distance(labels: Sequence[str], profile: Profile, kind: str = "smaps") -> int:
    """How many lines differ between an entry's labels and a profile's (an edit distance)."""
    optional = optional_fields()
    wanted = [line.field for line in profile.lines(kind) if not line.optional]
    if kind == "smaps" and profile.vmflags_prefix is not None:
        wanted.append("VmFlags")
    have = [label for label in labels if label not in optional]
    previous = list(range(len(wanted) + 1))
    for i, a in enumerate(have, start=1):
        current = [i]
        for j, b in enumerate(wanted, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


@functools.lru_cache(maxsize=64)
def body_pattern(profile: Profile, kind: str = "smaps") -> re.Pattern[str]:
    """An entry's body (the lines after its header) of ``kind`` (``smaps`` or ``rollup``)
    exactly as ``profile`` prints it: each label literal with its own padding, each value in
    its own width (a rollup's lines, of a profile without smaps_rollup: nothing matches)."""
    if kind == "rollup" and profile.rollup_lines is None:
        return re.compile(r"(?!)")
    parts: list[str] = []
    for line in profile.lines(kind):
        piece = line.pattern()
        parts.append(f"(?:{piece})?" if line.optional else piece)
    if kind == "smaps" and profile.vmflags_prefix is not None:
        parts.append(re.escape(profile.vmflags_prefix) + r"(?:[!-~]{2} )*\n")
    return re.compile("".join(parts))


def _closest(labels: Sequence[Sequence[str]], allowed: Sequence[Profile], kind: str,
             kernel: str | None) -> Detection:  # fmt: skip
    distance = {p: sum(label_distance(entry, p, kind) for entry in labels) for p in allowed}
    best = min(distance.values())
    return Detection(ranked(p for p in allowed if distance[p] == best)[:1],
                     "closest" + asked_suffix(kernel))  # fmt: skip


# --- smaps -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _entry(fmt: str) -> re.Pattern[str]:
    """One entry: a header (its addresses as the header format ``fmt`` prints them, task_mmu.c
    show_vma_header_prefix), then lines that start with a capital letter."""
    from .header import exact_header

    exact = exact_header(fmt)
    head = re.sub(r"\((?!\?)", "(?:", exact.range)
    return re.compile(rf"^{head}[^\n]*\n((?:[A-Z][^\n]*\n)+)", re.M)


def sample_bodies(text: str) -> list[str]:
    """The bodies of the first :data:`SAMPLE` entries of a smaps text; where none is an
    entry, the lines after the first line up to the next line that may start an entry."""
    from .header import entry_starts, parser_format

    found: list[str] = []
    for match in _entry(parser_format()).finditer(text):
        found.append(match.group(1))
        if len(found) == SAMPLE:
            return found
    if found:
        return found
    after = next((m for m in entry_starts().finditer(text) if m.start() > 0), None)
    piece = text[: after.start() if after is not None else len(text)]
    return [piece.split("\n", 1)[-1]]


def detect_smaps(text: str, allowed: Sequence[Profile] | None = None,
                 kernel: str | None = None) -> Detection:  # fmt: skip
    """The profiles that print the first entries of the smaps ``text`` (see the module's
    text); ``allowed``: only these (:func:`allowed_profiles`), ``kernel``: what was asked."""
    pool = tuple(load_profiles() if allowed is None else allowed)
    sample = sample_bodies(text)
    signatures = _signatures("smaps")
    labels = [entry_labels(body) for body in sample]
    score: dict[Profile, int] = {}
    for body, entry in zip(sample, labels, strict=True):
        for profile in signatures.get(_signature(entry), ()):
            if profile in pool and body_pattern(profile).fullmatch(body):
                score[profile] = score.get(profile, 0) + 1
    if score:
        best = max(score.values())
        how = "matched" if 2 * best >= len(sample) else "closest"
        return Detection(
            ranked(p for p in pool if score.get(p) == best), how + asked_suffix(kernel)
        )
    return _closest(labels, pool, "smaps", kernel)


def detect_labels(labels: Sequence[str], kind: str, allowed: Sequence[Profile] | None = None,
                  kernel: str | None = None) -> Detection:  # fmt: skip
    """The profiles whose entries of ``kind`` have these labels (of a parsed model: its layout
    is not known), or the closest one by lines."""
    pool = [
        p for p in (load_profiles() if allowed is None else allowed)
        if kind == "smaps" or p.rollup_lines is not None
    ]  # fmt: skip
    if not pool:
        return Detection((), "no profile of that kernel has smaps_rollup")
    found = [p for p in _signatures(kind).get(_signature(labels), ()) if p in pool]
    if found:
        return Detection(ranked(found), "matched" + asked_suffix(kernel))
    return _closest([labels], pool, kind, kernel)


# --- smaps_rollup --------------------------------------------------------------------------------


def detect_rollup(
    text: str,
    rendered: Callable[[Profile], str],
    allowed: Sequence[Profile] | None = None,
    kernel: str | None = None,
    *,
    errors: Callable[[Profile], int] | None = None,
) -> Detection:
    """The profiles whose kernels print the rollup exactly as ``text``, or the closest by
    lines. ``rendered(profile)``: the parsed rollup as that profile's kernel prints it, on a
    kernel of the text's own word size (the caller renders: the renderer is a layer above the
    spec). ``errors``: the number of
    errors a profile finds in the text, to break a tie (4.14-4.18 ends the range at the gate
    VMA, 4.19 on does not: the same text, but only one of them is right about the range)."""
    pool = [
        p for p in (load_profiles() if allowed is None else allowed) if p.rollup_lines is not None
    ]
    if not pool:
        return Detection((), "no profile of that kernel has smaps_rollup")
    lines = text.split("\n")
    labels = entry_labels("\n".join(lines[1:]))
    candidates = [p for p in _signatures("rollup").get(_signature(labels), ()) if p in pool]
    exact = [p for p in candidates if rendered(p) == text]
    if not exact:
        if not candidates:
            return _closest([labels], pool, "rollup", kernel)
        return Detection(ranked(candidates)[:1], "closest" + asked_suffix(kernel))
    found = ranked(exact)
    if errors is not None and len(found) > 1:
        scored = [(errors(p), p) for p in found]
        best = min(score for score, _ in scored)
        found = tuple(p for score, p in scored if score == best)
    return Detection(found, "matched" + asked_suffix(kernel))
