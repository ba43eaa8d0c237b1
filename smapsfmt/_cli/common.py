"""What every command of the command line shares: exit statuses, the writers of standard output
and error, the argument parser, input and live-process sources, and the one error object.

This module imports no command; smapsfmt._cli.main builds the parser from the commands.

Exit status, for every command:
  0  success
  1  the input is not valid (a syntax error, or what the command checks does not hold)
  2  usage error, an input that cannot be read, or an output that cannot be written
  3  an internal error of smapsfmt (a bug: please report it); never a traceback

Reading a live process (``--pid PID``) adds one status per situation, each with a one-line
message on stderr (the classes are in smapsfmt._live.errors):
  4  no such process                                        NoSuchProcessError
  5  permission denied: ptrace-read access is needed        ProcPermissionError
  6  /proc is not mounted, or hidepid hides the process     ProcUnavailableError
  7  a kernel thread: it has no memory map                  KernelThreadError
  8  a zombie: exited, not yet reaped                       ZombieProcessError
  9  the process exited or called exec during the read      ProcessExitedError
  10 the pid was reused by another process                  PidReusedError
  11 no smaps_rollup: kernel older than 4.14                RollupMissingError

and, from the shell's conventions:
  130 interrupted by SIGINT (one line on stderr; reads are in pieces, so it is at once)
  141 the reader of standard output went before the status was known (a writer other than
      ``out`` met EPIPE)

Standard streams. In text mode stdout carries only results (models, rollups, proofs,
diagnostics of validate and check); a syntax error, a refusal (no kernel prints the input) and
every error go to stderr. With ``--format json`` every outcome is JSON on stdout too: a failure
is the one object ``error_object`` builds (``{"error": {"kind", "rule", "path", "line",
"column", "message", "exit"}}``; schema ``smapsfmt schema error``), written by ``main`` for any
command whose namespace has ``format == "json"``. When the reader of stdout goes (EPIPE,
``| head``), ``out`` discards the rest quietly and the command runs to its end, so that it exits
with the status it would have had; any other write error (``/dev/full``, stdout closed) is
reported, exit 2, for ``--help`` and ``--version`` too (argparse writes through ``out``).

Options. Every parser registers ``_StoreOnce`` as its ``store`` action: an option that takes
one value is a usage error when given twice (no value is dropped silently); options declared
with ``action="append"`` or ``"extend"`` stay repeatable.

Inputs. FILE and ``-`` are read through smapsfmt._cli.input (``read_input``, ``open_input``):
gzip/xz/zstd decompressed, no line longer than smapsfmt._limits.MAX_LINE held, a
/proc/PID/maps file named as such.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from .input import InputError, open_input
from .schemas import ERROR_KINDS
from .streams import (
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_USAGE,
    UsageError,
    err,
    out,
)

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from typing import Any, NoReturn


class _StoreOnce(argparse._StoreAction):
    """An option that takes one value, refused when given twice: the first value would be
    dropped silently. Every parser of the command line registers it as its ``store`` action,
    so each option added with the default action gets it; options declared with
    ``action="append"`` or ``"extend"`` stay repeatable."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        given: set[str] = namespace.__dict__.setdefault("_given_once", set())
        if self.dest in given:
            raise argparse.ArgumentError(self, "given more than once: it takes one value")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: COLUMNS, else the width
    of the terminal of standard output, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stream = sys.__stdout__
        try:
            columns = os.get_terminal_size(stream.fileno()).columns if stream else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, given the width argparse would find with shutil: argparse
    builds one for each option it adds (to check it), and shutil would cost every command's
    start-up its import (with zlib, bz2, lzma and fnmatch) for a width only --help uses."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def _print_message(self, message: str, file: Any = None) -> None:
        """--help, --version and usage text: through the writers of every command, so that a
        failing standard output is reported (exit 2) instead of passing silently."""
        if message:
            if file is None or file is sys.stdout:
                out(message)
            else:
                err(message)


