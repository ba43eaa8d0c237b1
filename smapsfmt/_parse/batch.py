"""Batches: consecutive smaps entries of one shape, column by column.

A real smaps repeats one entry shape (the same field lines in the same order) thousands of
times. A parser that knows this can hand the aggregator one :class:`Batch` per run of entries of
one shape instead of one :class:`~smapsfmt.Mapping` per entry: the values of each field as one
list, and of each header part the aggregator reads as one list. The aggregator then sums a
column at C speed (``smapsfmt._rollup.aggregate._Pass.add_batch``), with exactly the outcome of
adding the entries one by one.

A Batch carries what the aggregator reads of an entry, and nothing else: not the permissions,
the offset, the minor device number or the raw text of unknown field lines. It is not a model
of the text (that is :class:`~smapsfmt.Mapping`), only a faster way to feed the sums.

What every Batch holds (a parser that makes Batches keeps to it; :func:`batches_of` does):

* ``labels`` are distinct; ``columns`` has one list per label, and every list of the Batch
  (columns and header parts) has one item per entry, in the order of the text;
* values, addresses, device numbers and inodes are non-negative ints, lines are 1-based, as in
  a Mapping; ``pathname``, ``vmflags`` and ``name`` are what ``Mapping.pathname``,
  ``Mapping.vmflags`` and ``Mapping.name`` would be.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .._model import Mapping

__all__ = ["Batch", "batches_of"]


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


def batches_of(mappings: Iterable[Mapping]) -> Iterator[Batch | Mapping]:
    """The reference batching of ``mappings``: each run of consecutive mappings with the same
    field labels in the same order as one Batch (with a ``Name:`` line or without).

    A mapping with raw text a Batch does not carry (``unknown_lines``: the lines of fields the
    specification does not name) comes out as itself, between the Batches before and after
    it; so does anything that is not a Mapping (for the consumer to refuse). The order of the
    entries is kept.
    """
    run: list[Mapping] = []
    shape: tuple[str, ...] | None = None
    for mapping in mappings:
        if not isinstance(mapping, Mapping) or mapping.unknown_lines:
            if run:
                yield _batch(run)
                run = []
            shape = None
            yield mapping
            continue
        key = tuple(mapping.fields)
        if key != shape:
            if run:
                yield _batch(run)
                run = []
            shape = key
        run.append(mapping)
    if run:
        yield _batch(run)


def _batch(run: list[Mapping]) -> Batch:
    labels = tuple(run[0].fields)
    return Batch(
        labels=labels,
        columns=tuple([m.fields[label] for m in run] for label in labels),
        line=[m.line for m in run],
        start=[m.start for m in run],
        end=[m.end for m in run],
        major=[m.major for m in run],
        inode=[m.inode for m in run],
        pathname=[m.pathname for m in run],
        vmflags=[m.vmflags for m in run],
        name=[m.name for m in run],
    )
