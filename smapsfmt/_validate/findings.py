"""What the validator reports: the ids of the rules that are not in the ABI document, and the
collector of one text's diagnostics.

The invariants' ids and texts are the ABI document's; these are the validator's own
(``smapsfmt rules``; docs/rules.md says where each comes from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._diagnostics import Diagnostic, Severity
from .._spec.abi import ABI

__all__ = [
    "LAYOUT_EXTRA",
    "LAYOUT_FORMAT",
    "LAYOUT_HEADER",
    "LAYOUT_MISSING",
    "LAYOUT_NEWLINE",
    "LAYOUT_NO_ROLLUP",
    "LAYOUT_ORDER",
    "LAYOUT_VMFLAGS",
    "RULE_DESCRIPTIONS",
    "SYNTAX",
    "UNKNOWN_FIELD",
    "UNKNOWN_VMFLAG",
    "WARNING_RULES",
    "Context",
    "Entry",
    "Problem",
]

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

# Each of them in one line, and the ones that are warnings.
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

# A problem found once for a distinct body or header: line offset from the entry's header,
# column, rule, message, severity.
Problem = tuple[int, int, str, str, Severity]


class Context:
    """The diagnostics of one text, as they are found."""

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

    def problems(self, line: int, found: list[Problem]) -> None:
        """Problems located from an entry's header at ``line``."""
        for offset, column, rule, message, severity in found:
            self.add(line + offset, column, rule, message, severity)

    def errors(self) -> int:
        return sum(1 for d in self.found if d.severity == "error")

    def finish(self) -> list[Diagnostic]:
        return sorted(self.found, key=lambda d: (d.line, d.column))


@dataclass
class Entry:
    """One entry of the input, parsed alone, with its raw lines."""

    line: int
    lines: list[str]  # the entry's lines, without newlines
    model: Any  # Mapping or Rollup
    complete: bool = True  # ends with a newline
