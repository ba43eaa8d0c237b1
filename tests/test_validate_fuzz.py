"""Bad input never crashes the validator: mutations of real captures give diagnostics or a
clean pass, never an exception; and what the validator passes, the parser parses.

Time per input stays linear in its size: every pattern the validator runs is free of nested
or overlapping quantifiers (each line is consumed once; the header's padding and name cannot
trade characters), and the slow path parses each entry on its own once. The 1 MB inputs below
must finish; bench/validate_scaling.py prints the time per MB as the input grows.

The invariants' evaluator gives what Python's own evaluation of the same text gives, the
reference it replaces (nothing is executed from the ABI document's text): random expressions of
the subset the document may write, and every invariant it ships.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutate import first_entries, mutant
from support import EXTERNAL, INVALID, LIVE, ROOT, VALID, corpus, examples, fixture_id, is_rollup

import smapsfmt
from smapsfmt._diagnostics import Diagnostic
from smapsfmt._parse import accel as _accel
from smapsfmt._spec.abi import SMAPS_PATH, load_abi
from smapsfmt._spec.evaluator import compile_expression
from smapsfmt._spec.expressions import read_expression
from smapsfmt._spec.resources import read_text
from smapsfmt._validate import columns as _columns
from smapsfmt._validate import validate as _validate

pytestmark = pytest.mark.property


def _first_entries(path: str, entries: int) -> bytes:
    return first_entries((LIVE.parent.parent / path).read_bytes(), entries)


SEEDS = [
    _first_entries("valid/live/6.18/sleep/smaps", 3),
    _first_entries("valid/live/6.18/hugetlb/smaps", 2),
    _first_entries("valid/external/prometheus-procfs/fixtures/proc/26231/smaps", 3),
    _first_entries("valid/external/jc/tests/fixtures/linux-proc/pid_smaps", 3),
    (EXTERNAL / "android-libmeminfo/testdata1/smaps_short").read_bytes(),
    (LIVE / "6.18/sleep/smaps_rollup").read_bytes(),
    (EXTERNAL / "prometheus-procfs/fixtures/proc/26231/smaps_rollup").read_bytes(),
    (EXTERNAL / "pcp/procpid-5.5.7-root-007/proc/1/smaps_rollup").read_bytes(),
]

_LAYOUT = {
    "syntax", "layout-header", "layout-field-format", "layout-field-order",
    "layout-missing-field", "layout-extra-field", "layout-vmflags", "layout-final-newline",
    "layout-no-rollup", "unknown-field", "unknown-vmflag",
}  # fmt: skip
RULES = _LAYOUT | {inv.id for inv in load_abi().invariants}
REJECTED = ROOT / "tests" / "fixtures" / "invalid-validate"


def mutated() -> st.SearchStrategy[bytes]:
    """A seed broken by the suite's mutator (tests/mutate.py), one to three edits."""
    return st.builds(mutant, st.sampled_from(SEEDS), st.integers(0, 2**32))


def _check(data: bytes, found: list[Diagnostic]) -> None:
    lines = data.count(b"\n") + 1
    for diagnostic in found:
        assert isinstance(diagnostic, Diagnostic)
        assert diagnostic.rule in RULES, diagnostic
        assert diagnostic.severity in ("error", "warning")
        assert 1 <= diagnostic.line <= lines + 1, diagnostic
        assert diagnostic.column >= 1 and diagnostic.message
        diagnostic.render()
        diagnostic.to_json()


def _parses(data: bytes, kind: str) -> bool:
    try:
        (smapsfmt.parse_rollup if kind == "rollup" else smapsfmt.parse_smaps)(data)
    except smapsfmt.SmapsSyntaxError:
        return False
    except ValueError:  # a number too long to convert
        return False
    return True


