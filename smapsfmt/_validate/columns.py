"""The fast path in C: the profile's exact entry pattern run by the C module over the whole text.

Where the C module (smapsfmt._parse._match) runs the patterns, the exact entry pattern of the
profile (the header as the scan's head and tail patterns take it, then the profile's body
pattern) is run over the whole text in columns mode: one list per part of the header and per
field, one item per entry. An entry it does not take is cut and checked as the scan does. The
checks are the scan's (smapsfmt._validate.checks): each distinct body (its values) and each
distinct set of what the header invariants read are checked once; the range invariants run
over the columns.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._spec.header import header_parts
from .checks import Checks, failing_by_row
from .messages import located, where_in
from .scan import TAIL_NAME, Verdict, header_patterns

if TYPE_CHECKING:
    from .findings import Problem
    from .layout import Checker
    from .scan import Scan

__all__ = ["ColumnScan", "Program", "columns_for"]

# The lists the C module fills: one per part of an entry ("q": the length of the header up to
# the name's padding; "pad": the padding's length, None without a name).
_SLOTS = ("line", "fields", "q", "start", "end", "perms", "offset", "major", "minor",
          "inode", "pad", "name", "Name", "VmFlags")  # fmt: skip
_HEADER_COLUMNS = ("perms", "offset", "major", "minor", "inode", "name")


@dataclass
class Program:
    """A profile's exact entry pattern, run in C, and what its checks read."""

    program: Any  # smapsfmt._parse._match.Program
    names: tuple[str, ...]  # field columns, in the profile's order
    body_args: tuple[str, ...]  # a body's key, in order: fields, VmFlags, Name
    undocumented: tuple[tuple[str, int], ...]  # fields not in the ABI document, and their place
    # The header invariants by what they read: (the columns, the invariants' indexes, whether
    # they read max_kB); each group's distinct values are checked once.
    pair_groups: tuple[tuple[tuple[str, ...], tuple[int, ...], bool], ...]
    kb: tuple[str, ...]  # the fields in kB, for max_kB
    kb_optional: tuple[str, ...] = ()  # those of optional lines: the only ones ever None
    # The values the C module gives on every entry it takes (its pattern requires them): their
    # columns are not looked through for None.
    never_none: frozenset[str] = frozenset()


def columns_for(checks: Checks, checker: Checker) -> Program | None:
    """The profile's entry pattern as a C program (built once per profile and invariants), or
    None where the C module is not built or does not run it, and before VmFlags (3.8), whose
    entries the scan's loop takes."""
    if not checks.columns_tried:
        checks.columns = _build(checks, checker)
        checks.columns_tried = True
    found: Program | None = checks.columns
    return found


def _build(checks: Checks, checker: Checker) -> Program | None:
    from .._parse import accel

    if checker.profile.vmflags_prefix is None or not accel.available():
        return None
    slot = {name: i for i, name in enumerate(_SLOTS)}
    exact = header_patterns(checker.profile.header)
    header = f"({exact.head.pattern}{exact.fields}){TAIL_NAME}\\n"  # the range, then the tail
    recipe = [(accel.SKIP, 0, 0), (accel.LEN, slot["q"], 0)]
    # each part converted as the profile's format prints it (%08lx hex, %c text, %lu decimal)
    kinds = {"hex": accel.HEX, "text": accel.TEXT, "decimal": accel.DEC}
    for part in header_parts(checker.profile.header):
        if part.kind == "device":
            recipe += [(accel.HEX, slot["major"], 0), (accel.HEX, slot["minor"], 0)]
        else:
            recipe.append((kinds[part.kind], slot[part.name], 0))
    recipe += [(accel.LEN, slot["pad"], 0)]
    recipe += [(accel.TEXT, slot["name"], 0)]
    field_group = {group: i for i, (_name, group) in enumerate(checks.fields)}
    for group in range(1, checks.body.groups + 1):
        if group == checks.name_group:
            recipe.append((accel.TEXT, slot["Name"], 0))
        elif group == checks.vmflags_group:
            recipe.append((accel.TEXT, slot["VmFlags"], 0))
        else:
            recipe.append((accel.FIELD, field_group[group], 0))
    pattern = re.compile((header + checks.body.pattern).encode("latin-1"))
    program = accel.program(pattern, recipe, None, _SLOTS, checks.names, (), 0, 16)
    if program is None:
        return None
    body_args = checks.names + ("VmFlags",) + (("Name",) if checks.name_group else ())
    kb = tuple(name for name in checks.names if name in checker.kb_fields)
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, inv in enumerate(checks.pair_invariants):
        names = set(inv.arguments())
        if "max_kB" in names:  # computed from every kB field
            names = (names - {"max_kB"}) | set(kb) | {"max_kB"}
        groups.setdefault(tuple(sorted(names)), []).append(index)
    pair_groups = tuple(
        (tuple(n for n in names if n != "max_kB"), tuple(indexes), "max_kB" in names)
        for names, indexes in groups.items()
    )
    return Program(
        program=program, names=checks.names, body_args=body_args,
        undocumented=tuple(
            (name, body_args.index(name)) for name in sorted(checker.undocumented & set(body_args))
        ),
        pair_groups=pair_groups, kb=kb,
        kb_optional=tuple(name for name in kb if name in checks.optional),
        never_none=_never_none(checks),
    )  # fmt: skip


