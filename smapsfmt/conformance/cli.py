"""``smapsfmt conformance ...``: the reference decoder, the harness, the corpus's export.

``decode``: the reference decoder of the contract (docs/decoder-contract.md): stdin to JSON,
exit 1 with ``<stdin>:LINE:COL: syntax: message`` on stderr for a refused input.
``run -- CMD [ARGS...]``: every case through CMD; exit 0 when nothing failed beyond the known
failures, 1 when something did, 2 for a usage error (CMD cannot be started, a bad coverage or
known-failures file). ``list``: the cases and their tags. ``export DIR``: the corpus as files.
``pack``: a versioned, reproducible tarball of the corpus and its sha256.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .._cli.streams import EXIT_INVALID, EXIT_OK, UsageError, out

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    """Add ``conformance`` and its subcommands to the command line's subparsers."""
    top = commands.add_parser(
        "conformance",
        help="the conformance corpus and harness for any smaps parser",
        description="The portable conformance corpus (real captures, invalid and "
        "implementation-defined inputs, pairs, cases generated from every kernel profile) "
        "and a harness that runs any decoder on it (docs/conformance.md).",
    )
    sub = top.add_subparsers(dest="conformance_command", metavar="SUBCOMMAND")
    top.set_defaults(run=_needs_subcommand, format="text")

    decode = sub.add_parser(
        "decode",
        help="the reference decoder: smaps on stdin, the contract's JSON on stdout",
        description="Read a smaps or smaps_rollup on standard input and print the decoder "
        "contract's JSON (docs/decoder-contract.md). The kind is --kind, else SMAPS_KIND "
        "from the environment, else a first header naming [rollup] means smaps_rollup. "
        "Exit 1 for input smapsfmt refuses (the error on stderr).",
    )
    decode.add_argument("--kind", choices=("smaps", "rollup"))
    decode.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="how a failure is reported (json: the error object on stdout too)",
    )
    decode.set_defaults(run=_cmd_decode)

    run = sub.add_parser(
        "run",
        help="run a decoder command on every case and report each failure",
        description="Run CMD [ARGS...] on every case (the input on stdin, SMAPS_KIND in its "
        "environment), in parallel, and print one line per failure and a summary. Outcomes: "
        "PASS, REJECTED_VALID, ACCEPTED_INVALID, WRONG_VALUE (with the first field that "
        "differs), CRASH, TIMEOUT. Exit 0 when nothing failed beyond the known failures, 1 "
        "when something did, 2 for a usage error.",
        usage="smapsfmt conformance run [OPTIONS] -- CMD [ARGS...]",
    )
    run.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="GLOB",
        dest="only",
        help="only the cases whose id matches GLOB (repeatable)",
    )
    run.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="GLOB",
        help="not the cases whose id matches GLOB (repeatable)",
    )
    run.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds each run of CMD may take (default 10)",
    )
    run.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=os.cpu_count() or 1,
        metavar="N",
        help="runs at once (default: the number of CPUs)",
    )
    run.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    run.add_argument(
        "--known-failures",
        metavar="FILE",
        help="failures to accept: one case id (a glob) a line, optionally its "
        "outcome; '#' comments",
    )
    run.add_argument(
        "--covers",
        metavar="FILE",
        help="what the decoder's parser reports (docs/conformance.md); only that is compared",
    )
    run.add_argument(
        "--totals",
        action="store_true",
        help='the decoder prints {"totals": {...}}: summed fields only',
    )
    run.add_argument(
        "--corpus",
        metavar="DIR",
        help="a corpus exported by 'conformance export' (default: the one shipped with smapsfmt)",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")
    run.set_defaults(run=_cmd_run)

    listing = sub.add_parser(
        "list",
        help="list the cases, their class and tags",
        description="Print each case: id, class, tags (text), or the manifest (json).",
    )
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.add_argument("--run", action="append", default=[], metavar="GLOB", dest="only")
    listing.add_argument("--skip", action="append", default=[], metavar="GLOB")
    listing.set_defaults(run=_cmd_list)

    export = sub.add_parser(
        "export",
        help="write the corpus into DIR",
        description="Write the corpus (manifest.json, valid/, invalid/, "
        "implementation-defined/, pairs/, generated/) into DIR, which must not exist or be "
        "empty.",
    )
    export.add_argument("dir", metavar="DIR")
    export.add_argument("--format", choices=("text", "json"), default="text")
    export.set_defaults(run=_cmd_export)

    pack = sub.add_parser(
        "pack",
        help="build the versioned corpus tarball and its sha256",
        description="Write smaps-conformance-VERSION.tar.gz (reproducible: sorted members, "
        "no owners or times) and its .sha256 into DIR (default: the current directory), "
        "for projects in other languages; prints the two paths.",
    )
    pack.add_argument("--output", metavar="DIR", default=".")
    pack.add_argument("--format", choices=("text", "json"), default="text")
    pack.set_defaults(run=_cmd_pack)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text!r}")
    return value