class Version(argparse.Action):
    """``--version``: the package's version, then which path the parser runs (the C
    accelerator, or pure Python and why), found only when asked, so that building the parser
    costs no import."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and which parser path runs, and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from .. import __version__
        from .._parse.accel import path_in_words

        parser._print_message(f"smapsfmt {__version__}\nparser: {path_in_words()}\n")
        parser.exit()


class Refusal(Exception):
    """The input is read, but the command refuses it (no kernel prints it): exit status 1,
    with the one diagnostic that says why (``smapsfmt._diagnostics.Diagnostic``)."""

    def __init__(self, diagnostic: Any) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def read_input(name: str) -> bytes:
    """The text of FILE, or of standard input for ``-``, through the input layer
    (smapsfmt._cli.input: decompressed, every line bounded); InputError when unreadable,
    SmapsSyntaxError for a line longer than any kernel prints or a /proc/PID/maps file."""
    with open_input(name) as source:
        return source.read()


def display_name(name: str) -> str:
    return "<stdin>" if name == "-" else name


# --- live processes: --pid, shared by every command that reads smaps or smaps_rollup ----------


def _pid_argument(text: str) -> int | str:
    if text == "self":
        return text
    if text.isascii() and text.isdigit() and int(text) > 0:  # not full-width digits
        return int(text)
    raise argparse.ArgumentTypeError(f"expected a process id or 'self', not {text!r}")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--pid PID``, ``--no-freeze`` and ``--freeze-timeout`` to a command's parser.

    The command keeps its own FILE positional(s), made optional (``nargs="?"`` or ``"*"``),
    and gets its input from ``load_source`` (one file) or ``load_snapshot`` (the pair).
    """
    from .._live.proc import DEFAULT_TIMEOUT

    parser.set_defaults(source_prog=parser.prog)
    group = parser.add_argument_group("live process (instead of FILE)")
    group.add_argument(
        "--pid", type=_pid_argument, metavar="PID",
        help="read /proc/PID of this running process ('self': smapsfmt itself); the process "
        "is frozen with ptrace while it is read (see --no-freeze)",
    )  # fmt: skip
    group.add_argument(
        "--no-freeze", action="store_true",
        help="read the process without freezing it (its text may then be inconsistent)",
    )  # fmt: skip
    group.add_argument(
        "--freeze-timeout", type=float, metavar="SECONDS",
        help=f"let the process go after this long, read or not (default {DEFAULT_TIMEOUT:g})",
    )  # fmt: skip


def check_source_options(args: argparse.Namespace) -> None:
    """--no-freeze and --freeze-timeout say how to read a live process: without --pid they
    would be ignored, so they are refused."""
    if not hasattr(args, "no_freeze") or args.pid is not None:
        return
    given = []
    if args.no_freeze:
        given.append("--no-freeze")
    if args.freeze_timeout is not None:
        given.append("--freeze-timeout")
    if given:
        raise UsageError(
            f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to --pid PID "
            f"only (see '{args.source_prog} --help')"
        )


def load_snapshot(args: argparse.Namespace, *, with_rollup: bool = True) -> Any:
    """The ``smapsfmt._live.proc.Snapshot`` of ``--pid``: smaps and smaps_rollup (smaps alone
    with ``with_rollup=False``), read while frozen.

    A one-line warning goes to stderr when the two may disagree (not frozen, and why). A
    process that cannot be read raises a ProcError, which ``main`` turns into its one-line
    message and exit status.
    """
    from .._live.proc import DEFAULT_TIMEOUT, capture

    if getattr(args, "pid", None) is None:
        raise UsageError("--pid PID is required")
    timeout = DEFAULT_TIMEOUT if args.freeze_timeout is None else args.freeze_timeout
    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(
            f"--freeze-timeout must be a finite number of seconds above 0, not {timeout:g}"
        )
    snap = capture(args.pid, freeze=not args.no_freeze, timeout=timeout, with_rollup=with_rollup)
    if not snap.consistent:
        err(f"smapsfmt: warning: process {snap.pid} {snap.note}: the text may be inconsistent\n")
    return snap


def load_source(
    args: argparse.Namespace, file: str | None = None, *, kind: str = "smaps"
) -> tuple[bytes, str]:
    """The input of a command and its display name: FILE, or with ``--pid`` the live process's
    smaps (``kind="smaps"``) or smaps_rollup (``kind="rollup"``). Exactly one of the two.
    """
    pid = getattr(args, "pid", None)
    hint = f" (see '{getattr(args, 'source_prog', 'smapsfmt')} --help')"
    if pid is not None and file is not None:
        raise UsageError(f"give either FILE or --pid PID, not both{hint}")
    if pid is None:
        if file is None:
            raise UsageError(f"FILE or --pid PID is required{hint}")
        return read_input(file), display_name(file)
    snap = load_snapshot(args, with_rollup=kind == "rollup")
    if kind == "rollup":
        return snapshot_rollup(snap)
    return snap.smaps_text, snap.smaps_path