def _never_none(checks: Checks) -> frozenset[str]:
    """What is never None in the columns: the fields of lines that are always there, the
    VmFlags, the header's parts (no name: ''), max_kB; not an optional line's field, nor the
    Name line (optional), nor a field this profile does not print (a column of None)."""
    always = set(checks.names) - set(checks.optional)
    if checks.vmflags_group:
        always.add("VmFlags")
    return frozenset(always | set(_HEADER_COLUMNS) | {"start", "end", "max_kB"})


def _first_misplaced(q: list[int], pad: list[int | None], width: int) -> int:
    """The first entry whose name is not where the kernel puts it (len(q) if none): at column
    ``width`` after a header shorter than that, else after one blank (as the scan checks)."""
    # Most often every header is shorter than width, and every name at width.
    columns = map(operator.add, itertools.compress(q, pad), filter(None, pad))
    if max(q, default=0) < width and set(columns) <= {width}:
        return len(q)
    for i, (head, blanks) in enumerate(zip(q, pad, strict=True)):
        if blanks is not None and head + blanks != (width if head < width else head + 1):
            return i
    return len(q)


def _values(args: tuple[str, ...], key: tuple[Any, ...], kb: tuple[str, ...]) -> dict[str, Any]:
    """The values of a key as the scan has them: VmFlags as printed after its label (from a
    blank), no name as '', max_kB from the kB fields."""
    values = {name: value for name, value in zip(args, key, strict=True) if value is not None}
    if "VmFlags" in values:
        values["VmFlags"] = " " + values["VmFlags"]
    if "name" in args:
        values["name"] = values.get("name") or ""
    if kb:
        values["max_kB"] = max(filter(None, map(values.get, kb)), default=0)
    return values


def _max_kb(columns: list[Sequence[Any]], optional: Iterable[Sequence[Any]]) -> list[Any]:
    """max_kB of each row of the kB ``columns``: the largest value, 0 if none is above 0, a
    line not there (None) not counted. ``optional``: those of them that may hold None. The
    values are never negative (the pattern takes digits): where none is None, the largest
    value of the row is the same number."""
    if len(columns) > 1 and not any(None in column for column in optional):
        return list(map(max, *columns))
    return [max(filter(None, row), default=0) for row in zip(*columns, strict=True)]


def _named(args: tuple[str, ...], keys: list[tuple[Any, ...]], kb: tuple[str, ...],
           kb_optional: tuple[str, ...] = ()) -> dict[str, Sequence[Any]]:  # fmt: skip
    """The columns of distinct keys, as :func:`_values` has each of their values (the kB
    fields ``kb``, of which ``kb_optional`` may be absent, for max_kB)."""
    named: dict[str, Sequence[Any]] = dict(zip(args, zip(*keys, strict=True), strict=True))
    if "VmFlags" in named:
        named["VmFlags"] = [None if f is None else " " + f for f in named["VmFlags"]]
    if "name" in named:
        named["name"] = [text or "" for text in named["name"]]
    if kb:
        columns = [named[name] for name in kb]
        named["max_kB"] = _max_kb(columns, (named[name] for name in kb_optional))
    return named


def _keys(raw: Callable[[str], list[Any]], args: tuple[str, ...]) -> Iterable[Any]:
    """Each entry's values of ``args``: the value itself for one column, else a tuple."""
    return raw(args[0]) if len(args) == 1 else zip(*map(raw, args), strict=True)


