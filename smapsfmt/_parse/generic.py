"""One entry of any shape, by one pattern compiled once: the fast path's way for rare shapes.

The fast path (smapsfmt._parse.fast) composes a regular expression per entry shape and runs it over
runs of entries of that shape. Composing one costs about a millisecond (the header's terminal
alone is long): worth it for a shape that repeats, not for a shape met once or twice, nor for
an entry of thousands of field lines. This module matches an entry of any shape with one
pattern, built once from the same grammar terminals, and builds its Mapping in Python: the
cost of an entry does not depend on how many shapes came before it.

It accepts exactly the entries that a shape pattern of _fast accepts (the same terminals; a
line the grammar lexes as a VmFlags or Name line is never a field line, as _fast._learn
decides), and gives up (None) on the rest: a field twice, a Name line both first and last,
a number Python does not convert. Then the grammar decides, and locates the problem.
"""

from __future__ import annotations

import re
from functools import cache
from types import MappingProxyType
from typing import NamedTuple

from .._model import KNOWN_FIELDS, Mapping
from .._spec import grammar as _grammar

__all__ = ["Lines", "ShapeKey", "bytes_pattern", "entry", "lines"]


class Lines(NamedTuple):
    """Regex sources for each kind of line, positional groups, without the end of line."""

    header: str  # 7 groups: start end perms offset device inode pathname
    field_sep: str
    value: str
    name: str  # 1 group
    vmflags: str  # 1 group
    eol: str
    address: str


@cache
def lines() -> Lines:
    patterns = _grammar.line_patterns()
    regexps = _grammar.terminal_regexps()
    eol = regexps["EOL"]

    def positional(terminal: str) -> str:
        source = patterns[terminal].regex.pattern
        assert source.endswith(eol)
        return re.sub(r"\(\?P<\w+>", "(", source[: -len(eol)])

    return Lines(
        header=positional("HEADER"),
        field_sep=regexps["SEP"],
        value=regexps["VALUE"],
        name=positional("NAME_LINE"),
        vmflags=positional("VMFLAGS_LINE"),
        eol=eol,
        address=regexps["ADDRESS"],
    )


def bytes_pattern(source: str) -> re.Pattern[bytes]:
    # The grammar's patterns are ASCII (with \x00 and \n escapes): the same pattern over the
    # input's bytes matches what it matches over the latin-1 text, one character per byte.
    return re.compile(source.encode("latin-1"))


# (labels, units, tabs, name_first, vmflags, name_last): what _fast composes a pattern from.
ShapeKey = tuple[tuple[str, ...], tuple[bool, ...], bool, bool, bool, bool]


class _Patterns(NamedTuple):
    head: re.Pattern[bytes]  # the header and a Name line first: groups 1-8
    fields: re.Pattern[bytes]  # up to 64 field lines (a long run is matched piece by piece)
    tail: re.Pattern[bytes]  # the VmFlags and a Name line last, then the next entry or the end
    field: re.Pattern[bytes]  # one field line, its parts as groups


@cache
def _patterns() -> _Patterns:
    parts = lines()
    plain = _grammar.line_patterns()
    # A line the grammar lexes as a VmFlags or Name line (their terminals have priority) is
    # not a field line.
    not_special = f"(?!{plain['VMFLAGS_LINE'].plain}|{plain['NAME_LINE'].plain})"
    label = _grammar.terminal_regexps()["LABEL"]
    field = f"{label}:{parts.field_sep}{parts.value}(?: kB)?{parts.eol}"
    one_field = f"(({label}):({parts.field_sep})({parts.value})( kB)?){parts.eol}"
    return _Patterns(
        head=bytes_pattern(f"{parts.header}\\n(?:{parts.name}\\n)?"),
        # Bounded: re's cost per repetition grows with the count of an unbounded one.
        fields=bytes_pattern(f"(?:{not_special}{field}){{1,64}}"),
        tail=bytes_pattern(
            f"(?:{parts.vmflags}{parts.eol})?(?:{parts.name}{parts.eol})?(?={parts.address}-|\\Z)"
        ),
        field=bytes_pattern(one_field),
    )


_new = object.__new__
_MAX_HEX_DIGITS = 3571  # as _fast.MAX_HEX_DIGITS: longer hex numbers are left to the grammar


def entry(data: bytes, pos: int, end: int, line: int) -> tuple[Mapping, int, int, ShapeKey] | None:
    """The Mapping of the entry at ``pos`` of ``data[:end]`` (line ``line``), where it ends,
    its number of lines, and its shape; None to let the grammar decide."""
    patterns = _patterns()
    head = patterns.head.match(data, pos, end)
    if head is None:
        return None
    body = stop_fields = head.end()
    while (run := patterns.fields.match(data, stop_fields, end)) is not None:
        stop_fields = run.end()
    tail = patterns.tail.match(data, stop_fields, end) if stop_fields > body else None
    if tail is None:
        return None
    start, stop, perms, offset, device, inode, pathname, name_first = head.groups()
    flags, name_last = tail.groups()
    if name_first is not None and name_last is not None:
        return None  # a second Name line: the grammar reports it
    found = patterns.field.findall(data, body, stop_fields)
    labels = tuple(f[1].decode("ascii") for f in found)
    major, _, minor = device.partition(b":")
    if max(len(offset), len(major), len(minor)) > _MAX_HEX_DIGITS:
        return None
    try:  # more digits than Python converts: the grammar locates them
        values = [int(f[3]) for f in found]
        inode_number = int(inode)
    except ValueError:
        return None
    fields = dict(zip(labels, values, strict=True))
    if len(fields) != len(labels):
        return None  # a field twice: the grammar path reports it
    mapping = _new(Mapping)
    mapping.line = line
    mapping.start = int(start, 16)
    mapping.end = int(stop, 16)
    mapping.perms = perms.decode("ascii")
    mapping.offset = int(offset, 16)
    mapping.major = int(major, 16)
    mapping.minor = int(minor, 16)
    mapping.inode = inode_number
    mapping.pathname = b"" if pathname is None else pathname.lstrip(b" ")
    mapping.fields = MappingProxyType(fields)
    mapping.unknown_lines = tuple(
        f[0].decode("latin-1") for f, label in zip(found, labels, strict=True)
        if label not in KNOWN_FIELDS
    )  # fmt: skip
    mapping.vmflags = None if flags is None else tuple(flags.decode("latin-1").split())
    mapping.name = name_first if name_first is not None else name_last
    mapping.name_after_fields = name_last is not None
    tabs = any(b"\t" in f[2] for f in found)
    units = tuple(bool(f[4]) for f in found)
    key = (labels, units, tabs, name_first is not None, flags is not None, name_last is not None)
    count = 1 + (name_first is not None) + len(found) + (flags is not None)
    count += name_last is not None
    return mapping, tail.end(), count, key
