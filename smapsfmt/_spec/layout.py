"""Layout facts of the kernel profiles that more than one layer needs.

The profiles (``kernel/*.profile``) state how each kernel prints its header: the printf format
of smaps's header, and smaps_rollup's header format with the name it prints (``[rollup]``).
This module gives those facts one name each, so that the parser, the fast path, the validator,
the aggregator and the renderer never write them out again.
"""

from __future__ import annotations

import functools

from .profiles import Profile, load_profiles

__all__ = [
    "dating_fields",
    "header_kinds",
    "newest_profile",
    "rollup_name",
    "rollup_name_text",
]


@functools.cache
def newest_profile() -> Profile:
    """The profile of the newest mainline kernels."""
    mainline = [p for p in load_profiles() if p.variant_of is None]
    return max(mainline, key=lambda p: p.kernels[1])


@functools.cache
def rollup_name_text() -> str:
    """The name that smaps_rollup's header prints (``[rollup]``), from the profiles' own
    ``rollup-header`` lines (all of them print the same one)."""
    names = {p.rollup_header[1] for p in load_profiles() if p.rollup_header is not None}
    if len(names) != 1:
        raise ValueError(f"the profiles disagree on the rollup header's name: {sorted(names)}")
    return names.pop()


@functools.cache
def rollup_name() -> bytes:
    """:func:`rollup_name_text` as the bytes of a pathname."""
    return rollup_name_text().encode("latin-1")


def header_kinds() -> tuple[str, ...]:
    """What each part of the header before the name is, from the newest profile's printf
    format (smapsfmt._spec.header): ``hex`` (``%08lx``), ``decimal`` (``%lu``), ``text`` (a run
    of ``%c``) or ``device`` (``%02x:%02x``), in the order printed."""
    from .header import parser_parts

    return tuple(part.kind for part in parser_parts())


@functools.cache
def dating_fields(kind: str) -> tuple[str, ...]:
    """The fields whose presence dates a text of ``kind`` (``smaps`` or ``rollup``), oldest
    first: those that some mainline profiles with smaps_rollup print in every entry and the
    others do not (a smaps is dated to choose the rollup its kernel prints, and there is none
    before 4.14, where KernelPageSize's place dates a smaps instead). Fields that first appear
    in the same profile tell the same thing; the first of them in that profile's order speaks
    for them (``Pss_Anon`` for 5.3's split of Pss). A vendor variant's own lines date nothing.
    """
    profiles = sorted(
        (p for p in load_profiles() if p.variant_of is None and p.rollup_lines is not None),
        key=lambda p: p.kernels,
    )
    printed = [[line.field for line in p.lines(kind) if not line.optional] for p in profiles]
    everywhere = set(printed[0]).intersection(*printed[1:]) if printed else set()
    found: list[str] = []
    seen: set[str] = set(everywhere)
    for fields in printed:
        new = [name for name in fields if name not in seen]
        if new:
            found.append(new[0])
        seen.update(new)
    return tuple(found)
