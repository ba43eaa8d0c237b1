"""Diagnostics: what the validator and the rollup checker report, one problem each.

Text form, one per line: ``PATH:LINE:COL: RULE: message``. JSON form: an object with the keys
``path, line, column, rule, severity, message``. ``severity`` is ``error`` or ``warning``; with
``--strict`` a warning counts as an error. Rule ids are stable: they are listed, with their
source, in docs/rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Diagnostic", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a smaps or smaps_rollup text, at a 1-based line and column."""

    path: str | None
    line: int
    column: int
    rule: str
    severity: Severity
    message: str

    @property
    def location(self) -> str:
        return f"{self.path if self.path is not None else '<data>'}:{self.line}:{self.column}"

    def render(self) -> str:
        """``PATH:LINE:COL: RULE: message`` (warnings say so after the rule id)."""
        tag = self.rule if self.severity == "error" else f"{self.rule} (warning)"
        return f"{self.location}: {tag}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }
