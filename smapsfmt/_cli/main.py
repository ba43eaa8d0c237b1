"""The command line: ``smapsfmt COMMAND ...`` (also ``python -m smapsfmt``): the parser, built
from one module per command, and ``main``, which runs a command and turns every outcome into
an exit status (listed in smapsfmt._cli.common) and, with ``--format json``, a JSON object.
"""

from __future__ import annotations

import os
import sys

from .streams import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_USAGE,
    OutputError,
    UsageError,
    discard_stdout,
    err,
    flush,
    out,
    reset_output,
)

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

# The modules that add the commands, in the order --help lists them, and the commands each adds.
# With one of these COMMANDs first on the command line, only its module is loaded and only its
# parsers are built: a command's start-up is its own, not that of every command (``smapsfmt ps``
# is measured against the bare reads it makes: bench/ps.py). ``schema`` builds them all, since
# every module registers the schemas of its outputs when it adds its commands.
COMMAND_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("smapsfmt._cli.parse", ("parse", "schema")),
    ("smapsfmt._cli.validate", ("validate", "rules")),
    ("smapsfmt._cli.rollup", ("rollup", "check")),
    ("smapsfmt.conformance.cli", ("conformance",)),
    ("smapsfmt.selftest.cli", ("selftest",)),
    ("smapsfmt.triage.cli", ("summary", "ps", "diff", "report")),
    ("smapsfmt.fleet.cli", ("sample", "export", "query")),
)
_NEEDS_ALL = frozenset({"schema"})


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command, or only those of the module that adds
    ``command`` (the rest of the command line is then parsed exactly as the full parser
    would)."""
    import importlib

    from .common import Parser, Version

    parser = Parser(
        prog="smapsfmt",
        description="The executable specification of /proc/PID/smaps and smaps_rollup.",
        epilog="Exit status: 0 valid, 1 invalid input, 2 usage error or unreadable input, "
        "3 internal error. With --pid: 4 no such process, 5 permission denied, 6 /proc not "
        "mounted or hidden (hidepid), 7 kernel thread, 8 zombie, 9 exited or exec'd during the "
        "read, 10 pid reused, 11 no smaps_rollup (kernel < 4.14). 130 interrupted (SIGINT). "
        "FILE may be gzip, xz or zstd compressed. With --format json, an error is a JSON "
        "object on stdout too (see 'smapsfmt schema error').",
    )
    parser.add_argument("--version", action=Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    chosen = [
        module
        for module, names in COMMAND_MODULES
        if command is None or command in _NEEDS_ALL or command in names
    ]
    for module in chosen or [m for m, _ in COMMAND_MODULES]:
        importlib.import_module(module).add_commands(commands)
    return parser


def _command(argv: Sequence[str] | None) -> str | None:
    """The COMMAND word, when it comes first (no option before it), else None."""
    words = sys.argv[1:] if argv is None else argv
    return words[0] if words and not words[0].startswith("-") else None


def _quick(argv: Sequence[str] | None) -> Any:
    """``smapsfmt ps`` in its common forms, read without argparse (smapsfmt.triage.ps
    ``quick_args``: the same options, the same values), so that its start-up is little more
    than the interpreter's; None for any other command line, which the full parser reads."""
    words = sys.argv[1:] if argv is None else argv
    if words[:1] == ["ps"]:
        from ..triage.ps import quick_args

        return quick_args(list(words[1:]))
    return None


