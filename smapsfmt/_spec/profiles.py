"""The kernel profiles (``kernel/*.profile``), read: what each kernel range prints, exactly.

The format is described in ``kernel/README.md``. A profile gives, for smaps and for
smaps_rollup, the kernel's own format string of every line in order; this module turns each into
a :class:`Line` that can render a value and a regular expression that accepts exactly what the
kernel prints for any value. Profiles are read once (``load_profiles``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .abi import KernelRange, Version, parse_version

__all__ = [
    "Line",
    "Profile",
    "ProfileError",
    "beyond_every_profile",
    "load_profiles",
    "newer_note",
    "parse_profile",
    "profile_named",
]

INDEX = "kernel/INDEX"


class ProfileError(ValueError):
    """A profile file does not follow kernel/README.md (with the file and line)."""


CONVERSION = re.compile(r"%(0?)(\d*)(l{0,2})([udxcs])")


def c_unescape(literal: str) -> str:
    """The text of a C string literal's body (``\\n``, ``\\t``, ``\\\\``, ``\\"``)."""
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}[m.group(1)], literal
    )


@dataclass(frozen=True, slots=True)
class Line:
    """One line of an entry: a label literal, one value conversion and the unit."""

    field: str
    label: str
    width: int
    conversion: str
    unit: str
    optional: bool
    format: str

    @classmethod
    def parse(cls, fmt: str, optional: bool, where: str) -> Line:
        text = c_unescape(fmt)
        matches = list(CONVERSION.finditer(text))
        if len(matches) != 1 or not text.endswith("\n"):
            raise ProfileError(f"{where}: a line format has one conversion and ends in \\n")
        match = matches[0]
        label, unit = text[: match.start()], text[match.end() : -1]
        name = re.match(r"([A-Za-z][A-Za-z0-9_]*):", label)
        if name is None:
            raise ProfileError(f"{where}: a line starts with its label and a colon")
        if match.group(4) not in ("u", "d", "s"):
            raise ProfileError(f"{where}: a value is %u, %lu, %d or %s")
        return cls(
            field=name.group(1),
            label=label,
            width=int(match.group(2) or 0),
            conversion=match.group(4),
            unit=unit,
            optional=optional,
            format=fmt,
        )

    def render(self, value: int | str) -> str:
        """The line as the kernel prints it for ``value`` (text for ``%s``)."""
        return f"{self.label}{str(value).rjust(self.width)}{self.unit}\n"

    def value_pattern(self) -> str:
        """A regular expression for the value exactly as printed: right-aligned in ``width``
        columns (blanks then digits, never truncated), or bare digits for ``%d``; at most the
        20 digits of a u64 (larger values go to the validator's slow path)."""
        if self.conversion == "s":
            return r"[^\n]*"
        # A u64 has at most 20 decimal digits.
        if self.width <= 1:
            return r"[0-9]{1,20}"
        steps = [f" {{{self.width - k}}}[0-9]{{{k}}}" for k in range(1, self.width)]
        return "(?:" + "|".join([*steps, f"[0-9]{{{self.width},20}}"]) + ")"

    def pattern(self) -> str:
        return re.escape(self.label) + f"({self.value_pattern()})" + re.escape(self.unit) + r"\n"


@dataclass(frozen=True)
class Profile:
    """What one kernel range prints in smaps and smaps_rollup."""

    name: str
    kernels: tuple[Version, Version]
    file: str
    variant_of: str | None = None
    sampled: str = ""
    source: str = ""
    notes: tuple[str, ...] = ()
    deviations: dict[str, str] = field(default_factory=dict)
    header: str = ""
    name_columns: tuple[int, int] = (73, 49)
    smaps_lines: tuple[Line, ...] = ()
    vmflags_prefix: str | None = None
    vmflags: frozenset[str] = frozenset()
    rollup_header: tuple[str, str] | None = None
    rollup_end: str | None = None
    rollup_lines: tuple[Line, ...] | None = None

    @property
    def kernel_range(self) -> KernelRange:
        return KernelRange(*self.kernels)

    def lines(self, kind: str) -> tuple[Line, ...]:
        """The field lines of an entry of ``kind`` (``smaps`` or ``rollup``)."""
        if kind == "rollup":
            return self.rollup_lines or ()
        return self.smaps_lines

    @functools.cached_property
    def line_of(self) -> dict[tuple[str, str], Line]:
        found = {("smaps", line.field): line for line in self.smaps_lines}
        found.update({("rollup", line.field): line for line in self.rollup_lines or ()})
        return found

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and other.name == self.name

    def describe(self) -> str:
        """``Linux 6.6-7.3`` or ``android-4.9 (a variant of Linux 4.9-4.11)``."""
        if self.variant_of:
            return f"{self.name} (a variant of Linux {self.variant_of})"
        return f"Linux {self.name}"