@settings(
    max_examples=examples(2000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated(), st.sampled_from(["auto", "smaps", "rollup"]))
def test_mutations_give_diagnostics_or_a_clean_pass(data: bytes, kind: str) -> None:
    found = smapsfmt.validate(data, kind=kind)
    _check(data, found)
    detected = kind
    if kind == "auto":
        first = data.split(b"\n", 1)[0]
        detected = "rollup" if first.rstrip(b" ").endswith(b" [rollup]") else "smaps"
    syntax = [d for d in found if d.rule in ("syntax", "value-range")]
    if not syntax:
        # What the validator takes without a syntax error, the grammar takes too.
        assert _parses(data, detected), found
    if not any(d.severity == "error" for d in found):
        assert _parses(data, detected)


@pytest.mark.parametrize(
    "line",
    [
        b"Rss:" + b" " * (1 << 20) + b"x",
        b"Rss:            " + b"9" * (1 << 20) + b" kB",
        b"VmFlags:" + b" ab" * (1 << 18),
        b"5566ad6fd000-5566ad6ff000 r--p 00000000 fe:00 260875" + b" " * (1 << 20) + b"\x00",
        b"5566ad6fd000-5566ad6ff000 r--p 00000000 fe:00 260875 " + b"/x" * (1 << 19),
        b"f" * (1 << 20) + b"-",
        b"Label" * (1 << 18),
    ],
    ids=["blanks", "digits", "vmflags", "header-blanks-nul", "long-name", "hex", "letters"],
)
def test_a_1_mb_line_finishes_with_diagnostics(line: bytes) -> None:
    seed = SEEDS[0]
    head, _, rest = seed.partition(b"\nRss:")
    data = head + b"\n" + line + b"\nRss:" + rest
    found = smapsfmt.validate(data)
    _check(data, found)
    assert found  # a 1 MB line is never what a kernel prints


def test_crlf_and_nul_are_located() -> None:
    seed = SEEDS[0]
    crlf = smapsfmt.validate(seed.replace(b"\n", b"\r\n"))
    # One per entry: the first field line of each (a header may end in a carriage return: a
    # file name can hold one).
    assert [(d.line, d.column, d.rule) for d in crlf] == [(2, 28, "syntax"), (27, 28, "syntax"),
                                                          (52, 28, "syntax")]  # fmt: skip
    assert all("carriage return" in d.message for d in crlf)
    nul = smapsfmt.validate(seed.replace(b"/usr/bin/sleep", b"/usr/bin/sl\x00eep", 1))
    assert [(d.line, d.column, d.rule) for d in nul] == [(1, 85, "syntax")]


# --- the C module's way and the loop agree ------------------------------------------------------


def _by_loop(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Diagnostic]:
    """validate(data) by the per-entry loop, the way where the C module is not built."""
    with monkeypatch.context() as patch:
        patch.setattr(_columns, "columns_for", lambda checks, checker: None)
        return smapsfmt.validate(data)


def _same_both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Diagnostic]:
    found = smapsfmt.validate(data)
    assert found == _by_loop(data, monkeypatch)
    return found


needs_c = pytest.mark.skipif(not _accel.available(), reason="smapsfmt._parse._match is not built")


