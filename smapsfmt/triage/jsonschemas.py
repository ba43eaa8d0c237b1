"""The JSON Schemas of the triage commands' ``--format json`` outputs (``smapsfmt schema
summary``, ``ps``, ``diff``), registered with the command line's registry by
:func:`smapsfmt.triage.cli.add_commands` and built only when asked for.

The columns of a table are the ones the command was asked for (``columns`` lists them, in
order): kernel field names as the kernel prints them (``Rss``, ``Pss``, ...) and the derived
``Private`` and ``Shared`` (summary, diff) or ``USS`` (ps). So each row is described by its
fixed keys, and every other key is a column: an amount in kB (every field these commands sum is
one, by Documentation/ABI/testing/procfs-smaps), null where the kernel printed none of what it
sums.
"""

from __future__ import annotations

from typing import Any

from .objects import KINDS, PSS_FAMILY

__all__ = ["diff_schema", "ps_schema", "summary_schema"]

_COUNT = {"type": "integer", "minimum": 0}
_TEXT = {"type": "string"}
_AMOUNT = {
    "type": ["integer", "null"],
    "minimum": 0,
    "unit": "kB",
    "description": "a column: the sum of a kernel field (or of Private_* or Shared_*), in kB; "
    "null where the kernel printed none of it",
}
_CHANGE_AMOUNT = {
    "type": "integer",
    "unit": "kB",
    "description": "a column's change, B - A (kB; mappings: a count); a side without the "
    "object counts 0",
}
_COLUMNS = {
    "type": "array",
    "items": _TEXT,
    "description": "the columns shown, in order: the keys of every row besides its own",
}
_SORT = {"type": "string", "description": "the column (or name key) the rows are sorted by"}
_WARNINGS = {
    "type": "array",
    "items": _TEXT,
    "description": "the input's warnings (a text cut short, ...), without 'smapsfmt: warning:'",
}


def _row(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with these keys and, for every other key, a column's amount."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": _AMOUNT,
    }


def _kernel() -> dict[str, Any]:
    """The Pss family as the kernel sums it (fixed point): the rollup's value, or the interval
    the smaps proves it lies in."""
    interval = {
        "type": "array",
        "prefixItems": [
            {"type": "integer", "minimum": 0},
            {"type": ["integer", "null"], "minimum": 0},
        ],
        "minItems": 2,
        "maxItems": 2,
        "description": "[LO, HI]: the kernel's value lies in this interval (HI null: a known "
        "kernel bug leaves it unbounded)",
    }
    value = {
        "anyOf": [{"type": "integer", "minimum": 0}, interval, {"type": "null"}],
        "unit": "kB",
    }
    return {
        "anyOf": [
            {"type": "null", "description": "no kernel value: the smaps fits no kernel"},
            {
                "type": "object",
                "required": ["source", "path"],
                "properties": {
                    "source": {
                        "enum": ["smaps_rollup", "interval"],
                        "description": "smaps_rollup: the kernel's own values (--pid, "
                        "--rollup); interval: what the smaps proves",
                    },
                    "path": {
                        "type": ["string", "null"],
                        "description": "the smaps_rollup read, if any",
                    },
                    **{name: value for name in PSS_FAMILY},
                },
                "additionalProperties": False,
            },
        ]
    }


_KIND_WORDS = "; ".join(f"{k}: {v}" for k, v in KINDS.items())


def _object_row(kinds: list[str]) -> dict[str, Any]:
    return _row(
        {
            "object": {
                "type": "string",
                "description": "a file's path, [heap], [stack], [anon:NAME], [anon], ...",
            },
            "kind": {"enum": kinds, "description": _KIND_WORDS},
            "mappings": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "how many mappings the row merges (null: a smaps_rollup alone)",
            },
        }
    )


_SUMMARY_KEYS = [
    "source", "pid", "kind", "mappings", "objects", "columns", "sort", "rows", "other", "total",
    "warnings", "note",
]  # fmt: skip
_PS_KEYS = [
    "by", "columns", "sort", "rows", "other", "total", "kernel_threads", "summed_from_smaps",
    "skipped",
]  # fmt: skip


def summary_schema() -> dict[str, Any]:
    row = _object_row(list(KINDS))
    other = _object_row(["other"])
    total = _object_row(["total"])
    total["required"].append("kernel")
    total["properties"]["kernel"] = {
        **_kernel(),
        "description": "under the TOTAL: the Pss family as the kernel sums it",
    }
    return {
        "type": "object",
        "required": list(_SUMMARY_KEYS),
        "additionalProperties": False,
        "properties": {
            "source": {"type": "string", "description": "the FILE, or /proc/PID/smaps"},
            "pid": {"type": ["integer", "null"], "minimum": 1},
            "kind": {"enum": ["smaps", "rollup"], "description": "what the input is"},
            "mappings": {"type": ["integer", "null"], "minimum": 0},
            "objects": {**_COUNT, "description": "how many objects (rows before --top)"},
            "columns": _COLUMNS,
            "sort": _SORT,
            "rows": {"type": "array", "items": row, "description": "one per object, sorted"},
            "other": {
                "anyOf": [other, {"type": "null"}],
                "description": "with --top: the objects beyond the first N, merged",
            },
            "total": {**total, "description": "the sum of every object's row"},
            "warnings": _WARNINGS,
            "note": {"type": ["string", "null"], "description": "why there is no kernel value"},
        },
    }


