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
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, NoReturn

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class UsageError(Exception):
    """A problem with how smapsfmt was called or with reaching its input: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


class OutputError(Exception):
    """Standard output cannot be written (closed, or a full disk): exit status 2."""


def _out(text: str) -> None:
    if sys.stdout is None:
        raise OutputError("standard output is closed")
    try:
        sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    except BrokenPipeError:
        raise
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


def stdin_binary() -> BinaryIO:
    """Standard input as bytes; UsageError when it is closed."""
    if sys.stdin is None:
        raise UsageError("cannot read <stdin>: standard input is closed")
    return sys.stdin.buffer


def read_input(name: str) -> bytes:
    """The bytes of FILE, or of standard input for ``-``; UsageError when unreadable."""
    try:
        if name == "-":
            return stdin_binary().read()
        with open(name, "rb") as handle:
            return handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot read {name}: {reason}") from None


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
    from ._errors import SmapsSyntaxError
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
        model: Any = parse_source(source, args.kind, path)
        write_model(model, args.format, _out)
    except SmapsSyntaxError as exc:
        _out(_syntax_line(exc) + "\n")
        return EXIT_INVALID
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
    from ._model import Rollup, Smaps, json_schema

    _out(json.dumps(json_schema(Rollup if args.kind == "rollup" else Smaps), indent=1) + "\n")
    return EXIT_OK


# --- main -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="smapsfmt",
        description="The executable specification of /proc/PID/smaps and smaps_rollup.",
        epilog="Exit status: 0 valid, 1 invalid input, 2 usage error or unreadable input, "
        "3 internal error. With --pid: 4 no such process, 5 permission denied, 6 /proc not "
        "mounted or hidden (hidepid), 7 kernel thread, 8 zombie, 9 exited or exec'd during the "
        "read, 10 pid reused, 11 no smaps_rollup (kernel < 4.14).",
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
        "schema", help="print the JSON Schema of the parse --format json output"
    )
    schema.add_argument("kind", nargs="?", choices=("smaps", "rollup"), default="smaps")
    schema.set_defaults(run=_cmd_schema)

    from ._validate_cli import add_commands as add_validate_commands

    add_validate_commands(commands)

    from ._rollup_cli import add_commands as add_rollup_commands

    add_rollup_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
        if run is None:
            _err("smapsfmt: error: a COMMAND is required (see 'smapsfmt --help')\n")
            return EXIT_USAGE
        _check_source_options(args)
        code = run(args)
        _flush()
        return code
    except UsageError as exc:
        _err(f"smapsfmt: error: {exc}\n")
        return EXIT_USAGE
    except OutputError as exc:
        _discard_stdout()
        _err(f"smapsfmt: error: cannot write the output: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        _err("smapsfmt: interrupted\n")
        return 130
    except SystemExit as exc:  # argparse --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        from ._live import ProcError

        if isinstance(exc, ProcError):  # a live process that cannot be read: its own status
            _err(f"smapsfmt: error: {exc}\n")
            return exc.exit_code
        _err(f"smapsfmt: internal error: {type(exc).__name__}: {exc} (please report this)\n")
        return EXIT_INTERNAL


def _flush() -> None:
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def entry_point() -> NoReturn:
    sys.exit(main())
