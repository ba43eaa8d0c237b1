"""``smapsfmt selftest``: does this kernel print the right values for known memory shapes?

    smapsfmt selftest [--shape NAME ...] [--with-system-settings] [--from FILE]
                      [--format text|json]

One line per check (shape, file, field, expected, printed, verdict: pass, fail, or n/a with
the reason), then a summary. Exit 0 when no check failed (n/a is not a failure), 1 when one
did, 2 for a usage error or a shaper that cannot be built or run.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .._cli.common import Refusal, display_name, read_input
from .._cli.schemas import register
from .._cli.streams import UsageError, out
from .boot_cli import BOOT_OPTIONS, add_boot_arguments
from .shapes import SHAPES

__all__ = ["add_commands"]

_SYSTEM = [name for name, changes in SHAPES.items() if changes]


def add_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "selftest", help="check what this kernel prints for processes of known shapes",
        description="Give processes known memory shapes (anonymous pages, pages shared by "
        "fork, mlock, MADV_FREE, a deleted file with a newline in its name, thousands of "
        "mappings, THP, protection keys, named anonymous memory, userfaultfd; with "
        "--with-system-settings also KSM, swap on zram and hugetlb), read their smaps and "
        "smaps_rollup, and check every value the kernel printed against what the field's "
        "meaning requires. Every capture must also validate and every pair prove. Exit 0: "
        "no check failed (n/a is not a failure); 1: a check failed; 2: usage, or the shaper "
        "cannot be built or run. The shaper is compiled from the package's shaper.c with the "
        "system's C compiler ($CC, cc or gcc) on first use.",
    )  # fmt: skip
    parser.add_argument(
        "--shape", action="append", choices=list(SHAPES), metavar="NAME",
        help=f"run only this shape (repeatable): {', '.join(SHAPES)}",
    )  # fmt: skip
    parser.add_argument(
        "--with-system-settings", action="store_true",
        help=f"also run the shapes that change system settings ({', '.join(_SYSTEM)}); "
        "root only; every setting is restored, on failure too",
    )  # fmt: skip
    parser.add_argument(
        "--from", dest="source", metavar="FILE",
        help="check a saved shaper output (e.g. a guest's serial console) instead of running "
        "the shaper",
    )  # fmt: skip
    parser.add_argument("--format", choices=("text", "json"), default="text")
    add_boot_arguments(parser)
    parser.set_defaults(run=_cmd_selftest)


def _cmd_selftest(args: argparse.Namespace) -> int:
    from .check import Check, check_capture, summary
    from .frames import FrameError, decode

    shapes: list[str] | None = list(dict.fromkeys(args.shape)) if args.shape else None
    restored: list[str] = []
    boot: dict[str, Any] | None = None
    given = [f"--{name}" for name in BOOT_OPTIONS if getattr(args, name) is not None]
    if args.boot is None and given:
        raise UsageError(f"{given[0]} is an option of --boot KERNEL_IMAGE")
    if args.boot is not None:
        from .boot_cli import run_boot

        if args.source is not None or args.shape or args.with_system_settings:
            raise UsageError("--boot runs every shape in the guest: it does not take --from, "
                             "--shape or --with-system-settings")  # fmt: skip
        capture, checks, boot = run_boot(args)
    elif args.source is not None:
        if args.with_system_settings:
            raise UsageError("--with-system-settings runs shapes: it does not apply to --from")
        data = read_input(args.source)
        try:
            capture = decode(data)
        except FrameError as exc:
            raise Refusal(_frame_diagnostic(display_name(args.source), exc)) from None
        checks = check_capture(capture, shapes)
    else:
        capture, checks, restored = _run(args, shapes)
        if shapes is None and not args.with_system_settings:
            checks += [
                Check(name, "shaper", "-", "-", "-", "n/a",
                      "not run: it changes system settings (give --with-system-settings, as "
                      "root)")
                for name in _SYSTEM
            ]  # fmt: skip
    counts = summary(checks)
    if args.format == "json":
        document = {
            "kernel": capture.kernel,
            "checks": [c.to_json() for c in checks],
            "summary": counts,
            "restored": restored,
            **({"boot": boot} if boot is not None else {}),
        }
        out(json.dumps(document, indent=1) + "\n")
    else:
        out(_table(checks))
        out(_summary_line(capture.kernel, counts) + "\n")
        if boot is not None:
            out(f"booted {boot['image']} ({boot['arch']}) under qemu in {boot['seconds']} s\n")
    return 1 if counts["fail"] else 0


def _run(args: argparse.Namespace, shapes: list[str] | None) -> tuple[Any, Any, list[str]]:
    from .build import ShaperBuildError
    from .frames import FrameError
    from .run import ShaperError, run_selftest

    asked_system = [s for s in shapes or () if SHAPES[s]]
    if asked_system and not args.with_system_settings:
        raise UsageError(
            f"shape {asked_system[0]} changes system settings: add --with-system-settings "
            "(as root)"
        )
    if args.with_system_settings and os.geteuid() != 0:
        raise UsageError(
            f"--with-system-settings needs root: the shapes {', '.join(_SYSTEM)} change "
            "system settings"
        )
    try:
        result = run_selftest(shapes, system=args.with_system_settings)
    except (ShaperBuildError, ShaperError) as exc:
        raise UsageError(str(exc)) from None
    except FrameError as exc:
        message = f"the shaper's output cannot be decoded: line {exc.line}: {exc}"
        raise UsageError(message) from None
    return result.capture, result.checks, result.restored


def _frame_diagnostic(path: str, exc: Any) -> Any:
    from .._diagnostics import Diagnostic

    return Diagnostic(path, exc.line, 1, "shaper-frame", "error", str(exc))


_HEAD = ("SHAPE", "FILE", "FIELD", "EXPECTED", "PRINTED", "VERDICT")
_MOST = (12, 12, 30, 20, 20)  # a longer cell (a path) pushes the rest of its line only


def _table(checks: list[Any]) -> str:
    rows = [_HEAD] + [
        (c.shape, c.file, c.field, c.expected, c.printed,
         f"{c.verdict}: {c.reason}" if c.reason else c.verdict)
        for c in checks
    ]  # fmt: skip
    widths = [min(most, max(len(row[i]) for row in rows)) for i, most in enumerate(_MOST)]
    lines = []
    for row in rows:
        cells = [f"{cell:<{width}}" for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]))
    return "\n".join(lines) + "\n"


def _summary_line(kernel: dict[str, str], counts: dict[str, int]) -> str:
    page = int(kernel.get("page_size", "0")) // 1024
    where = (
        f"Linux {kernel.get('release', '?')} {kernel.get('machine', '?')} (page size {page} kB, "
        f"uid {kernel.get('uid', '?')})"
    )
    return (
        f"smapsfmt selftest: {where}: {counts['checks']} checks: {counts['pass']} pass, "
        f"{counts['fail']} fail, {counts['n/a']} n/a"
    )


def selftest_schema() -> dict[str, Any]:
    text = {"type": "string"}
    check = {
        "type": "object",
        "additionalProperties": False,
        "required": ["shape", "file", "field", "expected", "printed", "verdict", "reason"],
        "properties": {
            "shape": {**text, "description": "the shape's name; '-' for the run as a whole"},
            "file": {"enum": ["smaps", "smaps_rollup", "shaper"]},
            "field": text,
            "expected": text,
            "printed": {**text, "description": "what the kernel printed; '-' for nothing"},
            "verdict": {"enum": ["pass", "fail", "n/a"]},
            "reason": {**text, "description": "why n/a, or what a failed check means"},
        },
    }
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["kernel", "checks", "summary", "restored"],
        "properties": {
            "kernel": {
                "type": "object",
                "description": "the shaper's KERNEL record: release, machine, page_size, uid, ...",
                "additionalProperties": text,
            },
            "checks": {"type": "array", "items": check},
            "summary": {
                "type": "object",
                "additionalProperties": False,
                "required": ["checks", "pass", "fail", "n/a"],
                "properties": {"checks": count, "pass": count, "fail": count, "n/a": count},
            },
            "boot": {
                "type": "object",
                "description": "with --boot: the image, its architecture, the boot's seconds, "
                "qemu's version, and the Debian package and version with debian:PACKAGE",
                "additionalProperties": {"type": ["string", "number"]},
            },
            "restored": {
                "type": "array",
                "items": text,
                "description": "settings smapsfmt had to restore after the shaper (none when "
                "the shaper restored them itself)",
            },
        },
    }


register(
    "selftest", "selftest", "smapsfmt selftest --format json: one object per check",
    "smapsfmt.selftest.cli:selftest_schema",
)  # fmt: skip