def ps_schema() -> dict[str, Any]:
    process = _row(
        {
            "pid": {"type": "integer", "minimum": 1},
            "user": {"type": "string", "description": "the owner's login name, or the uid"},
            "uid": {**_COUNT, "description": "the owner of /proc/PID"},
            "command": {"type": "string", "description": "the command line, or [comm]"},
        },
        {
            "cgroup": {"type": "string", "description": "with --by cgroup: the memory cgroup"},
            "summed_from_smaps": {
                "const": True,
                "description": "no smaps_rollup (Linux < 4.14): the smaps summed",
            },
        },
    )
    group = _row(
        {
            "group": {"type": "string", "description": "the user, or the cgroup's path"},
            "processes": _COUNT,
        }
    )
    rest = {
        "anyOf": [
            _row({"command": _TEXT, "processes": _COUNT}),
            _row({"group": _TEXT, "processes": _COUNT}),
            {"type": "null"},
        ],
        "description": "with --top: the rows beyond the first N, merged",
    }
    skipped = {
        "type": "object",
        "required": ["pid", "comm", "reason", "message"],
        "additionalProperties": False,
        "properties": {
            "pid": {"type": "integer", "minimum": 1},
            "comm": {"type": "string", "description": "its command name, when it was seen"},
            "reason": {
                "enum": ["exited", "denied", "hidden", "error"],
                "description": "exited during the sweep (or a zombie, or its pid reused); "
                "denied: no ptrace-read access; hidden: hidepid; error: anything else",
            },
            "message": _TEXT,
        },
    }
    return {
        "type": "object",
        "required": list(_PS_KEYS),
        "additionalProperties": False,
        "properties": {
            "by": {"enum": ["process", "user", "cgroup"]},
            "columns": _COLUMNS,
            "sort": _SORT,
            "rows": {
                "type": "array",
                "items": {"anyOf": [process, group]},
                "description": "one per process (--by process) or per user or cgroup, sorted",
            },
            "other": rest,
            "total": _row({"processes": _COUNT}),
            "kernel_threads": {**_COUNT, "description": "kernel threads left out"},
            "summed_from_smaps": {
                "type": "boolean",
                "description": "this kernel has no smaps_rollup: each smaps was summed",
            },
            "skipped": {
                "type": "array",
                "items": skipped,
                "description": "processes left out, in pid order",
            },
        },
    }


def diff_schema() -> dict[str, Any]:
    values = _row({"mappings": _COUNT})
    delta = {
        "type": "object",
        "required": ["mappings"],
        "additionalProperties": _CHANGE_AMOUNT,
        "properties": {"mappings": _CHANGE_AMOUNT},
    }
    side = {
        "type": "object",
        "required": ["source", "pid", "mappings", "time", "total", "kernel", "warnings"],
        "additionalProperties": False,
        "properties": {
            "source": _TEXT,
            "pid": {"type": ["integer", "null"], "minimum": 1},
            "mappings": _COUNT,
            "time": {
                "type": ["string", "null"],
                "description": "when a live process was read (ISO 8601, UTC)",
            },
            "total": values,
            "kernel": _kernel(),
            "warnings": _WARNINGS,
        },
    }
    row = {
        "type": "object",
        "required": ["object", "kind", "change", "before", "after", "delta"],
        "additionalProperties": False,
        "properties": {
            "object": _TEXT,
            "kind": {"enum": list(KINDS)},
            "change": {"enum": ["grew", "shrank", "appeared", "gone", "same"]},
            "before": {"anyOf": [values, {"type": "null"}], "description": "null: appeared"},
            "after": {"anyOf": [values, {"type": "null"}], "description": "null: gone"},
            "delta": delta,
        },
    }
    return {
        "type": "object",
        "required": ["columns", "sort", "before", "after", "changes", "rows", "other", "total"],
        "additionalProperties": False,
        "properties": {
            "columns": _COLUMNS,
            "sort": _SORT,
            "before": {**side, "description": "A"},
            "after": {**side, "description": "B"},
            "changes": {
                "type": "object",
                "required": ["grew", "shrank", "appeared", "gone"],
                "additionalProperties": False,
                "properties": {k: _COUNT for k in ("grew", "shrank", "appeared", "gone")},
            },
            "rows": {"type": "array", "items": row, "description": "largest growth first"},
            "other": {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["object", "delta"],
                        "additionalProperties": False,
                        "properties": {"object": _TEXT, "delta": delta},
                    },
                    {"type": "null"},
                ],
                "description": "with --top: the changes beyond the first N, summed",
            },
            "total": {
                "type": "object",
                "required": ["delta"],
                "additionalProperties": False,
                "properties": {"delta": delta},
            },
        },
    }