def parse_profile(text: str, file: str) -> Profile:
    """One profile file's text (``file`` names it in errors): ProfileError with FILE:LINE for
    text that does not follow the format."""
    values: dict[str, object] = {}
    notes: list[str] = []
    deviations: dict[str, str] = {}
    smaps: list[Line] = []
    rollup: list[Line] = []
    rollup_none = False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{file}:{number}"
        key, _, rest = line.partition(" ")
        rest = rest.strip()
        if key in ("smaps", "smaps?", "rollup") and rest.startswith('"'):
            target = rollup if key == "rollup" else smaps
            target.append(Line.parse(_quoted(rest, where)[0], key == "smaps?", where))
        elif key == "rollup" and rest == "none":
            rollup_none = True
        elif key in ("profile", "sampled", "source", "variant-of", "rollup-end"):
            values[key] = rest
        elif key == "note":
            notes.append(rest)
        elif key == "deviation":
            rule, _, why = rest.partition(" ")
            deviations[rule] = why.strip()
        elif key == "kernels":
            low, high = rest.split()
            values[key] = (parse_version(low), parse_version(high))
        elif key == "header":
            values[key] = c_unescape(_quoted(rest, where)[0])
        elif key == "name-column":
            wide, narrow = rest.split()
            values[key] = (int(wide), int(narrow))
        elif key == "vmflags":
            if rest == "none":
                continue
            prefix, after = _quoted(rest, where)
            values["vmflags-prefix"] = c_unescape(prefix)
            values["vmflags"] = frozenset(after.split())
        elif key == "rollup-header":
            fmt, after = _quoted(rest, where)
            name = _quoted(after.strip(), where)[0]
            values[key] = (c_unescape(fmt), c_unescape(name))
        else:
            raise ProfileError(f"{where}: unknown directive {key!r}")
    for required in ("profile", "kernels", "header", "name-column"):
        if required not in values:
            raise ProfileError(f"{file}: the directive {required!r} is missing")
    if not rollup and not rollup_none:
        raise ProfileError(f"{file}: rollup lines or 'rollup none' are required")
    return Profile(
        name=str(values["profile"]),
        kernels=values["kernels"],  # type: ignore[arg-type]
        file=file,
        variant_of=values.get("variant-of"),  # type: ignore[arg-type]
        sampled=str(values.get("sampled", "")),
        source=str(values.get("source", "")),
        notes=tuple(notes),
        deviations=deviations,
        header=str(values["header"]),
        name_columns=values["name-column"],  # type: ignore[arg-type]
        smaps_lines=tuple(smaps),
        vmflags_prefix=values.get("vmflags-prefix"),  # type: ignore[arg-type]
        vmflags=values.get("vmflags", frozenset()),  # type: ignore[arg-type]
        rollup_header=values.get("rollup-header"),  # type: ignore[arg-type]
        rollup_end=values.get("rollup-end"),  # type: ignore[arg-type]
        rollup_lines=None if rollup_none else tuple(rollup),
    )


def _quoted(text: str, where: str) -> tuple[str, str]:
    """The body of the C string literal at the start of ``text`` and what follows it."""
    match = re.match(r'"((?:[^"\\]|\\.)*)"', text)
    if match is None:
        raise ProfileError(f"{where}: expected a quoted format")
    return match.group(1), text[match.end() :]


@functools.lru_cache(maxsize=1)
def load_profiles() -> tuple[Profile, ...]:
    """Every profile, in the order of kernel/INDEX (oldest first, then the variants)."""
    from .resources import read_text

    names = [
        line.strip()
        for line in read_text(INDEX).splitlines()
        if line.strip() and not line.startswith("#")
    ]
    profiles = tuple(
        parse_profile(read_text(f"kernel/{name}"), f"kernel/{name}") for name in names
    )
    for profile, name in zip(profiles, names, strict=True):
        if f"{profile.name}.profile" != name:
            raise ProfileError(f"kernel/{name}: names profile {profile.name!r}")
    return profiles


def profile_named(name: str) -> Profile | None:
    for profile in load_profiles():
        if profile.name == name:
            return profile
    return None


def beyond_every_profile(kernel: str) -> Profile | None:
    """The newest mainline profile when ``kernel`` is a version (``8.1``, ``8.1.2-amd64``) newer
    than every profile covers; None otherwise (a profile's name, a covered version, an older
    one, or not a version). Such a kernel is checked against the newest profile, with a note
    saying so (:func:`newer_note`), never refused: kernels usually keep the newest layout."""
    try:
        version = parse_version(kernel)
    except ValueError:
        return None
    newest = max((p for p in load_profiles() if p.variant_of is None), key=lambda p: p.kernels[1])
    last = newest.kernels[1]
    return newest if version[: len(last)] > last else None


def newer_note(kernel: str | None) -> str | None:
    """For a ``--kernel`` newer than every profile (:func:`beyond_every_profile`), the note
    every command prints: ``Linux 8.1 is newer than every profile: checked against the newest,
    Linux 6.6-7.3``; None for any other (or none)."""
    newest = beyond_every_profile(kernel) if kernel else None
    if kernel is None or newest is None:
        return None
    return (
        f"Linux {kernel.strip()} is newer than every profile: checked against the newest, "
        f"{newest.describe()}"
    )
