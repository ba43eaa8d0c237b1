"""The specification files, read as data: what smapsfmt knows, for a kernel developer who
checks a change to task_mmu.c against it, or the author of another parser who wants its facts
without reading its prose::

    import smapsfmt.spec
    abi = smapsfmt.spec.load_abi()
    abi.fields["Pss_Dirty"].since                       # '6.0'
    [i.expr for i in abi.invariants if i.id == "smaps-pss-le-rss"]
    profiles = {p.name: p for p in smapsfmt.spec.load_profiles()}
    profiles["6.6-7.3"].header                          # '%08lx-%08lx %c%c%c%c %08llx ...'
    smapsfmt.spec.parse_version("6.18.44-fc-v669")      # (6, 18, 44)

- ``load_abi()``: the ABI document (``Documentation/ABI/testing/procfs-smaps`` and
  ``procfs-smaps_rollup``, ``SMAPS_PATH`` and ``ROLLUP_PATH``): ``fields`` (name -> FieldSpec:
  unit, kind of value, scope, first and last kernel, vendor, relation to the rollup) and
  ``invariants`` (id, expression, kernels, severity, source, ``check(values)``). Given the text
  of an edited copy of either file, it reads that instead; AbiError (FILE:LINE) for a document
  that does not follow its own format.
- ``load_profiles()``: each kernel range's exact text (``kernel/*.profile``, in the order of
  ``kernel/INDEX``): the header's printf format, every field line's format, the VmFlags
  mnemonics, the rollup's lines; ``parse_profile(text, file)`` reads one file's text,
  ProfileError (FILE:LINE) for one that does not follow the format.
- ``parse_version(text)``: a kernel version as ``uname -r`` prints it, as a tuple of numbers;
  ``KernelRange`` the documents' ranges (``4.14..4.20``, ``4.19+``).

The files are those installed with smapsfmt, or those of the folder ``SMAPSFMT_SPEC_DIR``
names (README, Use).
"""

from __future__ import annotations

from ._spec.abi import (
    ABI,
    ROLLUP_PATH,
    SMAPS_PATH,
    AbiError,
    FieldSpec,
    Invariant,
    KernelRange,
    Version,
    load_abi,
    parse_version,
)
from ._spec.profiles import Line, Profile, ProfileError, load_profiles, parse_profile

__all__ = [
    "ABI",
    "ROLLUP_PATH",
    "SMAPS_PATH",
    "AbiError",
    "FieldSpec",
    "Invariant",
    "KernelRange",
    "Line",
    "Profile",
    "ProfileError",
    "Version",
    "load_abi",
    "load_profiles",
    "parse_profile",
    "parse_version",
]
