"""Which lines a rollup has and which profile lays it out: the profile's own, else the summed
smaps fields in smaps order with the rollup-only fields where the kernel prints them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .dating import ROLLUP_SINCE

if TYPE_CHECKING:
    from .._spec.profiles import Profile
    from .dating import Version
    from .knowledge import Knowledge

__all__ = ["choose", "rollup_fields", "rollup_layout"]


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


def choose(profiles: Sequence[Profile]) -> Profile | None:
    """The profile a rollup is computed for: the newest mainline one that has smaps_rollup,
    else the newest vendor variant that has it."""
    with_rollup = [p for p in profiles if p.rollup_lines is not None]
    mainline = [p for p in with_rollup if p.variant_of is None]
    chosen = mainline or with_rollup
    return max(chosen, key=lambda p: p.kernels[1]) if chosen else None


def rollup_layout(version: Version) -> Profile:
    """The mainline profile whose smaps_rollup layout is used for a text no profile prints a
    rollup of: the oldest one for a kernel before 4.14 (which has no smaps_rollup), else the
    newest."""
    from .._spec.profiles import load_profiles

    with_rollup = [
        p for p in load_profiles() if p.rollup_lines is not None and p.variant_of is None
    ]
    return with_rollup[0] if version[:2] < ROLLUP_SINCE else with_rollup[-1]
