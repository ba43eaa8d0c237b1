"""The machine-readable forms of ``smapsfmt validate``: SARIF 2.1.0, and the JSON Schema of
``--format json``.

``--format json`` prints one JSON object, ``{"files": [...]}``: one object per FILE, in order,
with what its summary line says (``path``, ``status``, ``kind``, ``mappings``, ``errors``,
``warnings``, and ``profile``: the kernel profile used, in the words of the summary line and of
``rollup`` and ``check``, which print it under the same key) and its ``diagnostics``, each
``{path, line, column, rule, severity, message}``. A FILE that cannot be read has status
``unreadable``, no profile, and one ``io-error`` diagnostic at line 1, column 1. With
``--statistics`` the output is an array of one ``{rule, count, description}`` per rule that
was reported instead. :func:`validate_schema` describes both.

``--format sarif`` prints one SARIF 2.1.0 log with one run: ``tool.driver`` with every rule
(``smapsfmt rules``), one result per diagnostic with its ``ruleId``, ``ruleIndex``,
``level``, message and location (``artifactLocation.uri``: the FILE as a relative URI
reference, or a ``file://`` URI for an absolute path; ``region.startLine``/``startColumn``,
columns counting bytes as in the text output); an unreadable FILE is an ``io-error`` result
without a region, and makes ``invocations[0].executionSuccessful`` false. ``artifacts`` lists
each FILE (its URI as the results give it), with the profile used in ``properties.profile``
(null for a FILE that cannot be read), as ``--format json`` has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .._validate.rules import IO_ERROR
from .schemas import profile_schema

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
    diagnostics: Iterable[Diagnostic],
    rules: Sequence[Rule],
    version: str,
    *,
    complete: bool,
    profiles: Sequence[tuple[str | None, str | None]] = (),
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of one run; ``complete`` is false when a FILE could not be read;
    ``profiles``: (FILE, the profile used, None if it could not be read), one per FILE."""
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
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": complete}],
    }
    if profiles:
        run["artifacts"] = [
            {"location": {"uri": artifact_uri(path)}, "properties": {"profile": profile}}
            for path, profile in profiles
        ]
    run["results"] = results
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def validate_schema() -> dict[str, Any]:
    """The JSON Schema of ``smapsfmt validate --format json`` (with and without
    ``--statistics``)."""
    path: dict[str, Any] = {
        "type": ["string", "null"],
        "description": "The FILE as given on the command line ('<stdin>' for '-', "
        "/proc/PID/smaps or /proc/PID/smaps_rollup with --pid).",
    }
    diagnostic = {
        "type": "object",
        "description": "One problem found in one FILE (or a FILE that cannot be read).",
        "additionalProperties": False,
        "required": ["path", "line", "column", "rule", "severity", "message"],
        "properties": {
            "path": path,
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
    file = {
        "type": "object",
        "description": "One FILE, in the order given: what its summary line says, then its "
        "diagnostics.",
        "additionalProperties": False,
        "required": [
            "path",
            "status",
            "kind",
            "mappings",
            "errors",
            "warnings",
            "profile",
            "diagnostics",
        ],
        "properties": {
            "path": path,
            "status": {
                "enum": ["valid", "invalid", "unreadable"],
                "description": "invalid: a diagnostic is an error (exit status 1); "
                "unreadable: the FILE could not be read (exit status 2).",
            },
            "kind": {
                "enum": ["smaps", "smaps_rollup", None],
                "description": "What the FILE was read as (--kind; by default a first header "
                "naming [rollup] is a smaps_rollup); null when it could not be read.",
            },
            "mappings": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "The number of mappings of a smaps (a number of entries, no "
                "unit); null for a smaps_rollup or a FILE that cannot be read.",
            },
            "errors": {
                "type": "integer",
                "minimum": 0,
                "description": "The number of its diagnostics that are errors (no unit).",
            },
            "warnings": {
                "type": "integer",
                "minimum": 0,
                "description": "The number of its diagnostics that are warnings (no unit).",
            },
            "profile": profile_schema(),
            "diagnostics": {
                "type": "array",
                "description": "Its diagnostics, in the order of its text (the rules --select "
                "and --ignore leave).",
                "items": {"$ref": "#/$defs/diagnostic"},
            },
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
        "description": "The output of 'smapsfmt validate --format json': an object with one "
        "entry per FILE, each naming the kernel profile used (as rollup and check name it, "
        "under the same key) with its diagnostics; with --statistics, an array of counts per "
        "rule (most frequent first).",
        "anyOf": [
            {
                "type": "object",
                "description": "The FILEs, in order.",
                "additionalProperties": False,
                "required": ["files"],
                "properties": {
                    "files": {
                        "type": "array",
                        "description": "One entry per FILE (per text with --pid).",
                        "items": {"$ref": "#/$defs/file"},
                    }
                },
            },
            {
                "type": "array",
                "description": "With --statistics: one count per rule reported.",
                "items": {"$ref": "#/$defs/statistic"},
            },
        ],
        "$defs": {"file": file, "diagnostic": diagnostic, "statistic": statistic},
    }
