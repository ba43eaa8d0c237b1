"""Entry shapes for the fast path: an entry's shape learnt, its pattern and C program composed.

Real smaps files repeat one entry shape (the same field lines in the same order) thousands of
times. For each shape met, one regular expression for a whole entry is composed from the
grammar's own terminals (grammar/smaps.lark, through smapsfmt._spec.grammar): the header
terminal, then each field line with its label as a literal, the VmFlags and Name lines where
the shape has them, and, where the C module is built, the program that runs it
(smapsfmt._parse.accel). The fast path (smapsfmt._parse.fast) runs them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from .._model import Mapping, known_fields
from .._spec import grammar as _grammar
from .._spec.layout import header_kinds
from . import accel as _accel
from . import generic as _generic
from .values import MAX_HEX_DIGITS

if TYPE_CHECKING:
    from ._match import Program

__all__ = [
    "COMPOSED", "EMPTY", "SHAPES", "SHARED_SLOTS", "SLOTS", "Shape",
    "compile_shape", "header_recipe", "learn", "learners", "unknown_lines_of",
]  # fmt: skip

EMPTY: tuple[str, ...] = ()
_bytes_pattern = _generic.bytes_pattern


class Shape(NamedTuple):
    regex: re.Pattern[bytes]
    labels: tuple[str, ...]
    unknown: bool  # some label is not a known kernel field (raw text kept)
    name_first: bool
    vmflags: bool
    name_last: bool
    lines: int  # lines of an entry, its Name line counted (see lines_in)
    first_value: int  # index of the first value among the match's groups
    program: Program | None  # the pattern run in C (smapsfmt._parse.accel); None: re runs it


# Generic line matchers, to learn the shape of an entry the fast path has not seen.
@cache
def learners() -> dict[str, re.Pattern[bytes]]:
    patterns = _grammar.line_patterns()
    return {name: _bytes_pattern(p.plain) for name, p in patterns.items()}


# The shapes composed so far, by their key (_generic.ShapeKey), oldest first. Bounded: past the
# bound the oldest is forgotten (a shape is composed again only after the budget of
# fast_until allows it, see _Budget), so that no pattern of shapes taking turns can make every
# entry compose its pattern again.
SHAPES: dict[_generic.ShapeKey, Shape] = {}
SHAPE_LIMIT = 4096
COMPOSED = [0]  # how many shapes were composed since the import: the tests' view of the cost
# Shapes with more field lines than this are never composed: _generic takes their entries.
MAX_COMPOSED_LABELS = 256


def compile_shape(  # noqa: PLR0917 - positional: the arguments are the cache key
    labels: tuple[str, ...],
    units: tuple[bool, ...],
    tabs: bool,
    name_first: bool,
    vmflags: bool,
    name_last: bool,
) -> Shape:
    """The entry pattern of one shape (cached in SHAPES)."""
    key = (labels, units, tabs, name_first, vmflags, name_last)
    found = SHAPES.get(key)
    if found is None:
        found = _compose(*key)
        COMPOSED[0] += 1
        if len(SHAPES) >= SHAPE_LIMIT:
            del SHAPES[next(iter(SHAPES))]
        SHAPES[key] = found
    return found


def _compose(  # noqa: PLR0917 - positional, as compile_shape
    labels: tuple[str, ...],
    units: tuple[bool, ...],
    tabs: bool,
    name_first: bool,
    vmflags: bool,
    name_last: bool,
) -> Shape:
    parts = _generic.lines()
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
    known = known_fields()
    unknown = any(label not in known for label in labels)
    first = 8 if name_first else 7
    return Shape(
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
SLOTS = (
    "line", "start", "end", "perms", "offset", "major", "minor", "inode", "pathname", "fields",
    "unknown_lines", "vmflags", "name", "name_after_fields",
)  # fmt: skip
# The slots a Rollup has as a Mapping does: the first ones of SLOTS, so that the slot numbers
# of header_recipe() hold for both.
SHARED_SLOTS = SLOTS[: SLOTS.index("unknown_lines") + 1]
_KINDS = {"hex": _accel.HEX, "decimal": _accel.DEC, "text": _accel.TEXT}


@cache
def header_recipe() -> tuple[tuple[int, int, int], ...]:
    """How the C module converts each group of the header: the grammar's header groups, in
    order, each converted as the newest profile's printf format prints it (%08lx a hex
    number, %c%c%c%c text, %02x:%02x a device, %lu a decimal), then the name (a path)."""
    groups = [g for g, _ in _grammar.line_patterns()["HEADER"].parts if g not in (None, "?")]
    kinds = header_kinds()
    if len(groups) != len(kinds):
        raise ValueError(
            f"the grammar's header has {len(groups)} parts, the profile's {len(kinds)}"
        )
    recipe = [(_accel.SKIP, 0, 0)]
    for group, kind in zip(groups, kinds, strict=True):
        if kind == "device":
            recipe.append((_accel.DEVICE, SLOTS.index("major"), SLOTS.index("minor")))
        else:
            recipe.append((_KINDS[kind], SLOTS.index(group), 0))
    recipe.append((_accel.PATH, SLOTS.index("pathname"), 0))
    return tuple(recipe)


def _mapping_program(  # noqa: PLR0917 - positional, as compile_shape's key
    regex: re.Pattern[bytes],
    labels: tuple[str, ...],
    name_first: bool,
    vmflags: bool,
    name_last: bool,
    lines: int,
) -> Program | None:
    recipe = list(header_recipe())
    name = (_accel.RAW, SLOTS.index("name"), 0)
    if name_first:
        recipe.append(name)
    recipe += [(_accel.FIELD, i, 0) for i in range(len(labels))]
    if vmflags:
        recipe.append((_accel.FLAGS, SLOTS.index("vmflags"), 0))
    if name_last:
        recipe.append(name)
    constants: list[tuple[str, object]] = [("unknown_lines", EMPTY)]
    constants.append(("name_after_fields", name_last))
    if not vmflags:
        constants.append(("vmflags", None))
    if not (name_first or name_last):
        constants.append(("name", None))
    # Lines per entry (0: counted entry by entry, where the Name line is optional).
    per_entry = 0 if name_first else lines
    return _accel.program(
        regex, recipe, Mapping, SLOTS, labels, constants, per_entry, MAX_HEX_DIGITS
    )


def learn(data: bytes, pos: int, end: int) -> Shape | None:
    """The shape of the entry at ``pos`` of ``data[:end]``, or None if it is not plainly
    grammatical."""
    learn = learners()
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
    return compile_shape(tuple(labels), tuple(units), tabs, name_first, vmflags, name_last)


def unknown_lines_of(entry: bytes, shape: Shape) -> tuple[str, ...]:
    """The raw text of the entry's field lines whose label is not a known kernel field."""
    # Field lines follow the header, and the Name line where there is one.
    first = 2 if shape.name_first and entry.startswith(b"Name:", entry.index(b"\n") + 1) else 1
    lines = entry.decode("latin-1").split("\n")[first : first + len(shape.labels)]
    known = known_fields()
    return tuple(
        line for line, label in zip(lines, shape.labels, strict=True) if label not in known
    )
