"""The validator: is this text what a kernel prints in smaps or smaps_rollup?

Three kinds of checks, each problem one :class:`Diagnostic` with a stable rule id
(docs/rules.md lists them all with their sources):

* syntax: the grammar (``grammar/smaps.lark``), through the parser; rule ``syntax``.
* layout: the bytes against the kernel profile that matches (``kernel/*.profile``): order,
  widths, padding, missing or extra lines; rules ``layout-*``, ``unknown-field``,
  ``unknown-vmflag``.
* semantics: the invariants of the ABI document (``Documentation/ABI/testing/procfs-smaps*``),
  per entry and between neighbouring entries; their rule ids are the document's.

Speed. Each distinct header tail (permissions to name) and each distinct body (the lines after
the header) is checked once against the profile's exact line patterns, and the invariants that
depend on it are evaluated once for it. Only the address range is checked per entry, by code
compiled once per profile from the ABI's expressions. Where the C module (smapsfmt._parse._match)
is built, the profile's exact entry pattern runs there over the whole text, giving the values of
every entry column by column, and bodies are told apart by their values; elsewhere, a loop
cuts the text into entries and tells bodies apart by their text. An entry that does not match
the profile exactly goes to the slow path: it is parsed alone, rendered with the profile and
compared line by line, so that the diagnostics say where and how it differs.
"""

from __future__ import annotations

import functools
import gc
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import _limits, _render
from .._diagnostics import Diagnostic, Severity
from .._errors import SmapsSyntaxError
from .._spec.abi import ABI, Invariant, Version, load_abi, parse_version
from .._spec.profiles import Line, Profile, beyond_every_profile, load_profiles, profile_named

__all__ = ["Report", "validate", "validate_report"]

# --- the rules that are not in the ABI document (their ids; docs/rules.md) ----------------------

SYNTAX = "syntax"
LAYOUT_HEADER = "layout-header"
LAYOUT_FORMAT = "layout-field-format"
LAYOUT_ORDER = "layout-field-order"
LAYOUT_MISSING = "layout-missing-field"
LAYOUT_EXTRA = "layout-extra-field"
LAYOUT_VMFLAGS = "layout-vmflags"
LAYOUT_NEWLINE = "layout-final-newline"
LAYOUT_NO_ROLLUP = "layout-no-rollup"
UNKNOWN_FIELD = "unknown-field"
UNKNOWN_VMFLAG = "unknown-vmflag"

# Each of them in one line (``smapsfmt rules``; docs/rules.md says where each comes from), and
# the ones that are warnings. The invariants' ids and texts are the ABI document's.
RULE_DESCRIPTIONS = {
    SYNTAX: "the text is not in the grammar's language (grammar/smaps.lark)",
    LAYOUT_HEADER: "the header differs from the kernel's format: zeros, blanks, name column",
    LAYOUT_FORMAT: "a field line differs from its format: label padding, value width, TABs, unit",
    LAYOUT_ORDER: "a field comes after one that the kernel prints after it",
    LAYOUT_MISSING: "a line that the kernel always prints is absent",
    LAYOUT_EXTRA: "a field that the kernel of the profile does not print",
    LAYOUT_VMFLAGS: "the VmFlags line does not end each mnemonic with a blank",
    LAYOUT_NEWLINE: "the text does not end in a newline",
    LAYOUT_NO_ROLLUP: "a smaps_rollup for a kernel without one (before 4.14)",
    UNKNOWN_FIELD: "a field the ABI document does not describe, or a vendor field the kernel "
    "of the profile does not print",
    UNKNOWN_VMFLAG: "a VmFlags mnemonic that the kernels of the profile do not print",
}
WARNING_RULES = frozenset({UNKNOWN_FIELD, UNKNOWN_VMFLAG})

# One entry: a header, then lines that start with a capital letter (field lines, VmFlags, the
# Android Name line). Addresses as %08lx prints them: 8 digits, or more without a leading zero
# (task_mmu.c show_vma_header_prefix); up to 16 (64-bit kernels). Written so that the first
# digit tells the branch: 0 starts exactly 8 digits, any other digit 8 to 16.
_ADDRESS = r"(?:0[0-9a-f]{7}|[1-9a-f][0-9a-f]{7,15})"
_ENTRY = re.compile(rf"^({_ADDRESS})-({_ADDRESS}) ([^\n]*)\n((?:[A-Z][^\n]*\n)+)", re.M)
# Where a new entry may start, for cutting text the fast path did not take into entries.
_HEADER_START = re.compile(r"^[0-9a-fA-F]{4,}-", re.M)
_LABEL = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")


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
        if self.profile is None:
            profile = f"no profile ({self.how})"
        else:
            profile = f"profile {self.profile.describe()} ({self.how})"
            same = [p.name for p in self.alternatives]
            if same:
                profile += f"; the same text as {', '.join(same)}"
        return f"{path}: {what}{count}: {errors}, {warnings}; {profile}"


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
    allowed = _allowed_profiles(kernel)
    context = _Context(abi or load_abi(), path, strict)
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


_KERNELS = "a version such as 5.4, a release as uname -r prints it (6.18.44-fc-v669)"


def _allowed_profiles(kernel: str | None) -> tuple[Profile, ...]:
    profiles = load_profiles()
    if kernel is None:
        return profiles
    if not isinstance(kernel, str):
        number = type(kernel) in (int, float)
        raise TypeError(
            f"kernel is a string: {_KERNELS} or a profile name (android-4.9); "
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
            f"unknown kernel {kernel!r}: give {_KERNELS} or a profile name ({names})"
        ) from None
    found = tuple(p for p in profiles if p.kernel_range.contains(version))
    newest = beyond_every_profile(kernel)
    if not found and newest is not None:  # checked against the newest profile, and said so
        return (newest,)
    if not found:
        first, last = profiles[0].kernels[0], max(p.kernels[1] for p in profiles)
        raise ValueError(
            f"no profile for Linux {kernel}: the profiles cover {_v(first)} to {_v(last)}"
        )
    return found


def _v(version: Version) -> str:
    return ".".join(map(str, version))


def _asked(kernel: str | None) -> str:
    """How the summary line names ``--kernel``: ``; --kernel 7.3``, or for a kernel newer than
    every profile ``; --kernel 8.1 is newer than every profile: the newest is used``."""
    if not kernel:
        return ""
    beyond = " is newer than every profile: the newest is used"
    return f"; --kernel {kernel}" + (beyond if beyond_every_profile(kernel) else "")


# --- collecting diagnostics -----------------------------------------------------------------


class _Context:
    def __init__(self, abi: ABI, path: str | None, strict: bool) -> None:
        self.abi = abi
        self.path = path
        self.strict = strict
        self.found: list[Diagnostic] = []

    def add(self, line: int, column: int, rule: str, message: str,
            severity: Severity = "error") -> None:  # fmt: skip
        if self.strict:
            severity = "error"
        self.found.append(Diagnostic(self.path, line, column, rule, severity, message))

    def errors(self) -> int:
        return sum(1 for d in self.found if d.severity == "error")

    def finish(self) -> list[Diagnostic]:
        return sorted(self.found, key=lambda d: (d.line, d.column))


# --- profile detection --------------------------------------------------------------------------

# Lines that a kernel prints only for some mappings; they do not tell kernels apart.
_OPTIONAL = frozenset({"Name", "ProtectionKey", "Nonlinear"})


