"""The fast path of the parser: whole entries matched by one regular expression each.

Real smaps files repeat one entry shape (the same field lines in the same order) thousands of
times. For each shape met, this module composes one regular expression for a whole entry from
the grammar's own terminals (grammar/smaps.lark, through _grammar.line_patterns and
_grammar.terminal_regexps): the header terminal, then each field line with its label as a
literal, the VmFlags and Name lines where the shape has them. A composed entry pattern accepts
a subset of what the grammar accepts (a literal label is one LABEL; a single blank is one SEP),
so whatever the fast path accepts, the grammar accepts too, with the same parts. Anything the
fast path does not recognise -- a new shape whose lines are not all grammar lines, a broken
line, a duplicate field -- makes it give up and the lark parser decide, so errors keep their
exact locations. tests/test_fast.py proves both paths equal on the corpus and on generated
inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from types import MappingProxyType
from typing import NamedTuple

from . import _grammar
from ._model import KNOWN_FIELDS, Mapping, Rollup

__all__ = ["fast_mappings", "rollup_from", "split_complete"]


class _Shape(NamedTuple):
    regex: re.Pattern[str]
    labels: tuple[str, ...]
    unknown: tuple[bool, ...]  # per label: not a known kernel field (raw text kept)
    name_first: bool
    vmflags: bool
    name_last: bool
    lines: int


class _Lines(NamedTuple):
    """Regex sources for each kind of line, positional groups, without the end of line."""

    header: str  # 7 groups: start end perms offset device inode pathname
    field_sep: str
    value: str
    name: str  # 1 group
    vmflags: str  # 1 group
    eol: str
    address: str


@cache
def _lines() -> _Lines:
    patterns = _grammar.line_patterns()
    regexps = _grammar.terminal_regexps()
    eol = regexps["EOL"]

    def positional(terminal: str) -> str:
        source = patterns[terminal].regex.pattern
        assert source.endswith(eol)
        return re.sub(r"\(\?P<\w+>", "(", source[: -len(eol)])

    return _Lines(
        header=positional("HEADER"),
        field_sep=regexps["SEP"],
        value=regexps["VALUE"],
        name=positional("NAME_LINE"),
        vmflags=positional("VMFLAGS_LINE"),
        eol=eol,
        address=regexps["ADDRESS"],
    )


# Generic line matchers, to learn the shape of an entry the fast path has not seen.
@cache
def _learners() -> dict[str, re.Pattern[str]]:
    patterns = _grammar.line_patterns()
    return {name: re.compile(p.plain) for name, p in patterns.items()}


@lru_cache(maxsize=256)
def _compile(  # noqa: PLR0917 - positional: the arguments are the lru_cache key
    labels: tuple[str, ...],
    units: tuple[bool, ...],
    tabs: bool,
    name_first: bool,
    vmflags: bool,
    name_last: bool,
) -> _Shape:
    """The entry pattern of one shape (cached: a file has few shapes)."""
    parts = _lines()
    line_ends: list[str] = []
    body = [parts.header]
    if name_first:
        body.append(parts.name)
    sep = parts.field_sep if tabs else " +"  # " +": one SEP made of blanks only
    for label, kb in zip(labels, units, strict=True):
        body.append(f"{re.escape(label)}:{sep}({parts.value}){' kB' if kb else ''}")
    if vmflags:
        body.append(parts.vmflags)
    if name_last:
        body.append(parts.name)
    line_ends = ["\\n"] * (len(body) - 1) + [parts.eol]
    source = "".join(line + end for line, end in zip(body, line_ends, strict=True))
    # The entry must end where the next header, or the input, begins.
    source += f"(?={parts.address}-|\\Z)"
    return _Shape(
        regex=re.compile(source),
        labels=labels,
        unknown=tuple(label not in KNOWN_FIELDS for label in labels),
        name_first=name_first,
        vmflags=vmflags,
        name_last=name_last,
        lines=len(body),
    )


def _learn(text: str, pos: int) -> _Shape | None:
    """The shape of the entry at ``pos``, or None if it is not plainly grammatical."""
    learn = _learners()
    header = learn["HEADER"].match(text, pos)
    if header is None or not header.group().endswith("\n"):
        return None
    pos = header.end()
    labels: list[str] = []
    units: list[bool] = []
    tabs = False
    name_first = name_last = vmflags = False
    if (m := learn["NAME_LINE"].match(text, pos)) is not None:
        name_first = True
        pos = m.end()
    while pos < len(text):
        m = learn["KB_FIELD"].match(text, pos) or learn["PLAIN_FIELD"].match(text, pos)
        if m is None:
            break
        line = m.group()
        label, _, rest = line.partition(":")
        if label in labels:
            return None  # a duplicate field: the grammar path reports it
        labels.append(label)
        units.append(line.rstrip("\n").endswith(" kB"))
        tabs = tabs or "\t" in rest
        pos = m.end()
    if not labels:
        return None
    if (m := learn["VMFLAGS_LINE"].match(text, pos)) is not None:
        vmflags = True
        pos = m.end()
    if not name_first and (m := learn["NAME_LINE"].match(text, pos)) is not None:
        name_last = True
    return _compile(tuple(labels), tuple(units), tabs, name_first, vmflags, name_last)


# Small caches for values that repeat across mappings. Bounded: past the bound, values are
# converted without being remembered.
_CACHE_LIMIT = 65536
_INTS: dict[str, int] = {}
_HEX: dict[str, int] = {}
_DEVICES: dict[str, tuple[int, int]] = {}
_PATHS: dict[str, bytes] = {}


def _ints(values: Iterable[str]) -> tuple[int, ...]:
    try:
        return tuple(map(_INTS.__getitem__, values))
    except KeyError:
        result = tuple(map(int, values))
        if len(_INTS) < _CACHE_LIMIT:
            _INTS.update(zip(values, result, strict=True))
        return result


def _hex(value: str) -> int:
    found = _HEX.get(value)
    if found is None:
        found = int(value, 16)
        if len(_HEX) < _CACHE_LIMIT:
            _HEX[value] = found
    return found


def _device(value: str) -> tuple[int, int]:
    found = _DEVICES.get(value)
    if found is None:
        major, minor = value.split(":")
        found = _DEVICES[value] = (int(major, 16), int(minor, 16))
    return found


def _path(value: str | None) -> bytes:
    if value is None:
        return b""
    found = _PATHS.get(value)
    if found is None:
        found = value.lstrip(" ").encode("latin-1")
        if len(_PATHS) < _CACHE_LIMIT:
            _PATHS[value] = found
    return found


_new = object.__new__
_EMPTY: tuple[str, ...] = ()


def fast_mappings(text: str, first_line: int = 1) -> list[Mapping] | None:  # noqa: PLR0915
    """Every mapping of ``text`` (a whole number of entries), or None to let the grammar
    decide (unknown shapes that are not plainly grammatical, or broken input)."""
    out: list[Mapping] = []
    append = out.append
    pos = 0
    size = len(text)
    line = first_line
    shape: _Shape | None = None
    while pos < size:
        m = shape.regex.match(text, pos) if shape is not None else None
        if m is None:
            shape = _learn(text, pos)
            if shape is None:
                return None
            m = shape.regex.match(text, pos)
            if m is None:
                return None
        assert shape is not None
        groups = m.groups()
        start, end, perms, offset, device, inode, pathname = groups[:7]
        index = 7
        name: str | None = None
        if shape.name_first:
            name = groups[7]
            index = 8
        count = len(shape.labels)
        values = _ints(groups[index : index + count])
        index += count
        mapping = _new(Mapping)
        mapping.line = line
        mapping.start = _hex(start)
        mapping.end = _hex(end)
        mapping.perms = perms
        mapping.offset = _hex(offset)
        mapping.major, mapping.minor = _device(device)
        mapping.inode = _INTS.get(inode) or int(inode)
        mapping.pathname = _path(pathname)
        mapping.fields = MappingProxyType(dict(zip(shape.labels, values, strict=True)))
        if True in shape.unknown:
            mapping.unknown_lines = _unknown_lines(m.group(), shape)
        else:
            mapping.unknown_lines = _EMPTY
        if shape.vmflags:
            mapping.vmflags = tuple(groups[index].split())
            index += 1
        else:
            mapping.vmflags = None
        if shape.name_last:
            name = groups[index]
        mapping.name = None if name is None else name.encode("latin-1")
        mapping.name_after_fields = shape.name_last
        append(mapping)
        pos = m.end()
        line += shape.lines
    return out


_ROLLUP_SLOTS = (
    "line", "start", "end", "perms", "offset", "major", "minor", "inode", "pathname", "fields",
    "unknown_lines",
)  # fmt: skip


def rollup_from(entry: Mapping, *, final_newline: bool) -> Rollup:
    """The smaps_rollup entry of the same parts as ``entry`` (fast path: no re-validation)."""
    rollup = _new(Rollup)
    for slot in _ROLLUP_SLOTS:
        setattr(rollup, slot, getattr(entry, slot))
    rollup.final_newline = final_newline
    return rollup


def _unknown_lines(entry: str, shape: _Shape) -> tuple[str, ...]:
    wanted = {label for label, unknown in zip(shape.labels, shape.unknown, strict=True) if unknown}
    return tuple(
        line for line in entry.split("\n") if line.partition(":")[0] in wanted and ":" in line
    )


_HEADER_START: re.Pattern[str] | None = None


def split_complete(text: str) -> int:
    """Where the last header of ``text`` starts (0 if none after the first line): everything
    before it is a whole number of entries, when ``text`` is the start of a smaps."""
    global _HEADER_START  # noqa: PLW0603 - compiled once, on first use
    if _HEADER_START is None:
        _HEADER_START = re.compile(f"\\n(?={_lines().address}-{_lines().address} )")
    last = 0
    # Search backwards in growing windows: the last header is usually near the end.
    window = 4096
    while True:
        start = max(0, len(text) - window)
        found = [m.start() for m in _HEADER_START.finditer(text, start)]
        if found:
            last = found[-1] + 1
            break
        if start == 0:
            break
        window *= 4
    return last
