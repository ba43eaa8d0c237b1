"""The JSON Schemas of the command line's JSON outputs, in one registry: ``smapsfmt schema``.

Each output has one schema, by the name of the command that prints it (``parse``, ``rollup``,
``check``; ``error``: the object every command prints with ``--format json`` when it fails),
stamped with ``$schema`` (JSON Schema 2020-12), ``$id`` (``urn:smapsfmt:schema:NAME:VERSION``)
and ``version`` (:data:`SCHEMA_VERSION`, or the schema's own where its output changed shape:
``validate`` 2, an object per FILE where version 1 was an array of diagnostics). Every kernel
field carries its unit as the ABI document gives it (Documentation/ABI/testing/procfs-smaps,
read by smapsfmt._spec.abi): the annotation ``"unit": "kB"``, or ``"unit": null`` for a count
or flag printed bare (THPeligible, ProtectionKey).

A command module adds its own with one line, ``register(NAME, COMMAND, DESCRIPTION, BUILD)``,
``BUILD`` a function returning the schema as a dict, or its ``"module:function"`` name so that
nothing is imported before the schema is asked for. ``smapsfmt schema smaps`` is ``parse``'s
schema for a smaps alone (what ``smapsfmt schema`` printed before there were several).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ERROR_KINDS",
    "SCHEMA_VERSION",
    "diagnostic_schema",
    "names",
    "profile_schema",
    "register",
    "schema",
]

SCHEMA_VERSION = 1

# The ``kind`` of the error object (smapsfmt._cli.main.error_object), with its exit status.
ERROR_KINDS: dict[str, str] = {
    "syntax": "the input is not smaps or smaps_rollup text (exit 1; path, line, column)",
    "invalid": "the input is read, but no kernel prints it (exit 1; rule, path, line, column)",
    "usage": "smapsfmt was called wrongly (exit 2)",
    "input": "an input cannot be read (exit 2)",
    "process": "a live process cannot be read (exit 4 to 11, one per situation)",
    "internal": "a bug in smapsfmt (exit 3)",
    "interrupted": "stopped by SIGINT (exit 130)",
}
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


class _Entry:
    """One registered schema. (A plain class: dataclasses would cost every command's start-up
    the import of inspect, since the command line imports this module's ERROR_KINDS.)"""

    __slots__ = ("build", "command", "description", "name", "version")

    def __init__(
        self,
        name: str,
        command: str,
        description: str,
        build: Callable[[], dict[str, Any]] | str,
        version: int,
    ) -> None:
        self.name = name
        self.command = command
        self.description = description
        self.build = build
        self.version = version


_REGISTRY: dict[str, _Entry] = {}


def register(
    name: str,
    command: str,
    description: str,
    build: Callable[[], dict[str, Any]] | str,
    version: int = SCHEMA_VERSION,
) -> None:
    """Add the schema of one JSON output (see the module docstring)."""
    _REGISTRY[name] = _Entry(name, command, description, build, version)


def names() -> list[tuple[str, str, str]]:
    """(name, command, description) of every schema, in the order registered."""
    return [(e.name, e.command, e.description) for e in _REGISTRY.values()]


def schema(name: str) -> dict[str, Any]:
    """The schema called ``name``, stamped with ``$schema``, ``$id`` and ``version``; KeyError
    when there is none."""
    entry = _REGISTRY[name]
    build = entry.build
    if isinstance(build, str):
        module, _, function = build.partition(":")
        build = getattr(importlib.import_module(module), function)
    assert callable(build)
    body = build()
    stamp = {
        "$schema": _DRAFT,
        "$id": f"urn:smapsfmt:schema:{name}:{entry.version}",
        "version": entry.version,
        "title": body.pop("title", f"smapsfmt {entry.command}"),
        "description": body.pop("description", entry.description),
    }
    return {**stamp, **body}


# --- pieces shared by several outputs -----------------------------------------------------------


def _fields(scope: str | None) -> dict[str, Any]:
    """The ``fields`` object: each field the ABI document names, with its unit; any other
    (vendor) field an integer as printed."""
    from .._spec.abi import load_abi

    properties = {
        spec.name: {
            "type": "integer",
            "minimum": 0,
            "unit": spec.unit,
            "description": spec.description.split("\n")[0].split(". ")[0].rstrip(".") + ".",
        }
        for spec in load_abi().fields.values()
        if spec.numeric and (scope is None or scope in spec.scope)
    }
    return {
        "type": "object",
        "description": "every field line, in the kernel's order: name -> value in its unit",
        "properties": properties,
        "additionalProperties": {
            "type": "integer",
            "minimum": 0,
            "description": "a field not in the specification (a vendor's): its unit is what "
            "the kernel printed (kB unless unitless)",
        },
    }


def _rollup_unit() -> str | None:
    """The unit of every smaps_rollup field (all kB, by the ABI document)."""
    from .._spec.abi import load_abi

    units = {s.unit for s in load_abi().fields.values() if "smaps_rollup" in s.scope}
    if len(units) != 1:
        raise RuntimeError(f"smaps_rollup fields in several units: {sorted(map(str, units))}")
    return units.pop()


def profile_schema() -> dict[str, Any]:
    """The profile validate used for one FILE, in the words of its summary line
    (smapsfmt._spec.kernels.Detection.describe), or null (rollup and check: ``_PROFILE``)."""
    return {
        "type": ["string", "null"],
        "description": _PROFILE["description"] + "; null for a FILE that cannot be read",
    }


def diagnostic_schema() -> dict[str, Any]:
    """One diagnostic, as ``Diagnostic.to_json`` gives it (check and validate)."""
    return {
        "type": "object",
        "required": ["path", "line", "column", "rule", "severity", "message"],
        "additionalProperties": False,
        "properties": {
            "path": {"type": ["string", "null"]},
            "line": {"type": "integer", "minimum": 1},
            "column": {"type": "integer", "minimum": 1},
            "rule": {"type": "string", "description": "a rule id of docs/rules.md"},
            "severity": {"enum": ["error", "warning"]},
            "message": {"type": "string"},
        },
    }


# --- parse ---------------------------------------------------------------------------------------


def _model(kind: str) -> dict[str, Any]:
    from .._model import Rollup, Smaps, json_schema

    found = json_schema(Smaps if kind == "smaps" else Rollup)
    entry = found["$defs"]["Mapping"] if kind == "smaps" else found
    entry["properties"]["fields"] = _fields(None)
    return found


def _smaps() -> dict[str, Any]:
    found = _model("smaps")
    found["title"] = "smapsfmt parse --format json, of a smaps"
    return found


def _parse() -> dict[str, Any]:
    smaps = _model("smaps")
    defs = smaps.pop("$defs")
    return {
        "description": "smapsfmt parse --format json: a smaps (mappings) or a smaps_rollup "
        "(one entry)",
        "$defs": {**defs, "Smaps": smaps, "Rollup": _model("rollup")},
        "anyOf": [{"$ref": "#/$defs/Smaps"}, {"$ref": "#/$defs/Rollup"}],
    }


# --- rollup and check ----------------------------------------------------------------------------


# [LO, HI] of an open field (HI null: unbounded), in the rollup's and check's outputs alike.
_INTERVAL: dict[str, Any] = {
    "type": "array",
    "prefixItems": [
        {"type": "integer", "minimum": 0},
        {"type": ["integer", "null"], "minimum": 0},
    ],
    "minItems": 2,
    "maxItems": 2,
}


def _rollup() -> dict[str, Any]:
    from .._spec.header import hex_pattern

    unit = _rollup_unit()
    # An address as the header prints it: the profile's format (``%08lx``: at least 8 digits).
    address = {"type": "string", "pattern": hex_pattern("start")}
    bound = {
        **_INTERVAL,
        "unit": unit,
        "description": "[LO, HI]: the kernel's value lies in this interval (HI null: a known "
        "kernel bug leaves it unbounded)",
    }
    return {
        "type": "object",
        "required": ["mappings", "start", "end", "fields", "intervals", "profile"],
        "additionalProperties": False,
        "properties": {
            "mappings": {"type": "integer", "minimum": 0},
            "start": address,
            "end": address,
            "fields": {
                **_fields("smaps_rollup"),
                "description": "every rollup field, in the kernel's order; an open field at "
                "the low end of its interval",
            },
            "intervals": {
                "type": "object",
                "description": "each field the smaps does not determine",
                "additionalProperties": bound,
            },
            "profile": _PROFILE,
        },
    }


_CHECK_KEYS = (
    "smaps", "rollup", "mappings", "kernels", "profile", "consistent", "diagnostics", "fields",
)  # fmt: skip
# The profile a command used, in the words of validate's summary line (smapsfmt._spec.kernels).
_PROFILE = {
    "type": "string",
    "description": "the kernel profile used, as validate names it: 'profile Linux 6.6-7.3 "
    "(matched)', then the profiles that print the same text",
}


def _check() -> dict[str, Any]:
    unit = _rollup_unit()
    amount = {"type": ["integer", "null"], "minimum": 0, "unit": unit}
    field = {
        "type": "object",
        "required": ["name", "line", "value", "sum", "interval", "verdict", "why"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "the rollup field"},
            "line": {"type": "integer", "minimum": 1, "description": "its line in the rollup"},
            "value": {**amount, "description": "the rollup's value"},
            "sum": {
                **amount,
                "description": "the sum over the smaps (null: a field only the rollup has)",
            },
            "interval": {
                "anyOf": [_INTERVAL, {"type": "null"}],
                "unit": unit,
                "description": "[LO, HI], what the kernel's arithmetic allows given the smaps "
                "(HI null: a known kernel bug, unbounded); null: no relation known",
            },
            "verdict": {"enum": ["holds", "violated", "not checked"]},
            "why": {"type": ["string", "null"], "description": "how the interval follows"},
        },
    }
    return {
        "type": "object",
        "required": list(_CHECK_KEYS),
        "additionalProperties": False,
        "properties": {
            "smaps": {"type": "string"},
            "rollup": {"type": "string"},
            "mappings": {"type": "integer", "minimum": 0},
            "kernels": {"type": "string", "description": "the kernels both texts fit"},
            "profile": _PROFILE,
            "consistent": {"type": "boolean", "description": "no diagnostic is an error"},
            "diagnostics": {"type": "array", "items": diagnostic_schema()},
            "fields": {"type": "array", "items": field},
        },
    }