def _signature(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(label for label in labels if label not in _OPTIONAL)


@functools.lru_cache(maxsize=8)
def _profile_signatures(kind: str) -> dict[tuple[str, ...], tuple[Profile, ...]]:
    found: dict[tuple[str, ...], list[Profile]] = {}
    for profile in load_profiles():
        if kind == "rollup" and profile.rollup_lines is None:
            continue
        labels = [line.field for line in profile.lines(kind)]
        if kind == "smaps" and profile.vmflags_prefix is not None:
            labels.append("VmFlags")
        found.setdefault(_signature(labels), []).append(profile)
    return {key: tuple(value) for key, value in found.items()}


def _entry_labels(body: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^([A-Za-z][A-Za-z0-9_]*):", body, re.M)]


def _prefer_mainline(profiles: Iterable[Profile]) -> list[Profile]:
    profiles = list(profiles)
    mainline = [p for p in profiles if p.variant_of is None]
    return mainline or profiles


# --- checking one entry on the slow path ---------------------------------------------------------


@dataclass
class _Entry:
    """One entry of the input, parsed alone, with its raw lines."""

    line: int
    lines: list[str]  # the entry's lines, without newlines
    model: Any  # Mapping or Rollup
    complete: bool = True  # ends with a newline


class _Checker:
    """Layout and invariants for one kind of file under one profile (or a tie of profiles)."""

    def __init__(self, context: _Context, kind: str, profiles: list[Profile], how: str,
                 word_size: int) -> None:  # fmt: skip
        self.context = context
        self.kind = kind
        self.scope = "smaps_rollup" if kind == "rollup" else "smaps"
        self.profiles = profiles
        self.profile = profiles[0]
        self.how = how
        self.word_size = word_size
        low = min(p.kernels[0] for p in profiles)
        high = max(p.kernels[1] for p in profiles)
        waived: set[str] = set()
        for profile in profiles:
            waived |= set(profile.deviations)
        abi = context.abi
        self.invariants = [
            inv
            for inv in abi.invariants_for(self.scope)
            if inv.applies_to(low, high) and inv.id not in waived
        ]
        self.kb_fields = abi.kb_fields()
        # Fields the profile prints but the ABI document does not describe: reported as
        # unknown, since the document is the one source of field names.
        self.undocumented = frozenset(
            line.field for line in self.profile.lines(kind) if line.field not in abi.fields
        )
        self.lines = {line.field: line for line in self.profile.lines(kind)}
        self.order = [line.field for line in self.profile.lines(kind)]

    # ---- invariants

    def check_invariants(self, values: dict[str, Any], line: int, field_lines: dict[str, int],
                         field_columns: dict[str, int]) -> None:  # fmt: skip
        for inv in self.invariants:
            result = inv.check(values)
            if result is False:
                self._report_invariant(inv, values, line, field_lines, field_columns)

    def _report_invariant(
        self,
        inv: Invariant,
        values: dict[str, Any],
        line: int,
        field_lines: dict[str, int],
        field_columns: dict[str, int],
    ) -> None:
        anchor = _anchor(inv, values)
        at_line = field_lines.get(anchor, line)
        column = field_columns.get(anchor, 1)
        self.context.add(at_line, column, inv.id, invariant_message(inv, values), inv.severity)

    # ---- layout of one entry

    def check_entry(self, entry: _Entry, prev: tuple[int, int] | None) -> None:
        model = entry.model
        expected_header = _header(model, self.profile, self.word_size)
        if entry.lines[0] != expected_header:
            self._header_diff(entry.line, entry.lines[0], expected_header, model)
        field_lines: dict[str, int] = {}
        field_columns: dict[str, int] = {}
        seen: list[tuple[str, int]] = []  # profile fields, in input order, with their line
        body = entry.lines[1:]
        vmflags_at: int | None = None
        for offset, text in enumerate(body, start=1):
            number = entry.line + offset
            label = _LABEL.match(text)
            if label is None:
                continue
            name = label.group(1)
            if name == "VmFlags" and self.kind == "smaps":
                vmflags_at = number
                self._check_vmflags(number, text, model.vmflags or ())
                continue
            line_spec = self.lines.get(name)
            value_column = _value_column(text)
            field_lines[name] = number
            field_columns[name] = value_column
            if line_spec is None:
                self._extra(number, name)
                continue
            seen.append((name, number))
            if name in self.undocumented:
                self.context.add(number, 1, UNKNOWN_FIELD, _undocumented(name), "warning")
            value = model.name.decode("latin-1") if name == "Name" else model.fields.get(name)
            if value is None:
                continue
            expected = line_spec.render(value)[:-1]
            if text != expected:
                self._format_diff(number, text, expected, line_spec)
        self._check_order(entry, seen, vmflags_at, len(body))
        if not entry.complete:
            last = entry.lines[-1]
            self.context.add(
                entry.line + len(entry.lines) - 1, len(last) + 1, LAYOUT_NEWLINE,
                "the text ends without a newline: the kernel ends every line with one",
            )  # fmt: skip
        values = _values(model, self.kb_fields)
        if prev is not None:
            values["prev_start"], values["prev_end"] = prev
        self.check_invariants(values, entry.line, field_lines, field_columns)

    def _extra(self, number: int, name: str) -> None:
        spec = self.context.abi.fields.get(name)
        where = self.profile.describe()
        if spec is None:
            self.context.add(
                number, 1, UNKNOWN_FIELD,
                f"'{name}:' is not a field of the ABI document (a vendor field?); "
                f"{where} does not print it", "warning",
            )  # fmt: skip
            return
        if spec.vendor is not None and self.scope in spec.scope:
            self.context.add(
                number, 1, UNKNOWN_FIELD,
                f"'{name}:' is printed only by vendor kernels ({spec.vendor}), not by {where}",
                "warning",
            )  # fmt: skip
            return
        if self.scope not in spec.scope:
            msg = f"'{name}:' is never printed in {_file(self.kind)}"
        else:
            msg = f"'{name}:' is not printed by {where}"
            msg += f" (first printed by {spec.since}"
            msg += f", removed in {spec.removed})" if spec.removed else ")"
        self.context.add(number, 1, LAYOUT_EXTRA, msg)

    def _check_order(self, entry: _Entry, seen: list[tuple[str, int]], vmflags_at: int | None,
                     body_lines: int) -> None:  # fmt: skip
        where = self.profile.describe()
        position = {name: index for index, name in enumerate(self.order)}
        highest = -1
        highest_name = ""
        for name, number in seen:
            index = position[name]
            if index < highest:
                self.context.add(
                    number, 1, LAYOUT_ORDER,
                    f"'{name}:' comes after '{highest_name}:' here, before it in {where}",
                )  # fmt: skip
            elif index > highest:
                highest, highest_name = index, name
        present = {name for name, _ in seen}
        lines_at = dict(seen)
        end = entry.line + body_lines + 1
        for index, line in enumerate(self.profile.lines(self.kind)):
            if line.optional or line.field in present:
                continue
            after = [n for n in self.order[index + 1 :] if n in lines_at]
            number = lines_at[after[0]] if after else (vmflags_at or end)
            before = f" after '{self.order[index - 1]}:'" if index else " first"
            self.context.add(
                number, 1, LAYOUT_MISSING,
                f"missing the line '{line.field}:': {where} prints it{before}",
            )  # fmt: skip
        if self.kind == "smaps" and self.profile.vmflags_prefix is not None and vmflags_at is None:
            self.context.add(
                end,
                1,
                LAYOUT_MISSING,
                f"missing the VmFlags line: {where} ends every entry with it",
            )

    def _check_vmflags(self, number: int, text: str, flags: Iterable[str]) -> None:
        where = self.profile.describe()
        prefix = self.profile.vmflags_prefix
        if prefix is None:
            self.context.add(number, 1, LAYOUT_EXTRA, f"'VmFlags:' is not printed by {where} "
                             "(first printed by 3.8)")  # fmt: skip
            return
        expected = prefix + "".join(f"{flag} " for flag in flags)
        value = re.fullmatch(r"VmFlags:[ \t]*([0-9]+) kB", text)
        if value is not None:  # a field line under the VmFlags label (the grammar's VmFlags)
            self.context.add(
                number, value.start(1) + 1, LAYOUT_VMFLAGS,
                f"a value in kB under the label 'VmFlags:': the kernel prints '{prefix}' then "
                "'xx ' for each flag, never a number",
            )  # fmt: skip
            return
        if text != expected:
            self.context.add(
                number, _diff_column(text, expected), LAYOUT_VMFLAGS,
                "expected a blank after each mnemonic, the last one too "
                f"(the kernel prints '{prefix}' then 'xx ' for each flag)",
            )  # fmt: skip
        column = len(prefix) + 1
        for flag in flags:
            if flag not in self.profile.vmflags:
                self.context.add(
                    number, column, UNKNOWN_VMFLAG,
                    f"VmFlags mnemonic '{flag}' is not printed by {where}", "warning",
                )  # fmt: skip
            column += 3

    def _format_diff(self, number: int, text: str, expected: str, spec: Line) -> None:
        column = _diff_column(text, expected)
        label = spec.label[: spec.label.index(":") + 1]
        gap = re.match(r"[ \t]*", text[len(label) :])
        blanks = gap.group() if gap else ""
        found_digits = re.search(r"[0-9]+", text[len(label) :])
        expected_digits = re.search(r"[0-9]+", expected[len(label) :])
        if "\t" in blanks and "\t" not in spec.label:
            msg = f"expected blanks after '{label}', found a TAB"
        elif "\t" in spec.label and "\t" not in blanks:
            msg = f"expected '{_show(spec.label)}' (TABs) before the value, found blanks"
        elif found_digits and expected_digits and found_digits.end() != expected_digits.end():
            if spec.width > 1:
                msg = f"expected value right-aligned in {spec.width} columns after '{label}'"
                msg += f" (ending at column {len(label) + expected_digits.end()})"
            else:
                msg = f"expected the value right after '{_show(spec.label)}'"
        elif not text.endswith(spec.unit) or (not spec.unit and not text[-1:].isdigit()):
            unit = spec.unit.strip()
            msg = (
                f"expected '{unit}' after the value of '{label}'"
                if unit
                else f"expected nothing after the value of '{label}'"
            )
        else:
            msg = f"expected '{_show(expected)}'"
        where = self.profile.describe()
        self.context.add(
            number, column, LAYOUT_FORMAT, f"{msg}; {where} prints '{_show(spec.format)}'"
        )

    def _header_diff(self, number: int, text: str, expected: str, model: Any) -> None:
        column = _diff_column(text, expected)
        name = model.pathname.decode("latin-1")
        prefix = expected[: len(expected) - len(name)].rstrip(" ") + " " if name else expected
        if column <= len(prefix):
            part = expected[:column].count(" ")
            messages = [
                "expected the addresses as %08lx-%08lx: lowercase hex, at least 8 digits, "
                "no extra leading zeros",
                "expected the permissions",
                "expected the offset as %08llx: at least 8 hex digits, no extra leading zeros",
                "expected the device as %02x:%02x: at least 2 hex digits each, no extra "
                "leading zeros",
                "expected the inode as %lu: decimal, no leading zeros",
            ]
            msg = messages[min(part, len(messages) - 1)]
            if part >= len(messages) or (column == len(prefix) and not name):
                msg = (
                    "expected one blank after the inode: the kernel ends an unnamed "
                    "mapping's header with it"
                )
        elif name:
            at = len(expected) - len(name)
            ws = "64-bit" if self.word_size == 64 else "32-bit"
            pad_to = _render.name_column(self.profile, self.word_size)
            msg = (
                f"expected the name at column {at + 1}: a {ws} kernel pads the header with "
                f"blanks to column {pad_to}, or puts one blank after a longer one"
            )
        else:
            msg = "expected the header to end after the blank that follows the inode"
        self.context.add(number, column, LAYOUT_HEADER, f"{msg} (expected '{_show(expected)}')")


def _undocumented(name: str) -> str:
    return f"'{name}:' is not a field of the ABI document (a vendor field?)"


def _file(kind: str) -> str:
    return "smaps_rollup" if kind == "rollup" else "smaps"


def _show(text: str) -> str:
    return text.replace("\t", "\\t").replace("\n", "\\n")


def _diff_column(text: str, expected: str) -> int:
    for index, (a, b) in enumerate(zip(text, expected, strict=False)):
        if a != b:
            return index + 1
    return min(len(text), len(expected)) + 1


def _value_column(text: str) -> int:
    match = re.match(r"[A-Za-z][A-Za-z0-9_]*:[ \t]*", text)
    return (match.end() if match else 0) + 1


def _header(model: Any, profile: Profile, word_size: int) -> str:
    from .._render import header_text

    return header_text(model, profile, word_size)[:-1]


def _values(model: Any, kb_fields: frozenset[str]) -> dict[str, Any]:
    values: dict[str, Any] = dict(model.fields)
    # A field line labelled like the VmFlags or Name line ("VmFlags:  0 kB") is not that line:
    # layout-vmflags reports it, and it gives no value to VmFlags or Name.
    values.pop("VmFlags", None)
    values.pop("Name", None)
    values.update(
        start=model.start, end=model.end, offset=model.offset, major=model.major,
        minor=model.minor, inode=model.inode, perms=model.perms,
        name=model.pathname.decode("latin-1"),
    )  # fmt: skip
    kb = [value for key, value in model.fields.items() if key in kb_fields]
    values["max_kB"] = max(kb) if kb else 0
    vmflags = getattr(model, "vmflags", None)
    if vmflags is not None:
        values["VmFlags"] = " " + "".join(f"{flag} " for flag in vmflags)
    name = getattr(model, "name", None)
    if name is not None:
        values["Name"] = name.decode("latin-1")
    return values


def _located(
    invariants: list[Invariant],
    failing: Iterable[int],
    values: dict[str, Any],
    body: _Body,
) -> list[_Problem]:
    """The problem of each failing invariant (by index), at the line offset and column of the
    value it is about in ``body``, with its message."""
    found: list[_Problem] = []
    for index in failing:
        inv = invariants[index]
        offset, column = body.where.get(_anchor(inv, values), (0, 1))
        found.append((offset, column, inv.id, invariant_message(inv, values), inv.severity))
    return found


def _anchor(inv: Invariant, values: dict[str, Any]) -> str:
    """The name an invariant is about: the first one its expression names (for max_kB, the
    field that holds the largest value)."""
    for match in re.finditer(r"[A-Za-z_][A-Za-z0-9_.]*", inv.expr):
        word = match.group()
        if word == "max_kB":
            biggest = values.get("max_kB")
            for key, value in values.items():
                if key[:1].isupper() and value == biggest and isinstance(value, int):
                    return key
        if word in inv.names or word.startswith("prev."):
            return word
    return "start"


def invariant_message(inv: Invariant, values: dict[str, Any]) -> str:
    """``Pss <= Rss does not hold: Pss = 12, Rss = 8``."""
    shown: list[str] = []
    for match in re.finditer(r"prev\.(?:start|end)|[A-Za-z_][A-Za-z0-9_]*", inv.expr):
        word = match.group()
        key = word.replace(".", "_")
        if key not in values or any(s.startswith(f"{word} = ") for s in shown):
            continue
        if word == "VmFlags":
            continue
        value = values[key]
        if word in ("start", "end", "prev.start", "prev.end", "offset"):
            value = format(value, "x")
        elif isinstance(value, str):
            value = repr(value)
        shown.append(f"{word} = {value}")
    text = f"{inv.expr} does not hold"
    if shown:
        text += ": " + ", ".join(shown)
    if "VmFlags" in inv.names and "VmFlags" in values:
        text += f", VmFlags = '{values['VmFlags'].strip()}'"
    return text


# --- splitting text into entries for the slow path ---------------------------------------------


def _chunks(text: str, start: int, end: int, first_line: int) -> Iterator[tuple[int, int, int]]:
    """``(start, end, line)`` of each entry-sized piece of ``text[start:end]``: cut before every
    line that looks like a header."""
    cuts = [m.start() for m in _HEADER_START.finditer(text, start, end) if m.start() > start]
    bounds = [start, *cuts, end]
    line = first_line
    for a, b in itertools.pairwise(bounds):
        if a < b:
            yield a, b, line
            line += text.count("\n", a, b)


def _parse_chunk(
    context: _Context,
    chunk: str,
    line: int,
    kind: str,
    first_error: Callable[[], SmapsSyntaxError | None] | None = None,
) -> Any:
    """The entry in ``chunk`` (Mapping or Rollup), or None after a syntax diagnostic.

    The chunk is parsed alone, so that every broken entry is reported, not only the first.
    Where the whole text's first syntax error (``first_error()``) falls in this chunk, that
    error is reported instead, word for word what ``parse_smaps`` says (the grammar may see
    the entry's end differently when it sees what follows).
    """
    from .._parse.parser import parse_rollup, parse_smaps

    try:
        if kind == "rollup":
            return parse_rollup(chunk)
        mappings = parse_smaps(chunk)
    except SmapsSyntaxError as exc:
        _syntax(context, exc, chunk, line, first_error)
        return None
    return mappings[0] if len(mappings) == 1 else None


def _syntax(
    context: _Context,
    exc: SmapsSyntaxError,
    chunk: str,
    line: int,
    first_error: Callable[[], SmapsSyntaxError | None] | None,
) -> None:
    """Report ``exc`` (from parsing ``chunk`` alone, which starts at ``line``) in the text's
    own lines; the whole text's first error where it falls in this chunk."""
    shift = line - 1
    first = first_error() if first_error is not None else None
    last = line + chunk.count("\n")
    if first is not None and line <= first.line <= last:
        context.add(first.line, first.column, SYNTAX, first.msg)
        return
    msg = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) + shift}", exc.msg)
    context.add(exc.line + shift, exc.column, SYNTAX, msg)