# The verdict of a body without a problem.
_CLEAN: Verdict = ((), (), ())


class ColumnScan:
    """One text through the C program, with the scan's checks and slow path."""

    def __init__(self, scan: Scan, program: Program) -> None:
        self.scan = scan
        self.program = program
        self.checks = scan.checks
        # each distinct body's verdict; per group of header invariants, the ones that fail for
        # each distinct set of what they read
        self.body_keys: dict[tuple[Any, ...], Verdict] = {}
        self.pair_keys: list[dict[Any, Sequence[int]]] = [{} for _ in program.pair_groups]

    def run(self) -> int:
        scan = self.scan
        text = scan.text
        data = scan.raw if scan.raw is not None else text.encode("latin-1")
        size = len(data)
        marker = "\n" + (scan.checker.profile.vmflags_prefix or "").rstrip(" ")
        names = self.program.names
        pos, line, count = 0, 1, 0
        prev: tuple[Any, Any] = (None, None)
        while pos < size:
            sinks: tuple[list[Any] | None, ...] = tuple(
                None if name == "fields" else [] for name in _SLOTS
            )
            fields: tuple[list[Any], ...] = tuple([] for _ in names)
            end, end_line, _status = self.program.program.run(data, pos, line, None, sinks, fields)
            got: dict[str, Any] = dict(zip(_SLOTS, sinks, strict=True))
            got.update(zip(names, fields, strict=True))
            lines: list[int] = got["line"]
            if lines:
                n = len(lines)
                k = _first_misplaced(got["q"], got["pad"], scan.column)
                stop = end
                if k < n:  # entry k's name is not where the kernel pads it to
                    stop = scan.line_start(lines[k + 1]) if k + 1 < n else end
                    end, end_line = scan.line_start(lines[k]), lines[k]
                    for column in got.values():
                        if column is not None:
                            del column[k:]
                if k:
                    prev = self.check(got, end_line, prev)
                    count += k
                pos, line = end, end_line
                if k == n:
                    continue
            else:
                # Not an exact entry: cut it as the scan does, for the slow path to say why.
                head = scan.header.head.match(text, pos)
                nl = text.find("\n", pos)
                mark = text.find(marker, nl)
                if head is None or mark < 0:
                    found = scan.header.next_head.search(text, nl + 1) if head is None else None
                    stop = found.start() if found is not None else size
                else:
                    stop = text.find("\n", mark + 1) + 1
            line, prev_start, prev_end, taken = scan.slow(pos, stop, line, *prev)
            prev = (prev_start, prev_end)
            count += taken
            pos = stop
        return count

    def check(self, got: dict[str, Any], end_line: int, prev: tuple[Any, Any]) -> tuple[Any, Any]:
        """Check a run of exact entries; the last range, for the next entry."""
        lines: list[int] = got["line"]
        n = len(lines)
        program = self.program
        scan = self.scan

        def raw(name: str) -> list[Any]:
            """A column as the C module filled it (absent: None)."""
            found = got.get(name)
            return found if found is not None and len(found) == n else [None] * n

        # each distinct body once, by its values (fields, VmFlags, Name); the entries' keys are
        # not kept (a repeated one is freed at once: live, they would cost the collector)
        # (a key's hash is not kept: each pass over the keys hashes them again, so that the
        # first run of a text, where every key is new, passes over them once)
        known = self.body_keys
        distinct = dict.fromkeys(zip(*map(raw, program.body_args), strict=True))
        new = [key for key in distinct if key not in known] if known else list(distinct)
        failed = self.body_verdicts(new) if new else []
        if len(new) < len(distinct):  # some seen in an earlier run
            bad = {key for key in distinct if any(known[key])}
        else:
            bad = set(failed)
        if bad:
            # Located in each entry's own text: equal values may be printed apart (zeros).
            for i, key in enumerate(zip(*map(raw, program.body_args), strict=True)):
                if key in bad:
                    text = self.body_text(got, i, end_line)
                    values = _values(program.body_args, key, program.kb)
                    scan.context.problems(lines[i], scan.body_findings(text, values, known[key]))
        # each distinct set of what a group of header invariants reads, once
        failing = self.pair_failures(raw)
        for i in sorted(failing):
            text = self.body_text(got, i, end_line)
            body = _values(program.body_args, tuple(
                raw(name)[i] for name in program.body_args
            ), program.kb)  # fmt: skip
            values = {**body, **self.tail_values(got, i)}
            found: list[Problem] = located(
                self.checks.pair_invariants, sorted(failing[i]), values, where_in(text)
            )
            scan.context.problems(lines[i], found)
        starts: list[int] = got["start"]
        ends: list[int] = got["end"]
        columns = {name: self.column(got, name, raw) for name in self.checks.range_args}
        scan.range_problems(lines, prev, starts, ends, columns, never_none=program.never_none)
        return starts[-1], ends[-1]

    def pair_failures(self, raw: Any) -> dict[int, list[int]]:
        """The entries where a header invariant fails: entry -> the invariants' indexes.
        Each group of them is checked once per distinct set of the columns it reads (keyed
        by the value itself where it reads one)."""
        failing: dict[int, list[int]] = {}
        invariants = self.checks.pair_invariants
        for (args, indexes, reads_kb), verdicts in zip(
            self.program.pair_groups, self.pair_keys, strict=True
        ):
            distinct = dict.fromkeys(_keys(raw, args))
            fresh = (
                [key for key in distinct if key not in verdicts] if verdicts else list(distinct)
            )
            bad_keys = set()
            if fresh:
                rows = [(key,) for key in fresh] if len(args) == 1 else fresh
                kb = self.program.kb if reads_kb else ()
                named = _named(args, rows, kb, self.program.kb_optional)
                group = [invariants[i] for i in indexes]
                found = failing_by_row(group, named, len(fresh), self.program.never_none)
                verdicts.update(zip(fresh, found, strict=True))  # most hold: ()
                for key, bad in zip(fresh, found, strict=True):
                    if bad:
                        verdicts[key] = tuple(indexes[j] for j in bad)
                        bad_keys.add(key)
            if len(fresh) < len(distinct):  # some seen in an earlier run
                bad_keys = {key for key in distinct if verdicts[key]}
            if bad_keys:
                for i, key in enumerate(_keys(raw, args)):
                    if key in bad_keys:
                        failing.setdefault(i, []).extend(verdicts[key])
        return failing

    def column(self, got: dict[str, Any], name: str, raw: Any) -> list[Any]:
        """A column, as the scan's values have it (absent: None)."""
        if name == "VmFlags":  # as printed after the label, from a blank
            return [None if f is None else " " + f for f in got["VmFlags"]]
        if name == "name":
            return [text or "" for text in got["name"]]
        if name == "max_kB":
            kb = [got[k] for k in self.program.kb]
            return _max_kb(kb, (got[k] for k in self.program.kb_optional))
        found: list[Any] = raw(name)
        return found

    def body_verdicts(self, keys: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """For each body whose values are a key: the body invariants that do not hold, the
        unknown VmFlags mnemonics, and the fields the ABI document does not describe. The
        keys with any of them."""
        program = self.program
        named = _named(program.body_args, keys, program.kb, program.kb_optional)
        rows = failing_by_row(self.checks.body_invariants, named, len(keys), program.never_none)
        at = len(program.names)  # VmFlags follow the fields
        unknown_flags = self.scan.unknown_flags
        undocumented = program.undocumented
        known = self.body_keys
        failed = []
        for key, bad in zip(keys, rows, strict=True):
            unknown = unknown_flags(key[at])
            fields = (
                [name for name, place in undocumented if key[place] is not None]
                if undocumented
                else ()
            )
            if bad or unknown or fields:
                known[key] = (bad, unknown, fields)
                failed.append(key)
            else:  # most: one verdict shared, nothing more for the collector to visit
                known[key] = _CLEAN
        return failed

    def body_text(self, got: dict[str, Any], i: int, end_line: int) -> str:
        lines: list[int] = got["line"]
        after = lines[i + 1] if i + 1 < len(lines) else end_line
        scan = self.scan
        return scan.text[scan.line_start(lines[i] + 1) : scan.line_start(after)]

    def tail_values(self, got: dict[str, Any], i: int) -> dict[str, Any]:
        """The values of entry ``i``'s header tail, as the scan has them."""
        values = {name: got[name][i] for name in _HEADER_COLUMNS}
        values["name"] = values["name"] or ""
        return values
