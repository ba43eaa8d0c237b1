"""A profile's checks, built once: its exact entry pattern, and its invariants sorted by what
they read, each evaluated ONE way by every path of the validator.

An invariant is a function of the names it reads (``Invariant.evaluator``, built from the
spec's one reader of expressions), evaluated over whole columns at once. :func:`failing_rows`
evaluates one over columns of values (one row per entry, or per distinct body), a row where a
name has no value (None) not being checked. The
slow path (one row: one entry), the pure-Python scan and the C module's columns all call it:
over distinct bodies (the body invariants), distinct headers and bodies (the pair invariants)
and runs of entries (the range invariants, which read the addresses and the previous
entry's).
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._spec.abi import Invariant
from .._spec.profiles import Profile

__all__ = [
    "HEADER_NAMES",
    "RANGE_NAMES",
    "Checks",
    "checks_for",
    "failing_by_row",
    "failing_rows",
    "range_failures",
]

HEADER_NAMES = frozenset({"perms", "offset", "major", "minor", "inode", "name"})
RANGE_NAMES = frozenset({"start", "end", "prev"})


def failing_rows(
    inv: Invariant,
    columns: Sequence[Sequence[Any]],
    holes: bool | None = None,
    *,
    distinct: bool = False,
) -> list[int]:
    """The rows where ``inv`` does not hold, over one column per name it reads (in the order
    of ``inv.arguments()``); a row where a name is None is not checked. ``holes``: whether a
    column may hold None, where the caller knows (else it is looked for). ``distinct``: rows
    may repeat what the invariant reads (distinct bodies read by an invariant of one of their
    fields): it is then evaluated once per distinct value."""
    if holes is None:
        holes = any(None in column for column in columns)
    rows: list[int] | None = None
    if holes:  # only the rows where every name has a value
        present: list[Any] | None = None
        for column in columns:
            if None in column:
                here = list(map(operator.is_not, column, itertools.repeat(None)))
                present = here if present is None else list(map(operator.and_, present, here))
        assert present is not None
        rows = list(itertools.compress(range(len(present)), present))
        columns = [list(itertools.compress(column, present)) for column in columns]
    if not columns or not columns[0]:
        return []
    found = _failing(inv, columns, distinct)
    return found if rows is None else [rows[row] for row in found]


# Below this many rows, distinct values are not looked for.
_DISTINCT_FROM = 32


def _failing(inv: Invariant, columns: Sequence[Sequence[Any]], distinct: bool) -> list[int]:
    evaluator = inv.evaluator()
    count = len(columns[0])
    if distinct and len(columns) == 1 and count >= _DISTINCT_FROM:  # (no tuple per row)
        keys = columns[0]
        unique = dict.fromkeys(keys)
        if len(unique) * 2 <= count:
            results = evaluator.rows([list(unique)])
            if all(results):
                return []
            bad = {key for key, result in zip(unique, results, strict=True) if not result}
            return [row for row, key in enumerate(keys) if key in bad]
    results = evaluator.rows(columns)
    if all(results):
        return []
    return [row for row, result in enumerate(results) if not result]


def _holes(named: Mapping[str, Sequence[Any]]) -> set[str]:
    """The names whose column holds None somewhere (each column looked at once)."""
    return {name for name, column in named.items() if None in column}


def failing_by_row(
    invariants: Sequence[Invariant],
    named: Mapping[str, Sequence[Any]],
    rows: int,
    never_none: Collection[str] = (),
) -> list[tuple[int, ...]]:
    """For each of ``rows`` rows of the columns ``named``, the indexes of the invariants that
    do not hold (:func:`failing_rows`; a name without a column has no value). The rows where
    all hold share one empty tuple: most rows, and nothing kept for the collector to visit.
    ``never_none``: names whose column the caller knows holds no None (not looked through)."""
    found: list[tuple[int, ...]] = [()] * rows
    holes = _holes({name: column for name, column in named.items() if name not in never_none})
    for index, inv in enumerate(invariants):
        names = inv.arguments()
        if any(name not in named for name in names):
            continue  # a value that this profile never prints: not checked
        columns = [named[name] for name in names]
        some_absent = any(name in holes for name in names)
        for row in failing_rows(inv, columns, some_absent, distinct=True):
            found[row] += (index,)
    return found


def range_failures(
    invariants: Sequence[Invariant],
    prev: tuple[Any, Any],
    starts: Sequence[int],
    ends: Sequence[int],
    columns: Mapping[str, Sequence[Any]],
    *,
    never_none: Collection[str] = (),
) -> list[tuple[int, int, dict[str, Any]]]:
    """(row, invariant index, the values it read) of every range invariant that does not hold
    on a run of entries (``prev``: the range before the first), in the order of the rows.
    ``starts`` and ``ends`` are numbers on every row: only ``columns`` and ``prev`` may hold
    None (``never_none``: those of the columns the caller knows hold none)."""
    found = []
    n = len(starts)
    # The first row reads ``prev`` (None before the first entry: not checked); the others read
    # the row before, so that a column holds None only where a value is absent.
    first: dict[str, Sequence[Any]] = {name: column[:1] for name, column in columns.items()}
    first.update(start=starts[:1], end=ends[:1], prev_start=[prev[0]], prev_end=[prev[1]])
    rest: dict[str, Sequence[Any]] = {name: column[1:] for name, column in columns.items()}
    rest.update(start=starts[1:], end=ends[1:], prev_start=starts[: n - 1],
                prev_end=ends[: n - 1])  # fmt: skip
    absent = {
        name for name, value in zip(("prev_start", "prev_end"), prev, strict=True) if value is None
    }
    for shift, named in ((0, first), (1, rest)):
        # the ranges are not looked through: a run of entries' ranges are all numbers
        holes = _holes({name: named[name] for name in columns if name not in never_none})
        if shift == 0:
            holes |= absent
        for index, inv in enumerate(invariants):
            names = inv.arguments()
            args = [named[name] for name in names]
            for row in failing_rows(inv, args, any(name in holes for name in names)):
                found.append((row + shift, index, {name: named[name][row] for name in names}))
    found.sort(key=lambda item: (item[0], item[1]))
    return found


@dataclass
class Checks:
    """A profile's exact entry pattern and its invariants by what they read."""

    body: re.Pattern[str]
    fields: list[tuple[str, int]]  # (field, group) in order
    vmflags_group: int
    name_group: int
    body_invariants: list[Invariant]
    pair_invariants: list[Invariant]
    range_invariants: list[Invariant]
    names: tuple[str, ...]
    optional: tuple[str, ...]  # the fields of optional lines
    kb_mask: tuple[bool, ...]
    pick: Callable[[tuple[Any, ...]], tuple[str | None, ...]]
    range_args: tuple[str, ...]  # what the range invariants read besides the ranges
    columns: Any = None  # the C module's way, where it runs (smapsfmt._validate.columns)
    columns_tried: bool = False