def _first_syntax_error(text: str) -> SmapsSyntaxError | None:
    from .._parse.parser import parse_smaps

    try:
        parse_smaps(text)
    except SmapsSyntaxError as exc:
        return exc
    return None


# --- the fast path ---------------------------------------------------------------------------


class _Tail:
    """A header tail (permissions to name), checked once."""

    __slots__ = ("id", "name", "ok", "pad", "prefix", "values")

    def __init__(self, ident: int) -> None:
        self.id = ident
        self.ok = False
        self.prefix = 0
        self.pad = 0
        self.name = ""
        self.values: dict[str, Any] = {}


_Problem = tuple[int, int, str, str, Severity]  # line offset, column, rule, message, severity
# a body's failing invariants (indexes), unknown VmFlags problems, undocumented fields
_Verdict = tuple[list[int], list[tuple[int, str, str, Severity]], list[str]]


class _Body:
    """An entry's lines after the header, checked once."""

    __slots__ = ("_where", "id", "lines", "ok", "problems", "text", "values")

    def __init__(self, ident: int, text: str) -> None:
        self.id = ident
        self.text = text
        self.ok = False
        self.lines = 0
        self.values: dict[str, Any] = {}
        self.problems: list[_Problem] = []
        self._where: dict[str, tuple[int, int]] | None = None

    @property
    def where(self) -> dict[str, tuple[int, int]]:
        """label -> (line offset from the header, 1-based column of the value)."""
        if self._where is None:
            self._where = {
                label.group(1): (index, _value_column(text))
                for index, text in enumerate(self.text.split("\n")[:-1], start=1)
                if (label := _LABEL.match(text)) is not None
            }
        return self._where


