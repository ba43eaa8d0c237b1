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

- The header's layout, for authors of other parsers: ``header_parts(profile.header)`` cuts a
  profile's header printf format into its parts (``HeaderPart``: name, literal before it,
  ``Conversion``s with flag, width, length and kind, the device's joiner), each with the regex
  the grammar takes for it (``taken()``) and the one the kernel prints (``exact()``);
  ``perms_pattern()`` the permissions' letters, ``prefix_pattern(n)`` the first n parts as a
  regex over bytes, ``rollup_name()`` the name smaps_rollup's header prints (``b"[rollup]"``).
- The grammar (``GRAMMAR_PATH``): ``grammar_text()`` the lark grammar the parser compiles (its
  header terminals, ``header_rules()``, made from the newest profile's header format),
  ``terminal_regexps()`` every terminal as a Python regex (compiled by lark, kept in the cache
  the README describes), ``line_patterns()`` each kind of line (``HEADER``, ``KB_FIELD``,
  ``PLAIN_FIELD``, ``NAME_LINE``, ``VMFLAGS_LINE``) as a ``LinePattern``: the regex equal to the
  grammar's terminal (``plain``) and the same with a named group per part (``regex``).
- The text a kernel prints: ``render(model, profile, word_size=64)`` a parsed Smaps or Rollup
  as the kernel of ``profile`` prints it, byte for byte (``header_text`` one header line);
  ``detect(data)`` which profile printed a text, as every command names it: ``profile``,
  ``same_text`` (the others that print it alike), ``how`` (``matched`` or ``closest``),
  ``word_size`` (64 or 32, from the column of its names) and ``words``
  (``profile Linux 6.6-7.3 (matched)``).

The files are those installed with smapsfmt, or those of the folder ``SMAPSFMT_SPEC_DIR``
names (README, Use).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from ._spec.grammar import GRAMMAR_PATH, LinePattern, line_patterns, terminal_regexps
from ._spec.grammar import grammar as grammar_text
from ._spec.header import Conversion, HeaderPart, header_parts, perms_pattern, prefix_pattern
from ._spec.header import grammar_rules as header_rules
from ._spec.layout import rollup_name
from ._spec.profiles import Line, Profile, ProfileError, load_profiles, parse_profile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._model import Mapping, Rollup, Smaps
del TYPE_CHECKING

__all__ = [
    "ABI",
    "GRAMMAR_PATH",
    "ROLLUP_PATH",
    "SMAPS_PATH",
    "AbiError",
    "Conversion",
    "Detected",
    "FieldSpec",
    "HeaderPart",
    "Invariant",
    "KernelRange",
    "Line",
    "LinePattern",
    "Profile",
    "ProfileError",
    "Version",
    "detect",
    "grammar_text",
    "header_parts",
    "header_rules",
    "header_text",
    "line_patterns",
    "load_abi",
    "load_profiles",
    "parse_profile",
    "parse_version",
    "perms_pattern",
    "prefix_pattern",
    "render",
    "rollup_name",
    "terminal_regexps",
]


@dataclass(frozen=True)
class Detected:
    """Which profile printed a text (:func:`detect`)."""

    profile: Profile | None
    same_text: tuple[Profile, ...]
    how: str
    word_size: int
    words: str


def detect(data: bytes | str, *, kernel: str | None = None, kind: str = "auto") -> Detected:
    """The profile whose kernel prints ``data`` (a smaps or smaps_rollup text), found as
    ``smapsfmt validate`` finds it and named in its words; ``kernel`` and ``kind`` as
    ``smapsfmt.validate`` takes them."""
    from ._validate.validate import validate_report

    report = validate_report(data, kernel=kernel, kind=kind)
    return Detected(
        report.profile, report.alternatives, report.how, report.word_size, report.profile_words()
    )


def render(model: Smaps | Rollup, profile: Profile, *, word_size: int = 64) -> bytes:
    """``model`` as the kernel of ``profile`` prints it, on a kernel of ``word_size`` bits
    (vendor lines the profile does not know as they were read)."""
    from ._render import render as _render

    _word_size(word_size)
    return _render(model, profile, word_size=word_size)


def header_text(entry: Mapping | Rollup, profile: Profile, word_size: int = 64) -> str:
    """One header line (with its newline) as the kernel of ``profile`` prints it."""
    from ._render import header_text as _header_text

    _word_size(word_size)
    return _header_text(entry, profile, word_size)


def _word_size(word_size: int) -> None:
    """ValueError for a word size no kernel has (a rollup under a profile of kernels before
    smaps_rollup, 4.14, is refused where the header is written)."""
    if word_size not in (64, 32):
        raise ValueError(f"word_size is 64 or 32, not {word_size!r}")
