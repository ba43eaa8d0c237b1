"""The fast path over a whole smaps text: entries cut by their shape, each distinct header
tail (permissions to name) and each distinct body (the lines after the header) checked once
against the profile's exact patterns; the range invariants per entry, over runs of entries.
Whatever is not an exact entry goes to the slow path (smapsfmt._validate.layout).

Where the C module runs the profile's exact entry pattern (smapsfmt._validate.columns), it
gives the values column by column and this module's loop does not run; the checks are the
same functions either way (smapsfmt._validate.checks).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Collection, Iterator, Sequence
from typing import Any, NamedTuple

from .. import _render
from .._diagnostics import Severity
from .._errors import SmapsSyntaxError
from .._spec.header import address_text, exact_header
from .checks import HEADER_NAMES, Checks, checks_for, failing_by_row, range_failures
from .chunks import chunks, first_syntax_error, parse_chunk
from .findings import UNKNOWN_FIELD, UNKNOWN_VMFLAG, Entry, Problem
from .layout import Checker, undocumented
from .messages import anchor, invariant_message, located, where_in

__all__ = ["TAIL_NAME", "Header", "Scan", "header_patterns"]

# The header exactly as the profile's kernel prints it (smapsfmt._spec.header, from the
# profile's printf format: "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", task_mmu.c
# show_vma_header_prefix; u64 and dev_t bounds), then the padding and the name. The name starts
# with a non-blank, so that blanks and name cannot trade characters (no backtracking).
TAIL_NAME = r"(?:( +)([^ \n\x00][^\n\x00]*))?"


class Header(NamedTuple):
    """The fast path's patterns of one header format: ``address`` (a regex source), ``entry``
    (one entry before VmFlags, 3.8: a header, then lines that start with a capital letter),
    ``head`` (the addresses at the start of a header), ``next_head`` (where the next one is),
    ``tail`` (after the range: permissions to name), ``fields`` (the tail's source without the
    name), ``literals`` (the range's literal characters)."""

    address: str
    entry: re.Pattern[str]
    head: re.Pattern[str]
    next_head: re.Pattern[str]
    tail: re.Pattern[str]
    fields: str
    literals: int


@functools.lru_cache(maxsize=8)
def header_patterns(fmt: str) -> Header:
    """The patterns of the header format ``fmt`` (a profile's ``header``)."""
    exact = exact_header(fmt)
    head = exact.range
    bare = re.sub(r"\((?!\?)", "(?:", head)
    return Header(
        address=exact.address,
        entry=re.compile(rf"^{head}([^\n]*)\n((?:[A-Z][^\n]*\n)+)", re.M),
        head=re.compile(head),
        next_head=re.compile(rf"^{bare}", re.M),
        tail=re.compile(exact.tail + TAIL_NAME),
        fields=exact.tail,
        literals=exact.literals,
    )


# Numbers met in one text's bodies and tails, converted once each (bounded: past the bound,
# converted without being kept). None stands for an optional line that is not there.
_MEMO_LIMIT = 65536

# A body's failing invariants (indexes), unknown VmFlags problems, undocumented fields.
Verdict = tuple[Sequence[int], Sequence[tuple[int, str, str, Severity]], Sequence[str]]


class Tail:
    """A header tail (permissions to name), checked once."""

    __slots__ = ("id", "name", "ok", "pad", "prefix", "values")

    def __init__(self, ident: int) -> None:
        self.id = ident
        self.ok = False
        self.prefix = 0
        self.pad = 0
        self.name = ""
        self.values: dict[str, Any] = {}


class Body:
    """An entry's lines after the header, checked once."""

    __slots__ = ("_where", "found", "id", "lines", "ok", "problems", "text", "values")

    def __init__(self, ident: int, text: str) -> None:
        self.id = ident
        self.text = text
        self.ok = False
        self.lines = 0
        self.values: dict[str, Any] = {}
        self.problems: list[Problem] = []
        # unknown VmFlags problems and undocumented fields, until its invariants are checked
        self.found: tuple[list[tuple[int, str, str, Severity]], list[str]] = ([], [])
        self._where: dict[str, tuple[int, int]] | None = None

    @property
    def where(self) -> dict[str, tuple[int, int]]:
        if self._where is None:
            self._where = where_in(self.text)
        return self._where


class Scan:
    """Validate a whole smaps text: the fast path, with the slow path for what it cannot
    take."""

    def __init__(self, checker: Checker, text: str, raw: bytes | None = None) -> None:
        self.checker = checker
        self.context = checker.context
        self.text = text
        self.raw = raw  # the bytes text decodes from, where the caller has them
        self.checks: Checks = checks_for(checker.profile, checker.invariants, checker.kb_fields)
        self.tails: dict[str, Tail] = {}
        self.bodies: dict[str, Body] = {}
        self.pairs: dict[tuple[int, int], list[Problem]] = {}  # by tail and body id
        # VmFlags text -> what unknown_flags finds in it
        self.flag_problems: dict[str, list[tuple[int, str, str, Severity]]] = {}
        self.numbers: dict[str | None, int | None] = {None: None}
        self.hexes: dict[str, int] = {}
        self.fresh: list[Body] = []  # exact bodies whose invariants are not checked yet
        self._starts: list[int] | None = None
        self._first_error: list[SmapsSyntaxError | None] = []
        self.column = _render.name_column(checker.profile, checker.word_size)
        self.header = header_patterns(checker.profile.header)

    def first_error(self) -> SmapsSyntaxError | None:
        """The whole text's first syntax error, as parse_smaps reports it (computed once)."""
        if not self._first_error:
            self._first_error.append(first_syntax_error(self.text))
        return self._first_error[0]

    def run(self) -> int:
        from . import columns

        program = columns.columns_for(self.checks, self.checker)
        if program is not None:
            return columns.ColumnScan(self, program).run()
        return self.run_pure()

    # ---- the loop

    def _cuts(self) -> Iterator[tuple[Any, ...]]:
        """The text's pieces in order: ``(begin, end, start, end address, tail, body)`` for
        what is cut as an entry, ``(begin, end)`` for what goes to the slow path.

        With a VmFlags line (3.8+), an entry runs from its header to the end of the next line
        that starts with ``VmFlags:``; before 3.8, entries are matched by the header's
        ``entry`` pattern. Either way the cut is only a guess: the tail and the body are then
        checked exactly."""
        text = self.text
        size = len(text)
        pos = 0
        prefix = self.checker.profile.vmflags_prefix
        if prefix is None:
            for m in self.header.entry.finditer(text):
                if m.start() != pos:
                    yield pos, m.start()
                s, e, tail, body = m.groups()
                yield m.start(), m.end(), s, e, tail, body
                pos = m.end()
            if pos < size:
                yield pos, size
            return
        marker = "\n" + prefix.rstrip(" ")
        find = text.find
        head_match = self.header.head.match
        next_head = self.header.next_head
        while pos < size:
            begin = pos
            head = head_match(text, pos)
            nl = find("\n", pos)
            mark = find(marker, nl)
            if head is None or mark < 0:
                found = next_head.search(text, nl + 1) if head is None else None
                pos = found.start() if found is not None else size
                yield begin, pos
                continue
            pos = find("\n", mark + 1) + 1
            s, e = head.groups()
            yield begin, pos, s, e, text[head.end() : nl], text[nl + 1 : pos]

    def run_pure(self) -> int:
        tails, bodies = self.tails, self.bodies
        width = self.column
        line, count = 1, 0
        prev: tuple[Any, Any] = (None, None)
        run: list[tuple[int, str, str, Tail, Body]] = []  # exact entries not yet checked
        for piece in self._cuts():
            if len(piece) == 6:
                begin, end, s, e, tail, body = piece
                t = tails.get(tail) or self.tail_of(tail)
                b = bodies.get(body) or self.body_of(body)
                ok = t.ok and b.ok
                if ok and t.name:
                    q = len(s) + len(e) + t.prefix
                    ok = q + t.pad == (width if q < width else q + 1)
                if ok:
                    count += 1
                    run.append((line, s, e, t, b))
                    line += b.lines
                    continue
            else:
                begin, end = piece
            prev = self.flush(run, prev)
            run = []
            line, prev_start, prev_end, n = self.slow(begin, end, line, *prev)
            prev = (prev_start, prev_end)
            count += n
        self.flush(run, prev)
        return count

    def flush(self, run: list[tuple[int, str, str, Tail, Body]],
              prev: tuple[Any, Any]) -> tuple[Any, Any]:  # fmt: skip
        """Check a run of exact entries: the new bodies' invariants, then each entry's body
        and header problems, then the range invariants; the last range, for the next."""
        if not run:
            return prev
        self.settle()
        pairs = self.pairs
        fresh = {(t.id, b.id): (t, b) for _, _, _, t, b in run if (t.id, b.id) not in pairs}
        if fresh:
            self.pair_problems(fresh)
        problems = self.context.problems
        for line, _, _, t, b in run:
            if b.problems:
                problems(line, b.problems)
            if found := pairs[t.id, b.id]:
                problems(line, found)
        hexes = self.hexes
        starts = [hexes.get(s) or int(s, 16) for _, s, _, _, _ in run]
        ends = [hexes.get(e) or int(e, 16) for _, _, e, _, _ in run]
        columns = {
            name: [(t.values if name in HEADER_NAMES else b.values).get(name)
                   for _, _, _, t, b in run]
            for name in self.checks.range_args
        }  # fmt: skip
        lines = [item[0] for item in run]
        self.range_problems(lines, prev, starts, ends, columns)
        return starts[-1], ends[-1]

    def settle(self) -> None:
        """The body invariants of the bodies not checked yet, over their columns."""
        fresh, self.fresh = self.fresh, []
        if not fresh:
            return
        invariants = self.checks.body_invariants
        names = {name for inv in invariants for name in inv.arguments()}
        named = {name: [b.values.get(name) for b in fresh] for name in names}
        for b, bad in zip(fresh, failing_by_row(invariants, named, len(fresh)), strict=True):
            unknown, fields = b.found
            if unknown or fields or bad:
                b.problems = self.body_findings(b.text, b.values, (bad, unknown, fields))

    def pair_problems(self, fresh: dict[tuple[int, int], tuple[Tail, Body]]) -> None:
        """The header invariants of each new pair of a tail and a body, over their columns."""
        invariants = self.checks.pair_invariants
        names = {name for inv in invariants for name in inv.arguments()}
        values = [{**b.values, **t.values} for t, b in fresh.values()]
        named = {name: [v.get(name) for v in values] for name in names}
        rows = failing_by_row(invariants, named, len(values))
        for (key, (_, b)), bad, found in zip(fresh.items(), rows, values, strict=True):
            self.pairs[key] = located(invariants, bad, found, b.where) if bad else []

    def range_problems(self, lines: list[int], prev: tuple[Any, Any], starts: list[int],
                       ends: list[int], columns: dict[str, list[Any]], *,
                       never_none: Collection[str] = ()) -> None:  # fmt: skip
        invariants = self.checks.range_invariants
        failures = range_failures(invariants, prev, starts, ends, columns, never_none=never_none)
        for row, index, values in failures:
            inv = invariants[index]
            column = 1
            if anchor(inv, values) == "end" and "start" in values:
                column = len(address_text(values["start"])) + 2
            self.context.add(
                lines[row], column, inv.id, invariant_message(inv, values), inv.severity
            )

    # ---- once per distinct tail, body, pair

    def number(self, text: str) -> int:
        found = self.numbers.get(text)
        if found is None:
            found = int(text)
            if len(self.numbers) < _MEMO_LIMIT:
                self.numbers[text] = found
        return found

    def hex(self, text: str) -> int:
        found = self.hexes.get(text)
        if found is None:
            found = int(text, 16)
            if len(self.hexes) < _MEMO_LIMIT:
                self.hexes[text] = found
        return found

    def tail_of(self, tail: str) -> Tail:
        result = Tail(len(self.tails))
        self.tails[tail] = result
        match = self.header.tail.fullmatch(tail)
        if match is None:
            return result  # not taken: the slow path says why
        perms, offset, major, minor, inode, pad, name = match.groups()
        result.ok = True
        result.name = name or ""
        result.pad = len(pad or "")
        # the range's literals ('-' and ' ') and the tail up to the blank before the name
        result.prefix = self.header.literals + match.end(5) + 1
        result.values = {
            "perms": perms, "offset": self.hex(offset), "major": self.hex(major),
            "minor": self.hex(minor), "inode": self.number(inode), "name": result.name,
        }  # fmt: skip
        return result

    def body_of(self, body: str) -> Body:
        result = Body(len(self.bodies), body)
        self.bodies[body] = result
        result.lines = body.count("\n") + 1  # and the header line
        checks = self.checks
        match = checks.body.fullmatch(body)
        if match is None:
            return result  # not taken: the slow path says why
        groups = match.groups()
        texts = checks.pick(groups)
        numbers = [None if text is None else self.number(text) for text in texts]
        values: dict[str, Any] = dict(zip(checks.names, numbers, strict=True))
        for name in checks.optional:
            if values[name] is None:  # an optional line that is not there
                del values[name]
        # the largest kB value (0 if none is above 0)
        values["max_kB"] = max(
            filter(None, itertools.compress(numbers, checks.kb_mask)), default=0
        )
        unknown: list[tuple[int, str, str, Severity]] = []
        if checks.vmflags_group:
            flags = groups[checks.vmflags_group - 1]
            values["VmFlags"] = " " + flags
            unknown = self.unknown_flags(flags)
        if checks.name_group and (name := groups[checks.name_group - 1]) is not None:
            values["Name"] = name
        result.values = values
        result.ok = True
        result.found = (unknown, [name for name in self.checker.undocumented if name in values])
        self.fresh.append(result)
        return result

    def body_findings(self, text: str, values: dict[str, Any], verdict: Verdict) -> list[Problem]:
        """The problems of a body with these values and this verdict, located in its text."""
        bad, unknown, fields = verdict
        offset = text.count("\n")  # of the VmFlags line, the last
        where = where_in(text)
        problems: list[Problem] = [(offset, *problem) for problem in unknown]
        for name in fields:
            problems.append((where[name][0], 1, UNKNOWN_FIELD, undocumented(name), "warning"))
        problems += located(self.checks.body_invariants, bad, values, where)
        problems.sort()
        return problems

    def unknown_flags(self, flags: str) -> list[tuple[int, str, str, Severity]]:
        """(column, rule, message, severity) of each mnemonic of a VmFlags text the profile
        does not print (once per distinct text)."""
        found = self.flag_problems.get(flags)
        if found is None:
            profile = self.checker.profile
            found = []
            column = len(profile.vmflags_prefix or "") + 1
            for flag in flags.split():
                if flag not in profile.vmflags:
                    message = f"VmFlags mnemonic '{flag}' is not printed by {profile.describe()}"
                    found.append((column, UNKNOWN_VMFLAG, message, "warning"))
                column += 3
            self.flag_problems[flags] = found
        return found

    # ---- the slow path

    def slow(self, begin: int, end: int, line: int, prev_start: int | None,
             prev_end: int | None) -> tuple[int, int | None, int | None, int]:  # fmt: skip
        """Check ``text[begin:end]`` entry by entry; the new line number, the last range seen
        and the number of entries."""
        count = 0
        prev = None if prev_start is None or prev_end is None else (prev_start, prev_end)
        for a, b, at in chunks(self.text, begin, end, line):
            chunk = self.text[a:b]
            model = parse_chunk(self.context, chunk, at, "smaps", self.first_error)
            if model is None:
                continue
            count += 1
            complete = chunk.endswith("\n")
            lines = chunk.split("\n")
            if complete:
                lines.pop()
            self.checker.check_entry(Entry(at, lines, model, complete), prev)
            prev = (model.start, model.end)
        line += self.text.count("\n", begin, end)
        if prev is None:
            return line, prev_start, prev_end, count
        return line, prev[0], prev[1], count

    def line_start(self, line: int) -> int:
        """Where line ``line`` (1-based) starts; the text's length for the line after the
        last (the text ends with a newline)."""
        if self._starts is None:
            self._starts = [0, 0, *(m.end() for m in re.finditer("\n", self.text))]
        return self._starts[line]
