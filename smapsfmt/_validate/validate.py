"""The validator: is this text what a kernel prints in smaps or smaps_rollup?

Three kinds of checks, each problem one Diagnostic with a stable rule id (docs/rules.md lists
them all with their sources):

* syntax: the grammar (``grammar/smaps.lark``), through the parser; rule ``syntax``.
* layout: the bytes against the kernel profile that matches (``kernel/*.profile``, detected by
  smapsfmt._spec.kernels): order, widths, padding, missing or extra lines; rules ``layout-*``,
  ``unknown-field``, ``unknown-vmflag``.
* semantics: the invariants of the ABI document (``Documentation/ABI/testing/procfs-smaps*``),
  per entry and between neighbouring entries; their rule ids are the document's.

This module is the entry points and the three ways in (a smaps text, a smaps_rollup text, a
parsed model). The work is done by: ``findings`` (rule ids, the collector), ``layout`` (the slow
path: one entry's layout and invariants, in words), ``messages`` (an invariant's words and
place), ``chunks`` (text cut into entries for the slow path), ``checks`` (a profile's patterns
and the one way invariants are evaluated), ``scan`` (the fast path over a whole smaps) and
``columns`` (the same, where the C module runs the profile's pattern).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import _limits, _render
from .._diagnostics import Diagnostic
from .._spec.abi import ABI, load_abi
from .._spec.kernels import (
    Detection,
    allowed_profiles,
    detect_labels,
    detect_rollup,
    detect_smaps,
)
from .._spec.profiles import Profile
from .chunks import HEADER_START, parse_chunk
from .findings import (
    LAYOUT_NEWLINE,
    LAYOUT_NO_ROLLUP,
    SYNTAX,
    Context,
    Entry,
)
from .layout import Checker
from .scan import Scan

__all__ = [
    "Report",
    "allowed_profiles",
    "validate",
    "validate_report",
]

# --- results ----------------------------------------------------------------------------------


@dataclass
class Report:
    """What the validator found in one text."""

    diagnostics: list[Diagnostic]
    kind: str
    profile: Profile | None
    alternatives: tuple[Profile, ...] = ()
    how: str = "matched"
    entries: int = 0
    word_size: int = 64

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "warning")

    def summary(self, path: str) -> str:
        """``PATH: smaps, 37 mappings: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)``."""
        what = "smaps_rollup" if self.kind == "rollup" else "smaps"
        count = ""
        if self.kind != "rollup":
            count = f", {self.entries} mapping{'' if self.entries == 1 else 's'}"
        errors = f"{self.errors} error{'' if self.errors == 1 else 's'}"
        warnings = f"{self.warnings} warning{'' if self.warnings == 1 else 's'}"
        return f"{path}: {what}{count}: {errors}, {warnings}; {self.profile_words()}"

    def profile_words(self) -> str:
        """The profile used, in the words of every command (``profile Linux 6.6-7.3
        (matched)``): the end of the summary line, and ``profile`` in JSON."""
        profiles = () if self.profile is None else (self.profile, *self.alternatives)
        return Detection(profiles, self.how).describe()


# --- the public entry points --------------------------------------------------------------------


def validate(
    data: bytes | bytearray | memoryview | str | Any,
    *,
    path: str | None = None,
    kernel: str | None = None,
    strict: bool = False,
    kind: str = "auto",
) -> list[Diagnostic]:
    """Check a smaps or smaps_rollup text (or an already parsed Smaps or Rollup).

    Returns every problem found, in the order of the text; an empty list means the text is
    what a kernel prints. ``kernel`` demands a profile: a version (``"5.4"``) or a profile
    name (``"android-4.9"``); by default the profile is detected. ``strict`` turns warnings
    (unknown vendor fields, unknown VmFlags mnemonics) into errors. ``kind`` is ``"smaps"``,
    ``"rollup"`` or ``"auto"`` (a first header naming ``[rollup]``). For a parsed model only
    the field order and the invariants are checked: the layout is not in the model.
    Raises TypeError when ``kernel`` is not a string, ValueError for an unknown ``kernel`` or
    ``kind``.
    """
    return validate_report(data, path=path, kernel=kernel, strict=strict, kind=kind).diagnostics


def validate_report(
    data: bytes | bytearray | memoryview | str | Any,
    *,
    path: str | None = None,
    kernel: str | None = None,
    strict: bool = False,
    kind: str = "auto",
    abi: ABI | None = None,
) -> Report:
    """:func:`validate`, with the profile that matched (for the summary line)."""
    if kind not in ("auto", "smaps", "rollup"):
        raise ValueError(f"kind is 'auto', 'smaps' or 'rollup', not {kind!r}")
    allowed = allowed_profiles(kernel)
    context = Context(abi or load_abi(), path, strict)
    if isinstance(data, (bytes, bytearray, memoryview, str)):
        from .._parse.parser import as_text, detect_kind

        raw = data if isinstance(data, bytes) else None
        long = None if raw is None else _limits.first_long_line(raw)
        if raw is not None and long is not None:
            data = raw[: long + _limits.MAX_LINE + 1]  # what follows that line is not read
        text = as_text(data)
        if kind == "auto":
            kind = detect_kind(text)
        if raw is None:
            long = _limits.first_long_line(text.encode("latin-1"))
        if long is None:
            report = _validate_text(context, text, kind, allowed, kernel, raw=raw)
        else:
            report = _validate_before(context, text, long, kind, allowed, kernel)
    else:
        report = _validate_model(context, data, allowed, kernel)
    report.diagnostics = context.finish()
    return report


# --- the three ways in: smaps text, smaps_rollup text, a parsed model ---------------------------


def _validate_text(context: Context, text: str, kind: str, allowed: tuple[Profile, ...],
                   kernel: str | None, *, raw: bytes | None = None) -> Report:  # fmt: skip
    if kind == "rollup":
        return _validate_rollup(context, text, allowed, kernel)
    if not text:
        return Report([], "smaps", None, how="an empty smaps: a process without a memory map")
    if not text.endswith("\n"):
        last = text[text.rfind("\n") + 1 :]
        context.add(
            text.count("\n") + 1, len(last) + 1, LAYOUT_NEWLINE,
            "the text ends without a newline: the kernel ends every line with one",
        )  # fmt: skip
        text += "\n"
        raw = None
    if HEADER_START.match(text) is None and _NEXT_START.search(text) is None:
        # No line may start an entry: the text is one stretch, refused at its first error,
        # and the profile is the one closest to its first 64 KiB.
        parse_chunk(context, text, 1, "smaps")
        head = text[:65536]
        found = detect_smaps(head, allowed, kernel)
        return _report("smaps", found, 0, _render.word_size(head))
    found = detect_smaps(text, allowed, kernel)
    word_size = _render.word_size(text)
    checker = Checker(context, "smaps", list(found.profiles), found.how, word_size)
    count = Scan(checker, text, raw).run()
    return _report("smaps", found, count, word_size)


def _report(kind: str, found: Detection, count: int, word_size: int = 64) -> Report:
    return Report([], kind, found.profile, found.alternatives, found.how, count, word_size)


def _validate_before(context: Context, text: str, long: int, kind: str,  # noqa: PLR0917
                     allowed: tuple[Profile, ...], kernel: str | None) -> Report:  # fmt: skip
    """A text with a line longer than any kernel prints (at ``long``): that line is a syntax
    error, what follows it is not read, and the whole entries before it are validated."""
    raw = text[: long + _limits.MAX_LINE + 1].encode("latin-1")
    error = _limits.line_too_long(raw, long)
    context.add(error.line, error.column, SYNTAX, error.msg)
    # The entries before the one the long line is in (or begins, as a header).
    cut = 0
    if kind == "smaps":
        cut = (
            long
            if HEADER_START.match(text, long, long + _limits.MAX_LINE)
            else _header_cut(text[:long])
        )
    if cut == 0:
        return Report([], kind, None, how="not read past a line longer than any kernel prints")
    return _validate_text(context, text[:cut], kind, allowed, kernel)


def _header_cut(text: str) -> int:
    """Where the last line of ``text`` that may start an entry starts (0 if none): searched
    backwards in growing windows, so that the cost is the distance to it."""
    window = 4096
    while True:
        start = max(0, len(text) - window)
        found = [m.start() + 1 for m in _NEXT_START.finditer(text, start)]
        if found or start == 0:
            return found[-1] if found else 0
        window *= 4


_NEXT_START = re.compile(rf"\n(?={HEADER_START.pattern.removeprefix('^')})")


def _validate_rollup(context: Context, text: str, allowed: tuple[Profile, ...],
                     kernel: str | None) -> Report:  # fmt: skip
    with_rollup = [p for p in allowed if p.rollup_lines is not None]
    if not with_rollup:
        return _no_rollup(context, allowed)
    model = parse_chunk(context, text, 1, "rollup")
    if model is None:
        return Report([], "rollup", None, how="the text is not a smaps_rollup")
    complete = text.endswith("\n")
    lines = text.split("\n")
    if complete:
        lines.pop()
    entry = Entry(1, lines, model, complete)
    word_size = _render.word_size(lines[0])

    def errors(profile: Profile) -> int:
        scratch = Context(context.abi, context.path, context.strict)
        Checker(scratch, "rollup", [profile], "", word_size).check_entry(entry, None)
        return scratch.errors()

    def rendered(profile: Profile) -> str:
        return _render.render_entry(model, profile, word_size)

    found = detect_rollup(text, rendered, with_rollup, kernel, errors=errors)
    checker = Checker(context, "rollup", list(found.profiles), found.how, word_size)
    checker.check_entry(entry, None)
    return _report("rollup", found, 1, word_size)


def _no_rollup(context: Context, allowed: tuple[Profile, ...]) -> Report:
    """A rollup, text or model, when no profile allowed has smaps_rollup (``kernel`` asked for
    one before 4.14)."""
    where = ", ".join(p.describe() for p in allowed)
    context.add(1, 1, LAYOUT_NO_ROLLUP, f"{where} has no smaps_rollup (it first appeared in 4.14)")
    return Report([], "rollup", None, how="no profile of that kernel has smaps_rollup")


def _validate_model(context: Context, model: Any, allowed: tuple[Profile, ...],
                    kernel: str | None) -> Report:  # fmt: skip
    from .._model import Rollup, Smaps
    from .._render import render_entry

    entries: list[Any]
    if isinstance(model, Rollup):
        kind = "rollup"
        entries = [model]
    elif isinstance(model, Smaps):
        kind = "smaps"
        entries = list(model.mappings)
    else:
        raise TypeError(f"expected bytes, str, Smaps or Rollup, not {type(model).__name__}")
    if not entries:
        return Report([], kind, None, how="an empty smaps: a process without a memory map")
    if kind == "rollup" and all(p.rollup_lines is None for p in allowed):
        return _no_rollup(context, allowed)
    first = entries[0]
    labels = list(first.fields)
    if getattr(first, "vmflags", None) is not None:
        labels.append("VmFlags")
    found = detect_labels(labels, kind, allowed, kernel)  # a profile: the pool is not empty
    checker = Checker(context, kind, list(found.profiles), found.how, 64)
    prev: tuple[int, int] | None = None
    for entry in entries:
        lines = render_entry(entry, checker.profile).split("\n")[:-1]
        checker.check_entry(Entry(entry.line, lines, entry), prev)
        prev = (entry.start, entry.end)
    return _report(kind, found, len(entries))
