"""One capture, as summary, diff and report read it: a smaps FILE (through the input layer:
gzip/xz/zstd, bounded lines, a maps file named as such) or a live process (``--pid``, frozen),
merged by object, with the kernel's rollup when one is at hand and the interval of each
fixed-point field otherwise.

Attachments are often cut short (a size limit, a copy interrupted). A smaps whose last mapping
is incomplete (its text ends without a newline, or with fewer field lines than the mapping
before it: the kernel prints the same lines for every mapping of one text) is summarised from
its complete mappings, with one warning that names the cut; ``Capture.warnings`` holds it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .objects import Rows

if TYPE_CHECKING:
    import argparse

    from .._model import Interval

__all__ = ["Capture", "cut_last_block", "from_args", "from_file", "from_text"]


@functools.cache
def _header() -> re.Pattern[bytes]:
    """The start of a mapping header, up to its permissions, as the profiles' header format
    prints it (smapsfmt._spec.header)."""
    from .._spec.header import prefix_pattern

    return re.compile(b"^" + prefix_pattern(3), re.M)


class Capture:
    """``path`` as messages show it; ``kind`` ``smaps`` or ``rollup``; ``rows`` (no rows for a
    smaps_rollup alone); ``rollup``: the kernel's smaps_rollup fields when at hand (``--pid``,
    ``--rollup``, or the input itself), with ``rollup_path``; ``intervals``: each rollup
    field's interval from the smaps (None for a rollup alone, or a smaps no kernel prints:
    ``note`` says why); ``warnings``: one line each, without the ``smapsfmt: warning:``."""

    def __init__(self, path: str, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.rows = Rows()
        self.rollup: dict[str, int] | None = None
        self.rollup_path: str | None = None
        self.intervals: dict[str, Interval] | None = None
        self.note: str | None = None
        self.warnings: list[str] = []
        self.pid: int | None = None
        self.taken: float | None = None  # when a live process was read (time.time())

    def kernel_value(self, name: str) -> int | tuple[int, int | None] | None:
        """The kernel's value of a rollup field: the rollup's, else the interval (LO, HI) the
        smaps proves (HI None: no bound), else None."""
        if self.rollup is not None and name in self.rollup:
            return self.rollup[name]
        if self.intervals is not None and name in self.intervals:
            bound = self.intervals[name]
            return (bound.lo, bound.hi)
        return None

    @property
    def kernel_source(self) -> str | None:
        """``smaps_rollup`` or ``interval``: where the kernel's values come from."""
        if self.rollup is not None:
            return "smaps_rollup"
        return "interval" if self.intervals is not None else None


def _is_rollup(text: bytes) -> bool:
    end = text.find(b"\n")
    first = text if end < 0 else text[:end]
    from .._spec.layout import rollup_name

    return first.rstrip().endswith(rollup_name())


def _names(block: bytes) -> list[bytes]:
    """The field names of one mapping's lines after its header (Android's Name: left out)."""
    names = [line.partition(b":")[0] for line in block.split(b"\n")[1:] if line]
    return [name for name in names if name != b"Name"]


def cut_last_block(text: bytes, path: str) -> tuple[bytes, str | None]:
    """The text without its last mapping when that mapping is cut short, and the warning that
    says so; else the text unchanged and None."""
    if not text:
        return text, None
    starts = [m.start() for m in _header().finditer(text, max(0, len(text) - (1 << 20)))]
    if not starts:
        return text, None
    last = starts[-1]
    block = text[last:]
    line = text.count(b"\n", 0, last) + 1
    kept = len(_header().findall(text, 0, last)) if last else 0
    if not text.endswith(b"\n"):
        why = "its last line has no newline"
    else:
        if len(starts) < 2:
            return text, None
        before = _names(text[starts[-2] : last])
        names = _names(block)
        if not (len(names) < len(before) and before[: len(names)] == names):
            return text, None
        why = f"{len(names)} of the {len(before)} field lines of the mapping before it"
    warning = (
        f"{path}:{line}:1: the text is cut in the mapping that starts here ({why}): summarised "
        f"from the {kept} complete mapping{'s' if kept != 1 else ''} before it"
    )
    return text[:last], warning


def from_text(
    text: bytes, path: str, *, rollup: bytes | None = None, rollup_path: str | None = None
) -> Capture:
    """A capture of a smaps (or smaps_rollup) text; SmapsSyntaxError for what neither is."""
    from .kernel_rollup import rollup_fields

    if _is_rollup(text):
        capture = Capture(path, "rollup")
        capture.rollup = rollup_fields(text, path)
        capture.rollup_path = path
        return capture
    capture = Capture(path, "smaps")
    text, warning = cut_last_block(text, path)
    if warning is not None:
        capture.warnings.append(warning)
    from .. import aggregate, iter_smaps
    from .._rollup.errors import KernelMismatch
    from .progress import Progress

    with Progress(f"reading {path} (MB)") as progress:
        pieces = _pieces(text, progress) if progress.active else [text]
        try:
            capture.intervals = dict(
                aggregate(capture.rows.feed(iter_smaps(pieces, path=path))).intervals
            )
        except KernelMismatch as exc:  # the rows are complete: the aggregator reads them first
            capture.note = f"no kernel interval: {exc}"
    if rollup is not None:
        capture.rollup = rollup_fields(rollup, rollup_path or "smaps_rollup")
        capture.rollup_path = rollup_path
    return capture


_PIECE = 4 << 20


def _pieces(text: bytes, progress: Any) -> Iterator[bytes]:
    """The text in pieces, each counted on the terminal's progress line as it is parsed."""
    view = memoryview(text)
    total = (len(text) + (1 << 20) - 1) >> 20
    for start in range(0, len(text), _PIECE):
        progress.update(start >> 20, total)
        yield bytes(view[start : start + _PIECE])
    progress.update(total, total)


def from_file(name: str, *, rollup: str | None = None) -> Capture:
    """FILE (``-``: standard input) through the input layer, and its smaps_rollup if given."""
    from .._cli.common import display_name, read_input

    text = read_input(name)
    rollup_text = read_input(rollup) if rollup is not None else None
    return from_text(
        text,
        display_name(name),
        rollup=rollup_text,
        rollup_path=display_name(rollup) if rollup else None,
    )


def from_pid(args: argparse.Namespace) -> Capture:
    """The live process of ``--pid``: smaps and smaps_rollup read frozen (unless --no-freeze)."""
    import time

    from .._cli.common import load_snapshot

    taken = time.time()
    snap: Any = load_snapshot(args)
    capture = from_text(
        snap.smaps_text, snap.smaps_path, rollup=snap.rollup_text, rollup_path=snap.rollup_path
    )
    capture.pid = snap.pid
    capture.taken = taken
    return capture


def from_args(args: argparse.Namespace, file: str | None) -> Capture:
    """FILE or ``--pid``, exactly one (a usage error otherwise)."""
    from .._cli.streams import UsageError

    prog = getattr(args, "source_prog", "smapsfmt")
    if args.pid is not None and file is not None:
        raise UsageError(f"give either FILE or --pid PID, not both (see '{prog} --help')")
    if args.pid is None and file is None:
        raise UsageError(f"FILE or --pid PID is required (see '{prog} --help')")
    if args.pid is not None:
        if getattr(args, "rollup", None) is not None:
            raise UsageError("--rollup applies to FILE only: --pid reads the process's own")
        return from_pid(args)
    assert file is not None
    return from_file(file, rollup=getattr(args, "rollup", None))
