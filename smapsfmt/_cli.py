"""The command line: ``smapsfmt COMMAND ...`` (also ``python -m smapsfmt``).

Exit status, for every command:
  0  success
  1  the input is not valid (a syntax error, or what the command checks does not hold)
  2  usage error, an input that cannot be read, or an output that cannot be written
  3  an internal error of smapsfmt (a bug: please report it); never a traceback

Reading a live process (``--pid PID``) adds one status per situation, each with a one-line
message on stderr (the classes are in smapsfmt._live):
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
      ``_out`` met EPIPE)

Standard streams. In text mode stdout carries only results (models, rollups, proofs,
diagnostics of validate and check); a syntax error, a refusal (no kernel prints the input) and
every error go to stderr. With ``--format json`` every outcome is JSON on stdout too: a failure
is the one object ``error_object`` builds (``{"error": {"kind", "rule", "path", "line",
"column", "message", "exit"}}``; schema ``smapsfmt schema error``), written by ``main`` for any
command whose namespace has ``format == "json"``. When the reader of stdout goes (EPIPE,
``| head``), ``_out`` discards the rest quietly and the command runs to its end, so that it exits
with the status it would have had; any other write error (``/dev/full``, stdout closed) is
reported, exit 2, for ``--help`` and ``--version`` too (argparse writes through ``_out``).

Options. Every parser registers ``_StoreOnce`` as its ``store`` action: an option that takes
one value is a usage error when given twice (no value is dropped silently); options declared
with ``action="append"`` or ``"extend"`` stay repeatable.

Inputs. FILE and ``-`` are read through smapsfmt._input (``read_input``, ``open_input``):
gzip/xz/zstd decompressed, no line longer than smapsfmt._limits.MAX_LINE held, a
/proc/PID/maps file named as such.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ._input import InputError, open_input
from ._schemas import ERROR_KINDS

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 128 + 2  # SIGINT, as a shell reports a command it interrupted
EXIT_PIPE = 128 + 13  # SIGPIPE: the reader of standard output went before the status was known


class UsageError(Exception):
    """A problem with how smapsfmt was called or with reaching its input: exit status 2."""


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


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
                _out(message)
            else:
                _err(message)


class OutputError(Exception):
    """Standard output cannot be written (closed, or a full disk): exit status 2."""


class Refusal(Exception):
    """The input is read, but the command refuses it (no kernel prints it): exit status 1,
    with the one diagnostic that says why (``smapsfmt._diagnostics.Diagnostic``)."""

    def __init__(self, diagnostic: Any) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


_pipe_closed = False  # the reader of standard output has gone (EPIPE): output is discarded


def _out(text: str) -> None:
    """Write to standard output. When its reader has gone (EPIPE, ``| head``), the rest of the
    output is discarded quietly and the command runs to its end, so that its exit status is the
    one it would have had; any other write error is an OutputError (exit 2)."""
    global _pipe_closed  # noqa: PLW0603 - one standard output per process
    if _pipe_closed:
        return
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    try:
        sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    except BrokenPipeError:
        _pipe_closed = True
        _discard_stdout()
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def _flush() -> None:
    global _pipe_closed  # noqa: PLW0603
    if sys.stdout is None or _pipe_closed:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _pipe_closed = True
        _discard_stdout()
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def _err(text: str) -> None:
    """Write to standard error; never fails (there is nowhere left to report to)."""
    try:
        sys.stderr.buffer.write(text.encode("utf-8", "backslashreplace"))
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that what is still buffered cannot fail again
    when the interpreter exits."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def read_input(name: str) -> bytes:
    """The text of FILE, or of standard input for ``-``, through the input layer
    (smapsfmt._input: decompressed, every line bounded); InputError when unreadable,
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
    from ._live import DEFAULT_TIMEOUT

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


def _check_source_options(args: argparse.Namespace) -> None:
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


