"""The gate VMA, and where the rollup's header range ends around it.

The header range (Documentation/ABI/testing/procfs-smaps_rollup; KERNEL-FACTS §8):

* 4.14 .. 4.18 (fs/proc/task_mmu.c 4.14.78 show_smap in rollup mode; also the Android 4.9.159
  backport): the smaps walk itself; the header ends at vm_end of the last entry *including the
  gate VMA* (m_next_vma returns tail_vma);
* 4.19 on (4.19.78 show_smaps_rollup): a walk of the mm's own VMAs, which never holds the gate
  VMA: the header ends at vm_end of the highest real VMA;
* start is the first VMA's start; 6.1+ (and stable trees) print 00000000-00000000 for an mm
  without VMAs.

A kernel profile says which with its ``rollup-end`` line; the version decides for a text no
profile prints a rollup of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .._model import Mapping
    from .._spec.profiles import Profile
    from .dating import Version

__all__ = ["GATE_EXCLUDED_SINCE", "includes_gate", "is_gate", "is_gate_entry"]

GATE_EXCLUDED_SINCE: Final = (4, 19)

# The gate VMA is printed last in smaps (tail_vma = get_gate_vma(mm)); it is not a VMA of the mm
# and is never walked for pages. x86_64: [vsyscall] (arch/x86/entry/vsyscall/vsyscall_64.c);
# 32-bit ARM: [vectors] (KERNEL-FACTS §12). Special mappings installed with
# install_special_mapping (arm64 compat [vectors], [vdso]) are real VMAs and carry VM_DONTEXPAND
# ("de" in VmFlags, mm/mmap.c __install_special_mapping); the gate VMA does not.
GATE_NAMES: Final = frozenset({b"[vsyscall]", b"[vectors]"})


def is_gate(mapping: Mapping) -> bool:
    """``mapping`` is the gate VMA."""
    return is_gate_entry(mapping.pathname, mapping.vmflags)


def is_gate_entry(pathname: bytes | None, flags: tuple[str, ...] | None) -> bool:
    """An entry of this name and VmFlags is the gate VMA."""
    return pathname in GATE_NAMES and (flags is None or "de" not in flags)


def includes_gate(profile: Profile | None, version: Version) -> bool:
    """Whether the rollup's range ends with the gate VMA: the profile's rollup-end line, else
    by version (before 4.19)."""
    if profile is not None and profile.rollup_end is not None:
        return profile.rollup_end == "includes-gate"
    return version[:2] < GATE_EXCLUDED_SINCE