# A header after the range, as printed: "%c%c%c%c %08llx %02x:%02x %lu " then the padding and
# the name (task_mmu.c show_vma_header_prefix; u64 and dev_t bounds). The name starts with a
# non-blank, so that blanks and name cannot trade characters (no backtracking).
_TAIL_FIELDS = (
    r"([r-][w-][x-][sp]) (0[0-9a-f]{7}|[1-9a-f][0-9a-f]{7,15}) "
    r"(0[0-9a-f]|[1-9a-f][0-9a-f]{1,2}):(0[0-9a-f]|[1-9a-f][0-9a-f]{1,4}) "
    r"(0|[1-9][0-9]{0,19}) "
)
_TAIL_NAME = r"(?:( +)([^ \n\x00][^\n\x00]*))?"
_TAIL = re.compile(_TAIL_FIELDS + _TAIL_NAME)


@dataclass
class _Compiled:
    """A profile's exact entry pattern and the invariants sorted by what they depend on."""

    body: re.Pattern[str]
    fields: list[tuple[str, int]]  # (field, group) in order
    vmflags_group: int
    name_group: int
    body_invariants: list[Invariant]
    pair_invariants: list[Invariant]
    range_invariants: list[Invariant]
    loop: Callable[..., Any] = field(default=lambda: None)
    pick: Callable[[tuple[Any, ...]], tuple[str | None, ...]] = field(default=lambda g: ())
    names: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  # the fields of optional lines
    kb_mask: tuple[bool, ...] = ()
    check_body: Callable[..., list[int]] = field(default=lambda v, t: [])
    check_pair: Callable[..., list[int]] = field(default=lambda v, t: [])
    columns: _Columns | None = None  # the C module's way, where it runs (see _columns)
    columns_tried: bool = False


_HEADER_NAMES = frozenset({"perms", "offset", "major", "minor", "inode", "name"})
_RANGE_NAMES = frozenset({"start", "end", "prev"})


def _compile(checker: _Checker) -> _Compiled:
    """The profile's compiled patterns and checks, built once per profile and set of
    invariants (a modified copy of the ABI document gets its own)."""
    key = (
        checker.profile.name,
        tuple((inv.id, inv.python, inv.severity) for inv in checker.invariants),
    )
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= 64:
            _COMPILED.clear()
        found = _COMPILED[key] = _build(checker)
    return found


_COMPILED: dict[tuple[Any, ...], _Compiled] = {}


def _build(checker: _Checker) -> _Compiled:
    profile = checker.profile
    parts: list[str] = []
    fields: list[tuple[str, int]] = []
    optional: list[str] = []
    group = 0
    name_group = 0
    for line in profile.smaps_lines:
        group += 1
        piece = line.pattern()
        if line.field == "Name":
            name_group = group
            piece = re.escape(line.label) + r"([^\n\x00]*)\n"
        else:
            fields.append((line.field, group))
            if line.optional:
                optional.append(line.field)
        parts.append(f"(?:{piece})?" if line.optional else piece)
    vmflags_group = 0
    if profile.vmflags_prefix is not None:
        group += 1
        vmflags_group = group
        parts.append(re.escape(profile.vmflags_prefix) + r"((?:[!-~]{2} )*)\n")
    body = re.compile("".join(parts))
    classes: dict[str, list[Invariant]] = {"body": [], "pair": [], "range": []}
    for inv in checker.invariants:
        names = inv.names
        if names & _RANGE_NAMES:
            classes["range"].append(inv)
        elif names & _HEADER_NAMES:
            classes["pair"].append(inv)
        else:
            classes["body"].append(inv)
    compiled = _Compiled(
        body=body, fields=fields, vmflags_group=vmflags_group, name_group=name_group,
        body_invariants=classes["body"], pair_invariants=classes["pair"],
        range_invariants=classes["range"],
    )  # fmt: skip
    compiled.names = tuple(name for name, _ in fields)
    compiled.optional = tuple(optional)
    compiled.kb_mask = tuple(name in checker.kb_fields for name in compiled.names)
    indexes = [group - 1 for _, group in fields]
    compiled.pick = lambda groups: tuple(groups[i] for i in indexes)
    if len(indexes) > 1:
        compiled.pick = operator.itemgetter(*indexes)
    marker = None
    if profile.vmflags_prefix is not None:
        marker = "\n" + profile.vmflags_prefix.rstrip(" ")
    compiled.loop = _generate_loop(classes["range"], marker)
    compiled.check_body = _generate_checker(classes["body"])
    compiled.check_pair = _generate_checker(classes["pair"])
    return compiled


def _generate_checker(invariants: list[Invariant]) -> Callable[..., list[int]]:
    """One function that evaluates every invariant on the values of a body ``v`` and of a
    header tail ``t`` and returns the indexes of those that do not hold (an invariant naming a
    value that is absent is not checked)."""
    names = sorted({n for inv in invariants for n in inv.arguments()})
    lines = ["def check(v, t):\n"]
    lines += [
        f"    {name} = {'t' if name in _HEADER_NAMES else 'v'}.get({name!r})\n" for name in names
    ]
    lines += _verdicts(invariants)
    namespace: dict[str, Any] = {}
    exec(compile("".join(lines), "<smapsfmt invariants>", "exec"), namespace)
    return namespace["check"]  # type: ignore[no-any-return]


_SLOW = "line, prev_start, prev_end, n = slow({}, {}, line, prev_start, prev_end)"