# --- the error object ----------------------------------------------------------------------------


def _error() -> dict[str, Any]:
    count = {"type": ["integer", "null"], "minimum": 1}
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["kind", "rule", "path", "line", "column", "message", "exit"],
                "additionalProperties": False,
                "properties": {
                    "kind": {
                        "enum": list(ERROR_KINDS),
                        "description": "; ".join(f"{k}: {v}" for k, v in ERROR_KINDS.items()),
                    },
                    "rule": {"type": ["string", "null"]},
                    "path": {"type": ["string", "null"]},
                    "line": count,
                    "column": count,
                    "message": {"type": "string"},
                    "exit": {"type": "integer", "minimum": 1, "description": "the exit status"},
                },
            }
        },
    }


register("parse", "parse", "smapsfmt parse --format json: a smaps or a smaps_rollup", _parse)
register("smaps", "parse", "smapsfmt parse --format json of a smaps alone (the default)", _smaps)
register("rollup", "rollup", "smapsfmt rollup --format json: the rollup a kernel prints", _rollup)
register(
    "check", "check", "smapsfmt check --format json: the verdict, the proof per field", _check
)
register(
    "validate", "validate",
    "smapsfmt validate --format json: the diagnostics of every FILE",
    "smapsfmt._cli.validate_output:validate_schema", version=2,
)  # fmt: skip
register("error", "COMMAND", "smapsfmt COMMAND --format json when any command fails", _error)