def _jobs(text: str) -> int:
    if text.isascii() and text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"expected a number of runs above 0, not {text!r}")


def _needs_subcommand(args: argparse.Namespace) -> int:
    raise UsageError(
        "a SUBCOMMAND is required: decode, run, list, export or pack "
        "(see 'smapsfmt conformance --help')"
    )


def _cmd_decode(args: argparse.Namespace) -> int:
    import smapsfmt

    from .decode import decode_bytes

    data = sys.stdin.buffer.read()
    kind = args.kind or os.environ.get("SMAPS_KIND")
    if kind not in (None, "smaps", "rollup"):
        raise UsageError(f"SMAPS_KIND is 'smaps' or 'rollup', not {kind!r}")
    if kind is None:
        from .._parse.parser import detect_kind

        kind = detect_kind(data)
    try:
        decoded = decode_bytes(data, kind)
    except smapsfmt.SmapsSyntaxError as exc:
        exc.path = "<stdin>"
        raise
    out(decoded.decode("ascii"))
    return EXIT_OK


def _corpus(args: argparse.Namespace) -> Path:
    from .corpus import corpus_root

    if getattr(args, "corpus", None):
        return Path(args.corpus)
    try:
        return corpus_root()
    except FileNotFoundError as exc:  # a broken installation: the environment, as for a spec file
        raise UsageError(str(exc)) from None


def _load(args: argparse.Namespace) -> tuple[dict[str, Any], list[Any]]:
    from .manifest import ManifestError, load_manifest

    try:
        return load_manifest(_corpus(args))
    except ManifestError as exc:
        raise UsageError(str(exc)) from None


def _cmd_run(args: argparse.Namespace) -> int:
    from .compare import Coverage, CoverageError
    from .corpus import select
    from .report import KnownFailures, KnownFailuresError, as_json, as_markdown, as_text, failed
    from .runner import CommandNotFound, covered, run_cases

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("a decoder command is required: smapsfmt conformance run -- CMD")
    coverage = Coverage()
    if args.covers:
        try:
            raw = json.loads(Path(args.covers).read_text(encoding="utf-8"))
            coverage = Coverage.from_json(raw, args.covers)
        except OSError as exc:
            raise UsageError(f"{args.covers}: {exc.strerror or exc}") from None
        except (ValueError, CoverageError) as exc:
            raise UsageError(
                f"{args.covers}: {exc}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            ) from None
    if args.totals and coverage.mode != "totals":
        from dataclasses import replace

        coverage = replace(coverage, mode="totals")
    known = None
    if args.known_failures:
        try:
            known = KnownFailures.read(args.known_failures)
        except KnownFailuresError as exc:
            raise UsageError(str(exc)) from None
    header, found = _load(args)
    chosen = select(found, args.only, args.skip)
    taken = [case for case in chosen if covered(case, coverage)]
    skipped = len(found) - len(taken)
    if not taken:
        raise UsageError("no case to run: --run/--skip or the coverage leave none")
    try:
        results = run_cases(
            taken, command, timeout=args.timeout, jobs=args.jobs, coverage=coverage
        )
    except CommandNotFound as exc:
        raise UsageError(str(exc)) from None
    stale: list[str] = []
    if known is not None:
        results = known.apply(results)
        stale = known.stale(results)
    head = f"smaps-conformance {header.get('corpus_version')} [{' '.join(command)}]"
    if args.format == "json":
        out(as_json(results, skipped, header, command))
    elif args.format == "markdown":
        out(as_markdown(results, skipped, head))
    else:
        out(as_text(results, skipped, head, stale))
    return EXIT_INVALID if failed(results) else EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from .corpus import select

    header, found = _load(args)
    chosen = select(found, args.only, args.skip)
    if args.format == "json":
        root = _corpus(args)
        raw = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        ids = {case.id for case in chosen}
        raw["cases"] = [c for c in raw["cases"] if c["id"] in ids]
        out(json.dumps(raw, indent=1) + "\n")
        return EXIT_OK
    for case in chosen:
        out(f"{case.id}\t{case.cls}\t{' '.join(case.tags)}\n")
    out(f"{len(chosen)} cases, corpus {header.get('corpus_version')}\n")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    try:
        count = export(_corpus(args), Path(args.dir))
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{args.dir}: {exc.strerror or exc}") from None
    if args.format == "json":
        out(json.dumps({"dir": args.dir, "files": count}) + "\n")
    else:
        out(f"wrote {count} files into {args.dir}\n")
    return EXIT_OK


def _cmd_pack(args: argparse.Namespace) -> int:
    from .export import pack

    try:
        tarball, digest = pack(_corpus(args), Path(args.output))
    except OSError as exc:
        raise UsageError(f"{args.output}: {exc.strerror or exc}") from None
    if args.format == "json":
        sha256 = digest.read_text(encoding="ascii").split()[0]
        out(json.dumps({"tarball": str(tarball), "sha256": sha256}) + "\n")
    else:
        out(f"{tarball}\n{digest}\n")
    return EXIT_OK