@needs_c
@pytest.mark.parametrize(
    "path",
    [p for p in corpus(VALID) + corpus(INVALID) + corpus(REJECTED) if not is_rollup(p)],
    ids=fixture_id,
)
def test_the_c_way_and_the_loop_agree_on_the_corpus(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_both_ways(path.read_bytes(), monkeypatch)


@needs_c
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_the_c_way_and_the_loop_agree_on_mutations(data: bytes) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _same_both_ways(data, monkeypatch)


SLEEP = (LIVE / "6.18/sleep/smaps").read_bytes()


def _entries(data: bytes) -> list[bytes]:
    return re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", data)[1:]


@needs_c
def test_problems_repeated_across_a_run_are_reported_at_each_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body, a header and a name padding that break rules, each in several entries of a run
    the C module takes, among exact entries: each problem at its own entry's line."""
    entries = _entries(SLEEP)
    for i in range(1, len(entries), 3):  # Referenced above Rss: a body invariant
        entries[i] = re.sub(rb"Referenced: +\d+", b"Referenced:     99999999", entries[i])
    for i in range(2, len(entries), 4):  # an unknown mnemonic: a warning on the VmFlags line
        entries[i] = entries[i].replace(b"VmFlags: rd", b"VmFlags: zz rd")
    for i in range(0, len(entries), 5):  # not readable, but VmFlags say rd: a header pair
        entries[i] = re.sub(rb"^(\S+) r", rb"\1 -", entries[i])
    for i in (4, 9):  # one blank more before the name: the slow path's layout-header
        entries[i] = re.sub(rb"^(\S+ \S+ \S+ \S+ \S+ +)(?=\S)", rb"\1 ", entries[i])
    found = _same_both_ways(b"".join(entries), monkeypatch)
    rules = {d.rule for d in found}
    assert {"smaps-referenced-le-rss", "unknown-vmflag", "vmflags-perms-rd"} <= rules, rules
    assert "layout-header" in rules, rules
    lines = {d.line for d in found if d.rule == "smaps-referenced-le-rss"}
    assert len(lines) == len(range(1, len(entries), 3))


@needs_c
def test_equal_values_printed_apart_are_located_in_their_own_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two bodies with the same values, one printed with leading zeros the exact pattern
    accepts: each problem at the column of its own entry's value."""
    entries = _entries(SLEEP)
    head = [entry.split(b"\n", 1)[0] + b"\n" for entry in entries]
    body = re.sub(rb"Referenced: +\d+ kB", b"Referenced:        99999 kB", entries[1])
    body = body.split(b"\n", 1)[1]
    zeros = body.replace(b"Referenced:        99999", b"Referenced:     00099999")
    data = entries[0] + head[1] + body + head[2] + zeros + b"".join(entries[3:])
    found = [d for d in _same_both_ways(data, monkeypatch) if d.rule == "smaps-referenced-le-rss"]
    assert len({d.column for d in found}) == 2, found


@needs_c
@pytest.mark.parametrize(
    "invariant",
    [
        "start < end and 'rd' in VmFlags",  # VmFlags as the loop has it, from a blank
        "start < end and name != ''",  # no name: ''
        "start < end and max_kB < 10",  # computed per entry
        "max_kB < 12 or perms[0] == 'x'",  # a header invariant on max_kB
    ],
)
def test_invariants_of_a_changed_abi_document_read_the_same_values_both_ways(
    invariant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = read_text(SMAPS_PATH)
    added = f"\t\t:Invariant t-added: {invariant}\n\t\t:Source: a test\n"
    changed = text.replace("\t\t:Invariant smaps-order:", added + "\t\t:Invariant smaps-order:", 1)
    assert changed != text
    abi = load_abi(changed)
    found = _validate.validate_report(SLEEP, abi=abi).diagnostics
    with monkeypatch.context() as patch:
        patch.setattr(_columns, "columns_for", lambda checks, checker: None)
        assert found == _validate.validate_report(SLEEP, abi=abi).diagnostics
    assert any(d.rule == "t-added" for d in found)


# --- many distinct bodies and headers in one run of the C module ----------------------------

ANDROID = (EXTERNAL / "android-libmeminfo/testdata1/smaps").read_bytes()
_FIELD = re.compile(rb"(?m)^([A-Z][A-Za-z_]*: +)([0-9]+)( kB)?$")


def _rewritten(entry: bytes, rng: random.Random) -> bytes:
    """An entry with some of its values changed, some of them breaking invariants: a field's
    value (right-aligned as the kernel prints it, or wider than its column, or above the
    largest kB value), the permissions, the Name line."""

    def value(m: re.Match[bytes]) -> bytes:
        if rng.random() > 0.3:
            return m.group(0)
        label, digits, unit = m.group(1), m.group(2), m.group(3) or b""
        number = rng.choice([0, 4, 8, 12, 64, 2048, rng.randrange(10**9), 2**54, 2**54 - 1])
        # the label and its padding, then the value right-aligned in eight columns (%8lu)
        fixed = label if len(digits) > 8 else label[: len(label) + len(digits) - 8]
        return fixed + str(number).encode().rjust(8) + unit

    head, _, body = entry.partition(b"\n")
    if rng.random() < 0.2:
        head = re.sub(rb"^(\S+) (.)", lambda m: m.group(1) + b" " + rng.choice([b"-", b"r"]),
                      head)  # fmt: skip
    if rng.random() < 0.1:
        body = body.replace(b"Name:           [anon:", b"Name:           [anon:x", 1)
    return head + b"\n" + _FIELD.sub(value, body)


@needs_c
@pytest.mark.parametrize("seed", range(4))
def test_the_c_way_and_the_loop_agree_on_many_distinct_bodies(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Android capture (1,097 Name lines, hundreds of distinct bodies and headers), a third
    of its values rewritten at random: the same findings both ways."""
    rng = random.Random(seed)
    entries = _entries(ANDROID)
    picked = sorted(rng.sample(range(len(entries)), 600))
    data = b"".join(_rewritten(entries[i], rng) for i in picked)
    found = smapsfmt.validate(data)
    assert found == _by_loop(data, monkeypatch), f"seed {seed}"
    assert found, f"seed {seed}: nothing rewritten breaks a rule"


@pytest.mark.parametrize("seed", range(4))
def test_max_kb_is_the_largest_kb_value_of_each_row(seed: int) -> None:
    """max_kB over columns: the largest value of a row, 0 where none is above 0, a None (a line
    not there, only in the optional columns) not counted."""
    rng = random.Random(seed)
    for width in (1, 2, 5):
        rows = rng.randrange(1, 40)
        columns = [[rng.choice([0, 0, 4, rng.randrange(2**60)]) for _ in range(rows)]
                   for _ in range(width)]  # fmt: skip
        optional = columns[: rng.randrange(width + 1)]
        for column in optional:
            for i in rng.sample(range(rows), rng.randrange(rows + 1)):
                column[i] = None
        want = [max(filter(None, row), default=0) for row in zip(*columns, strict=True)]
        assert _columns._max_kb(columns, optional) == want, f"seed {seed}, width {width}"


# --- the evaluator: what Python's own evaluation of the expression gives, without eval ----------

_NAMES = ("Rss", "Pss", "Size", "Swap")
_MNEMONICS = ("rd", "wr", "lo", "ht")


def _random_expression(rng: random.Random, depth: int) -> str:
    """An expression of the invariants' subset, as the ABI document may write one."""
    if depth == 0 or rng.random() < 0.25:
        pick = rng.random()
        if pick < 0.6:
            return rng.choice(_NAMES)
        if pick < 0.8:
            return str(rng.choice((0, 1, 2, 4, 1024)))
        return rng.choice(("prev.start", "prev.end", "start", "end"))
    inner = lambda: _random_expression(rng, depth - 1)  # noqa: E731
    kind = rng.randrange(9)
    if kind == 0:
        return f"({inner()} {rng.choice(('+', '-', '*', '&', '|'))} {inner()})"
    if kind == 1:
        return f"({inner()} {rng.choice(('%', '//'))} {inner()})"
    if kind == 2:
        ops = [rng.choice(("==", "!=", "<", "<=", ">", ">=")) for _ in range(rng.randint(1, 3))]
        return "(" + inner() + "".join(f" {op} {inner()}" for op in ops) + ")"
    if kind == 3:
        joiner = rng.choice((" and ", " or "))
        return "(" + joiner.join(inner() for _ in range(rng.randint(2, 3))) + ")"
    if kind == 4:
        return f"({inner()} if {inner()} else {inner()})"
    if kind == 5:
        return f"(not {inner()})" if rng.random() < 0.5 else f"(-{inner()})"
    if kind == 6:
        return f"('{rng.choice(_MNEMONICS)}' {rng.choice(('in', 'not in'))} VmFlags)"
    if kind == 7:
        items = ", ".join(inner() for _ in range(rng.randint(1, 3)))
        return f"({inner()} {rng.choice(('in', 'not in'))} ({items},))"
    return f"(perms[{rng.randrange(4)}] == '{rng.choice('rwxsp-')}')"


def _row(rng: random.Random, arguments: tuple[str, ...]) -> list[object]:
    row: list[object] = []
    for name in arguments:
        if name == "VmFlags":
            row.append(" " + "".join(f"{m} " for m in _MNEMONICS if rng.random() < 0.5))
        elif name == "perms":
            row.append("".join(rng.choice(pair) for pair in ("r-", "w-", "x-", "sp")))
        else:
            row.append(rng.choice((0, 0, 1, 2, 3, 4, 8, 1024, 4096, rng.randrange(10**6))))
    return row


def _outcome(function: Any, row: list[object]) -> object:
    try:
        return function(*row)
    except (ArithmeticError, TypeError) as exc:
        return type(exc)


def test_the_evaluator_gives_what_python_gives() -> None:
    """Random expressions of the subset, read as the ABI document's are, evaluated by the
    evaluator (over columns and row by row) and by Python's own evaluation of their text (the
    reference, here in the test): the same value on every row, or the same exception."""
    seed = 20261204
    rng = random.Random(seed)
    names = frozenset({*_NAMES, "start", "end", "prev", "VmFlags", "perms"})
    checked = 0
    for case in range(400):
        text = _random_expression(rng, 3)
        read = read_expression(text, names)
        arguments = tuple(
            sorted(
                read.names - {"prev"} | ({"prev_start", "prev_end"} if read.uses_prev else set())
            )
        )
        reference = eval(
            f"lambda {', '.join(arguments)}: ({read.python})", {}
        )  # the reference: Python itself
        evaluator = compile_expression(read.python, arguments)
        rows = [_row(rng, arguments) for _ in range(60)]
        expected = [_outcome(reference, row) for row in rows]
        where = f"seed {seed}, case {case}: {text}"
        assert [_outcome(evaluator, row) for row in rows] == expected, where
        if arguments and not any(isinstance(e, type) for e in expected):
            columns = [list(column) for column in zip(*rows, strict=True)]
            assert list(evaluator.rows(columns)) == expected, where
            checked += 1
    assert checked > 100  # most cases raise nowhere: their columns were compared too


def test_the_shipped_invariants_give_what_python_gives() -> None:
    seed = 7
    rng = random.Random(seed)
    for inv in load_abi().invariants:
        arguments = inv.arguments()
        reference = eval(
            f"lambda {', '.join(arguments)}: ({inv.python})", {}
        )  # the reference: Python itself
        rows = [_row(rng, arguments) for _ in range(200)]
        expected = [_outcome(reference, row) for row in rows]
        assert [_outcome(inv.evaluator(), row) for row in rows] == expected, (seed, inv.id)
