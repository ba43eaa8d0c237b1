"""``smapsfmt validate FILE...`` and ``smapsfmt rules``: the validator on the command line, with
the conventions of a linter.

Text output: one diagnostic per line, ``FILE:LINE:COL: RULE: message`` (warnings say so after
the rule id), then per file a summary line naming the kernel profile that matched (or the
closest one), and after more than one FILE a total line:
``3 files: 1 valid, 1 invalid, 1 unreadable; 4 errors, 1 warning``. ``--statistics`` prints
one count per rule instead; ``--quiet`` prints nothing (the exit status says it all).
``--format json`` prints one JSON object, ``{"files": [...]}``: per FILE what its summary line
says (``profile`` in the words of rollup and check) and its diagnostics, each ``{path, line,
column, rule, severity, message}``; ``--format sarif`` a SARIF 2.1.0 log, with each FILE's
profile in the properties of its artifact (``smapsfmt._cli.validate_output``). A FILE that
cannot be read is reported on stderr and, in JSON and SARIF, as an ``io-error`` entry; the
other FILEs are still checked. ``--select``/``--ignore`` choose the rules reported
(``smapsfmt._validate.rules``). Exit status 0 when no file has an error, 1 when one has, 2 for a
usage error or when a FILE could not be read. ``--pid PID`` validates the running process's smaps
and smaps_rollup, read while it is frozen (exit statuses 4-11 of ``smapsfmt._cli.main`` when it
cannot be read).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from .common import add_source_arguments, display_name, edited_spec, load_snapshot, read_input
from .streams import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError, err, flush, out

__all__ = ["add_commands"]

_BOLD, _RED, _YELLOW, _RESET = "\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[0m"


def add_commands(commands: Any) -> None:
    """Add ``validate`` and ``rules`` to the command line's subparsers."""
    validate = commands.add_parser(
        "validate",
        help="check smaps or smaps_rollup files against the kernel profiles and the ABI document",
        description="Check each FILE ('-' for standard input): syntax (the grammar), layout "
        "(the kernel profile that matches, or the one --kernel names) and the invariants of "
        "the ABI document. Prints every problem as FILE:LINE:COL: RULE: message, then a "
        "summary line per file naming the profile, and a total line after more than one "
        "FILE. Unknown vendor fields and VmFlags mnemonics are warnings (errors with "
        "--strict). A FILE that cannot be read is reported and the others are still checked. "
        "With --pid, the smaps and smaps_rollup of the running process, read while it is "
        "frozen. 'smapsfmt rules' lists the rules; docs/rules.md says where each comes from.",
        epilog="Exit status: 0 no FILE has an error (warnings allowed), 1 a FILE has an "
        "error, 2 usage error or a FILE could not be read (this wins over 1). A RULE of "
        "--select and --ignore is a rule id or a prefix of whole words: 'layout' names every "
        "layout-* rule, 'smaps-pss' the three smaps-pss-* rules. Colors (--color auto): when "
        "standard output is a terminal, NO_COLOR is unset or empty and TERM is not 'dumb'.",
    )
    validate.add_argument("files", metavar="FILE", nargs="*")
    validate.add_argument(
        "--kernel",
        metavar="VERSION",
        help="check against the profile of this kernel version (e.g. 5.4) or the profile of "
        "this name (e.g. android-4.9) instead of the detected one",
    )
    validate.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        help="text (default): one line per problem and summaries; json: {files: [{path, "
        "status, kind, mappings, errors, warnings, profile, diagnostics: [{path, line, column, "
        "rule, severity, message}]}]}, an unreadable FILE included with an io-error entry; "
        "sarif: SARIF 2.1.0, for code-scanning tools",
    )
    validate.add_argument(
        "--strict", action="store_true", help="warnings count as errors (exit status 1)"
    )
    validate.add_argument(
        "--kind",
        choices=("auto", "smaps", "rollup"),
        default="auto",
        help="what each FILE is (default: a first header naming [rollup] means smaps_rollup)",
    )
    validate.add_argument(
        "-q", "--quiet", action="store_true",
        help="print nothing on standard output: the exit status is the answer",
    )  # fmt: skip
    validate.add_argument(
        "--statistics", action="store_true",
        help="print how often each rule was reported over all FILEs, most frequent first, "
        "instead of the diagnostics",
    )  # fmt: skip
    validate.add_argument(
        "--select", action="append", metavar="RULE[,RULE...]",
        help="report only these rules (repeatable; default: every rule)",
    )  # fmt: skip
    validate.add_argument(
        "--ignore", action="append", metavar="RULE[,RULE...]",
        help="do not report these rules (repeatable; wins over --select)",
    )  # fmt: skip
    validate.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto",
        help="color the text output (default auto: a terminal, and NO_COLOR unset)",
    )  # fmt: skip
    add_source_arguments(validate)
    validate.set_defaults(run=_cmd_validate)

    rules = commands.add_parser(
        "rules",
        help="list the rules of validate, one line each",
        description="List the rules that validate reports: id, severity and a one-line "
        "description (for an invariant of the ABI document, its expression and kernels). "
        "RULE names a rule or a prefix of whole words, as --select does.",
    )
    rules.add_argument("selectors", metavar="RULE", nargs="*")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    rules.set_defaults(run=_cmd_rules)


