"""The command line: ``smapsfmt COMMAND ...`` (also ``python -m smapsfmt``).

Exit status, for every command:
  0  success
  1  the input is not valid (a syntax error, or what the command checks does not hold)
  2  usage error, or an input that cannot be read
  3  an internal error of smapsfmt (a bug: please report it); never a traceback
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class UsageError(Exception):
    """A problem with how smapsfmt was called or with reaching its input: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))


def _err(text: str) -> None:
    sys.stderr.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stderr.flush()


def read_input(name: str) -> bytes:
    """The bytes of FILE, or of standard input for ``-``; UsageError when unreadable."""
    try:
        if name == "-":
            return sys.stdin.buffer.read()
        with open(name, "rb") as handle:
            return handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot read {name}: {reason}") from None


def display_name(name: str) -> str:
    return "<stdin>" if name == "-" else name


def detect_kind(data: bytes) -> str:
    """``rollup`` when the first line is a ``[rollup]`` header, else ``smaps``."""
    first = data.split(b"\n", 1)[0]
    return "rollup" if first.rstrip(b" ").endswith(b" [rollup]") else "smaps"


# --- parse ------------------------------------------------------------------------------------


def _cmd_parse(args: argparse.Namespace) -> int:
    from ._errors import SmapsSyntaxError
    from ._model import to_jsonable
    from ._parser import parse_rollup, parse_smaps

    data = read_input(args.file)
    path = display_name(args.file)
    kind = detect_kind(data) if args.kind == "auto" else args.kind
    try:
        model: Any = (parse_rollup if kind == "rollup" else parse_smaps)(data, path=path)
    except SmapsSyntaxError as exc:
        _out(_syntax_line(exc) + "\n")
        return EXIT_INVALID
    if args.format == "json":
        _out(json.dumps(to_jsonable(model), indent=1) + "\n")
    elif kind == "rollup":
        _out(_text_entry(model, None) + "\n")
    else:
        for mapping in model:
            _out(_text_entry(mapping, mapping.vmflags) + "\n")
        _out(f"# {len(model)} mapping{'s' if len(model) != 1 else ''}\n")
    return EXIT_OK


def _syntax_line(exc: Any) -> str:
    """``FILE:LINE:COL: syntax: message`` then the offending line and a caret."""
    rendered = exc.render().split("\n", 1)
    first = f"{exc.location}: syntax: {exc.msg}"
    return first + ("\n" + rendered[1] if len(rendered) > 1 else "")


def _text_entry(entry: Any, vmflags: Sequence[str] | None) -> str:
    from ._model import UNITLESS_FIELDS

    lines = [entry.header_text()]
    name = getattr(entry, "name", None)
    if name is not None:
        lines.append(f"  Name: {name.decode('utf-8', 'backslashreplace')}")
    width = max((len(k) for k in entry.fields), default=0) + 1
    for key, value in entry.fields.items():
        unit = "" if key in UNITLESS_FIELDS else " kB"
        if key in entry.unknown_fields:
            unit = (
                " kB"
                if any(
                    raw.split(":", 1)[0] == key and raw.endswith(" kB")
                    for raw in entry.unknown_lines
                )
                else ""
            )
            lines.append(f"  {key + ':':<{width}}{value:>9}{unit}   (not in the specification)")
        else:
            lines.append(f"  {key + ':':<{width}}{value:>9}{unit}")
    if vmflags is not None:
        lines.append(f"  VmFlags: {' '.join(vmflags)}")
    return "\n".join(lines)


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
        "3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"smapsfmt {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    parse = commands.add_parser(
        "parse", help="parse a smaps or smaps_rollup file and print the model",
        description="Parse FILE ('-' for standard input) and print the model. A syntax error "
        "prints FILE:LINE:COL: syntax: message and exits 1.",
    )  # fmt: skip
    parse.add_argument("file", metavar="FILE")
    parse.add_argument("--format", choices=("text", "json"), default="text")
    parse.add_argument(
        "--kind", choices=("auto", "smaps", "rollup"), default="auto",
        help="what FILE is (default: a first header naming [rollup] means smaps_rollup)",
    )  # fmt: skip
    parse.set_defaults(run=_cmd_parse)

    schema = commands.add_parser(
        "schema", help="print the JSON Schema of the parse --format json output"
    )
    schema.add_argument("kind", nargs="?", choices=("smaps", "rollup"), default="smaps")
    schema.set_defaults(run=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
        if run is None:
            _err("smapsfmt: error: a COMMAND is required (see 'smapsfmt --help')\n")
            return EXIT_USAGE
        code = run(args)
        sys.stdout.flush()
        return code
    except UsageError as exc:
        _err(f"smapsfmt: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _err("smapsfmt: interrupted\n")
        return 130
    except SystemExit as exc:  # argparse --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        _err(f"smapsfmt: internal error: {type(exc).__name__}: {exc} (please report this)\n")
        return EXIT_INTERNAL


def entry_point() -> NoReturn:
    sys.exit(main())