# Built once per profile and set of invariants (a modified copy of the ABI document gets its
# own); bounded.
_BUILT: dict[tuple[Any, ...], Checks] = {}
_BUILT_LIMIT = 64


def checks_for(profile: Profile, invariants: list[Invariant], kb_fields: frozenset[str]) -> Checks:
    key = (profile.name, tuple((inv.id, inv.python, inv.severity) for inv in invariants))
    found = _BUILT.get(key)
    if found is None:
        if len(_BUILT) >= _BUILT_LIMIT:
            _BUILT.clear()
        found = _BUILT[key] = _build(profile, invariants, kb_fields)
    return found


def _build(profile: Profile, invariants: list[Invariant], kb_fields: frozenset[str]) -> Checks:
    parts: list[str] = []
    fields: list[tuple[str, int]] = []
    optional: list[str] = []
    group = 0
    name_group = 0
    for line in profile.smaps_lines:
        group += 1
        piece = line.pattern()
        if line.field == "Name":
            name_group = group
            piece = re.escape(line.label) + r"([^\n\x00]*)\n"
        else:
            fields.append((line.field, group))
            if line.optional:
                optional.append(line.field)
        parts.append(f"(?:{piece})?" if line.optional else piece)
    vmflags_group = 0
    if profile.vmflags_prefix is not None:
        group += 1
        vmflags_group = group
        parts.append(re.escape(profile.vmflags_prefix) + r"((?:[!-~]{2} )*)\n")
    classes: dict[str, list[Invariant]] = {"body": [], "pair": [], "range": []}
    for inv in invariants:
        if inv.names & RANGE_NAMES:
            classes["range"].append(inv)
        elif inv.names & HEADER_NAMES:
            classes["pair"].append(inv)
        else:
            classes["body"].append(inv)
    names = tuple(name for name, _ in fields)
    indexes = [group - 1 for _, group in fields]
    pick: Callable[[tuple[Any, ...]], tuple[str | None, ...]] = operator.itemgetter(*indexes)
    if len(indexes) == 1:
        pick = lambda groups: (groups[indexes[0]],)  # noqa: E731
    range_args = tuple(
        sorted({n for inv in classes["range"] for n in inv.arguments()} - _RANGE_ARGUMENTS)
    )
    return Checks(
        body=re.compile("".join(parts)), fields=fields, vmflags_group=vmflags_group,
        name_group=name_group, body_invariants=classes["body"],
        pair_invariants=classes["pair"], range_invariants=classes["range"],
        names=names,
        optional=tuple(optional), kb_mask=tuple(name in kb_fields for name in names),
        pick=pick, range_args=range_args,
    )  # fmt: skip


_RANGE_ARGUMENTS = frozenset({"start", "end", "prev_start", "prev_end"})
