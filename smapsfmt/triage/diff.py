"""``smapsfmt diff A B`` and ``smapsfmt diff --pid PID --interval S``: what changed, per object.

Both captures are merged by object as ``summary`` merges them. Each object that changed is one
row: its change (``grew``, ``shrank``, ``appeared``, ``gone``; ``same`` with ``--all``), and for
every column the difference B - A; largest growth of the sort column (default Pss) first, what
shrank last. The totals follow: the difference, then each capture's TOTAL, and the Pss family as
the kernel sums it in each (its smaps_rollup, or the interval). Exit status 0 whether or not the
captures differ; 1 only for an input that is no smaps.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .objects import PSS_FAMILY, Row
from .summary import choose_columns
from .table import csv_text, json_text, number, printable, text_table

if TYPE_CHECKING:
    import argparse

    from .load import Capture

__all__ = ["build", "run"]

DEFAULT_INTERVAL = 10.0


def _values(row: Row | None, columns: list[str]) -> dict[str, Any] | None:
    if row is None:
        return None
    out: dict[str, Any] = {"mappings": row.mappings}
    for column in columns:
        out[column] = row.value(column)
    return out


def _delta(
    before: dict[str, Any] | None, after: dict[str, Any] | None, keys: list[str]
) -> dict[str, int]:
    return {k: ((after or {}).get(k) or 0) - ((before or {}).get(k) or 0) for k in keys}


def _change(before: Row | None, after: Row | None, delta: dict[str, int], key: str) -> str:
    if before is None:
        return "appeared"
    if after is None:
        return "gone"
    if not any(delta.values()):
        return "same"
    main = delta.get(key, 0) or next((v for v in delta.values() if v), 0)
    return "grew" if main > 0 else "shrank"


def _side(capture: Capture, columns: list[str]) -> dict[str, Any]:
    total = _values(capture.rows.total(), columns)
    kernel: dict[str, Any] | None = None
    if capture.kernel_source is not None:
        kernel = {"source": capture.kernel_source, "path": capture.rollup_path}
        for name in columns:
            if name in PSS_FAMILY:
                value = capture.kernel_value(name)
                kernel[name] = list(value) if isinstance(value, tuple) else value
    return {
        "source": capture.path,
        "pid": capture.pid,
        "mappings": capture.rows.count,
        "time": _iso(capture.taken),
        "total": total,
        "kernel": kernel,
        "warnings": list(capture.warnings),
    }


def build(before: Capture, after: Capture, args: argparse.Namespace) -> dict[str, Any]:
    available = [c for c in after.rows.columns() if c in before.rows.columns()]
    columns, key = choose_columns(available, args.fields, args.sort)
    keys = ["mappings", *columns]
    rows: list[dict[str, Any]] = []
    names = list(before.rows.by_object)
    names += [n for n in after.rows.by_object if n not in before.rows.by_object]
    for name in names:
        old = before.rows.by_object.get(name)
        new = after.rows.by_object.get(name)
        b, a = _values(old, columns), _values(new, columns)
        delta = _delta(b, a, keys)
        change = _change(old, new, delta, key)
        if change == "same" and not args.all:
            continue
        kind = (new or old).kind  # type: ignore[union-attr]
        rows.append(
            {
                "object": name,
                "kind": kind,
                "change": change,
                "before": b,
                "after": a,
                "delta": delta,
            }
        )
    if key == "object":
        rows.sort(key=lambda r: r["object"])
    else:
        rows.sort(key=lambda r: (-r["delta"].get(key, 0), r["object"]))
    top = args.top
    shown, rest = (rows, []) if top is None else (rows[:top], rows[top:])
    other = None
    if rest:
        other = {
            # with --all, the rows held back include objects that did not change
            "object": f"({len(rest)} more {'' if args.all else 'changed '}"
            f"object{'s' if len(rest) != 1 else ''})",
            "delta": {k: sum(r["delta"][k] for r in rest) for k in keys},
        }
    sides = (_side(before, columns), _side(after, columns))
    counts = {
        c: sum(1 for r in rows if r["change"] == c) for c in ("grew", "shrank", "appeared", "gone")
    }
    return {
        "columns": columns,
        "sort": key,
        "before": sides[0],
        "after": sides[1],
        "changes": counts,
        "rows": shown,
        "other": other,
        "total": {"delta": _delta(sides[0]["total"], sides[1]["total"], keys)},
    }


def _iso(taken: float | None) -> str | None:
    if taken is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(taken))


def _signed(value: int | None) -> str:
    if value is None:
        return ""
    return f"+{value}" if value > 0 else str(value)


def _kernel_text(kernel: dict[str, Any] | None) -> str:
    if kernel is None:
        return "no kernel value"
    parts = []
    for name, value in kernel.items():
        if name in ("source", "path"):
            continue
        if isinstance(value, list):
            lo, hi = value
            shown = "?" if hi is None else (str(lo) if lo == hi else f"{lo}..{hi}")
        else:
            shown = str(value)
        parts.append(f"{name} {shown}")
    where = kernel["path"] if kernel["source"] == "smaps_rollup" else "interval"
    return f"{', '.join(parts)} ({where})"


def _where(side: dict[str, Any]) -> str:
    at = f" at {side['time']}" if side["time"] else ""
    return printable(side["source"]) + at


def render_text(result: dict[str, Any]) -> str:
    columns: list[str] = result["columns"]
    headers = [*columns, "Maps", "Change", "Object"]
    lines: list[list[str]] = []
    for row in result["rows"]:
        delta = row["delta"]
        lines.append(
            [_signed(delta[c]) for c in columns]
            + [_signed(delta["mappings"]), row["change"], printable(row["object"])]
        )
    if result["other"]:
        delta = result["other"]["delta"]
        lines.append(
            [_signed(delta[c]) for c in columns]
            + [_signed(delta["mappings"]), "", result["other"]["object"]]
        )
    delta = result["total"]["delta"]
    lines.append(
        [_signed(delta[c]) for c in columns] + [_signed(delta["mappings"]), "", "TOTAL (B - A)"]
    )
    for label, side in (("A", result["before"]), ("B", result["after"])):
        total = side["total"]
        lines.append(
            [number(total[c]) for c in columns]
            + [number(total["mappings"]), "", f"TOTAL {label}: {_where(side)}"]
        )
    text = text_table(headers, lines, left=(-2, -1))
    changes = result["changes"]
    text += (
        f"{changes['grew']} grew, {changes['shrank']} shrank, {changes['appeared']} appeared, "
        f"{changes['gone']} gone\n"
    )
    for label, side in (("A", result["before"]), ("B", result["after"])):
        text += f"{label}, as the kernel sums it: {_kernel_text(side['kernel'])}\n"
    return text


def render_csv(result: dict[str, Any]) -> str:
    columns: list[str] = result["columns"]
    keys = ["mappings", *columns]
    headers = ["object", "kind", "change"]
    for key in keys:
        headers += [f"{key}_before", f"{key}_after", f"{key}_delta"]
    rows: list[list[Any]] = []
    for row in result["rows"]:
        cells: list[Any] = [row["object"], row["kind"], row["change"]]
        for key in keys:
            cells += [
                (row["before"] or {}).get(key),
                (row["after"] or {}).get(key),
                row["delta"][key],
            ]
        rows.append(cells)
    if result["other"]:
        cells = [result["other"]["object"], "other", ""]
        for key in keys:
            cells += [None, None, result["other"]["delta"][key]]
        rows.append(cells)
    cells = ["TOTAL", "total", ""]
    for key in keys:
        cells += [
            result["before"]["total"][key],
            result["after"]["total"][key],
            result["total"]["delta"][key],
        ]
    rows.append(cells)
    return csv_text(headers, rows)


def run(args: argparse.Namespace) -> int:
    from .._cli.streams import EXIT_OK, UsageError, err, out
    from .load import from_file, from_pid

    prog = "smapsfmt diff"
    if args.pid is not None:
        if args.before is not None:
            raise UsageError(f"give either A B or --pid PID, not both (see '{prog} --help')")
        interval = DEFAULT_INTERVAL if args.interval is None else args.interval
        before = from_pid(args)
        _wait(interval)
        after = from_pid(args)
    else:
        if args.interval is not None:
            raise UsageError(f"--interval applies to --pid PID only (see '{prog} --help')")
        if args.before is None or args.after is None:
            raise UsageError(f"two captures A B, or --pid PID, are required (see '{prog} --help')")
        before = from_file(args.before)
        after = from_file(args.after)
    for capture in (before, after):
        for warning in capture.warnings:
            err(f"smapsfmt: warning: {warning}\n")
        if capture.kind != "smaps":
            raise UsageError(
                f"{capture.path} is a smaps_rollup: diff compares smaps, object by object"
            )
    result = build(before, after, args)
    if args.format == "json":
        out(json_text(result))
    elif args.format == "csv":
        out(render_csv(result))
    else:
        out(render_text(result))
    return EXIT_OK


def _wait(seconds: float) -> None:
    from .progress import Progress

    end = time.monotonic() + seconds
    with Progress("waiting to read again (seconds)") as progress:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            progress.update(int(seconds - left), int(seconds))
            time.sleep(min(left, 0.25))
