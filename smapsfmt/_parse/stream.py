"""iter_smaps: a smaps read incrementally, in constant memory, with parse_smaps's verdicts."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

from .. import _limits
from .._errors import SmapsSyntaxError
from .._model import Mapping
from . import generic as _generic
from .boundaries import is_header, split_complete
from .parser import as_bytes, scan, stretch

if TYPE_CHECKING:
    from .batch import Batch

__all__ = ["iter_smaps"]

_CHUNK = 1 << 20


def iter_smaps(
    source: BinaryIO | Iterable[bytes], *, path: str | None = None
) -> Iterator[Mapping]:
    """Yield the mappings of a smaps read incrementally from ``source``: a binary file object
    (read in 1 MiB pieces) or an iterable of byte chunks.

    Holds a bounded amount of text and no more mappings than one piece contains, so a smaps of
    any size streams in constant memory. Mappings come out as soon as their entry is complete;
    a syntax error raises :class:`SmapsSyntaxError` with the same line and column as
    :func:`parse_smaps` would give, after the mappings before it have been yielded.

    Raises TypeError for a file open in text mode, at once, and for a ``read()`` that returns
    anything but bytes, when it does: open the file in binary mode (``open(path, "rb")``).
    """
    if isinstance(source, io.TextIOBase):
        raise TypeError(_TEXT_MODE.format("this file is open in text mode"))
    return _Stream(source, path)


_TEXT_MODE = (
    "iter_smaps reads bytes, but {}: open the file in binary mode "
    "(open(path, 'rb'), or sys.stdin.buffer)"
)


def _pieces(reader: BinaryIO) -> Iterator[bytes]:
    """The pieces ``reader.read`` returns, up to the end of the file (an empty piece)."""
    while True:
        piece = reader.read(_CHUNK)
        if not isinstance(piece, (bytes, bytearray, memoryview)):
            raise TypeError(_TEXT_MODE.format(f"read() returned {type(piece).__name__}"))
        if not piece:
            return
        yield piece


class _Stream(Iterator[Mapping]):
    """The iterator iter_smaps returns. :func:`smapsfmt.aggregate` and
    :func:`smapsfmt.check_rollup` read it through ``_batches()``: the same entries, runs of
    one shape as column Batches (smapsfmt._parse.batch) instead of one Mapping each."""

    def __init__(self, source: BinaryIO | Iterable[bytes], path: str | None) -> None:
        self._source = source
        self._path = path
        self._mappings: Iterator[Mapping] | None = None

    def __next__(self) -> Mapping:
        if self._mappings is None:
            self._mappings = _stream(self._source, self._path, batches=False)  # type: ignore[assignment]
        assert self._mappings is not None
        return next(self._mappings)

    def _batches(self) -> Iterator[Mapping | Batch]:
        if self._mappings is not None:  # iteration has begun: the rest, mapping by mapping
            return self._mappings
        self._mappings = iter(())  # the stream is consumed by this call
        return _stream(self._source, self._path, batches=True)


def _stream(
    source: BinaryIO | Iterable[bytes], path: str | None, *, batches: bool
) -> Iterator[Mapping | Batch]:
    chunks: Iterator[bytes]
    if hasattr(source, "read"):
        reader = cast("BinaryIO", source)
        chunks = _pieces(reader)
    else:
        chunks = iter(source)
    parts: list[bytes] = []  # the text not decided yet, joined only when it is read
    size = 0
    tail = 0  # the length of its last line so far (no newline yet)
    line = 1
    error: SmapsSyntaxError | None = None  # the models' first problem (see scan)
    retry = 0  # an undecided stretch is read again once the text holds this much
    for piece in chunks:
        if not piece:
            continue
        chunk = as_bytes(piece)
        parts.append(chunk)
        size += len(chunk)
        newline = chunk.find(b"\n")
        if newline < 0:
            tail += len(chunk)
        elif (
            tail + newline > _limits.MAX_LINE
            or _limits.first_long_line(chunk, newline + 1) is not None
        ):
            break  # _last reports it, or an error before it
        else:
            tail = len(chunk) - chunk.rfind(b"\n") - 1
        if tail > _limits.MAX_LINE:
            break
        if size < retry:
            continue
        pending = parts[0] if len(parts) == 1 else b"".join(parts)
        first = pending.find(b"\n") + 1
        if first and not is_header(pending, first):
            # Not the start of an entry (no smaps at all): refused now, at that line.
            stretch(pending, 0, first, line, path, final=False, boundary=False)
        cut = split_complete(pending)
        if cut == 0:
            # No whole entry yet: lines that cannot follow its header are refused now.
            decided = pending.rfind(b"\n") + 1
            if decided and _generic.entry(pending, 0, decided, line) is None:
                stretch(pending, 0, decided, line, path, final=False, boundary=False)
            retry = 2 * size
            parts = [pending]
            continue
        items, pos, line, problem = scan(pending, cut, path, line, False, batches)
        if error is None:
            yield from items
            error = problem
        retry = 2 * size if pos < cut else 0
        parts = [pending[pos:]]
        size = len(parts[0])
    pending = b"".join(parts)
    yield from _last(pending, path, line, batches, error)


def _last(
    pending: bytes, path: str | None, line: int, batches: bool, error: SmapsSyntaxError | None
) -> Iterator[Mapping | Batch]:
    """The end of a stream: ``pending`` (from line ``line``) is the rest of the input, or its
    text up to a line longer than any kernel prints, and what follows is not read."""
    long = _limits.first_long_line(pending)
    end = len(pending) if long is None else long
    try:
        items, _pos, _line, problem = scan(pending, end, path, line, True, batches)
    except SmapsSyntaxError as exc:
        if long is None or exc.line < line + pending.count(b"\n", 0, long):
            raise
        items, problem = [], None  # at the long line: the end of the text before it
    if error is None:
        yield from items
        error = problem
    if long is not None:
        raise _limits.line_too_long(pending, long, first_line=line, path=path)
    if error is not None:
        raise error