def _generate_loop(invariants: list[Invariant], marker: str | None) -> Callable[..., Any]:
    """The per-entry loop, with the range invariants compiled in (one expression each).

    With a VmFlags line (3.8+), an entry is cut with ``str.find``: from its header to the end
    of the next line that starts with ``marker`` (``VmFlags:``); the header's addresses are
    matched by a short pattern. Before 3.8, entries are matched by ``_ENTRY``. Either way the
    cut is only a guess: the tail and the body are then checked exactly (once per distinct
    text), and whatever is not an exact entry goes to the slow path.
    """
    body_names = sorted({n for inv in invariants for n in inv.names} - _RANGE_NAMES)
    fetch = "".join(
        f"        {name} = {'tv' if name in _HEADER_NAMES else 'bv'}.get({name!r})\n"
        for name in body_names
    )
    checks = _range_checks(invariants)
    if marker is None:
        head = (
            "    for m in finditer(text):\n"
            "        begin = m.start()\n"
            "        if begin != pos:\n"
            f"            {_SLOW.format('pos', 'begin')}\n"
            "            count += n\n"
            "        s, e, tail, body = m.groups()\n"
            "        pos = m.end()\n"
        )
    else:
        head = (
            "    size = len(text)\n"
            "    find = text.find\n"
            "    while pos < size:\n"
            "        begin = pos\n"
            "        m = head_match(text, pos)\n"
            "        nl = find('\\n', pos)\n"
            f"        mark = find({marker!r}, nl)\n"
            "        if m is None or mark < 0:\n"
            "            found = next_head(text, nl + 1) if m is None else None\n"
            "            stop = found.start() if found is not None else size\n"
            f"            {_SLOW.format('pos', 'stop')}\n"
            "            count += n\n"
            "            pos = stop\n"
            "            continue\n"
            "        pos = find('\\n', mark + 1) + 1\n"
            "        s, e = m.groups()\n"
            "        tail = text[m.end():nl]\n"
            "        body = text[nl + 1:pos]\n"
        )
    source = (
        "def loop(text, finditer, head_match, next_head, tails, bodies, pairs, tail_of,\n"
        "         body_of, pair_of, slow, problems, fail, W):\n"
        "    pos = 0\n"
        "    line = 1\n"
        "    prev_start = prev_end = None\n"
        "    count = 0\n" + head + "        t = tails.get(tail)\n"
        "        if t is None:\n"
        "            t = tail_of(tail)\n"
        "        b = bodies.get(body)\n"
        "        if b is None:\n"
        "            b = body_of(body)\n"
        "        ok = t.ok and b.ok\n"
        "        if ok and t.name:\n"
        "            q = len(s) + len(e) + t.prefix\n"
        "            ok = q + t.pad == (W if q < W else q + 1)\n"
        "        if not ok:\n"
        f"            {_SLOW.format('begin', 'pos')}\n"
        "            count += n\n"
        "            continue\n"
        "        count += 1\n"
        "        if b.problems:\n"
        "            problems(line, b.problems)\n"
        f"        p = pairs.get(t.id * {_PAIR} + b.id)\n"
        "        if p is None:\n"
        "            p = pair_of(t, b)\n"
        "        if p:\n"
        "            problems(line, p)\n"
        "        start = int(s, 16)\n"
        "        end = int(e, 16)\n"
        "        bv = b.values\n"
        "        tv = t.values\n" + fetch + "".join(checks) + "        prev_start = start\n"
        "        prev_end = end\n"
        "        line += b.lines\n"
        "    if pos < len(text):\n"
        f"        {_SLOW.format('pos', 'len(text)')}\n"
        "        count += n\n"
        "    return count\n"
    )
    namespace: dict[str, Any] = {}
    # The expressions were checked node by node when the ABI document was read (_abi).
    exec(compile(source, "<smapsfmt validator loop>", "exec"), namespace)
    return namespace["loop"]  # type: ignore[no-any-return]


# The addresses at the start of a header, as %08lx prints them; and where the next one is.
_HEAD = re.compile(rf"({_ADDRESS})-({_ADDRESS}) ")
_NEXT_HEAD = re.compile(rf"^{_ADDRESS}-{_ADDRESS} ", re.M)
_PAIR = 1 << 20


