"""``smapsfmt ps``: the memory of every process on the machine, from its smaps_rollup.

One sweep (smapsfmt.triage.sweep), one line per process (or per user, or per cgroup), largest
Pss first, a TOTAL row. Kernel threads are left out and counted; processes that exit or may not
be read during the sweep are counted and listed in a note on stderr (and under ``skipped`` in
JSON), never an error. This module imports nothing that parses smaps: its start-up is the
interpreter's and the command line's, and the reads are the kernel's (``bench/ps.py``).
"""

from __future__ import annotations

from .table import csv_text, json_text, number, printable, text_table

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from .sweep import Process, Sweep

__all__ = ["FORMATS", "GROUPINGS", "build", "quick_args", "run", "whole_above_zero"]

COLUMNS = ("Rss", "Pss", "USS", "Swap", "SwapPss")
# The values of ps's options that take a choice (smapsfmt.triage.cli declares the options).
FORMATS = ("text", "json", "csv")
GROUPINGS = ("process", "user", "cgroup")


def whole_above_zero(text: str) -> int | None:
    """``--top N``: N as a number when it is a whole number above 0, else None."""
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


class QuickArgs:
    """The options of ``smapsfmt ps`` under the names argparse gives them."""

    def __init__(self) -> None:
        self.command = "ps"
        self.format = "text"
        self.by = "process"
        self.sort: str | None = None
        self.top: int | None = None
        self.fields: list[str] | None = None
        self.run = run


_QUICK = {"--format": "format", "--by": "by", "--sort": "sort", "--top": "top"}


def quick_args(words: list[str]) -> QuickArgs | None:
    """The words after ``ps`` read as smapsfmt.triage.cli's parser reads them, when they are in
    the forms a script writes (``--option VALUE`` or ``--option=VALUE``, each at most once,
    ``--fields`` as often as wanted, every value one the parser takes); None for anything else
    (--help, an abbreviated option, an option given twice, a value it refuses, ``--``), which
    the full parser then reads, and explains where it is wrong. ``smapsfmt ps`` thus starts
    without argparse (bench/ps.py measures the whole command)."""
    args = QuickArgs()
    given: set[str] = set()
    at = 0
    while at < len(words):
        option, equals, value = words[at].partition("=")
        if equals:
            at += 1
        elif at + 1 < len(words) and not words[at + 1].startswith("-"):
            value = words[at + 1]
            at += 2
        else:
            return None
        if option == "--fields":
            args.fields = [*(args.fields or []), value]
            continue
        name = _QUICK.get(option)
        if name is None or name in given:
            return None
        given.add(name)
        if name == "top":
            args.top = whole_above_zero(value)
            if args.top is None:
                return None
        elif (name == "format" and value not in FORMATS) or (
            name == "by" and value not in GROUPINGS
        ):
            return None
        else:
            setattr(args, name, value)
    return args


_TEXT_KEYS = ("pid", "user", "command", "group")


def _value(fields: dict[str, int], column: str) -> int | None:
    if column == "USS":
        parts = [fields[p] for p in ("Private_Clean", "Private_Dirty") if p in fields]
        return sum(parts) if parts else None
    return fields.get(column)


def _columns(sweep: Sweep, asked: list[str] | None) -> list[str]:
    from .._cli.streams import UsageError

    seen: dict[str, object] = {}  # every field name, in the order first met
    for process in sweep.processes:
        seen.update(process.fields)
    known = list(seen)
    extra: list[str] = []
    for item in asked or []:
        extra += [name.strip() for name in item.split(",") if name.strip()]
    for name in extra:
        if name not in known and name != "USS":
            raise UsageError(
                f"--fields: smaps_rollup has no field {name!r} here; its fields: "
                f"{', '.join(known)}"
            )
    return [*COLUMNS, *(name for name in extra if name not in COLUMNS)]


def _process_row(process: Process, columns: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "pid": process.pid,
        "user": process.user,
        "uid": process.uid,
        "command": process.command,
    }
    if process.cgroup is not None:
        row["cgroup"] = process.cgroup
    for column in columns:
        row[column] = _value(process.fields, column)
    if process.summed:
        row["summed_from_smaps"] = True
    return row


def _add(into: dict[str, Any], row: dict[str, Any], columns: list[str]) -> None:
    into["processes"] = into.get("processes", 0) + row.get("processes", 1)
    for column in columns:
        if row.get(column) is not None:
            into[column] = (into.get(column) or 0) + row[column]
        else:
            into.setdefault(column, None)


