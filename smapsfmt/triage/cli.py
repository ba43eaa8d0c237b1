"""The triage commands' command lines: ``summary``, ``ps``, ``diff`` and ``report``.

Registered by ``smapsfmt._cli.main.build_parser`` (``add_commands``). Each command's module is
imported only when that command runs: ``smapsfmt ps`` loads the sweep and nothing that parses
smaps (no pydantic, no lark).
"""

from __future__ import annotations

import argparse
import importlib

TYPE_CHECKING = False  # not from typing: ps's start-up does without it (mypy knows the idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["add_commands"]


def _runner(module: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        code: int = importlib.import_module(f"smapsfmt.triage.{module}").run(args)
        return code

    return run


def _positive(text: str) -> int:
    from .ps import whole_above_zero

    number = whole_above_zero(text)
    if number is not None:
        return number
    raise argparse.ArgumentTypeError(f"expected a whole number above 0, not {text!r}")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 < value < 1e6):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text!r}")
    return value


def _table_options(parser: argparse.ArgumentParser, *, formats: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=formats, default="text")
    parser.add_argument(
        "--fields", action="append", metavar="FIELD,...",
        help="more columns: kernel field names as printed (Anonymous, AnonHugePages, ...)",
    )  # fmt: skip
    parser.add_argument(
        "--sort", metavar="FIELD",
        help="sort by this column, largest first (default Pss; 'object' sorts by name)",
    )  # fmt: skip
    parser.add_argument("--top", type=_positive, metavar="N", help="show the first N rows only")


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Register ``summary``, ``ps``, ``diff`` and ``report``, and the schemas of the first
    three's JSON outputs with ``smapsfmt schema`` (built only when asked for)."""
    from .._cli.common import add_source_arguments
    from .._cli.schemas import register
    from .ps import FORMATS, GROUPINGS

    for name, what in (
        ("summary", "one process's memory, object by object, and the totals"),
        ("ps", "every process's memory, and the totals"),
        ("diff", "what changed between two captures, object by object"),
    ):
        register(name, name, f"smapsfmt {name} --format json: {what}",
                 f"smapsfmt.triage.jsonschemas:{name}_schema")  # fmt: skip

    summary = commands.add_parser(
        "summary", help="what uses the memory of one process, object by object",
        description="Merge the mappings of FILE ('-' for standard input; gzip, xz or zstd "
        "too), or of the live process PID, by object (a file's path, [heap], [stack], "
        "[anon:NAME], unnamed anonymous memory, deleted files, memfd, ...), one line each, "
        "largest first, with a TOTAL row. Columns Size, Rss, Pss, Private (USS), Shared, "
        "Swap, SwapPss, Locked, in kB. Under TOTAL, the Pss family as the kernel sums it: "
        "from smaps_rollup when at hand (--pid, --rollup), else the interval LO..HI the "
        "smaps proves.",
    )  # fmt: skip
    summary.add_argument("file", metavar="FILE", nargs="?")
    summary.add_argument(
        "--rollup", metavar="ROLLUP_FILE",
        help="the smaps_rollup read with FILE: its values are the kernel's totals",
    )  # fmt: skip
    _table_options(summary, formats=("text", "json", "csv"))
    add_source_arguments(summary)
    summary.set_defaults(run=_runner("summary"))

    ps = commands.add_parser(
        "ps", help="the memory of every process, from smaps_rollup",
        description="Read the smaps_rollup of every process on the machine (the sum of its "
        "smaps on kernels without one) and print one line each: PID, user, Rss, Pss, USS "
        "(Private_Clean + Private_Dirty), Swap, SwapPss (kB) and the command, largest Pss "
        "first, with a TOTAL row. Kernel threads are left out; processes that exit or may "
        "not be read during the sweep are counted and listed in a note on stderr (never an "
        "error).",
    )  # fmt: skip
    # smapsfmt.triage.ps.quick_args reads the common forms of these options without argparse
    ps.add_argument("--format", choices=FORMATS, default="text")
    ps.add_argument(
        "--by", choices=GROUPINGS, default="process",
        help="one line per process (default), or the totals of each user or cgroup",
    )  # fmt: skip
    ps.add_argument(
        "--sort", metavar="FIELD",
        help="Rss, Pss, USS, Swap, SwapPss, pid, user or command (default Pss, largest first)",
    )  # fmt: skip
    ps.add_argument("--top", type=_positive, metavar="N", help="show the first N rows only")
    ps.add_argument(
        "--fields", action="append", metavar="FIELD,...",
        help="more columns: smaps_rollup field names (Anonymous, Pss_File, Locked, ...)",
    )  # fmt: skip
    ps.set_defaults(run=_runner("ps"))

    diff = commands.add_parser(
        "diff", help="what grew or shrank between two captures of a process",
        description="Compare two captures A and B (smaps files) object by object, or the "
        "live process PID with itself after --interval seconds: what grew or shrank and by "
        "how much, objects that appeared or went away, largest growth first, with totals. "
        "Exit 0 whether or not they differ; 1 only for invalid input.",
    )  # fmt: skip
    diff.add_argument("before", metavar="A", nargs="?")
    diff.add_argument("after", metavar="B", nargs="?")
    diff.add_argument(
        "--interval", type=_seconds, metavar="SECONDS",
        help="with --pid: read the process, wait this long, read it again (default 10)",
    )  # fmt: skip
    _table_options(diff, formats=("text", "json", "csv"))
    diff.add_argument(
        "--all", action="store_true", help="also list the objects that did not change"
    )
    add_source_arguments(diff)
    diff.set_defaults(run=_runner("diff"))

    report = commands.add_parser(
        "report", help="a self-contained HTML report of one or more captures",
        description="Write one HTML file (no network, no external scripts or fonts) showing "
        "where the memory goes (a treemap by object), the summary table, the validation "
        "findings and, over several captures of one process (in the order given), the "
        "growth of each object over time. INPUT is a smaps file (gzip, xz or zstd too); "
        "--pid adds the live process.",
    )  # fmt: skip
    report.add_argument("inputs", metavar="INPUT", nargs="*")
    report.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file")
    report.add_argument(
        "--title", metavar="TEXT", help="the report's title (default: the first input's name)"
    )
    report.add_argument("--format", choices=("text", "json"), default="text")
    add_source_arguments(report)
    report.set_defaults(run=_runner("report"))