class _FastSmaps:
    """Validate a whole smaps text: the fast loop, with the slow path for what it cannot take."""

    def __init__(self, checker: _Checker, text: str, raw: bytes | None = None) -> None:
        self.checker = checker
        self.context = checker.context
        self.text = text
        self.raw = raw  # the bytes text decodes from, where the caller has them
        self.compiled = _compile(checker)
        self.tails: dict[str, _Tail] = {}
        self.bodies: dict[str, _Body] = {}
        self.pairs: dict[int, list[_Problem]] = {}
        # VmFlags text -> what _unknown_flags finds in it
        self.flag_problems: dict[str, list[tuple[int, str, str, Severity]]] = {}
        # the C module's way: problems of each distinct body, verdicts of each distinct pair
        self.body_keys: dict[tuple[Any, ...], _Verdict] = {}
        self.pair_keys: dict[tuple[Any, ...], list[int]] = {}
        self._starts: list[int] | None = None
        self.column = _render.name_column(checker.profile, checker.word_size)

    def first_error(self) -> SmapsSyntaxError | None:
        """The whole text's first syntax error, as parse_smaps reports it (computed once)."""
        if not hasattr(self, "_first_error"):
            self._first_error = _first_syntax_error(self.text)
        return self._first_error

    def run(self) -> int:
        columns = _columns(self.compiled, self.checker)
        if columns is not None:
            # The lists and tuples made here hold no reference cycles: collecting while they
            # are made would only walk them again and again.
            collecting = gc.isenabled()
            gc.disable()
            try:
                return self.run_columns(columns)
            finally:
                if collecting:
                    gc.enable()
        return int(
            self.compiled.loop(
                self.text, _ENTRY.finditer, _HEAD.match, _NEXT_HEAD.search, self.tails,
                self.bodies, self.pairs, self.tail_of, self.body_of, self.pair_of, self.slow,
                self.problems, self.fail, self.column,
            )
        )  # fmt: skip

    # ---- the C module's way (see _Columns)

    def run_columns(self, columns: _Columns) -> int:
        text = self.text
        data = self.raw if self.raw is not None else text.encode("latin-1")
        size = len(data)
        marker = "\n" + (self.checker.profile.vmflags_prefix or "").rstrip(" ")
        pos, line, count = 0, 1, 0
        prev: tuple[Any, Any] = (None, None)
        while pos < size:
            sinks: tuple[list[Any] | None, ...] = tuple(
                None if name == "fields" else [] for name in _COLUMN_SLOTS
            )
            fields: tuple[list[Any], ...] = tuple([] for _ in columns.names)
            end, end_line, _status = columns.program.run(data, pos, line, None, sinks, fields)
            got: dict[str, Any] = dict(zip(_COLUMN_SLOTS, sinks, strict=True))
            got.update(zip(columns.names, fields, strict=True))
            lines: list[int] = got["line"]
            if lines:
                n = len(lines)
                k = _first_misplaced(got["q"], got["pad"], self.column)
                stop = end
                if k < n:  # entry k's name is not where the kernel pads it to
                    stop = self.line_start(lines[k + 1]) if k + 1 < n else end
                    end, end_line = self.line_start(lines[k]), lines[k]
                    for column in got.values():
                        if column is not None:
                            del column[k:]
                if k:
                    prev = self.check_columns(columns, got, end_line, prev)
                    count += k
                pos, line = end, end_line
                if k == n:
                    continue
            else:
                # Not an exact entry: cut it as the loop does, for the slow path to say why.
                head = _HEAD.match(text, pos)
                nl = text.find("\n", pos)
                mark = text.find(marker, nl)
                if head is None or mark < 0:
                    found = _NEXT_HEAD.search(text, nl + 1) if head is None else None
                    stop = found.start() if found is not None else size
                else:
                    stop = text.find("\n", mark + 1) + 1
            line, prev_start, prev_end, taken = self.slow(pos, stop, line, *prev)
            prev = (prev_start, prev_end)
            count += taken
            pos = stop
        return count

    def line_start(self, line: int) -> int:
        """Where line ``line`` (1-based) starts; the text's length for the line after the
        last (the text ends with a newline)."""
        if self._starts is None:
            self._starts = [0, 0, *(m.end() for m in re.finditer("\n", self.text))]
        return self._starts[line]

    def check_columns(
        self, columns: _Columns, got: dict[str, Any], end_line: int, prev: tuple[Any, Any]
    ) -> tuple[Any, Any]:
        """Check a run of exact entries; the last range, for the next entry."""
        lines: list[int] = got["line"]
        n = len(lines)

        def column(name: str) -> list[Any]:
            """A column, as the values of the loop have it (absent: None)."""
            if name == "VmFlags":  # as printed after the label, from a blank
                return [None if f is None else " " + f for f in got["VmFlags"]]
            if name == "name":
                return [text or "" for text in got["name"]]
            if name == "max_kB":
                kb = [got[k] for k in columns.names if k in self.checker.kb_fields]
                return [max(filter(None, values), default=0) for values in zip(*kb, strict=True)]
            return raw(name)

        def raw(name: str) -> list[Any]:
            """A column as the C module filled it (absent: None)."""
            found = got.get(name)
            return found if found is not None and len(found) == n else [None] * n

        # each distinct body once, by its values (fields, VmFlags, Name)
        keys = list(zip(*map(raw, columns.body_args), strict=True))
        known = self.body_keys
        bad: set[tuple[Any, ...]] = set()
        for key in dict.fromkeys(keys):
            verdict = known.get(key)
            if verdict is None:
                verdict = known[key] = self.body_verdict(columns, key)
            if any(verdict):
                bad.add(key)
        if bad:
            # Located in each entry's own text: equal values may be printed apart (zeros).
            for i, key in enumerate(keys):
                if key in bad:
                    self.problems(
                        lines[i], self.body_problems(columns, got, i, end_line, known[key])
                    )
        # each distinct set of what the header invariants read, once
        if columns.pair_args:
            keys = list(zip(*map(raw, columns.pair_args), strict=True))
            verdicts = self.pair_keys
            failing = set()
            for key in dict.fromkeys(keys):
                indexes = verdicts.get(key)
                if indexes is None:
                    indexes = verdicts[key] = columns.pair_check(*key)
                if indexes:
                    failing.add(key)
            if failing:
                for i, key in enumerate(keys):
                    if key in failing:
                        body = _Body(0, self.body_text(got, i, end_line))
                        values = {**self.body_values(columns, got, i), **self.tail_values(got, i)}
                        invariants = self.compiled.pair_invariants
                        self.problems(lines[i], _located(invariants, verdicts[key], values, body))
        return columns.ranges(
            self.fail, *prev, lines, got["start"], got["end"], *map(column, columns.range_args)
        )

    def body_verdict(self, columns: _Columns, key: tuple[Any, ...]) -> _Verdict:
        """For the body whose values are ``key``: the body invariants that do not hold, the
        unknown VmFlags mnemonics, and the fields the ABI document does not describe."""
        failing = columns.body_check(*key)
        flags = key[len(columns.names)]  # VmFlags follow the fields
        undocumented = [name for name, at in columns.undocumented if key[at] is not None]
        return failing, self.unknown_flags(flags), undocumented

    def body_problems(
        self, columns: _Columns, got: dict[str, Any], i: int, end_line: int, verdict: _Verdict
    ) -> list[_Problem]:
        """What body_of finds in entry ``i``'s body, whose verdict is ``verdict``."""
        body = _Body(0, self.body_text(got, i, end_line))
        return self.body_findings(body, self.body_values(columns, got, i), verdict)

    def body_findings(
        self, body: _Body, values: dict[str, Any], verdict: _Verdict
    ) -> list[_Problem]:
        """The problems of a body with these values and this verdict, located in its text."""
        failing, unknown, undocumented = verdict
        offset = body.text.count("\n")  # of the VmFlags line, the last
        problems: list[_Problem] = [(offset, *problem) for problem in unknown]
        for name in undocumented:
            problems.append(
                (body.where[name][0], 1, UNKNOWN_FIELD, _undocumented(name), "warning")
            )
        problems += _located(self.compiled.body_invariants, failing, values, body)
        problems.sort()
        return problems

    def body_text(self, got: dict[str, Any], i: int, end_line: int) -> str:
        lines: list[int] = got["line"]
        after = lines[i + 1] if i + 1 < len(lines) else end_line
        return self.text[self.line_start(lines[i] + 1) : self.line_start(after)]

    def body_values(self, columns: _Columns, got: dict[str, Any], i: int) -> dict[str, Any]:
        """The values of entry ``i``'s body, as body_of has them."""
        values: dict[str, Any] = {}
        for name in columns.names:
            if (value := got[name][i]) is not None:
                values[name] = value
        kb = [values[n] for n in columns.names if n in self.checker.kb_fields and values.get(n)]
        values["max_kB"] = max(kb) if kb else 0
        values["VmFlags"] = " " + got["VmFlags"][i]
        if got["Name"] and got["Name"][i] is not None:
            values["Name"] = got["Name"][i]
        return values

    def tail_values(self, got: dict[str, Any], i: int) -> dict[str, Any]:
        """The values of entry ``i``'s header tail, as tail_of has them."""
        values = {name: got[name][i] for name in _HEADER_COLUMNS}
        values["name"] = values["name"] or ""
        return values

    # ---- once per distinct tail, body, pair

    def tail_of(self, tail: str) -> _Tail:
        result = _Tail(len(self.tails))
        self.tails[tail] = result
        match = _TAIL.fullmatch(tail)
        if match is None:
            return result  # not taken: the slow path says why
        perms, offset, major, minor, inode, pad, name = match.groups()
        result.ok = True
        result.name = name or ""
        result.pad = len(pad or "")
        result.prefix = 2 + match.end(5) + 1  # '-' and ' ' around the range; the tail to ' '
        result.values = {
            "perms": perms, "offset": _hex(offset), "major": _hex(major), "minor": _hex(minor),
            "inode": _number(inode), "name": result.name,
        }  # fmt: skip
        return result

    def body_of(self, body: str) -> _Body:
        result = _Body(len(self.bodies), body)
        self.bodies[body] = result
        result.lines = body.count("\n") + 1  # and the header line
        compiled = self.compiled
        match = compiled.body.fullmatch(body)
        if match is None:
            return result  # not taken: the slow path says why
        groups = match.groups()
        texts = compiled.pick(groups)
        try:
            numbers = list(map(_NUMBERS.__getitem__, texts))
        except KeyError:
            numbers = _numbers(texts)
        values: dict[str, Any] = dict(zip(compiled.names, numbers, strict=True))
        for name in compiled.optional:
            if values[name] is None:  # an optional line that is not there
                del values[name]
        # the largest kB value (0 if none is above 0)
        values["max_kB"] = max(
            filter(None, itertools.compress(numbers, compiled.kb_mask)), default=0
        )
        unknown: list[tuple[int, str, str, Severity]] = []
        if compiled.vmflags_group:
            flags = groups[compiled.vmflags_group - 1]
            values["VmFlags"] = " " + flags
            unknown = self.unknown_flags(flags)
        if compiled.name_group and (name := groups[compiled.name_group - 1]) is not None:
            values["Name"] = name
        result.values = values
        result.ok = True
        undocumented = [name for name in self.checker.undocumented if name in values]
        failing = compiled.check_body(values, values)
        if unknown or undocumented or failing:
            result.problems = self.body_findings(result, values, (failing, unknown, undocumented))
        return result

    def unknown_flags(self, flags: str) -> list[tuple[int, str, str, Severity]]:
        """(column, rule, message, severity) of each mnemonic of a VmFlags text the profile
        does not print (once per distinct text)."""
        found = self.flag_problems.get(flags)
        if found is None:
            found = self.flag_problems[flags] = self._unknown_flags(flags)
        return found

    def _unknown_flags(self, flags: str) -> list[tuple[int, str, str, Severity]]:
        profile = self.checker.profile
        found: list[tuple[int, str, str, Severity]] = []
        column = len(profile.vmflags_prefix or "") + 1
        for flag in flags.split():
            if flag not in profile.vmflags:
                message = f"VmFlags mnemonic '{flag}' is not printed by {profile.describe()}"
                found.append((column, UNKNOWN_VMFLAG, message, "warning"))
            column += 3
        return found

    def pair_of(self, tail: _Tail, body: _Body) -> list[_Problem]:
        bad = self.compiled.check_pair(body.values, tail.values)
        values = {**body.values, **tail.values} if bad else {}
        found = _located(self.compiled.pair_invariants, bad, values, body)
        self.pairs[tail.id * _PAIR + body.id] = found
        return found

    def problems(self, line: int, found: list[_Problem]) -> None:
        for offset, column, rule, message, severity in found:
            self.context.add(line + offset, column, rule, message, severity)

    def fail(self, index: int, line: int, values: dict[str, Any]) -> None:
        inv = self.compiled.range_invariants[index]
        anchor = _anchor(inv, values)
        column = 1
        if anchor == "end" and "start" in values:
            column = len(format(values["start"], "08x")) + 2
        self.context.add(line, column, inv.id, invariant_message(inv, values), inv.severity)

    # ---- the slow path

    def slow(self, begin: int, end: int, line: int, prev_start: int | None,
             prev_end: int | None) -> tuple[int, int | None, int | None, int]:  # fmt: skip
        """Check ``text[begin:end]`` entry by entry; the new line number, the last range seen
        and the number of entries."""
        count = 0
        prev = None if prev_start is None or prev_end is None else (prev_start, prev_end)
        for a, b, at in _chunks(self.text, begin, end, line):
            chunk = self.text[a:b]
            model = _parse_chunk(self.context, chunk, at, "smaps", self.first_error)
            if model is None:
                continue
            count += 1
            complete = chunk.endswith("\n")
            lines = chunk.split("\n")
            if complete:
                lines.pop()
            self.checker.check_entry(_Entry(at, lines, model, complete), prev)
            prev = (model.start, model.end)
        line += self.text.count("\n", begin, end)
        if prev is None:
            return line, prev_start, prev_end, count
        return line, prev[0], prev[1], count


