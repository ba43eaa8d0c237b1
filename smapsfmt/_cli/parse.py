"""``smapsfmt parse`` (print the model of a smaps or smaps_rollup text) and ``smapsfmt schema``
(print the JSON Schema of a command's output)."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

from .common import add_source_arguments, load_source
from .streams import EXIT_OK, UsageError, out


def add_commands(commands: Any) -> None:
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


def _cmd_parse(args: argparse.Namespace) -> int:
    from .input import check_head
    from .output import in_memory, open_plain, parse_source, write_checked

    live_kind = "rollup" if args.kind == "rollup" else "smaps"
    # A regular file is read where it is, once, and never held whole (see smapsfmt._cli.output).
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
        budget = source.seek(0, io.SEEK_END)
        write_checked(model, args.format, out, budget)
    finally:
        source.close()
    return EXIT_OK


# --- schema -----------------------------------------------------------------------------------


def _cmd_schema(args: argparse.Namespace) -> int:
    from . import schemas as _schemas

    known = [name for name, _, _ in _schemas.names()]
    if args.list:
        if args.name is not None:
            raise UsageError("give either NAME or --list, not both")
        width = max(map(len, known))
        for name, _, description in _schemas.names():
            out(f"{name:<{width}}  {description}\n")
        return EXIT_OK
    name = args.name or "smaps"
    if name not in known:
        raise UsageError(
            f"no schema named {name!r}: choose from {', '.join(known)} (see 'smapsfmt schema "
            "--list')"
        )
    out(json.dumps(_schemas.schema(name), indent=1) + "\n")
    return EXIT_OK
