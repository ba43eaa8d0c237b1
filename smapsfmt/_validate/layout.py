"""The slow path's checks of one entry: its layout against the profile, line by line (what
differs, where, in words), then its invariants.

An entry that the fast paths do not take exactly comes here, parsed alone: it is rendered with
the profile and compared with its own lines, so that each diagnostic says where and how it
differs from what the kernel prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .. import _render
from .._spec.header import layout_messages
from .._spec.profiles import Line, Profile
from .checks import failing_by_row
from .findings import (
    LAYOUT_EXTRA,
    LAYOUT_FORMAT,
    LAYOUT_HEADER,
    LAYOUT_MISSING,
    LAYOUT_NEWLINE,
    LAYOUT_ORDER,
    LAYOUT_VMFLAGS,
    UNKNOWN_FIELD,
    UNKNOWN_VMFLAG,
    Context,
    Entry,
)
from .messages import anchor, invariant_message, value_column

__all__ = ["Checker", "diff_column", "entry_values", "undocumented"]

_LABEL = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")


class Checker:
    """Layout and invariants for one kind of file under one profile (or a tie of profiles)."""

    def __init__(self, context: Context, kind: str, profiles: list[Profile], how: str,
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
        named = {name: [value] for name, value in values.items()}
        for index in failing_by_row(self.invariants, named, 1)[0]:
            inv = self.invariants[index]
            where = anchor(inv, values)
            self.context.add(
                field_lines.get(where, line), field_columns.get(where, 1), inv.id,
                invariant_message(inv, values), inv.severity,
            )  # fmt: skip

    # ---- layout of one entry

    def check_entry(self, entry: Entry, prev: tuple[int, int] | None) -> None:
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
            field_lines[name] = number
            field_columns[name] = value_column(text)
            if line_spec is None:
                self._extra(number, name)
                continue
            seen.append((name, number))
            if name in self.undocumented:
                self.context.add(number, 1, UNKNOWN_FIELD, undocumented(name), "warning")
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
        values = entry_values(model, self.kb_fields)
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

    def _check_order(self, entry: Entry, seen: list[tuple[str, int]], vmflags_at: int | None,
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
                number, diff_column(text, expected), LAYOUT_VMFLAGS,
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
        column = diff_column(text, expected)
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
        column = diff_column(text, expected)
        name = model.pathname.decode("latin-1")
        prefix = expected[: len(expected) - len(name)].rstrip(" ") + " " if name else expected
        if column <= len(prefix):
            part = expected[:column].count(" ")
            # one message per blank-separated group of the profile's header format (the
            # rollup's header prints the same groups: its format is the same with constants)
            messages = layout_messages(self.profile)
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


def undocumented(name: str) -> str:
    return f"'{name}:' is not a field of the ABI document (a vendor field?)"


def _file(kind: str) -> str:
    return "smaps_rollup" if kind == "rollup" else "smaps"


def _show(text: str) -> str:
    return text.replace("\t", "\\t").replace("\n", "\\n")


def diff_column(text: str, expected: str) -> int:
    for index, (a, b) in enumerate(zip(text, expected, strict=False)):
        if a != b:
            return index + 1
    return min(len(text), len(expected)) + 1


def _header(model: Any, profile: Profile, word_size: int) -> str:
    from .._render import header_text

    return header_text(model, profile, word_size)[:-1]


def entry_values(model: Any, kb_fields: frozenset[str]) -> dict[str, Any]:
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