# --- the fast path in C ------------------------------------------------------------------------
#
# Where the C module (smapsfmt._parse._match) runs the patterns, the exact entry pattern of the
# profile (the header as _HEAD and _TAIL take it, then the profile's body pattern) is run over the
# whole text in columns mode: one list per part of the header and per field, one item per entry. An
# entry it does not take is cut and checked as the loop above does. The checks are the same:
# each distinct body (its values) and each distinct set of what the header invariants read are
# checked once, by functions compiled from the ABI's expressions; the range invariants run per
# entry.

# The lists the C module fills: one per part of an entry ("q": the length of the header up to
# the name's padding; "pad": the padding's length, None without a name).
_COLUMN_SLOTS = ("line", "fields", "q", "start", "end", "perms", "offset", "major", "minor",
                 "inode", "pad", "name", "Name", "VmFlags")  # fmt: skip
_HEADER_COLUMNS = ("perms", "offset", "major", "minor", "inode", "name")


def _first_misplaced(q: list[int], pad: list[int | None], width: int) -> int:
    """The first entry whose name is not where the kernel puts it (len(q) if none): at column
    ``width`` after a header shorter than that, else after one blank (as the loop checks)."""
    # Most often every header is shorter than width, and every name at width.
    columns = map(operator.add, itertools.compress(q, pad), filter(None, pad))
    if max(q, default=0) < width and set(columns) <= {width}:
        return len(q)
    for i, (head, blanks) in enumerate(zip(q, pad, strict=True)):
        if blanks is not None and head + blanks != (width if head < width else head + 1):
            return i
    return len(q)


@dataclass
class _Columns:
    """A profile's exact entry pattern, run in C, and its checks over columns."""

    program: Any  # smapsfmt._parse._match.Program
    names: tuple[str, ...]  # field columns, in the profile's order
    body_args: tuple[str, ...]  # what body_check takes, in order: fields, VmFlags, Name
    body_check: Callable[..., list[int]]
    undocumented: tuple[tuple[str, int], ...]  # fields not in the ABI document, and their place
    pair_args: tuple[str, ...]
    pair_check: Callable[..., list[int]]
    range_args: tuple[str, ...]
    ranges: Callable[..., tuple[Any, Any]]


def _columns(compiled: _Compiled, checker: _Checker) -> _Columns | None:
    """The profile's entry pattern as a C program (built once per profile and invariants), or
    None where the C module is not built or does not run it, and before VmFlags (3.8), whose
    entries the loop above takes."""
    if not compiled.columns_tried:
        compiled.columns = _build_columns(compiled, checker)
        compiled.columns_tried = True
    return compiled.columns


def _build_columns(compiled: _Compiled, checker: _Checker) -> _Columns | None:
    from .._parse import accel as _accel

    if checker.profile.vmflags_prefix is None or not _accel.available():
        return None
    slot = {name: i for i, name in enumerate(_COLUMN_SLOTS)}
    header = f"(({_ADDRESS})-({_ADDRESS}) {_TAIL_FIELDS}){_TAIL_NAME}\\n"  # _HEAD, _TAIL
    recipe = [(_accel.SKIP, 0, 0), (_accel.LEN, slot["q"], 0)]
    recipe += [(_accel.HEX, slot[name], 0) for name in ("start", "end")]
    recipe += [(_accel.TEXT, slot["perms"], 0)]
    recipe += [(_accel.HEX, slot[name], 0) for name in ("offset", "major", "minor")]
    recipe += [(_accel.DEC, slot["inode"], 0), (_accel.LEN, slot["pad"], 0)]
    recipe += [(_accel.TEXT, slot["name"], 0)]
    field_group = {group: i for i, (_name, group) in enumerate(compiled.fields)}
    for group in range(1, compiled.body.groups + 1):
        if group == compiled.name_group:
            recipe.append((_accel.TEXT, slot["Name"], 0))
        elif group == compiled.vmflags_group:
            recipe.append((_accel.TEXT, slot["VmFlags"], 0))
        else:
            recipe.append((_accel.FIELD, field_group[group], 0))
    pattern = re.compile((header + compiled.body.pattern).encode("latin-1"))
    program = _accel.program(pattern, recipe, None, _COLUMN_SLOTS, compiled.names, (), 0, 16)
    if program is None:
        return None
    body_args = compiled.names + ("VmFlags",) + (("Name",) if compiled.name_group else ())
    kb = [name for name in compiled.names if name in checker.kb_fields]
    pair_names = {n for inv in compiled.pair_invariants for n in inv.arguments()}
    if "max_kB" in pair_names:  # computed from every kB field
        pair_names = (pair_names - {"max_kB"}) | set(kb)
    pair_args = tuple(sorted(pair_names))
    range_args = tuple(
        sorted({n for inv in compiled.range_invariants for n in inv.names} - _RANGE_NAMES)
    )
    return _Columns(
        program=program, names=compiled.names, body_args=body_args,
        body_check=_generate_positional(compiled.body_invariants, body_args, kb),
        pair_args=pair_args,
        pair_check=_generate_positional(compiled.pair_invariants, pair_args, kb),
        undocumented=tuple(
            (name, body_args.index(name)) for name in sorted(checker.undocumented & set(body_args))
        ),
        range_args=range_args, ranges=_generate_ranges(compiled.range_invariants, range_args),
    )  # fmt: skip


def _generate_positional(
    invariants: list[Invariant], args: tuple[str, ...], kb: list[str]
) -> Callable[..., list[int]]:
    """What _generate_checker's function does, on values given one argument each, in the order
    of ``args``: ``VmFlags`` as printed after its label, ``name`` None for no name; max_kB is
    computed from the ``kb`` fields among them."""
    lines = [f"def check({', '.join(args)}):\n"]
    if "VmFlags" in args:
        lines.append("    if VmFlags is not None:\n        VmFlags = ' ' + VmFlags\n")
    if "name" in args:
        lines.append("    if name is None:\n        name = ''\n")
    if any("max_kB" in inv.arguments() for inv in invariants):
        present = [name for name in kb if name in args]
        lines.append(
            f"    max_kB = max(filter(None, ({''.join(n + ', ' for n in present)})), default=0)\n"
        )
    absent = sorted({n for inv in invariants for n in inv.arguments()} - {*args, "max_kB"})
    lines += [f"    {name} = None\n" for name in absent]  # not printed by this profile
    lines += _verdicts(invariants)
    namespace: dict[str, Any] = {}
    exec(compile("".join(lines), "<smapsfmt invariants>", "exec"), namespace)
    return namespace["check"]  # type: ignore[no-any-return]


def _range_checks(invariants: list[Invariant]) -> list[str]:
    """The range invariants as statements of a per-entry loop (two levels in): each calls
    ``fail(index, line, values)`` when its invariant does not hold."""
    checks: list[str] = []
    for index, inv in enumerate(invariants):
        guards = [f"{n} is not None" for n in sorted(inv.names - _RANGE_NAMES)]
        if inv.uses_prev:
            guards.insert(0, "prev_start is not None")
        call = ", ".join(f"{n!r}: {n}" for n in inv.arguments())
        check = f"if not {inv.python}: fail({index}, line, {{{call}}})"
        if guards:
            check = f"if {' and '.join(guards)}:\n            {check}"
        checks.append(f"        {check}\n")
    return checks


def _verdicts(invariants: list[Invariant]) -> list[str]:
    """The end of a generated check: the indexes of the invariants that do not hold (one
    naming a value that is absent is not checked)."""
    lines = ["    bad = []\n"]
    for index, inv in enumerate(invariants):
        guards = " and ".join(f"{n} is not None" for n in inv.arguments()) or "True"
        lines.append(f"    if {guards} and not {inv.python}:\n        bad.append({index})\n")
    lines.append("    return bad\n")
    return lines


def _generate_ranges(invariants: list[Invariant], args: tuple[str, ...]) -> Callable[..., Any]:
    """The range invariants over columns: entry by entry, with the last range carried over."""
    checks = _range_checks(invariants)
    each = ("line", "start", "end", *args)
    names, lists = ", ".join(each), ", ".join(f"{name}_" for name in each)
    source = (
        f"def ranges(fail, prev_start, prev_end, {lists}):\n"
        f"    for {names} in zip({lists}):\n" + "".join(checks) + "        prev_start = start\n"
        "        prev_end = end\n"
        "    return prev_start, prev_end\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<smapsfmt validator ranges>", "exec"), namespace)
    return namespace["ranges"]  # type: ignore[no-any-return]