def snapshot_rollup(snap: Any) -> tuple[bytes, str]:
    """The smaps_rollup text of a ``--pid`` snapshot and its path; RollupMissingError (exit 11)
    where the kernel has none."""
    if snap.rollup_text is None:
        from .._live.errors import rollup_missing

        raise rollup_missing(snap.pid, snap.rollup_path)
    return snap.rollup_text, snap.rollup_path


def _syntax_line(exc: Any) -> str:
    """``FILE:LINE:COL: syntax: message`` then the offending line and a caret."""
    rendered = exc.render().split("\n", 1)
    first = f"{exc.location}: syntax: {exc.msg}"
    return first + ("\n" + rendered[1] if len(rendered) > 1 else "")


# --- failures: one line (or a located syntax error) on stderr, and with --format json an
# error object on stdout ------------------------------------------------------------------------


def error_object(
    kind: str,
    message: str,
    exit_code: int,
    *,
    rule: str | None = None,
    path: str | None = None,
    line: int | None = None,
    column: int | None = None,
) -> dict[str, Any]:
    """The JSON of every failure with ``--format json``, on stdout (schema: ``smapsfmt schema
    error``): ``{"error": {"kind", "rule", "path", "line", "column", "message", "exit"}}``,
    every key always present (null where it does not apply)."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown error kind {kind!r}")
    return {
        "error": {
            "kind": kind,
            "rule": rule,
            "path": path,
            "line": line,
            "column": column,
            "message": message,
            "exit": exit_code,
        }
    }


def failure(exc: Exception) -> tuple[str, dict[str, Any]]:
    """What stderr shows for a failure (no final newline) and its error object."""
    from .._errors import SmapsSyntaxError
    from .._live.proc import ProcError
    from .._spec.resources import SpecFileError

    if isinstance(exc, SmapsSyntaxError):
        return _syntax_line(exc), error_object(
            "syntax", exc.msg, EXIT_INVALID, rule="syntax", path=exc.path, line=exc.line,
            column=exc.column,
        )  # fmt: skip
    if isinstance(exc, Refusal):
        d = exc.diagnostic
        return d.render(), error_object(
            "invalid", d.message, EXIT_INVALID, rule=d.rule, path=d.path, line=d.line,
            column=d.column,
        )  # fmt: skip
    if isinstance(exc, SpecFileError):  # the environment, not the input: as a usage error
        return f"smapsfmt: error: {exc}", error_object("usage", str(exc), EXIT_USAGE)
    edited = edited_spec(exc)
    if edited is not None:
        return f"smapsfmt: error: {edited}", error_object("usage", edited, EXIT_USAGE)
    if isinstance(exc, (UsageError, InputError)):
        kind = "usage" if isinstance(exc, UsageError) else "input"
        return f"smapsfmt: error: {exc}", error_object(kind, str(exc), EXIT_USAGE)
    if isinstance(exc, ProcError):  # a live process that cannot be read: its own status
        return f"smapsfmt: error: {exc}", error_object("process", str(exc), exc.exit_code)
    message = f"{type(exc).__name__}: {exc} (please report this)"
    return f"smapsfmt: internal error: {message}", error_object("internal", message, EXIT_INTERNAL)


def edited_spec(exc: Exception) -> str | None:
    """The message of a spec file that SMAPSFMT_SPEC_DIR names and that does not follow its
    format (a profile, the ABI document): the user's copy, not smapsfmt, is at fault (with the
    installed files it is an internal error). A type whose module was never loaded was not
    raised: nothing is imported to tell."""
    from .._spec.resources import SPEC_DIR_VARIABLE, spec_dir

    readers = {"smapsfmt._spec.profiles": "ProfileError", "smapsfmt._spec.abi": "AbiError"}
    kinds = [
        getattr(sys.modules[name], kind) for name, kind in readers.items() if name in sys.modules
    ]
    directory = spec_dir()
    if directory is None or not isinstance(exc, tuple(kinds)):
        return None
    return f"the specification in {SPEC_DIR_VARIABLE}={directory}: {exc}"


def report(args: argparse.Namespace | None, exc: Exception) -> int:
    text, error = failure(exc)
    err(text + "\n")
    if getattr(args, "format", None) == "json":
        import json

        out(json.dumps(error, indent=1) + "\n")
    code: int = error["error"]["exit"]
    return code
