"""The JSON Schemas of the fleet commands' ``--format json`` outputs (``smapsfmt schema
sample``, ``export``, ``query``), registered with the command line's registry by
:func:`smapsfmt.fleet.cli.add_commands`."""

from __future__ import annotations

from typing import Any

__all__ = ["export_schema", "query_schema", "sample_schema"]

_COUNT = {"type": "integer", "minimum": 0}
_ID = {"type": "string", "pattern": "^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"}
_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def _array(item: dict[str, Any], description: str) -> dict[str, Any]:
    required = list(item)
    return {
        "description": description,
        "type": "array",
        "items": {
            "type": "object",
            "properties": item,
            "required": required,
            "additionalProperties": False,
        },
    }


def sample_schema() -> dict[str, Any]:
    return _array(
        {
            "sample_id": {**_ID, "description": "samples.sample_id"},
            "time": {"type": "string", "description": "when the sample began, ISO 8601, UTC"},
            "host": {"type": "string", "description": "the host partition"},
            "date": {**_DATE, "description": "the date partition (UTC)"},
            "processes": {**_COUNT, "description": "rows of processes"},
            "mappings": {**_COUNT, "description": "rows of mappings (0 without --smaps)"},
            "kernel_threads": {**_COUNT, "description": "kernel threads left out"},
            "vanished": {**_COUNT, "description": "processes that exited while read"},
            "denied": {**_COUNT, "description": "processes not readable (permission, hidepid)"},
            "unreadable": {**_COUNT, "description": "processes skipped for another error"},
        },
        "smapsfmt sample --format json: one object per sample written, in order",
    )


def export_schema() -> dict[str, Any]:
    return _array(
        {
            "path": {"type": "string", "description": "the FILE exported"},
            "kind": {"enum": ["smaps", "smaps_rollup"]},
            "sample_id": {**_ID, "description": "samples.sample_id"},
            "host": {"type": "string", "description": "the host partition"},
            "date": {**_DATE, "description": "the date partition: the file's mtime, UTC"},
            "processes": {**_COUNT, "description": "rows of processes (1)"},
            "mappings": {**_COUNT, "description": "rows of mappings (0 for a smaps_rollup)"},
        },
        "smapsfmt export --format json: one object per FILE, in order",
    )


def query_schema() -> dict[str, Any]:
    return {
        "description": "smapsfmt query --format json: one object per row, the columns of the "
        "query as keys, in order; integers exact (64-bit and larger), times and dates ISO "
        "8601, bytes base64, lists and maps as arrays and objects, null for SQL NULL",
        "type": "array",
        "items": {"type": "object"},
    }