# Numbers met in bodies and tails, converted once (bounded: past the bound, converted without
# being kept). None stands for an optional line that is not there.
_MEMO_LIMIT = 65536
_NUMBERS: dict[str | None, int | None] = {None: None}
_HEXES: dict[str, int] = {}


def _numbers(texts: Iterable[str | None]) -> list[int | None]:
    numbers = [None if text is None else int(text) for text in texts]
    if len(_NUMBERS) < _MEMO_LIMIT:
        _NUMBERS.update(zip(texts, numbers, strict=True))
    return numbers


def _hex(text: str) -> int:
    number = _HEXES.get(text)
    if number is None:
        number = int(text, 16)
        if len(_HEXES) < _MEMO_LIMIT:
            _HEXES[text] = number
    return number


def _number(text: str) -> int:
    number = _NUMBERS.get(text)
    if number is None:
        number = int(text)
        if len(_NUMBERS) < _MEMO_LIMIT:
            _NUMBERS[text] = number
    return number


# --- the three ways in: smaps text, smaps_rollup text, a parsed model ---------------------------


def _validate_text(context: _Context, text: str, kind: str, allowed: tuple[Profile, ...],
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
    if _HEADER_START.match(text) is None and _NEXT_START.search(text) is None:
        # No line may start an entry: the text is one stretch, refused at its first error,
        # and the profile is the one closest to its first 64 KiB.
        _parse_chunk(context, text, 1, "smaps")
        head = text[:65536]
        profiles, how = _detect([head.split("\n", 1)[-1]], allowed, kernel)
        word = _render.word_size(head)
        return Report([], "smaps", profiles[0], tuple(profiles[1:]), how, 0, word)
    sample = [m.group(4) for m in _first(_ENTRY.finditer(text), 8)]
    if not sample:
        first = next(_chunks(text, 0, len(text), 1))
        sample = [text[first[0] : first[1]].split("\n", 1)[-1]]
    profiles, how = _detect(sample, allowed, kernel)
    word_size = _render.word_size(text)
    checker = _Checker(context, "smaps", profiles, how, word_size)
    count = _FastSmaps(checker, text, raw).run()
    return Report([], "smaps", checker.profile, tuple(profiles[1:]), how, count, word_size)


def _validate_before(context: _Context, text: str, long: int, kind: str,  # noqa: PLR0917
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
            if _HEADER_START.match(text, long, long + _limits.MAX_LINE)
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


_NEXT_START = re.compile(r"\n(?=[0-9a-fA-F]{4,}-)")


def _first(iterator: Iterator[re.Match[str]], n: int) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    for match in iterator:
        found.append(match)
        if len(found) == n:
            break
    return found


def _detect(sample: list[str], allowed: tuple[Profile, ...],
            kernel: str | None) -> tuple[list[Profile], str]:  # fmt: skip
    """The profiles whose exact patterns take the most sample entries (ties in INDEX order,
    mainline first), or the closest one by lines; and how it was found."""
    signatures = _profile_signatures("smaps")
    labels = [_entry_labels(body) for body in sample]
    score: dict[Profile, int] = {}
    for body, entry_labels in zip(sample, labels, strict=True):
        for profile in signatures.get(_signature(entry_labels), ()):
            if profile in allowed and _body_pattern(profile).fullmatch(body):
                score[profile] = score.get(profile, 0) + 1
    suffix = _asked(kernel)
    if score:
        best = max(score.values())
        exact = [p for p in allowed if score.get(p) == best]
        how = "matched" if 2 * best >= len(sample) else "closest"
        return _prefer_mainline(exact), how + suffix
    distance = {p: sum(_distance(entry, p) for entry in labels) for p in allowed}
    best = min(distance.values())
    return _prefer_mainline(p for p in allowed if distance[p] == best)[:1], "closest" + suffix


def _distance(labels: list[str], profile: Profile, kind: str = "smaps") -> int:
    """How many lines differ between an entry's labels and a profile's (an edit distance)."""
    wanted = [line.field for line in profile.lines(kind) if not line.optional]
    if kind == "smaps" and profile.vmflags_prefix is not None:
        wanted.append("VmFlags")
    have = [label for label in labels if label not in _OPTIONAL]
    previous = list(range(len(wanted) + 1))
    for i, a in enumerate(have, start=1):
        current = [i]
        for j, b in enumerate(wanted, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


@functools.lru_cache(maxsize=64)
def _body_pattern(profile: Profile) -> re.Pattern[str]:
    parts: list[str] = []
    for line in profile.smaps_lines:
        piece = line.pattern()
        parts.append(f"(?:{piece})?" if line.optional else piece)
    if profile.vmflags_prefix is not None:
        parts.append(re.escape(profile.vmflags_prefix) + r"(?:[!-~]{2} )*\n")
    return re.compile("".join(parts))


def _validate_rollup(context: _Context, text: str, allowed: tuple[Profile, ...],
                     kernel: str | None) -> Report:  # fmt: skip
    with_rollup = [p for p in allowed if p.rollup_lines is not None]
    if not with_rollup:
        where = ", ".join(p.describe() for p in allowed)
        context.add(
            1, 1, LAYOUT_NO_ROLLUP, f"{where} has no smaps_rollup (it first appeared in 4.14)"
        )
        return Report([], "rollup", None, how="no profile of that kernel has smaps_rollup")
    model = _parse_chunk(context, text, 1, "rollup")
    if model is None:
        return Report([], "rollup", None, how="the text is not a smaps_rollup")
    complete = text.endswith("\n")
    lines = text.split("\n")
    if complete:
        lines.pop()
    labels = _entry_labels("\n".join(lines[1:]))
    entry = _Entry(1, lines, model, complete)
    from .._render import render_entry

    candidates = [
        p for p in _profile_signatures("rollup").get(_signature(labels), ()) if p in with_rollup
    ]
    suffix = _asked(kernel)
    exact = [p for p in candidates if render_entry(model, p) == text]
    how = "matched" + suffix
    if not exact:
        how = "closest" + suffix
        if not candidates:
            candidates = sorted(with_rollup, key=lambda p: _distance(labels, p, "rollup"))
            best = _distance(labels, candidates[0], "rollup")
            candidates = [p for p in candidates if _distance(labels, p, "rollup") == best]
        exact = candidates[:1]
    exact = _prefer_mainline(exact)
    # Profiles that print the same text: the one whose own invariants hold best (4.14-4.18
    # ends the range at the gate VMA, 4.19+ does not).
    scored = []
    for profile in exact:
        scratch = _Context(context.abi, context.path, context.strict)
        _Checker(scratch, "rollup", [profile], how, 64).check_entry(entry, None)
        scored.append((scratch.errors(), profile))
    best = min(score for score, _ in scored)
    winners = [profile for score, profile in scored if score == best]
    checker = _Checker(context, "rollup", winners, how, _render.word_size(lines[0]))
    checker.check_entry(entry, None)
    return Report([], "rollup", checker.profile, tuple(winners[1:]), how, 1, checker.word_size)


def _validate_model(context: _Context, model: Any, allowed: tuple[Profile, ...],
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
    first = entries[0]
    labels = list(first.fields)
    if getattr(first, "vmflags", None) is not None:
        labels.append("VmFlags")
    pool = [p for p in allowed if kind == "smaps" or p.rollup_lines is not None]
    if not pool:
        context.add(1, 1, LAYOUT_NO_ROLLUP, "no profile of that kernel has smaps_rollup")
        return Report([], kind, None, how="no profile of that kernel has smaps_rollup")
    candidates = [p for p in _profile_signatures(kind).get(_signature(labels), ()) if p in pool]
    how = "matched" if candidates else "closest"
    if not candidates:
        candidates = sorted(pool, key=lambda p: _distance(labels, p, kind))[:1]
    profiles = _prefer_mainline(candidates)
    checker = _Checker(context, kind, profiles, how, 64)
    prev: tuple[int, int] | None = None
    for entry in entries:
        lines = render_entry(entry, checker.profile).split("\n")[:-1]
        checker.check_entry(_Entry(entry.line, lines, entry), prev)
        prev = (entry.start, entry.end)
    return Report([], kind, checker.profile, tuple(profiles[1:]), how, len(entries))
