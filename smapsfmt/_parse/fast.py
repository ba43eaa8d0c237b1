"""The fast path of the parser: whole entries matched by one regular expression each.

Real smaps files repeat one entry shape (the same field lines in the same order) thousands of
times. For each shape met, smapsfmt._parse.shapes composes one regular expression for a whole
entry from the grammar's own terminals; this module runs them (in C where the accelerator is
built) and builds the mappings of what they match. A Name line before the fields is
optional in the pattern: Android prints it for some mappings of a process and not for others,
and one pattern for both lets entries of the two kinds run in C as one run. A composed entry
pattern accepts a subset of what the grammar accepts (a literal label is one LABEL; a single
blank is one SEP), so whatever the fast path accepts, the grammar accepts too, with the same
parts. Anything the fast path does not recognise -- a new shape whose lines are not all grammar
lines, a broken line, a duplicate field -- makes it give up and the lark parser decide, so
errors keep their exact locations. tests/test_fast.py proves both paths equal on the corpus and
on generated inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

from .._model import Mapping
from . import generic as _generic
from .batch import Batch
from .shapes import (
    EMPTY,
    MAX_COMPOSED_LABELS,
    SHAPE_LIMIT,
    SHAPES,
    Shape,
    compile_shape,
    learn,
    unknown_lines_of,
)
from .values import (
    CACHE_LIMIT,
    DEVICES,
    FLAGS,
    HEX,
    INTS,
    PATHS,
    TEXT,
    to_device,
    to_flags,
    to_hex,
    to_int,
    to_ints,
    to_path,
    to_text,
)

__all__ = [
    "RECENT", "entries", "fast_batches", "fast_mappings", "fast_prefix", "fast_until",
    "lines_in", "mapping_of",
]  # fmt: skip

new = object.__new__
# Shapes met lately, tried first by the next call (a monitoring loop parses the same shapes).
RECENT: list[Shape] = []


def fast_mappings(data: bytes, first_line: int = 1) -> list[Mapping] | None:
    """Every mapping of ``data`` (a whole number of entries), or None to let the grammar
    decide (unknown shapes that are not plainly grammatical, or broken input)."""
    found = fast_until(data, len(data), first_line, batches=False)
    return None if found is None else found[0]  # type: ignore[return-value]


def fast_batches(data: bytes, first_line: int = 1) -> list[Mapping | Batch] | None:
    """What fast_mappings gives, but each run of entries the C module takes as one Batch
    (smapsfmt._parse.batch): for the aggregator, which reads columns."""
    found = fast_until(data, len(data), first_line, batches=True)
    return None if found is None else found[0]


def fast_until(
    data: bytes, end: int, first_line: int, *, batches: bool
) -> tuple[list[Mapping | Batch], int] | None:
    """What fast_batches (or, without ``batches``, fast_mappings) gives of ``data[:end]``,
    without copying it, and the line after it; None to let the grammar decide."""
    out, pos, line = fast_prefix(data, 0, end, first_line, batches=batches)
    return (out, line) if pos >= end else None


class _Budget:
    """How many shapes one call may compose: up to eight freely (a real smaps has a few), one
    per 64 KiB of its text, then one more per 64 entries the generic pattern took, and only for
    a shape met before. Composing costs about as much as 64 generic entries (mostly re.compile
    of the header's terminal), so that no input spends on compositions more than it spends on
    its entries; the free ones scale with the text so that many calls on one entry each (the
    validator's slow path) compose nothing."""

    __slots__ = ("composed", "free", "generic")

    def __init__(self, size: int) -> None:
        self.composed = 0
        self.free = min(8, size >> 16)
        self.generic = 0

    def shape(self, key: _generic.ShapeKey) -> Shape | None:
        """The composed shape of ``key``, if there is one or the budget allows one."""
        self.generic += 1
        found = SHAPES.get(key)
        if found is not None or len(key[0]) > MAX_COMPOSED_LABELS:
            return found
        seen = _SEEN.get(key, 0)
        if len(_SEEN) >= CACHE_LIMIT:
            _SEEN.clear()
        _SEEN[key] = seen + 1
        if self.composed >= self.free and (
            not seen or self.composed >= self.free + self.generic // 64
        ):
            return None
        self.composed += 1
        return compile_shape(*key)


_SEEN: dict[_generic.ShapeKey, int] = {}  # entries the generic pattern took, by shape
# The shape that followed each shape last time (by id: a stale guess is only a guess), tried
# first when the shape changes: shapes that take turns are found at once.
_NEXT: dict[int, Shape] = {}


def fast_prefix(
    data: bytes, pos: int, end: int, first_line: int, *, batches: bool
) -> tuple[list[Mapping | Batch], int, int]:
    """The entries of ``data[pos:end]`` the fast path recognises, from ``pos`` on, up to the
    first one it leaves to the grammar: the items (as fast_until), where they end, and the
    line there."""
    out: list[Any] = []
    size, line = end, first_line
    shape = RECENT[0] if RECENT else None
    budget = _Budget(end - pos)
    while pos < size:
        kept, at, at_line = len(out), pos, line
        try:
            if shape is not None and shape.program is not None:
                # The C module takes every entry of this shape it can; it stops before an
                # entry of another shape (status 0), or one it leaves to the code below.
                pos, line, status = _run(shape, data, pos, line, size, out, batches=batches)
                if pos >= size:
                    break
                if status == 0 and (
                    other := _run_other(shape, data, pos, line, size, out, batches=batches)
                ):
                    shape, pos, line = other
                    continue
            m = shape.regex.match(data, pos, size) if shape is not None else None
            if m is None:
                previous, shape = shape, _recent_shape(shape, data, pos, size)
                m = shape.regex.match(data, pos, size) if shape is not None else None
                if m is not None and shape is not None and shape.program is not None:
                    continue
                shape = shape if m is not None else previous
            if m is not None:
                assert shape is not None
                out.append(mapping_of(m, shape, line))
                line += lines_in(m, shape)
                pos = m.end()
                continue
            found = _generic.entry(data, pos, size, line)
            if found is None:
                break  # the grammar decides
            mapping, pos, lines, key = found
            out.append(mapping)
            line += lines
            composed = budget.shape(key)
            if composed is not None:
                _remember(shape, composed)
                shape = composed
        except ValueError:  # a number Python does not convert: the grammar locates it
            del out[kept:]
            pos, line = at, at_line
            break
    return out, pos, line


def _remember(previous: Shape | None, shape: Shape) -> None:
    """``shape`` is the most recent one, and follows ``previous``."""
    if previous is not None and previous is not shape:
        if len(_NEXT) >= SHAPE_LIMIT:
            _NEXT.clear()
        _NEXT[id(previous)] = shape
    if not RECENT or RECENT[0] is not shape:
        if shape in RECENT:
            RECENT.remove(shape)
        RECENT.insert(0, shape)
        del RECENT[8:]


def _recent_shape(previous: Shape | None, data: bytes, pos: int, end: int) -> Shape | None:
    """The shape of the entry at ``pos`` among the one that followed ``previous`` last time
    and the recent ones; None if none of them."""
    guess = _NEXT.get(id(previous)) if previous is not None else None
    if guess is not None and guess.regex.match(data, pos, end):
        _remember(previous, guess)
        return guess
    for recent in RECENT:
        if recent is not previous and recent.regex.match(data, pos, end):
            _remember(previous, recent)
            return recent
    return None


def _run(  # noqa: PLR0917 - positional, as Program.run
    shape: Shape, data: bytes, pos: int, line: int, end: int, out: list[Any], *, batches: bool
) -> tuple[int, int, int]:
    if batches:
        return _run_batch(shape, data, pos, line, end, out)
    assert shape.program is not None
    return shape.program.run(data, pos, line, out, None, None, -1, end)


def _run_other(  # noqa: PLR0917 - positional, as Program.run
    shape: Shape, data: bytes, pos: int, line: int, end: int, out: list[Any], *, batches: bool
) -> tuple[Shape, int, int] | None:
    """Entries of shapes taking turns (Android's Name lines come and go): the programs of the
    shape that followed this one last time, then of the other recent shapes, are tried before
    any regular expression."""
    guess = _NEXT.get(id(shape))
    others = RECENT if guess is None else [guess, *RECENT]
    for other in others:
        if other is not shape and other.program is not None:
            new_pos, new_line, _status = _run(other, data, pos, line, end, out, batches=batches)
            if new_pos > pos:
                _remember(shape, other)
                return other, new_pos, new_line
    return None


_SMALL_BATCH = 3  # runs shorter than this go to the aggregator as Mappings


def _run_batch(  # noqa: PLR0917 - positional, as Program.run
    shape: Shape, data: bytes, pos: int, line: int, until: int, out: list[Any]
) -> tuple[int, int, int]:
    """Run the shape's program in columns mode from ``pos`` to ``until``; append the Batch it
    makes. The end, its line, and the status of the stop (as Program.run)."""
    program = shape.program
    assert program is not None
    lines: list[int] = []
    start: list[int] = []
    end: list[int] = []
    major: list[int] = []
    inode: list[int] = []
    pathname: list[bytes] = []
    vmflags: list[tuple[str, ...] | None] = []
    name: list[bytes | None] = []
    # One list (or None: not kept) per slot of SLOTS.
    sinks = (lines, start, end, None, None, major, None, inode, pathname, None, None,
             vmflags, name, None)  # fmt: skip
    columns: tuple[list[int], ...] = tuple([] for _ in shape.labels)
    new_pos, new_line, status = program.run(data, pos, line, None, sinks, columns, -1, until)
    if 0 < len(lines) < _SMALL_BATCH:
        # A short run (entries of several shapes taking turns): Mappings cost the aggregator
        # less than a Batch of one or two.
        stop, stop_line, _ = program.run(data, pos, line, out, None, None, len(lines), until)
        return stop, stop_line, status
    if new_pos > pos:
        if not shape.vmflags:
            vmflags = [None] * len(lines)
        if not (shape.name_first or shape.name_last):
            name = [None] * len(lines)
        out.append(
            Batch(shape.labels, columns, lines, start, end, major, inode, pathname, vmflags, name)
        )
    return new_pos, new_line, status


def lines_in(m: re.Match[bytes], shape: Shape) -> int:
    """The lines of the entry ``m`` matched: a shape's Name line before the fields is
    optional (group 8, after the header's 7)."""
    return shape.lines - (shape.name_first and m.start(8) < 0)


def mapping_of(m: re.Match[bytes], shape: Shape, line: int) -> Mapping:
    """The mapping of one matched entry (ValueError: a number Python does not convert)."""
    hexes, ints, texts, devices, paths, flags = HEX, INTS, TEXT, DEVICES, PATHS, FLAGS
    # Unpack the shape once per entry: these are plain tuple reads.
    _regex, labels, unknown, name_first, has_flags, name_last, _lines, first, _program = shape
    groups = m.groups()
    after = first + len(labels)
    mapping = new(Mapping)
    mapping.line = line
    mapping.start = int(groups[0], 16)
    mapping.end = int(groups[1], 16)
    mapping.perms = texts.get(groups[2]) or to_text(groups[2])
    mapping.offset = hexes.get(groups[3]) or to_hex(groups[3])
    mapping.major, mapping.minor = devices.get(groups[4]) or to_device(groups[4])
    mapping.inode = ints.get(groups[5]) or to_int(groups[5])
    mapping.pathname = paths.get(groups[6]) or to_path(groups[6])
    values = groups[first:after]
    try:
        mapping.fields = MappingProxyType(dict(zip(labels, map(ints.__getitem__, values))))  # noqa: B905
    except KeyError:
        mapping.fields = MappingProxyType(dict(zip(labels, to_ints(values))))  # noqa: B905
    mapping.unknown_lines = unknown_lines_of(m.group(), shape) if unknown else EMPTY
    if has_flags:
        mapping.vmflags = flags.get(groups[after]) or to_flags(groups[after])
        after += 1
    else:
        mapping.vmflags = None
    if name_first:
        mapping.name = groups[7]
    elif name_last:
        mapping.name = groups[after]
    else:
        mapping.name = None
    mapping.name_after_fields = name_last
    return mapping


def entries(data: bytes) -> Iterator[tuple[re.Match[bytes], Shape] | None]:
    """The match and shape of each entry of ``data``, in order; None, and the end, at the
    first entry that is not recognised."""
    pos = 0
    size = len(data)
    shape = RECENT[0] if RECENT else None
    while pos < size:
        m = shape.regex.match(data, pos) if shape is not None else None
        if m is None:
            shape = find_shape(data, pos, size)
            m = shape.regex.match(data, pos) if shape is not None else None
            if m is None or shape is None:
                yield None
                return
        assert shape is not None
        yield m, shape
        pos = m.end()


def find_shape(data: bytes, pos: int, end: int) -> Shape | None:
    for recent in RECENT:
        if recent.regex.match(data, pos, end):
            return recent
    learned = learn(data, pos, end)
    if learned is not None:
        RECENT.insert(0, learned)
        del RECENT[8:]
    return learned
