"""The exact renderer: a parsed smaps or smaps_rollup, printed as a given kernel prints it.

Every byte comes from the kernel profile (``kernel/*.profile``): the header's printf format and
name column, each line's label literal, value width and unit, the VmFlags prefix. Vendor lines
that the profile does not know are printed as they were read. For a capture of that kernel,
``render(parse_smaps(data), profile) == data``; where they differ the validator reports how.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from ._model import Entry, Mapping, Rollup, Smaps
from ._spec.layout import newest_profile
from ._spec.profiles import CONVERSION, Line, Profile, load_profiles

__all__ = [
    "compact_header",
    "header_lines",
    "header_text",
    "name_column",
    "render",
    "render_entry",
    "rollup_text",
    "word_size",
]

# A conversion of the profiles' printf formats (the profiles' own pattern), or a literal %%.
_SPEC = re.compile(CONVERSION.pattern + "|%%")


def printf(fmt: str, args: Sequence[int | str]) -> str:
    """C printf for the conversions the kernel's formats use (%08lx, %02x, %c, %lu, %d, %s)."""
    out: list[str] = []
    pos = 0
    values = iter(args)
    for match in _SPEC.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        if match.group() == "%%":
            out.append("%")
            continue
        zero, width, _, conversion = match.groups()
        value = next(values)
        if conversion == "x":
            text = format(int(value), "x")
        elif conversion in ("c", "s"):
            text = str(value)
        else:
            text = str(int(value))
        out.append(text.rjust(int(width or 0), "0" if zero else " "))
    out.append(fmt[pos:])
    return "".join(out)


@functools.cache
def header_lines() -> re.Pattern[str]:
    """The grammar's header line, anchored at line starts."""
    from ._spec.grammar import line_patterns

    return re.compile("^" + line_patterns()["HEADER"].regex.pattern, re.MULTILINE)


def word_size(text: str | bytes, headers: int = 200) -> int:
    """64 or 32: the word size of the kernel that printed ``text``, from the column where it
    starts padded names (73 or 49: task_mmu.c seq_setwidth(m, 25 + sizeof(void *) * 6 - 1),
    then seq_pad). 64 when none of the first ``headers`` headers has a padded name."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    for number, match in enumerate(header_lines().finditer(text)):
        tail = match["pathname"]
        if tail and tail.startswith(" "):
            column = match.start("pathname") + len(tail) - len(tail.lstrip(" "))
            return 32 if column == 49 else 64
        if number >= headers:
            break
    return 64


def name_column(profile: Profile, word_size: int) -> int:
    """The 0-based column where a name starts on a kernel of ``word_size`` bits."""
    return profile.name_columns[0] if word_size == 64 else profile.name_columns[1]


def _header_prefix(entry: Entry, profile: Profile, rollup: bool) -> str:
    """The header's printf part (everything before the name's padding)."""
    if rollup:
        if profile.rollup_header is None:
            raise ValueError(f"{profile.describe()} prints no smaps_rollup: no text of a Rollup")
        fmt, _ = profile.rollup_header
        return printf(fmt, [entry.start, entry.end])
    return printf(profile.header, [entry.start, entry.end, *entry.perms, entry.offset,
                                   entry.major, entry.minor, entry.inode])  # fmt: skip


def compact_header(entry: Entry) -> str:
    """The header's parts as the newest kernel prints them, the name one blank after the
    inode instead of at its column (``Mapping.header_text``); the name as UTF-8 text."""
    prefix = _header_prefix(entry, newest_profile(), rollup=False)
    if entry.pathname:
        return prefix + entry.pathname.decode("utf-8", "backslashreplace")
    return prefix.removesuffix(" ")


def header_text(entry: Mapping | Rollup, profile: Profile, word_size: int = 64) -> str:
    """The header line (with its newline) as the kernel prints it; text is latin-1."""
    prefix = _header_prefix(entry, profile, rollup=isinstance(entry, Rollup))
    name = entry.pathname.decode("latin-1")
    if not name:
        return prefix + "\n"
    column = name_column(profile, word_size)
    # seq_pad: blanks up to the column, or one blank after a longer prefix.
    padded = prefix.ljust(column) if len(prefix) < column else prefix + " "
    return padded + name + "\n"


def _field_line(line: Line | None, key: str, value: int, raw: dict[str, str]) -> str:
    if line is not None:
        return line.render(value)
    if key in raw:  # a vendor line: as it was read
        return raw[key] + "\n"
    # A field this kernel does not print: as the newest kernel that prints it does.
    other = latest_line(key)
    if other is not None:
        return other.render(value)
    # A field no profile knows and no raw text for it (a model built by hand): as vendor
    # kernels print their own fields, a 16-column label, the value in 8 columns, kB
    # (KERNEL-FACTS 11: CONFIG_ZRAM_LRU_WRITEBACK lines).
    return f"{key + ':':<16}{value:>8} kB\n"


@functools.lru_cache(maxsize=64)
def latest_line(key: str) -> Line | None:
    """The line of ``key`` in the newest profile that prints it."""
    for profile in reversed(load_profiles()):
        for kind in ("smaps", "rollup"):
            line = profile.line_of.get((kind, key))
            if line is not None:
                return line
    return None


def render_entry(entry: Mapping | Rollup, profile: Profile, word_size: int = 64) -> str:
    """One entry, header to VmFlags, as latin-1 text."""
    kind = "rollup" if isinstance(entry, Rollup) else "smaps"
    lines = profile.line_of
    raw = {text.partition(":")[0]: text for text in entry.unknown_lines}
    out = [header_text(entry, profile, word_size)]
    name = getattr(entry, "name", None)
    name_line = lines.get((kind, "Name"))
    name_text = ""
    if name is not None:
        value = name.decode("latin-1")
        name_text = (
            name_line.render(value) if name_line is not None else f"Name:           {value}\n"
        )
    after = bool(getattr(entry, "name_after_fields", False))
    if name_text and not after:
        out.append(name_text)
    for key, value in entry.fields.items():
        out.append(_field_line(lines.get((kind, key)), key, value, raw))
    vmflags = getattr(entry, "vmflags", None)
    if vmflags is not None:
        prefix = profile.vmflags_prefix or "VmFlags: "
        out.append(prefix + "".join(f"{flag} " for flag in vmflags) + "\n")
    if name_text and after:
        out.append(name_text)
    return "".join(out)


def render(model: Smaps | Rollup, profile: Profile, *, word_size: int = 64) -> bytes:
    """The bytes the kernel of ``profile`` prints for ``model``."""
    if isinstance(model, Rollup):
        text = render_entry(model, profile, word_size)
    else:
        text = "".join(render_entry(mapping, profile, word_size) for mapping in model)
    if not model.final_newline and text.endswith("\n"):
        text = text[:-1]
    return text.encode("latin-1")


def rollup_text(
    rollup: Rollup, values: dict[str, str], profile: Profile, word_size: int = 64
) -> str:
    """``rollup``'s header and a line for each field of ``values``, as the kernel of
    ``profile`` prints them, with each value as text where the kernel puts the number (the
    ``rollup`` command's ``LO..HI`` and ``?``); a line this kernel does not print as the newest
    kernel that prints it does."""
    out = [header_text(rollup, profile, word_size)]
    for key, value in values.items():
        line = profile.line_of.get(("rollup", key)) or latest_line(key)
        # A field no profile prints: as vendor kernels print their own fields (see _field_line).
        out.append(line.render(value) if line is not None else f"{key + ':':<16}{value:>8} kB\n")
    return "".join(out)
