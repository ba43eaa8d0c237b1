"""``smapsfmt summary FILE | --pid PID``: one line per object, sorted, and the totals.

The TOTAL row is the sum of the rows for every field. Under it, for the Pss family (fields the
kernel sums in fixed point), the kernel's own value: from smaps_rollup when one is at hand
(``--pid``, ``--rollup FILE``), else the interval ``LO..HI`` the smaps proves it lies in
(``smapsfmt rollup``'s arithmetic). With ``--top N``, the objects beyond the first N are merged
into one row, so that the rows still add up to the TOTAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .objects import DEFAULT_COLUMNS, PSS_FAMILY, Row
from .table import csv_text, json_text, number, printable, text_table

if TYPE_CHECKING:
    import argparse

    from .load import Capture

__all__ = ["choose_columns", "run", "sorted_rows"]


def choose_columns(
    available: list[str], asked: list[str] | None, sort: str | None
) -> tuple[list[str], str]:
    """The columns shown (the defaults the input has, then those of ``--fields``) and the sort
    key; a UsageError naming an unknown field and the input's fields."""
    from .._cli.streams import UsageError

    extra: list[str] = []
    for item in asked or []:
        extra += [name.strip() for name in item.split(",") if name.strip()]
    for name in extra:
        if name not in available:
            raise UsageError(
                f"--fields: the input has no field {name!r}; its fields: {', '.join(available)}"
            )
    columns = [c for c in DEFAULT_COLUMNS if c in available]
    columns += [c for c in extra if c not in columns]
    key = sort or "Pss"
    if key not in (*available, "object", "mappings"):
        raise UsageError(
            f"--sort: the input has no field {key!r}; sort by object, mappings or one of its "
            f"fields: {', '.join(available)}"
        )
    return columns, key


def sorted_rows(rows: list[Row], key: str) -> list[Row]:
    """Largest first (by name for ``object``); ties by name."""
    if key == "object":
        return sorted(rows, key=lambda r: r.object)
    if key == "mappings":
        return sorted(rows, key=lambda r: (-r.mappings, r.object))
    return sorted(rows, key=lambda r: (-(r.value(key) or 0), r.object))


def _rest(rows: list[Row]) -> Row:
    rest = Row(f"({len(rows)} more object{'s' if len(rows) != 1 else ''})", "other")
    for row in rows:
        rest.mappings += row.mappings
        for name, value in row.fields.items():
            rest.fields[name] = rest.fields.get(name, 0) + value
    return rest


def _kernel_cell(value: int | tuple[int, int | None] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    lo, hi = value
    if hi is None:
        return "?"
    return str(lo) if lo == hi else f"{lo}..{hi}"


def _kernel_json(value: int | tuple[int, int | None] | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def build(capture: Capture, args: argparse.Namespace) -> dict[str, Any]:
    """The summary as one JSON-able object (the --format json output)."""
    rows_all = list(capture.rows.by_object.values())
    if capture.kind == "rollup":
        available = [*("Private", "Shared"), *(capture.rollup or {})]
    else:
        available = capture.rows.columns()
    columns, key = choose_columns(available, args.fields, args.sort)
    ordered = sorted_rows(rows_all, key)
    top = args.top
    shown, rest = (ordered, []) if top is None else (ordered[:top], ordered[top:])
    if capture.kind == "rollup":
        total = Row("TOTAL", "total")
        total.fields = dict(capture.rollup or {})
        total_json = total.to_jsonable(columns)
        total_json["mappings"] = None
    else:
        total_json = capture.rows.total().to_jsonable(columns)
    kernel: dict[str, Any] | None = None
    if capture.kernel_source is not None:
        kernel = {"source": capture.kernel_source, "path": capture.rollup_path}
        for name in columns:
            if name in PSS_FAMILY:
                kernel[name] = _kernel_json(capture.kernel_value(name))
    total_json["kernel"] = kernel
    return {
        "source": capture.path,
        "pid": capture.pid,
        "kind": capture.kind,
        "mappings": capture.rows.count if capture.kind == "smaps" else None,
        "objects": len(rows_all),
        "columns": columns,
        "sort": key,
        "rows": [row.to_jsonable(columns) for row in shown],
        "other": _rest(rest).to_jsonable(columns) if rest else None,
        "total": total_json,
        "warnings": list(capture.warnings),
        "note": capture.note,
    }


def render_text(result: dict[str, Any]) -> str:
    columns: list[str] = result["columns"]
    headers = [*columns, "Maps", "Object"]
    lines: list[list[str]] = []
    entries = [*result["rows"], *([result["other"]] if result["other"] else [])]
    for entry in [*entries, result["total"]]:
        lines.append(
            [number(entry[c]) for c in columns]
            + [number(entry["mappings"]), printable(entry["object"])]
        )
    kernel = result["total"]["kernel"]
    if kernel is not None and any(c in kernel for c in columns):
        label = (
            f"TOTAL, the kernel's ({kernel['path']})"
            if kernel["source"] == "smaps_rollup"
            else "TOTAL, the kernel's interval (no smaps_rollup given)"
        )
        cells = [_kernel_cell(_as_value(kernel.get(c))) for c in columns]
        lines.append([*cells, "", label])
    return text_table(headers, lines)


def _as_value(value: Any) -> int | tuple[int, int | None] | None:
    return tuple(value) if isinstance(value, list) else value


def render_csv(result: dict[str, Any]) -> str:
    columns: list[str] = result["columns"]
    rows: list[list[Any]] = []
    entries = [*result["rows"], *([result["other"]] if result["other"] else [])]
    for entry in [*entries, result["total"]]:
        rows.append(
            [entry["object"], entry["kind"], entry["mappings"]] + [entry[c] for c in columns]
        )
    kernel = result["total"]["kernel"]
    if kernel is not None:
        cells = [_kernel_cell(_as_value(kernel.get(c))) or None for c in columns]
        rows.append([f"TOTAL ({kernel['source']})", "kernel", None, *cells])
    return csv_text(["object", "kind", "mappings", *columns], rows)


def run(args: argparse.Namespace) -> int:
    from .._cli.streams import EXIT_OK, err, out
    from .load import from_args

    capture = from_args(args, args.file)
    for warning in capture.warnings:
        err(f"smapsfmt: warning: {warning}\n")
    if capture.note is not None:
        err(f"smapsfmt: note: {capture.note}\n")
    result = build(capture, args)
    if args.format == "json":
        out(json_text(result))
    elif args.format == "csv":
        out(render_csv(result))
    else:
        out(render_text(result))
    return EXIT_OK
