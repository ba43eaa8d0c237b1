"""Batches: consecutive smaps entries of one shape, column by column.

A real smaps repeats one entry shape (the same field lines in the same order) thousands of
times. A parser that knows this can hand the aggregator one :class:`Batch` per run of entries of
one shape instead of one :class:`~smapsfmt.Mapping` per entry: the values of each field as one
list, and of each header part the aggregator reads as one list. The aggregator then sums a
column at C speed (``smapsfmt._rollup.sums.Sums.add``), as it sums mappings given one by one,
which it gathers into Batches itself.

A Batch carries what the aggregator reads of an entry, and nothing else: not the permissions,
the offset, the minor device number or the raw text of unknown field lines. It is not a model
of the text (that is :class:`~smapsfmt.Mapping`), only a faster way to feed the sums.

What every Batch holds (a parser that makes Batches keeps to it, and so does the aggregator
when it gathers mappings given one by one: ``smapsfmt._rollup.sums.batches``):

* ``labels`` are distinct; ``columns`` has one list per label, and every list of the Batch
  (columns and header parts) has one item per entry, in the order of the text;
* values, addresses, device numbers and inodes are non-negative ints, lines are 1-based, as in
  a Mapping; ``pathname``, ``vmflags`` and ``name`` are what ``Mapping.pathname``,
  ``Mapping.vmflags`` and ``Mapping.name`` would be.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Batch"]


class Batch(NamedTuple):
    """Consecutive smaps entries of one shape, column by column."""

    labels: tuple[str, ...]  # the field labels every entry has, in order
    columns: tuple[list[int], ...]  # one list per label: its values, entry by entry
    line: list[int]  # 1-based line of each entry's header
    start: list[int]
    end: list[int]
    major: list[int]
    inode: list[int]
    pathname: list[bytes]  # as Mapping.pathname
    vmflags: list[tuple[str, ...] | None]  # as Mapping.vmflags
    name: list[bytes | None]  # as Mapping.name: an Android Name: line's value, or None
