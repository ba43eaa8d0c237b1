"""``smapsfmt validate FILE...``: the validator on the command line.

Text output: one diagnostic per line, ``FILE:LINE:COL: RULE: message`` (warnings say so after
the rule id), then per file a summary line naming the kernel profile that matched (or the
closest one). ``--format json`` prints one JSON array of ``{path, line, column, rule, severity,
message}`` for all files (with a note on stderr when ``--kernel`` is newer than every profile,
which the text summary line says instead). Exit status 0 when no file has an error, 1 when one
has, 2 for a usage error or an unreadable file (nothing is printed on stdout then). ``--pid
PID`` validates the running process's smaps and smaps_rollup, read while it is frozen (exit
statuses 4-11 of ``smapsfmt._cli`` when it cannot be read).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._cli import (
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    _out,
    add_source_arguments,
    display_name,
    load_snapshot,
    read_input,
)

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    """Add ``validate`` to the command line's subparsers."""
    validate = commands.add_parser(
        "validate",
        help="check smaps or smaps_rollup files against the kernel profiles and the ABI document",
        description="Check each FILE ('-' for standard input): syntax (the grammar), layout "
        "(the kernel profile that matches, or the one --kernel names) and the invariants of "
        "the ABI document. Prints every problem as FILE:LINE:COL: RULE: message, then a "
        "summary line per file naming the profile. Unknown vendor fields and VmFlags "
        "mnemonics are warnings (errors with --strict). With --pid, the smaps and "
        "smaps_rollup of the running process, read while it is frozen. The rules are listed "
        "in docs/rules.md.",
    )
    validate.add_argument("files", metavar="FILE", nargs="*")
    validate.add_argument(
        "--kernel",
        metavar="VERSION",
        help="check against the profile of this kernel version (e.g. 5.4) or the profile of "
        "this name (e.g. android-4.9) instead of the detected one",
    )
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument(
        "--strict", action="store_true", help="warnings count as errors (exit status 1)"
    )
    validate.add_argument(
        "--kind",
        choices=("auto", "smaps", "rollup"),
        default="auto",
        help="what each FILE is (default: a first header naming [rollup] means smaps_rollup)",
    )
    add_source_arguments(validate)
    validate.set_defaults(run=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from ._validate import _allowed_profiles, validate_report

    try:
        _allowed_profiles(args.kernel)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.pid is not None:
        if args.files:
            raise UsageError("give either FILE... or --pid PID, not both")
        snap = load_snapshot(args)
        inputs = [(snap.smaps_path, snap.smaps_text)]
        if snap.rollup_text is not None:
            inputs.append((snap.rollup_path, snap.rollup_text))
    elif not args.files:
        raise UsageError("FILE... or --pid PID is required (see 'smapsfmt validate --help')")
    else:
        if args.files.count("-") > 1:
            raise UsageError("standard input ('-') can be given only once")
        inputs = [(display_name(name), read_input(name)) for name in args.files]
    failed = False
    found: list[dict[str, object]] = []
    for path, data in inputs:
        report = validate_report(
            data, path=path, kernel=args.kernel, strict=args.strict, kind=args.kind
        )
        failed = failed or report.errors > 0
        if args.format == "json":
            found += [diagnostic.to_json() for diagnostic in report.diagnostics]
            continue
        for diagnostic in report.diagnostics:
            _out(diagnostic.render() + "\n")
        _out(report.summary(path) + "\n")
    if args.format == "json":
        _out(json.dumps(found, indent=1) + "\n")
        _note_newer_kernel(args.kernel)
    return EXIT_INVALID if failed else EXIT_OK


def _note_newer_kernel(kernel: str | None) -> None:
    """A kernel newer than every profile: in JSON (no summary line), a note on stderr."""
    from ._cli import _err
    from ._profiles import beyond_every_profile, newer_note

    newest = beyond_every_profile(kernel) if kernel else None
    if newest is not None:
        _err(f"smapsfmt: note: {newer_note(kernel or '', newest)}\n")