def load_snapshot(args: argparse.Namespace) -> Any:
    """The ``smapsfmt._live.Snapshot`` of ``--pid``: smaps and smaps_rollup, read while frozen.

    A one-line warning goes to stderr when the two may disagree (not frozen, and why). A
    process that cannot be read raises a ProcError, which ``main`` turns into its one-line
    message and exit status.
    """
    from ._live import DEFAULT_TIMEOUT, capture

    if getattr(args, "pid", None) is None:
        raise UsageError("--pid PID is required")
    timeout = DEFAULT_TIMEOUT if args.freeze_timeout is None else args.freeze_timeout
    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(
            f"--freeze-timeout must be a finite number of seconds above 0, not {timeout:g}"
        )
    snap = capture(args.pid, freeze=not args.no_freeze, timeout=timeout)
    if not snap.consistent:
        _err(f"smapsfmt: warning: process {snap.pid} {snap.note}: the text may be inconsistent\n")
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
    snap = load_snapshot(args)
    if kind == "rollup":
        return snapshot_rollup(snap)
    return snap.smaps_text, snap.smaps_path


def snapshot_rollup(snap: Any) -> tuple[bytes, str]:
    """The smaps_rollup text of a ``--pid`` snapshot and its path; RollupMissingError (exit 11)
    where the kernel has none."""
    if snap.rollup_text is None:
        from ._live import RollupMissingError

        raise RollupMissingError(
            f"{snap.rollup_path} does not exist: this kernel has no smaps_rollup (it "
            "appeared in Linux 4.14)", pid=snap.pid,
        )  # fmt: skip
    return snap.rollup_text, snap.rollup_path


# --- parse ------------------------------------------------------------------------------------


def _cmd_parse(args: argparse.Namespace) -> int:
    from ._input import check_head
    from ._output import in_memory, open_plain, parse_source, write_model

    live_kind = "rollup" if args.kind == "rollup" else "smaps"
    # A regular file is read where it is, twice, and never held whole (see smapsfmt._output).
    source = open_plain(args.file) if args.pid is None else None
    if source is None:
        data, path = load_source(args, args.file, kind=live_kind)
        source = in_memory(data)
    else:
        path = args.file
    try:
        if args.pid is None and not isinstance(source, io.BytesIO):
            check_head(source, path)  # what the input layer refuses at its first piece
        # A syntax error goes to main, which reports it (stderr; with --format json, also stdout).
        model: Any = parse_source(source, args.kind, path)
        write_model(model, args.format, _out)
    finally:
        source.close()
    return EXIT_OK


def _syntax_line(exc: Any) -> str:
    """``FILE:LINE:COL: syntax: message`` then the offending line and a caret."""
    rendered = exc.render().split("\n", 1)
    first = f"{exc.location}: syntax: {exc.msg}"
    return first + ("\n" + rendered[1] if len(rendered) > 1 else "")


# --- schema -----------------------------------------------------------------------------------


def _cmd_schema(args: argparse.Namespace) -> int:
    from . import _schemas

    known = [name for name, _, _ in _schemas.names()]
    if args.list:
        if args.name is not None:
            raise UsageError("give either NAME or --list, not both")
        width = max(map(len, known))
        for name, _, description in _schemas.names():
            _out(f"{name:<{width}}  {description}\n")
        return EXIT_OK
    name = args.name or "smaps"
    if name not in known:
        raise UsageError(
            f"no schema named {name!r}: choose from {', '.join(known)} (see 'smapsfmt schema "
            "--list')"
        )
    _out(json.dumps(_schemas.schema(name), indent=1) + "\n")
    return EXIT_OK


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
    from ._errors import SmapsSyntaxError
    from ._live import ProcError

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
    if isinstance(exc, (UsageError, InputError)):
        kind = "usage" if isinstance(exc, UsageError) else "input"
        return f"smapsfmt: error: {exc}", error_object(kind, str(exc), EXIT_USAGE)
    if isinstance(exc, ProcError):  # a live process that cannot be read: its own status
        return f"smapsfmt: error: {exc}", error_object("process", str(exc), exc.exit_code)
    message = f"{type(exc).__name__}: {exc} (please report this)"
    return f"smapsfmt: internal error: {message}", error_object("internal", message, EXIT_INTERNAL)


def _report(args: argparse.Namespace | None, exc: Exception) -> int:
    text, error = failure(exc)
    _err(text + "\n")
    if getattr(args, "format", None) == "json":
        _out(json.dumps(error, indent=1) + "\n")
    code: int = error["error"]["exit"]
    return code