# --- rules --------------------------------------------------------------------------------------


def _cmd_rules(args: argparse.Namespace) -> int:
    from .._validate.rules import enabled_rules, rules

    try:
        wanted = enabled_rules(args.selectors, None) if args.selectors else None
    except ValueError as exc:
        raise UsageError(str(exc).replace("--select: ", "")) from None
    listed = [r for r in rules() if wanted is None or r.id in wanted]
    if args.selectors:  # io-error is always enabled, but listed only when named
        listed = [r for r in listed if r.id != "io-error" or "io-error" in args.selectors]
    if args.format == "json":
        out(json.dumps([r.to_json() for r in listed], indent=1) + "\n")
        return EXIT_OK
    width = max(len(r.id) for r in listed)
    for r in listed:
        out(f"{r.id:<{width}}  {r.severity:<7}  {r.description}\n")
    return EXIT_OK


# --- validate -----------------------------------------------------------------------------------


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except ValueError:  # closed
        return False


def _check_options(args: argparse.Namespace) -> str:
    """The output format; UsageError for options that cannot go together."""
    fmt: str = args.format or "text"
    if args.quiet and args.statistics:
        raise UsageError("--quiet prints nothing: it cannot go with --statistics")
    if args.quiet and fmt != "text":
        raise UsageError(f"--quiet prints nothing: it cannot go with --format {fmt}")
    if args.statistics and fmt == "sarif":
        raise UsageError("--statistics has no SARIF form: use --format text or json")
    return fmt


def _inputs(args: argparse.Namespace) -> list[tuple[str, Callable[[], bytes]]]:
    """(display name, a function that reads it) for each text to check."""
    if args.pid is not None:
        if args.files:
            raise UsageError("give either FILE... or --pid PID, not both")
        snap = load_snapshot(args)
        found = [(str(snap.smaps_path), lambda: snap.smaps_text)]
        if snap.rollup_text is not None:
            found.append((str(snap.rollup_path), lambda: snap.rollup_text))
        return found
    if not args.files:
        raise UsageError("FILE... or --pid PID is required (see 'smapsfmt validate --help')")
    if args.files.count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    return [(display_name(name), functools.partial(read_input, name)) for name in args.files]


def _cmd_validate(args: argparse.Namespace) -> int:
    from .._diagnostics import Diagnostic
    from .._errors import SmapsSyntaxError
    from .._validate.findings import SYNTAX
    from .._validate.rules import IO_ERROR, enabled_rules
    from .._validate.validate import Report, allowed_profiles, validate_report
    from .input import InputError

    try:
        allowed_profiles(args.kernel)
        enabled = enabled_rules(args.select, args.ignore)
    except ValueError as exc:  # --kernel, --select, --ignore; or the SMAPSFMT_SPEC_DIR copy
        raise UsageError(edited_spec(exc) or str(exc)) from None
    fmt = _check_options(args)
    inputs = _inputs(args)
    listing = fmt == "text" and not args.statistics and not args.quiet
    color = listing and _use_color(args.color)
    # for json, sarif and --statistics: each FILE, its report (None: unreadable), diagnostics
    collected: list[tuple[str, Any, list[Diagnostic]]] = []
    totals: Counter[str] = Counter()
    for path, read in inputs:
        try:
            report = validate_report(
                read(), path=path, kernel=args.kernel, strict=args.strict, kind=args.kind
            )
        except (UsageError, InputError) as exc:
            flush()  # what came before, first
            err(f"smapsfmt: error: {exc}\n")
            totals["unreadable"] += 1
            collected.append((path, None, [Diagnostic(path, 1, 1, IO_ERROR, "error", str(exc))]))
            continue
        except SmapsSyntaxError as exc:  # the input layer stopped reading: one FILE's error
            problem = Diagnostic(path, exc.line, exc.column, SYNTAX, "error", exc.msg)
            report = Report([problem], "smaps", None, how="not read to its end")
        report.diagnostics = [d for d in report.diagnostics if d.rule in enabled]
        totals["invalid" if report.errors else "valid"] += 1
        totals["errors"] += report.errors
        totals["warnings"] += report.warnings
        if args.quiet:
            continue
        if not listing:
            collected.append((path, report, report.diagnostics))
            continue
        for diagnostic in report.diagnostics:
            line = diagnostic.render()
            out((_paint_diagnostic(diagnostic, line) if color else line) + "\n")
        summary = report.summary(path)
        out((_paint_summary(summary, path) if color else summary) + "\n")
    if listing and args.pid is None and len(inputs) > 1:
        total = _total_line(totals)
        out((_paint_total(total) if color else total) + "\n")
    elif not listing and not args.quiet:
        _print_collected(collected, fmt, args, complete=not totals["unreadable"])
    if totals["unreadable"]:
        return EXIT_USAGE
    return EXIT_INVALID if totals["invalid"] else EXIT_OK