def _groups(rows: list[dict[str, Any]], key: str, columns: list[str]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row[key]
        group = groups.get(name)
        if group is None:
            group = groups[name] = {"group": name, "processes": 0}
        _add(group, row, columns)
    return list(groups.values())


def _sort(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    if key == "pid":
        return sorted(rows, key=lambda r: r["pid"])
    if key in ("user", "command", "group"):
        return sorted(rows, key=lambda r: (str(r.get(key, "")), r.get("pid", 0)))
    return sorted(rows, key=lambda r: (-(r.get(key) or 0), r.get("pid", r.get("group", ""))))


def build(sweep: Sweep, args: argparse.Namespace) -> dict[str, Any]:
    from .._cli.streams import UsageError

    columns = _columns(sweep, args.fields)
    rows = [_process_row(p, columns) for p in sweep.processes]
    by = args.by
    if by != "process":
        rows = _groups(rows, "user" if by == "user" else "cgroup", columns)
    key = args.sort or "Pss"
    allowed = [*columns, *(("pid", "user", "command") if by == "process" else ("group",))]
    if by != "process" and key == by:
        key = "group"
    if key not in allowed:
        raise UsageError(f"--sort: choose one of {', '.join(allowed)}, not {key!r}")
    ordered = _sort(rows, key)
    shown, rest = (ordered, []) if args.top is None else (ordered[: args.top], ordered[args.top :])
    total: dict[str, Any] = {"processes": 0}
    for row in ordered:
        _add(total, row, columns)
    other: dict[str, Any] | None = None
    if rest:
        other = {"processes": 0}
        for row in rest:
            _add(other, row, columns)
        noun = "processes" if by == "process" else f"{by}s"
        other["group" if by != "process" else "command"] = f"({len(rest)} more {noun})"
    return {
        "by": by,
        "columns": columns,
        "sort": key,
        "rows": shown,
        "other": other,
        "total": total,
        "kernel_threads": sweep.kernel_threads,
        "summed_from_smaps": sweep.rollup_missing,
        "skipped": [
            {"pid": s.pid, "comm": s.comm, "reason": s.reason, "message": s.message}
            for s in sweep.skipped
        ],
    }


def render_text(result: dict[str, Any]) -> str:
    columns: list[str] = result["columns"]
    lines: list[list[str]] = []
    if result["by"] == "process":
        headers = ["PID", "User", *columns, "Command"]
        for row in result["rows"]:
            lines.append(
                [
                    str(row["pid"]),
                    row["user"],
                    *(number(row[c]) for c in columns),
                    printable(row["command"]),
                ]
            )
        if result["other"]:
            other = result["other"]
            lines.append(["", "", *(number(other[c]) for c in columns), other["command"]])
        total = result["total"]
        label = f"TOTAL ({total['processes']} processes)"
        lines.append(["", "", *(number(total[c]) for c in columns), label])
        return text_table(headers, lines)
    name = "User" if result["by"] == "user" else "Cgroup"
    headers = ["Procs", *columns, name]
    entries = [*result["rows"], *([result["other"]] if result["other"] else [])]
    for row in entries:
        lines.append(
            [str(row["processes"]), *(number(row[c]) for c in columns), printable(row["group"])]
        )
    total = result["total"]
    lines.append([str(total["processes"]), *(number(total[c]) for c in columns), "TOTAL"])
    return text_table(headers, lines)


def render_csv(result: dict[str, Any]) -> str:
    columns: list[str] = result["columns"]
    rows: list[list[Any]] = []
    entries = [*result["rows"], *([result["other"]] if result["other"] else [])]
    total = dict(result["total"])
    if result["by"] == "process":
        headers = ["pid", "user", "command", *columns]
        for row in entries:
            rows.append(
                [row.get("pid"), row.get("user"), row["command"], *(row[c] for c in columns)]
            )
        rows.append([None, None, "TOTAL", *(total[c] for c in columns)])
    else:
        headers = [result["by"], "processes", *columns]
        for row in entries:
            rows.append([row["group"], row["processes"], *(row[c] for c in columns)])
        rows.append(["TOTAL", total["processes"], *(total[c] for c in columns)])
    return csv_text(headers, rows)


_REASON_WORDS = {
    "exited": "exited during the sweep",
    "denied": "may not be read (ptrace-read access is needed)",
    "hidden": "hidden by hidepid",
    "error": "could not be read",
}


def note(result: dict[str, Any]) -> str:
    """The note on stderr: what was left out, and why (empty when nothing was)."""
    lines = []
    skipped = result["skipped"]
    if skipped:
        parts = []
        for reason, words in _REASON_WORDS.items():
            some = [s for s in skipped if s["reason"] == reason]
            if some:
                listed = ", ".join(
                    f"{s['pid']}" + (f" ({s['comm']})" if s["comm"] else "") for s in some
                )
                parts.append(f"{len(some)} {words}: {listed}")
        count = len(skipped)
        lines.append(
            f"smapsfmt: note: {count} process{'es' if count != 1 else ''} left out: "
            + "; ".join(parts)
        )
    if result["summed_from_smaps"]:
        lines.append(
            "smapsfmt: note: this kernel has no smaps_rollup (Linux < 4.14): each process's "
            "smaps was summed, and its Pss is low by less than 1 kB per mapping"
        )
    return "".join(line + "\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    from .._cli.streams import EXIT_OK, err, out, stderr_is_terminal
    from .sweep import sweep

    cgroup = args.by == "cgroup"
    if stderr_is_terminal():  # progress is shown there only: elsewhere its module is not loaded
        from .progress import Progress

        with Progress("reading processes") as progress:
            result_sweep = sweep(cgroup=cgroup, stat=False, progress=progress.update)
    else:
        result_sweep = sweep(cgroup=cgroup, stat=False)
    result = build(result_sweep, args)
    if args.format == "json":
        out(json_text(result))
    elif args.format == "csv":
        out(render_csv(result))
    else:
        out(render_text(result))
    err(note(result))
    return EXIT_OK
