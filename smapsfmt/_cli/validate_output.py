"""The machine-readable forms of ``smapsfmt validate``: SARIF 2.1.0, and the JSON Schema of
``--format json``.

``--format json`` prints one JSON array: every diagnostic of every FILE in order, each
``{path, line, column, rule, severity, message}`` (the shape it has always had), a FILE that
cannot be read included as one ``io-error`` entry at line 1, column 1. With ``--statistics``
the array holds one ``{rule, count, description}`` per rule that was reported instead.
:func:`validate_schema` describes both.

``--format sarif`` prints one SARIF 2.1.0 log with one run: ``tool.driver`` with every rule
(``smapsfmt rules``), one result per diagnostic with its ``ruleId``, ``ruleIndex``,
``level``, message and location (``artifactLocation.uri``: the FILE as a relative URI
reference, or a ``file://`` URI for an absolute path; ``region.startLine``/``startColumn``,
columns counting bytes as in the text output); an unreadable FILE is an ``io-error`` result
without a region, and makes ``invocations[0].executionSuccessful`` false.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .._validate.rules import IO_ERROR

if TYPE_CHECKING:
    from .._diagnostics import Diagnostic
    from .._validate.rules import Rule

__all__ = ["sarif_log", "validate_schema"]

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def artifact_uri(path: str | None) -> str:
    """A FILE as a URI reference: relative paths stay relative, absolute ones are file URIs."""
    from pathlib import PurePosixPath
    from urllib.parse import quote

    if path is None:
        return quote("<data>")
    if path.startswith("/"):
        return PurePosixPath(path).as_uri()
    return quote(path, safe="/")


def sarif_log(
    diagnostics: Iterable[Diagnostic], rules: Sequence[Rule], version: str, *, complete: bool
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of one run; ``complete`` is false when a FILE could not be read."""
    index = {rule.id: n for n, rule in enumerate(rules)}
    results = []
    for d in diagnostics:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(d.path)}}
        if d.rule != IO_ERROR:
            physical["region"] = {"startLine": d.line, "startColumn": d.column}
        result: dict[str, Any] = {
            "ruleId": d.rule,
            "level": d.severity,
            "message": {"text": d.message},
            "locations": [{"physicalLocation": physical}],
        }
        if d.rule in index:
            result["ruleIndex"] = index[d.rule]
        results.append(result)
    driver = {
        "name": "smapsfmt",
        "version": version,
        "rules": [
            {
                "id": rule.id,
                "shortDescription": {"text": rule.description},
                "defaultConfiguration": {"level": rule.severity},
                "properties": {"kind": rule.kind, "kernels": rule.kernels, "source": rule.source},
            }
            for rule in rules
        ],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [{"executionSuccessful": complete}],
                "results": results,
            }
        ],
    }


def validate_schema() -> dict[str, Any]:
    """The JSON Schema of ``smapsfmt validate --format json`` (with and without
    ``--statistics``)."""
    diagnostic = {
        "type": "object",
        "description": "One problem found in one FILE (or a FILE that cannot be read).",
        "additionalProperties": False,
        "required": ["path", "line", "column", "rule", "severity", "message"],
        "properties": {
            "path": {
                "type": ["string", "null"],
                "description": "The FILE as given on the command line ('<stdin>' for '-', "
                "/proc/PID/smaps or /proc/PID/smaps_rollup with --pid).",
            },
            "line": {
                "type": "integer",
                "minimum": 1,
                "description": "The line, from 1 (1 for io-error: the file as a whole).",
            },
            "column": {
                "type": "integer",
                "minimum": 1,
                "description": "The column, from 1, counting bytes (1 for io-error).",
            },
            "rule": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9-]*$",
                "description": "The rule id, as 'smapsfmt rules' lists it; 'io-error' for a "
                "FILE that cannot be read.",
            },
            "severity": {
                "enum": ["error", "warning"],
                "description": "error fails the FILE (exit status 1); warning does not. "
                "With --strict every diagnostic is an error.",
            },
            "message": {"type": "string", "description": "What is wrong, in one line."},
        },
    }
    statistic = {
        "type": "object",
        "description": "How often one rule was reported, over every FILE (--statistics).",
        "additionalProperties": False,
        "required": ["rule", "count", "description"],
        "properties": {
            "rule": {"type": "string", "description": "The rule id."},
            "count": {
                "type": "integer",
                "minimum": 1,
                "description": "The number of diagnostics of this rule (a number of "
                "diagnostics, no unit).",
            },
            "description": {
                "type": "string",
                "description": "The rule's one-line text, as 'smapsfmt rules' prints it.",
            },
        },
    }
    return {
        "title": "smapsfmt validate --format json",
        "description": "The output of 'smapsfmt validate --format json': an array of the "
        "diagnostics of every FILE in order (an unreadable FILE is an io-error entry); with "
        "--statistics, an array of counts per rule (most frequent first).",
        "anyOf": [
            {
                "type": "array",
                "description": "The diagnostics, in the order of the FILEs and of their text.",
                "items": {"$ref": "#/$defs/diagnostic"},
            },
            {
                "type": "array",
                "description": "With --statistics: one count per rule reported.",
                "items": {"$ref": "#/$defs/statistic"},
            },
        ],
        "$defs": {"diagnostic": diagnostic, "statistic": statistic},
    }
