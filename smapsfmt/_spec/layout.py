"""Layout facts of the kernel profiles that more than one layer needs.

The profiles (``kernel/*.profile``) state how each kernel prints its header: the printf format
of smaps's header, and smaps_rollup's header format with the name it prints (``[rollup]``).
This module gives those facts one name each, so that the parser, the fast path, the validator,
the aggregator and the renderer never write them out again.
"""

from __future__ import annotations

import functools

from .profiles import Profile, load_profiles

__all__ = ["newest_profile", "rollup_name", "rollup_name_text"]


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