# --- main -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="smapsfmt",
        description="The executable specification of /proc/PID/smaps and smaps_rollup.",
        epilog="Exit status: 0 valid, 1 invalid input, 2 usage error or unreadable input, "
        "3 internal error. With --pid: 4 no such process, 5 permission denied, 6 /proc not "
        "mounted or hidden (hidepid), 7 kernel thread, 8 zombie, 9 exited or exec'd during the "
        "read, 10 pid reused, 11 no smaps_rollup (kernel < 4.14). 130 interrupted (SIGINT). "
        "FILE may be gzip, xz or zstd compressed. With --format json, an error is a JSON "
        "object on stdout too (see 'smapsfmt schema error').",
    )
    parser.add_argument("--version", action="version", version=f"smapsfmt {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    parse = commands.add_parser(
        "parse", help="parse a smaps or smaps_rollup file and print the model",
        description="Parse FILE ('-' for standard input), or the live process PID, and print "
        "the model. A syntax error prints FILE:LINE:COL: syntax: message and exits 1.",
    )  # fmt: skip
    parse.add_argument("file", metavar="FILE", nargs="?")
    parse.add_argument("--format", choices=("text", "json"), default="text")
    parse.add_argument(
        "--kind", choices=("auto", "smaps", "rollup"), default="auto",
        help="what FILE is (default: a first header naming [rollup] means smaps_rollup; "
        "with --pid, smaps)",
    )  # fmt: skip
    add_source_arguments(parse)
    parse.set_defaults(run=_cmd_parse)

    schema = commands.add_parser(
        "schema", help="print the JSON Schema of a command's --format json output",
        description="Print the JSON Schema (2020-12) of the --format json output NAME names: "
        "a command (parse, rollup, check, ...), or 'error', the object every command prints "
        "when it fails. Each field carries its unit (\"unit\": \"kB\", or null). 'smaps' "
        "(the default) is parse's output for a smaps alone. --list names them all.",
    )  # fmt: skip
    schema.add_argument("name", metavar="NAME", nargs="?")
    schema.add_argument("--list", action="store_true", help="name every schema, one a line")
    schema.set_defaults(run=_cmd_schema)

    from ._validate_cli import add_commands as add_validate_commands

    add_validate_commands(commands)

    from ._rollup_cli import add_commands as add_rollup_commands

    add_rollup_commands(commands)

    from .fleet.cli import add_commands as add_fleet_commands

    add_fleet_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    global _pipe_closed  # noqa: PLW0603
    _pipe_closed = False
    args: argparse.Namespace | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
            run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
            if run is None:
                raise UsageError("a COMMAND is required (see 'smapsfmt --help')")
            _check_source_options(args)
            code = run(args)
        except SystemExit as exc:  # --help and --version, whose text went through _out
            code = exc.code if isinstance(exc.code, int) else EXIT_OK
        except (OutputError, BrokenPipeError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure: one message, and JSON
            code = _report(args, exc)
        _flush()
        return code
    except OutputError as exc:
        _discard_stdout()
        _err(f"smapsfmt: error: cannot write the output: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # a write outside _out: the command's status is not known
        _discard_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt:
        _ignore_interrupts()  # one message, one status: a second SIGINT cannot cut them short
        _err("smapsfmt: interrupted\n")
        if getattr(args, "format", None) == "json":
            error = error_object("interrupted", "interrupted", EXIT_INTERRUPTED)
            try:
                _out(json.dumps(error, indent=1) + "\n")
                _flush()
            except (OutputError, KeyboardInterrupt):
                pass
        _discard_stdout()
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        _err(f"smapsfmt: internal error: {type(exc).__name__}: {exc} (please report this)\n")
        return EXIT_INTERNAL


def _ignore_interrupts() -> None:
    with contextlib.suppress(ValueError):  # ValueError: main() called from another thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def entry_point() -> NoReturn:
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handlers: the same message and status
        _ignore_interrupts()
        _err("smapsfmt: interrupted\n")
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        # Exit at once with this status: the interpreter's own shutdown after an interrupt may
        # end the process by SIGINT instead (it puts the default handler back on the way out).
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
