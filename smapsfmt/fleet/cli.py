"""The fleet commands on the command line: ``sample``, ``export`` and ``query``.

Each prints one line per sample written (or the query's result) on standard output; with
``--format json`` one JSON array. Failures are the command line's own (smapsfmt._cli.common): a
usage error, a DIR that cannot be written or a missing extra (pyarrow, DuckDB) exits 2, a FILE
that is not smaps text exits 1 with its location.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

# Only the command line's own module here: the parser of every command is built with these
# commands in it, so this module must not load the parser, pydantic or any extra.
from .._cli.streams import EXIT_OK, UsageError, flush, out

__all__ = ["add_commands"]

_EXTRA = "needs pyarrow (pip install 'smapsfmt[fleet]')"


def add_commands(commands: Any) -> None:
    """Add ``sample``, ``export`` and ``query`` to the command line's subparsers, and the
    schemas of their JSON outputs to ``smapsfmt schema`` (built only when asked for)."""
    from .._cli.schemas import register

    for name, what in (
        ("sample", "one object per sample written"),
        ("export", "one object per FILE exported"),
        ("query", "one object per row"),
    ):
        build = f"smapsfmt.fleet.jsonschemas:{name}_schema"
        register(name, name, f"smapsfmt {name} --format json: {what}", build)
    sample = commands.add_parser(
        "sample", help="sample every process of this machine into a Parquet dataset",
        description="Read the smaps_rollup of every process of this machine (and with "
        "--smaps, every mapping) and append it to the Parquet dataset DIR as one sample: "
        "tables samples, processes and mappings, partitioned by host and date "
        f"(docs/fleet.md). Kernel threads are left out; processes that exit or may not be "
        f"read during the sample are counted. {_EXTRA}.",
    )  # fmt: skip
    sample.add_argument("-o", "--output", metavar="DIR", required=True, help="the dataset")
    sample.add_argument(
        "--smaps", action="store_true",
        help="read every process's smaps too (mappings table), and prove its rollup",
    )  # fmt: skip
    sample.add_argument(
        "--freeze", action="store_true",
        help="with --smaps: hold each process stopped while its two files are read",
    )  # fmt: skip
    sample.add_argument(
        "--interval", type=float, metavar="S", default=None,
        help="seconds between the starts of two samples (with --count; default 10)",
    )  # fmt: skip
    sample.add_argument(
        "--count", type=int, metavar="N", default=1, help="how many samples (default 1)"
    )
    sample.add_argument("--host", metavar="NAME", help="the host partition (default: hostname)")
    sample.add_argument("--format", choices=("text", "json"), default="text")
    sample.set_defaults(run=_cmd_sample)

    export = commands.add_parser(
        "export", help="export smaps and smaps_rollup files into a Parquet dataset",
        description="Append each FILE (smaps or smaps_rollup; gzip, xz or zstd compressed "
        "too) to the Parquet dataset DIR as one sample, time its modification time. A smaps "
        "is streamed: mappings rows, and a processes row summed from them by the kernel's "
        "arithmetic. Stops at the first FILE that cannot be read; nothing of that FILE is "
        f"written. {_EXTRA}.",
    )  # fmt: skip
    export.add_argument("files", metavar="FILE", nargs="+")
    export.add_argument("-o", "--output", metavar="DIR", required=True, help="the dataset")
    export.add_argument(
        "--host", metavar="NAME", default="unknown",
        help="the host partition of these files (default: unknown)",
    )  # fmt: skip
    export.add_argument(
        "--kernel-release", metavar="RELEASE",
        help="the kernel release that printed the files (samples.kernel_release)",
    )  # fmt: skip
    export.add_argument("--format", choices=("text", "json"), default="text")
    export.set_defaults(run=_cmd_export)

    query = commands.add_parser(
        "query", help="run SQL on a dataset with DuckDB",
        description="Run SQL on the dataset DIR with DuckDB: the views samples, processes "
        "and mappings hold its tables (host and date from the partitions). docs/fleet.md "
        "has the columns and example queries. Needs DuckDB (pip install 'smapsfmt[fleet]').",
    )  # fmt: skip
    query.add_argument("directory", metavar="DIR")
    query.add_argument("sql", metavar="SQL")
    query.add_argument(
        "--format", choices=("table", "json", "csv"), default="table",
        help="table (default): aligned columns; json: an array of objects; csv: with a header",
    )  # fmt: skip
    query.set_defaults(run=_cmd_query)


def _print_written(items: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        out(json.dumps(items, indent=1) + "\n")


def _cmd_sample(args: argparse.Namespace) -> int:
    from .sample import default_host, sample_machine, sample_times
    from .writer import check_host, pyarrow

    if args.count < 1:
        raise UsageError(f"--count must be 1 or more, not {args.count}")
    if args.interval is not None and not (math.isfinite(args.interval) and args.interval >= 0):
        raise UsageError(f"--interval must be a finite number of seconds, 0 or more, not "
                         f"{args.interval:g}")  # fmt: skip
    if args.freeze and not args.smaps:
        raise UsageError("--freeze applies to --smaps only (see 'smapsfmt sample --help')")
    host = check_host(args.host) if args.host is not None else default_host()
    pyarrow()  # before the first sample: a missing extra is said at once
    interval = 10.0 if args.interval is None else args.interval
    written: list[dict[str, Any]] = []

    def take() -> None:
        item = sample_machine(args.output, host, smaps=args.smaps, freeze=args.freeze)
        written.append(item)
        if args.format == "text":
            mappings = f", {item['mappings']} mappings" if args.smaps else ""
            out(
                f"{args.output}: sample {item['sample_id']} at {item['time']}: "
                f"{item['processes']} processes{mappings}; skipped {item['kernel_threads']} "
                f"kernel threads, {item['vanished']} vanished, {item['denied']} denied, "
                f"{item['unreadable']} unreadable\n"
            )
            flush()

    sample_times(args.count, interval, take)
    _print_written(written, args.format)
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_file
    from .writer import check_host, pyarrow

    host = check_host(args.host)
    pyarrow()
    written: list[dict[str, Any]] = []
    for name in args.files:
        item = export_file(name, args.output, host, kernel_release=args.kernel_release)
        written.append(item)
        if args.format == "text":
            rows = f"{item['mappings']} mappings" if item["kind"] == "smaps" else "a rollup"
            out(f"{item['path']}: sample {item['sample_id']} ({item['kind']}, {rows}) in "
                f"{args.output}/*/host={host}/date={item['date']}\n")  # fmt: skip
            flush()
    _print_written(written, args.format)
    return EXIT_OK


def _cmd_query(args: argparse.Namespace) -> int:
    from .query import render, run

    names, rows = run(args.directory, args.sql)
    out(render(names, rows, args.format))
    return EXIT_OK
