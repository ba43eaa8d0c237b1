"""The fast path of the parser: whole entries matched by one regular expression each.

Real smaps files repeat one entry shape (the same field lines in the same order) thousands of
times. For each shape met, this module composes one regular expression for a whole entry from
the grammar's own terminals (grammar/smaps.lark, through _grammar.line_patterns and
_grammar.terminal_regexps): the header terminal, then each field line with its label as a
literal, the VmFlags and Name lines where the shape has them. A Name line before the fields is
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
from collections.abc import Callable, Iterator
from functools import cache, wraps
from itertools import islice
from types import MappingProxyType
from typing import Any, NamedTuple, ParamSpec, TypeVar

from .._model import KNOWN_FIELDS, Mapping, Rollup
from .._spec import grammar as _grammar
from . import accel as _accel
from . import generic as _generic
from .batch import Batch

__all__ = [
    "fast_batches", "fast_mappings", "fast_prefix", "fast_rollup", "fast_until",
    "is_header", "next_header", "split_complete",
]  # fmt: skip


class _Shape(NamedTuple):
    regex: re.Pattern[bytes]
    labels: tuple[str, ...]
    unknown: bool  # some label is not a known kernel field (raw text kept)
    name_first: bool
    vmflags: bool
    name_last: bool
    lines: int  # lines of an entry, its Name line counted (see _lines_in)
    first_value: int  # index of the first value among the match's groups
    program: (
        Any  # the pattern run in C (smapsfmt._parse.accel), building Mappings; None: re runs it
    )


_Lines = _generic.Lines
_lines = _generic.lines
_bytes_pattern = _generic.bytes_pattern


# Generic line matchers, to learn the shape of an entry the fast path has not seen.
@cache
def _learners() -> dict[str, re.Pattern[bytes]]:
    patterns = _grammar.line_patterns()
    return {name: _bytes_pattern(p.plain) for name, p in patterns.items()}


# The shapes composed so far, by their key (_generic.ShapeKey), oldest first. Bounded: past the
# bound the oldest is forgotten (a shape is composed again only after the budget of
# fast_until allows it, see _Budget), so that no pattern of shapes taking turns can make every
# entry compose its pattern again.
_SHAPES: dict[_generic.ShapeKey, _Shape] = {}
_SHAPE_LIMIT = 4096
COMPOSED = [0]  # how many shapes were composed since the import: the tests' view of the cost
# Shapes with more field lines than this are never composed: _generic takes their entries.
_MAX_COMPOSED_LABELS = 256


def _compile(  # noqa: PLR0917 - positional: the arguments are the cache key
    labels: tuple[str, ...],
    units: tuple[bool, ...],
    tabs: bool,
    name_first: bool,
    vmflags: bool,
    name_last: bool,
) -> _Shape:
    """The entry pattern of one shape (cached in _SHAPES)."""
    key = (labels, units, tabs, name_first, vmflags, name_last)
    found = _SHAPES.get(key)
    if found is None:
        found = _compose(*key)
        COMPOSED[0] += 1
        if len(_SHAPES) >= _SHAPE_LIMIT:
            del _SHAPES[next(iter(_SHAPES))]
        _SHAPES[key] = found
    return found


def _compose(  # noqa: PLR0917 - positional, as _compile
    labels: tuple[str, ...],
    units: tuple[bool, ...],
    tabs: bool,
    name_first: bool,
    vmflags: bool,
    name_last: bool,
) -> _Shape:
    parts = _lines()
    body = [parts.header]
    sep = parts.field_sep if tabs else " +"  # " +": one SEP made of blanks only
    for label, kb in zip(labels, units, strict=True):
        body.append(f"{re.escape(label)}:{sep}({parts.value}){' kB' if kb else ''}")
    if vmflags:
        body.append(parts.vmflags)
    if name_last:
        body.append(parts.name)
    line_ends = ["\\n"] * (len(body) - 1) + [parts.eol]
    lines = [line + end for line, end in zip(body, line_ends, strict=True)]
    # Optional, and never the last line (at least one field line follows): Android names only
    # its named anonymous regions (tests/fixtures/valid/external/android-libmeminfo/testdata1:
    # 1,097 of 2,760 entries).
    if name_first:
        lines.insert(1, f"(?:{parts.name}\\n)?")
    source = "".join(lines)
    # The entry must end where the next header, or the input, begins.
    source += f"(?={parts.address}-|\\Z)"
    regex = _bytes_pattern(source)
    unknown = any(label not in KNOWN_FIELDS for label in labels)
    first = 8 if name_first else 7
    return _Shape(
        regex=regex,
        labels=labels,
        unknown=unknown,
        name_first=name_first,
        vmflags=vmflags,
        name_last=name_last,
        lines=len(lines),
        first_value=first,
        # Raw text of unknown field lines is kept by the Python code only.
        program=None
        if unknown
        else _mapping_program(regex, labels, name_first, vmflags, name_last, len(lines)),
    )


# The attributes of a Mapping the C module fills, and how each group of an entry pattern is
# converted: what fast_mappings below does in Python, said once more as data.
_SLOTS = (
    "line", "start", "end", "perms", "offset", "major", "minor", "inode", "pathname", "fields",
    "unknown_lines", "vmflags", "name", "name_after_fields",
)  # fmt: skip
# The slots a Rollup has as a Mapping does: the first ones of _SLOTS, so that the slot numbers
# of _HEADER_RECIPE hold for both.
_SHARED_SLOTS = _SLOTS[: _SLOTS.index("unknown_lines") + 1]
_HEADER_RECIPE = (
    (_accel.SKIP, 0, 0),
    (_accel.HEX, _SLOTS.index("start"), 0),
    (_accel.HEX, _SLOTS.index("end"), 0),
    (_accel.TEXT, _SLOTS.index("perms"), 0),
    (_accel.HEX, _SLOTS.index("offset"), 0),
    (_accel.DEVICE, _SLOTS.index("major"), _SLOTS.index("minor")),
    (_accel.DEC, _SLOTS.index("inode"), 0),
    (_accel.PATH, _SLOTS.index("pathname"), 0),
)


def _mapping_program(  # noqa: PLR0917 - positional, as _compile's key
    regex: re.Pattern[bytes],
    labels: tuple[str, ...],
    name_first: bool,
    vmflags: bool,
    name_last: bool,
    lines: int,
) -> Any:
    recipe = list(_HEADER_RECIPE)
    name = (_accel.RAW, _SLOTS.index("name"), 0)
    if name_first:
        recipe.append(name)
    recipe += [(_accel.FIELD, i, 0) for i in range(len(labels))]
    if vmflags:
        recipe.append((_accel.FLAGS, _SLOTS.index("vmflags"), 0))
    if name_last:
        recipe.append(name)
    constants: list[tuple[str, object]] = [("unknown_lines", _EMPTY)]
    constants.append(("name_after_fields", name_last))
    if not vmflags:
        constants.append(("vmflags", None))
    if not (name_first or name_last):
        constants.append(("name", None))
    # Lines per entry (0: counted entry by entry, where the Name line is optional).
    per_entry = 0 if name_first else lines
    return _accel.program(
        regex, recipe, Mapping, _SLOTS, labels, constants, per_entry, MAX_HEX_DIGITS
    )


def _learn(data: bytes, pos: int, end: int) -> _Shape | None:
    """The shape of the entry at ``pos`` of ``data[:end]``, or None if it is not plainly
    grammatical."""
    learn = _learners()
    header = learn["HEADER"].match(data, pos, end)
    if header is None or not header.group().endswith(b"\n"):
        return None
    pos = header.end()
    labels: list[str] = []
    seen: set[str] = set()
    units: list[bool] = []
    tabs = False
    name_first = name_last = vmflags = False
    if (m := learn["NAME_LINE"].match(data, pos, end)) is not None:
        name_first = True
        pos = m.end()
    while pos < end:
        # The grammar lexes the VmFlags and Name lines before field lines (their terminals
        # have priority), so "VmFlags: 12 kB" is never a field.
        if learn["VMFLAGS_LINE"].match(data, pos, end) or learn["NAME_LINE"].match(data, pos, end):
            break
        m = learn["KB_FIELD"].match(data, pos, end) or learn["PLAIN_FIELD"].match(data, pos, end)
        if m is None:
            break
        line = m.group()
        raw_label, _, rest = line.partition(b":")
        label = raw_label.decode("ascii")
        if label in seen:
            return None  # a duplicate field: the grammar path reports it
        seen.add(label)
        labels.append(label)
        units.append(line.rstrip(b"\n").endswith(b" kB"))
        tabs = tabs or b"\t" in rest
        pos = m.end()
    if not labels:
        return None
    if (m := learn["VMFLAGS_LINE"].match(data, pos, end)) is not None:
        vmflags = True
        pos = m.end()
    if not name_first and (m := learn["NAME_LINE"].match(data, pos, end)) is not None:
        name_last = True
    return _compile(tuple(labels), tuple(units), tabs, name_first, vmflags, name_last)


# Small caches for values that repeat across mappings. Bounded: past the bound, values are
# converted without being remembered.
_CACHE_LIMIT = 65536
_INTS: dict[bytes, int] = {}
_HEX: dict[bytes, int] = {}
_TEXT: dict[bytes, str] = {}
_DEVICES: dict[bytes, tuple[int, int]] = {}
_PATHS: dict[bytes | None, bytes] = {None: b""}
_FLAGS: dict[bytes, tuple[str, ...]] = {}


def _ints(values: tuple[bytes, ...]) -> tuple[int, ...]:
    try:
        return tuple(map(_INTS.__getitem__, values))
    except KeyError:
        result = tuple(map(int, values))
        if len(_INTS) < _CACHE_LIMIT:
            _INTS.update(zip(values, result, strict=True))
        return result


# Python prints ints of at most 4300 decimal digits (sys.get_int_max_str_digits()); a hex
# number of at most this many digits always stays within that. Longer ones (far beyond any
# number the kernel prints) are left to the grammar path, which reports them at their column.
MAX_HEX_DIGITS = 3571


def _hex(value: bytes) -> int:
    found = _HEX.get(value)
    if found is None:
        if len(value) > MAX_HEX_DIGITS:
            raise ValueError("hex number too long")
        found = int(value, 16)
        if len(_HEX) < _CACHE_LIMIT:
            _HEX[value] = found
    return found


def _int(value: bytes) -> int:
    found = _INTS.get(value)
    if found is None:
        found = int(value)
        if len(_INTS) < _CACHE_LIMIT:
            _INTS[value] = found
    return found


def _text(value: bytes) -> str:
    found = _TEXT.get(value)
    if found is None:
        found = _TEXT[value] = value.decode("ascii")
    return found


def _device(value: bytes) -> tuple[int, int]:
    found = _DEVICES.get(value)
    if found is None:
        major, minor = value.split(b":")
        if max(len(major), len(minor)) > MAX_HEX_DIGITS:
            raise ValueError("hex number too long")
        found = (int(major, 16), int(minor, 16))
        if len(_DEVICES) < _CACHE_LIMIT:
            _DEVICES[value] = found
    return found


def _path(value: bytes | None) -> bytes:
    found = _PATHS.get(value)
    if found is None:
        assert value is not None
        found = value.lstrip(b" ")
        if len(_PATHS) < _CACHE_LIMIT:
            _PATHS[value] = found
    return found


def _flags(value: bytes) -> tuple[str, ...]:
    found = _FLAGS.get(value)
    if found is None:
        found = tuple(value.decode("latin-1").split())
        if len(_FLAGS) < _CACHE_LIMIT:
            _FLAGS[value] = found
    return found


_P = ParamSpec("_P")
_R = TypeVar("_R")
_new = object.__new__
_EMPTY: tuple[str, ...] = ()
# Shapes met lately, tried first by the next call (a monitoring loop parses the same shapes).
_RECENT: list[_Shape] = []


def _give_up_on_value_error(
    function: Callable[_P, _R],
) -> Callable[_P, _R | None]:
    """Return None (let the grammar decide and locate the problem) where a conversion fails:
    a decimal longer than Python converts (sys.get_int_max_str_digits())."""

    @wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return function(*args, **kwargs)
        except ValueError:
            return None

    return wrapper


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

    def shape(self, key: _generic.ShapeKey) -> _Shape | None:
        """The composed shape of ``key``, if there is one or the budget allows one."""
        self.generic += 1
        found = _SHAPES.get(key)
        if found is not None or len(key[0]) > _MAX_COMPOSED_LABELS:
            return found
        seen = _SEEN.get(key, 0)
        if len(_SEEN) >= _CACHE_LIMIT:
            _SEEN.clear()
        _SEEN[key] = seen + 1
        if self.composed >= self.free and (
            not seen or self.composed >= self.free + self.generic // 64
        ):
            return None
        self.composed += 1
        return _compile(*key)


_SEEN: dict[_generic.ShapeKey, int] = {}  # entries the generic pattern took, by shape
# The shape that followed each shape last time (by id: a stale guess is only a guess), tried
# first when the shape changes: shapes that take turns are found at once.
_NEXT: dict[int, _Shape] = {}


def fast_prefix(
    data: bytes, pos: int, end: int, first_line: int, *, batches: bool
) -> tuple[list[Mapping | Batch], int, int]:
    """The entries of ``data[pos:end]`` the fast path recognises, from ``pos`` on, up to the
    first one it leaves to the grammar: the items (as fast_until), where they end, and the
    line there."""
    out: list[Any] = []
    size, line = end, first_line
    shape = _RECENT[0] if _RECENT else None
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
                out.append(_mapping(m, shape, line))
                line += _lines_in(m, shape)
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


def _remember(previous: _Shape | None, shape: _Shape) -> None:
    """``shape`` is the most recent one, and follows ``previous``."""
    if previous is not None and previous is not shape:
        if len(_NEXT) >= _SHAPE_LIMIT:
            _NEXT.clear()
        _NEXT[id(previous)] = shape
    if not _RECENT or _RECENT[0] is not shape:
        if shape in _RECENT:
            _RECENT.remove(shape)
        _RECENT.insert(0, shape)
        del _RECENT[8:]


def _recent_shape(previous: _Shape | None, data: bytes, pos: int, end: int) -> _Shape | None:
    """The shape of the entry at ``pos`` among the one that followed ``previous`` last time
    and the recent ones; None if none of them."""
    guess = _NEXT.get(id(previous)) if previous is not None else None
    if guess is not None and guess.regex.match(data, pos, end):
        _remember(previous, guess)
        return guess
    for recent in _RECENT:
        if recent is not previous and recent.regex.match(data, pos, end):
            _remember(previous, recent)
            return recent
    return None


def _run(  # noqa: PLR0917 - positional, as Program.run
    shape: _Shape, data: bytes, pos: int, line: int, end: int, out: list[Any], *, batches: bool
) -> tuple[int, int, int]:
    if batches:
        return _run_batch(shape, data, pos, line, end, out)
    return shape.program.run(data, pos, line, out, None, None, -1, end)  # type: ignore[no-any-return]


def _run_other(  # noqa: PLR0917 - positional, as Program.run
    shape: _Shape, data: bytes, pos: int, line: int, end: int, out: list[Any], *, batches: bool
) -> tuple[_Shape, int, int] | None:
    """Entries of shapes taking turns (Android's Name lines come and go): the programs of the
    shape that followed this one last time, then of the other recent shapes, are tried before
    any regular expression."""
    guess = _NEXT.get(id(shape))
    others = _RECENT if guess is None else [guess, *_RECENT]
    for other in others:
        if other is not shape and other.program is not None:
            new_pos, new_line, _status = _run(other, data, pos, line, end, out, batches=batches)
            if new_pos > pos:
                _remember(shape, other)
                return other, new_pos, new_line
    return None


_SMALL_BATCH = 3  # runs shorter than this go to the aggregator as Mappings


def _run_batch(  # noqa: PLR0917 - positional, as Program.run
    shape: _Shape, data: bytes, pos: int, line: int, until: int, out: list[Any]
) -> tuple[int, int, int]:
    """Run the shape's program in columns mode from ``pos`` to ``until``; append the Batch it
    makes. The end, its line, and the status of the stop (as Program.run)."""
    lines: list[int] = []
    start: list[int] = []
    end: list[int] = []
    major: list[int] = []
    inode: list[int] = []
    pathname: list[bytes] = []
    vmflags: list[tuple[str, ...] | None] = []
    name: list[bytes | None] = []
    # One list (or None: not kept) per slot of _SLOTS.
    sinks = (lines, start, end, None, None, major, None, inode, pathname, None, None,
             vmflags, name, None)  # fmt: skip
    columns: tuple[list[int], ...] = tuple([] for _ in shape.labels)
    new_pos, new_line, status = shape.program.run(data, pos, line, None, sinks, columns, -1, until)
    if 0 < len(lines) < _SMALL_BATCH:
        # A short run (entries of several shapes taking turns): Mappings cost the aggregator
        # less than a Batch of one or two.
        stop, stop_line, _ = shape.program.run(data, pos, line, out, None, None, len(lines), until)
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


def _lines_in(m: re.Match[bytes], shape: _Shape) -> int:
    """The lines of the entry ``m`` matched: a shape's Name line before the fields is
    optional (group 8, after the header's 7)."""
    return shape.lines - (shape.name_first and m.start(8) < 0)


def _mapping(m: re.Match[bytes], shape: _Shape, line: int) -> Mapping:
    """The mapping of one matched entry (ValueError: a number Python does not convert)."""
    hexes, ints, texts, devices, paths, flags = _HEX, _INTS, _TEXT, _DEVICES, _PATHS, _FLAGS
    # Unpack the shape once per entry: these are plain tuple reads.
    _regex, labels, unknown, name_first, has_flags, name_last, _lines, first, _program = shape
    groups = m.groups()
    after = first + len(labels)
    mapping = _new(Mapping)
    mapping.line = line
    mapping.start = int(groups[0], 16)
    mapping.end = int(groups[1], 16)
    mapping.perms = texts.get(groups[2]) or _text(groups[2])
    mapping.offset = hexes.get(groups[3]) or _hex(groups[3])
    mapping.major, mapping.minor = devices.get(groups[4]) or _device(groups[4])
    mapping.inode = ints.get(groups[5]) or _int(groups[5])
    mapping.pathname = paths.get(groups[6]) or _path(groups[6])
    values = groups[first:after]
    try:
        mapping.fields = MappingProxyType(dict(zip(labels, map(ints.__getitem__, values))))  # noqa: B905
    except KeyError:
        mapping.fields = MappingProxyType(dict(zip(labels, _ints(values))))  # noqa: B905
    mapping.unknown_lines = _unknown_lines(m.group(), shape) if unknown else _EMPTY
    if has_flags:
        mapping.vmflags = flags.get(groups[after]) or _flags(groups[after])
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


def _entries(data: bytes) -> Iterator[tuple[re.Match[bytes], _Shape] | None]:
    """The match and shape of each entry of ``data``, in order; None, and the end, at the
    first entry that is not recognised."""
    pos = 0
    size = len(data)
    shape = _RECENT[0] if _RECENT else None
    while pos < size:
        m = shape.regex.match(data, pos) if shape is not None else None
        if m is None:
            shape = _find_shape(data, pos, size)
            m = shape.regex.match(data, pos) if shape is not None else None
            if m is None or shape is None:
                yield None
                return
        assert shape is not None
        yield m, shape
        pos = m.end()


def _find_shape(data: bytes, pos: int, end: int) -> _Shape | None:
    for recent in _RECENT:
        if recent.regex.match(data, pos, end):
            return recent
    learned = _learn(data, pos, end)
    if learned is not None:
        _RECENT.insert(0, learned)
        del _RECENT[8:]
    return learned


def fast_rollup(data: bytes) -> Rollup | None:
    """The smaps_rollup entry of ``data``, or None to let the grammar decide: anything but
    exactly one entry naming [rollup], without VmFlags or Name lines."""
    if _ROLLUP_PROGRAM and _ROLLUP_PROGRAM[0] is not None:
        # The C module, when the shape is the one of the last call: one entry, to the end.
        rollup: Rollup | None = _ROLLUP_PROGRAM[0].entire(data, 1)
        if rollup is not None and rollup.pathname == b"[rollup]":
            rollup.final_newline = data.endswith(b"\n")
            return rollup
    return _rollup_by_re(data)


@_give_up_on_value_error
def _rollup_by_re(data: bytes) -> Rollup | None:
    # A sampler reads the same process's rollup again and again: its shape and, while its
    # range does not change, its header are remembered from the last call.
    shape = _ROLLUP_SHAPE[0] if _ROLLUP_SHAPE else None
    m = shape.regex.match(data) if shape is not None else None
    if m is None or m.end() != len(data):
        entries = list(islice(_entries(data), 2))
        if len(entries) != 1 or entries[0] is None:
            return None
        m, shape = entries[0]
        if shape.vmflags or shape.name_first or shape.name_last:
            return None
        _ROLLUP_SHAPE[:] = [shape]
        _ROLLUP_PROGRAM[:] = [_rollup_program(shape)]
    assert shape is not None
    header_end = m.end(6)
    header = _ROLLUP_HEADERS.get(data[:header_end])
    if header is None:
        groups = m.groups()
        if groups[6] is None or groups[6].lstrip(b" ") != b"[rollup]":
            return None
        major, minor = _device(groups[4])
        header = (
            _hex(groups[0]), _hex(groups[1]), _text(groups[2]), _hex(groups[3]), major, minor,
            _int(groups[5]),
        )  # fmt: skip
        _ROLLUP_HEADERS.clear()
        _ROLLUP_HEADERS[data[:header_end]] = header
    elif data[header_end : m.end(7)].lstrip(b" ") != b"[rollup]":
        return None
    labels = shape.labels
    rollup = _new(Rollup)
    rollup.line = 1
    (rollup.start, rollup.end, rollup.perms, rollup.offset, rollup.major, rollup.minor,
     rollup.inode) = header  # fmt: skip
    rollup.pathname = b"[rollup]"
    values = m.groups()[7 : 7 + len(labels)]
    try:
        rollup.fields = MappingProxyType(dict(zip(labels, map(_INTS.__getitem__, values))))  # noqa: B905
    except KeyError:
        rollup.fields = MappingProxyType(dict(zip(labels, _ints(values))))  # noqa: B905
    rollup.unknown_lines = _unknown_lines(m.group(), shape) if shape.unknown else _EMPTY
    rollup.final_newline = data.endswith(b"\n")
    return rollup


_ROLLUP_SHAPE: list[_Shape] = []
_ROLLUP_PROGRAM: list[Any] = []  # the C module's program of that shape (None: not run in C)


def _rollup_program(shape: _Shape) -> Any:
    if shape.unknown:
        return None
    recipe = [*_HEADER_RECIPE, *((_accel.FIELD, i, 0) for i in range(len(shape.labels)))]
    slots = (*_SHARED_SLOTS, "final_newline")
    return _accel.program(
        shape.regex, recipe, Rollup, slots, shape.labels, [("unknown_lines", _EMPTY)],
        shape.lines, MAX_HEX_DIGITS,
    )  # fmt: skip


_ROLLUP_HEADERS: dict[bytes, tuple[int, int, str, int, int, int, int]] = {}


def _unknown_lines(entry: bytes, shape: _Shape) -> tuple[str, ...]:
    """The raw text of the entry's field lines whose label is not a known kernel field."""
    # Field lines follow the header, and the Name line where there is one.
    first = 2 if shape.name_first and entry.startswith(b"Name:", entry.index(b"\n") + 1) else 1
    lines = entry.decode("latin-1").split("\n")[first : first + len(shape.labels)]
    return tuple(
        line for line, label in zip(lines, shape.labels, strict=True) if label not in KNOWN_FIELDS
    )


@cache
def _header_start() -> re.Pattern[bytes]:
    """A newline followed by the start of a header (two addresses)."""
    return _bytes_pattern(f"\\n(?={_lines().address}-{_lines().address} )")


def is_header(data: bytes, end: int) -> bool:
    """``data[:end]`` is a header line, as the grammar lexes one."""
    return _learners()["HEADER"].fullmatch(data, 0, end) is not None


def next_header(data: bytes, pos: int, end: int) -> int:
    """Where the first header after the newline at or after ``pos`` starts; ``end`` if none."""
    found = _header_start().search(data, pos, end)
    return end if found is None else found.start() + 1


def split_complete(text: bytes) -> int:
    """Where the last header of ``text`` starts (0 if none after the first line): everything
    before it is a whole number of entries, when ``text`` is the start of a smaps."""
    last = 0
    # Search backwards in growing windows: the last header is usually near the end.
    window = 4096
    while True:
        start = max(0, len(text) - window)
        found = [m.start() for m in _header_start().finditer(text, start)]
        if found:
            last = found[-1] + 1
            break
        if start == 0:
            break
        window *= 4
    return last
