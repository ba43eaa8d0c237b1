"""The fast path for smaps_rollup: its one entry, matched whole (a sampler's repeated reads).

A sampler reads the same process's rollup again and again: the shape of its entry, the C
program of that shape and, while the range does not change, its header are remembered from the
last call. Anything else than exactly one entry naming the rollup's name, without VmFlags or
Name lines, is left to the grammar.
"""

from __future__ import annotations

from itertools import islice
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._model import Rollup
from .._spec.layout import rollup_name
from . import accel as _accel
from .fast import entries, new
from .shapes import EMPTY, SHARED_SLOTS, Shape, header_recipe, unknown_lines_of

if TYPE_CHECKING:
    from ._match import Program

from .values import (
    INTS,
    MAX_HEX_DIGITS,
    give_up_on_value_error,
    to_device,
    to_hex,
    to_int,
    to_ints,
    to_text,
)

__all__ = ["ROLLUP_PROGRAM", "fast_rollup"]


def fast_rollup(data: bytes) -> Rollup | None:
    """The smaps_rollup entry of ``data``, or None to let the grammar decide: anything but
    exactly one entry naming the rollup (``[rollup]``), without VmFlags or Name lines."""
    if ROLLUP_PROGRAM and ROLLUP_PROGRAM[0] is not None:
        # The C module, when the shape is the one of the last call: one entry, to the end.
        rollup: Rollup | None = ROLLUP_PROGRAM[0].entire(data, 1)
        if rollup is not None and rollup.pathname == rollup_name():
            rollup.final_newline = data.endswith(b"\n")
            return rollup
    return _rollup_by_re(data)


@give_up_on_value_error
def _rollup_by_re(data: bytes) -> Rollup | None:
    # A sampler reads the same process's rollup again and again: its shape and, while its
    # range does not change, its header are remembered from the last call.
    shape = ROLLUP_SHAPE[0] if ROLLUP_SHAPE else None
    m = shape.regex.match(data) if shape is not None else None
    if m is None or m.end() != len(data):
        found = list(islice(entries(data), 2))
        if len(found) != 1 or found[0] is None:
            return None
        m, shape = found[0]
        if shape.vmflags or shape.name_first or shape.name_last:
            return None
        ROLLUP_SHAPE[:] = [shape]
        ROLLUP_PROGRAM[:] = [_rollup_program(shape)]
    assert shape is not None
    header_end = m.end(6)
    header = ROLLUP_HEADERS.get(data[:header_end])
    if header is None:
        groups = m.groups()
        if groups[6] is None or groups[6].lstrip(b" ") != rollup_name():
            return None
        major, minor = to_device(groups[4])
        header = (
            to_hex(groups[0]), to_hex(groups[1]), to_text(groups[2]), to_hex(groups[3]), major,
            minor, to_int(groups[5]),
        )  # fmt: skip
        ROLLUP_HEADERS.clear()
        ROLLUP_HEADERS[data[:header_end]] = header
    elif data[header_end : m.end(7)].lstrip(b" ") != rollup_name():
        return None
    labels = shape.labels
    rollup = new(Rollup)
    rollup.line = 1
    (rollup.start, rollup.end, rollup.perms, rollup.offset, rollup.major, rollup.minor,
     rollup.inode) = header  # fmt: skip
    rollup.pathname = rollup_name()
    values = m.groups()[7 : 7 + len(labels)]
    try:
        rollup.fields = MappingProxyType(dict(zip(labels, map(INTS.__getitem__, values))))  # noqa: B905
    except KeyError:
        rollup.fields = MappingProxyType(dict(zip(labels, to_ints(values))))  # noqa: B905
    rollup.unknown_lines = unknown_lines_of(m.group(), shape) if shape.unknown else EMPTY
    rollup.final_newline = data.endswith(b"\n")
    return rollup


ROLLUP_SHAPE: list[Shape] = []
ROLLUP_PROGRAM: list[
    Program | None
] = []  # the C module's program of that shape (None: not run in C)


def _rollup_program(shape: Shape) -> Program | None:
    if shape.unknown:
        return None
    recipe = [*header_recipe(), *((_accel.FIELD, i, 0) for i in range(len(shape.labels)))]
    slots = (*SHARED_SLOTS, "final_newline")
    return _accel.program(
        shape.regex, recipe, Rollup, slots, shape.labels, [("unknown_lines", EMPTY)],
        shape.lines, MAX_HEX_DIGITS,
    )  # fmt: skip


ROLLUP_HEADERS: dict[bytes, tuple[int, int, str, int, int, int, int]] = {}