def _file_json(path: str, report: Any, diagnostics: list[Any]) -> dict[str, Any]:
    """One FILE in ``--format json``: its summary line's facts (``report`` None: the FILE
    could not be read), then its diagnostics (schema: ``smapsfmt schema validate``)."""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    if report is None:
        status, kind, mappings, profile = "unreadable", None, None, None
    else:
        status = "invalid" if errors else "valid"
        kind = "smaps_rollup" if report.kind == "rollup" else "smaps"
        mappings = None if report.kind == "rollup" else report.entries
        profile = report.profile_words()
    return {
        "path": path,
        "status": status,
        "kind": kind,
        "mappings": mappings,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "profile": profile,
        "diagnostics": [d.to_json() for d in diagnostics],
    }


def _print_collected(collected: list[tuple[str, Any, list[Any]]], fmt: str,
                     args: argparse.Namespace, complete: bool) -> None:  # fmt: skip
    """What --statistics, --format json and --format sarif print after every FILE is read."""
    found = [d for _, _, diagnostics in collected for d in diagnostics]
    files = [_file_json(*item) for item in collected]
    if args.statistics:
        _print_statistics(found, fmt)
    elif fmt == "json":
        out(json.dumps({"files": files}, indent=1) + "\n")
    elif fmt == "sarif":
        from .. import __version__
        from .._validate.rules import rules
        from .validate_output import sarif_log

        profiles = [(f["path"], f["profile"]) for f in files]
        log = sarif_log(found, rules(), __version__, complete=complete, profiles=profiles)
        out(json.dumps(log, indent=1) + "\n")
    _note_newer_kernel(args.kernel)  # where no summary line says it


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _total_line(totals: Counter[str]) -> str:
    """``3 files: 1 valid, 1 invalid, 1 unreadable; 4 errors, 1 warning``."""
    files = totals["valid"] + totals["invalid"] + totals["unreadable"]
    return (
        f"{_plural(files, 'file')}: {totals['valid']} valid, {totals['invalid']} invalid, "
        f"{totals['unreadable']} unreadable; {_plural(totals['errors'], 'error')}, "
        f"{_plural(totals['warnings'], 'warning')}"
    )


def _print_statistics(found: list[Any], fmt: str) -> None:
    """One row per rule reported, most frequent first, then by rule id."""
    from .._validate.rules import rules

    described = {r.id: r.description for r in rules()}
    counts = Counter(d.rule for d in found)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if fmt == "json":
        stats = [
            {"rule": rule, "count": count, "description": described.get(rule, "")}
            for rule, count in rows
        ]
        out(json.dumps(stats, indent=1) + "\n")
        return
    if not rows:
        return
    count_width = len(str(rows[0][1]))
    rule_width = max(len(rule) for rule, _ in rows)
    for rule, count in rows:
        out(f"{count:>{count_width}}  {rule:<{rule_width}}  {described.get(rule, '')}\n")


# --- colors: they only decorate; without them the text is the same byte for byte ---------------


def _paint_diagnostic(diagnostic: Any, line: str) -> str:
    location = f"{diagnostic.location}:"
    tag = diagnostic.rule if diagnostic.severity == "error" else f"{diagnostic.rule} (warning)"
    head = f"{location} {tag}:"
    if not line.startswith(head):
        return line
    hue = _RED if diagnostic.severity == "error" else _YELLOW
    return f"{_BOLD}{location}{_RESET} {hue}{tag}{_RESET}:{line[len(head) :]}"


_COUNTS = re.compile(r"(\d+) (errors?|warnings?|invalid|unreadable)\b")


def _paint_counts(text: str) -> str:
    def paint(match: re.Match[str]) -> str:
        if match.group(1) == "0":
            return match.group(0)
        hue = _YELLOW if match.group(2).startswith("warning") else _RED
        return f"{hue}{match.group(0)}{_RESET}"

    return _COUNTS.sub(paint, text)


def _paint_summary(summary: str, path: str) -> str:
    head = f"{path}:"
    if not summary.startswith(head):
        return summary
    rest, sep, profile = summary[len(head) :].partition(";")
    return f"{_BOLD}{head}{_RESET}{_paint_counts(rest)}{sep}{profile}"


def _paint_total(total: str) -> str:
    return _paint_counts(total)


def _note_newer_kernel(kernel: str | None) -> None:
    """A kernel newer than every profile, where no summary line says so: a note on stderr."""
    from .._spec.profiles import newer_note

    note = newer_note(kernel)
    if note is not None:
        err(f"smapsfmt: note: {note}\n")