def main(argv: Sequence[str] | None = None) -> int:
    reset_output()
    args: Any = None
    try:
        try:
            args = _quick(argv)
            if args is None:
                from .common import check_source_options

                args = build_parser(_command(argv)).parse_args(argv)
                check_source_options(args)
            run: Callable[[Any], int] | None = getattr(args, "run", None)
            if run is None:
                raise UsageError("a COMMAND is required (see 'smapsfmt --help')")
            code = run(args)
        except SystemExit as exc:  # --help and --version, whose text went through out
            code = exc.code if isinstance(exc.code, int) else EXIT_OK
        except (OutputError, BrokenPipeError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure: one message, and JSON
            from .common import report

            code = report(args if args is not None else _asked_format(argv), exc)
        flush()
        return code
    except OutputError as exc:
        discard_stdout()
        err(f"smapsfmt: error: cannot write the output: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # a write outside out: the command's status is not known
        discard_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt:
        _ignore_interrupts()  # one message, one status: a second SIGINT cannot cut them short
        err("smapsfmt: interrupted\n")
        if getattr(args, "format", None) == "json":
            from .common import error_object

            error = error_object("interrupted", "interrupted", EXIT_INTERRUPTED)
            try:
                import json

                out(json.dumps(error, indent=1) + "\n")
                flush()
            except (OutputError, KeyboardInterrupt):
                pass
        discard_stdout()
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        err(f"smapsfmt: internal error: {type(exc).__name__}: {exc} (please report this)\n")
        return EXIT_INTERNAL


def _asked_format(argv: Sequence[str] | None) -> argparse.Namespace:
    """The output format the command line asked for, when it could not be parsed (a usage
    error from argparse): a script that asked for JSON gets the error object too. The words
    after ``--`` are another program's (``conformance run -- CMD ...``) and are not read."""
    import argparse

    words = list(sys.argv[1:] if argv is None else argv)
    asked = None
    for i, word in enumerate(words):
        if word == "--":
            break
        if word == "--format" and i + 1 < len(words):
            asked = words[i + 1]
        elif word.startswith("--format="):
            asked = word.partition("=")[2]
    return argparse.Namespace(format=asked)


def _ignore_interrupts() -> None:
    import signal

    try:  # noqa: SIM105 - not contextlib: ps's start-up does without it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # main() called from another thread
        pass


# The commands whose process may end at once when they are done, without the interpreter's
# teardown (freeing every object and module one by one: about 2 ms of ``smapsfmt ps``'s 30 on
# a busy machine, bench/ps.py; about 24 ms of ``smapsfmt parse``'s 239 on a 20,000-mapping
# smaps, beside bench/bench.py, most of it pydantic's and the models' objects): they write only
# through smapsfmt._cli.streams, which flushes, and leave no file, thread or connection for the
# teardown to finish (parse's spool is closed, and with --pid the freezing process reaped,
# before it returns).
_ENDS_AT_ONCE = frozenset({"ps", "parse"})


def run_process() -> NoReturn:
    """The command line as a process of its own (the installed script, ``python -m smapsfmt``):
    ``entry_point``, and then, for a command of ``_ENDS_AT_ONCE`` in a process where nothing
    waits for the interpreter's exit (no atexit function: a coverage run's data, logging's
    flush; no other thread), the exit with its status at once. Called from other code (the
    tests' in-process runs), ``entry_point`` raises SystemExit as before."""
    try:
        entry_point()
    except SystemExit as exc:
        if isinstance(exc.code, int) and _command(None) in _ENDS_AT_ONCE and _nothing_waits():
            _flush_standard_streams()
            os._exit(exc.code)
        raise


def _nothing_waits() -> bool:
    """No atexit function is registered and no other thread runs: the interpreter's exit
    would only free memory that the process's end frees anyway. (Code that registers one
    imports atexit first: a process without it in sys.modules has none.)"""
    atexit = sys.modules.get("atexit")
    if atexit is not None and atexit._ncallbacks():
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - not contextlib: ps's start-up does without it
            stream.flush()
        except Exception:  # noqa: BLE001 - exiting: nothing is left to report to
            pass


def entry_point() -> NoReturn:
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handlers: the same message and status
        _ignore_interrupts()
        err("smapsfmt: interrupted\n")
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        # Exit at once with this status: the interpreter's own shutdown after an interrupt may
        # end the process by SIGINT instead (it puts the default handler back on the way out).
        _flush_standard_streams()
        os._exit(code)
    sys.exit(code)
