"""Hostile input costs what its size costs: the fast path takes every entry it recognises and
the grammar reads only the stretch it does not; a line longer than any kernel prints, or text
that does not start as a smaps, is refused at its line without reading (or holding) the rest."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from support import VALID

import smapsfmt
from smapsfmt import _limits
from smapsfmt._parse import parser as _parser

GOOD = (VALID / "live/6.18/many-small/smaps").read_bytes()  # 3161 entries, 2.4 MB
ENTRIES = re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", GOOD)[1:]
LONG = "line longer than 65536 bytes: no kernel prints one"


def _error(parse, data: bytes) -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(smapsfmt.SmapsSyntaxError) as caught:
        parse(data)
    return caught.value.line, caught.value.column, caught.value.msg


def _streamed(data: bytes) -> None:
    list(smapsfmt.iter_smaps(io.BytesIO(data)))


def _grammar_read(parse, data: bytes) -> tuple[tuple[int, int, str], int]:  # type: ignore[no-untyped-def]
    before = _parser.GRAMMAR_READ[0]
    got = _error(parse, data)
    return got, _parser.GRAMMAR_READ[0] - before


@pytest.mark.parametrize("parse", [smapsfmt.parse_smaps, _streamed], ids=["parse", "stream"])
def test_a_line_of_garbage_after_thousands_of_entries_is_all_the_grammar_reads(parse) -> None:  # type: ignore[no-untyped-def]
    lines = GOOD.count(b"\n")
    got, read = _grammar_read(parse, GOOD + b"garbage\n")
    assert got[:2] == (lines + 1, 1)
    assert got == _error(_parser.parse_smaps_by_grammar, GOOD + b"garbage\n")
    # The last entry is not whole before the grammar sees what follows it: it is read too.
    assert read <= 3 * len(ENTRIES[-1] + b"garbage\n")


@pytest.mark.parametrize("parse", [smapsfmt.parse_smaps, _streamed], ids=["parse", "stream"])
def test_the_grammar_reads_a_broken_entry_not_what_surrounds_it(parse) -> None:  # type: ignore[no-untyped-def]
    """A field twice in entry 10 (a problem of the models: the grammar's own errors further on
    come first), then a broken line in entry 3000: both whole-text outcomes, read apart."""
    twice = ENTRIES[10].replace(b"Rss:", b"Pss:", 1)
    broken = ENTRIES[3000].replace(b"Swap:", b"Swap;", 1)
    for data in (
        b"".join([*ENTRIES[:10], twice, *ENTRIES[11:]]),
        b"".join([*ENTRIES[:10], twice, *ENTRIES[11:3000], broken, *ENTRIES[3001:]]),
    ):
        got, read = _grammar_read(parse, data)
        assert got == _error(_parser.parse_smaps_by_grammar, data)
        assert read <= 2 * (len(twice) + len(broken))


def test_validate_reports_the_garbage_line_and_the_entries_before_it_are_checked() -> None:
    before = _parser.GRAMMAR_READ[0]
    found = smapsfmt.validate(GOOD + b"garbage\n")
    assert [(d.line, d.column, d.rule) for d in found] == [(GOOD.count(b"\n") + 1, 1, "syntax")]
    assert _parser.GRAMMAR_READ[0] - before <= 6 * len(ENTRIES[-1] + b"garbage\n")


def _pieces(first: bytes, then: bytes, pulled: list[int]) -> Iterator[bytes]:
    """``first``, then ``then`` 64 times (a stand-in for an endless source that stops, so that
    an implementation reading it all ends too): ``pulled`` counts the pieces taken."""
    pulled.append(1)
    yield first
    for _ in range(64):
        pulled.append(1)
        yield then


@pytest.mark.parametrize(
    ("first", "then", "where"),
    [
        (b"\n" * (1 << 20), b"\n" * (1 << 20), (1, 1, "empty line: the kernel prints none")),
        (
            ENTRIES[0] + b"\n" * 1000,
            b"\n" * (1 << 20),
            (26, 1, "empty line: the kernel prints none"),
        ),
        (b"\0" * (1 << 20), b"\0" * (1 << 20), (1, 65537, LONG)),
        (ENTRIES[0] + b"7" * (1 << 20), b"7" * (1 << 20), (26, 65537, LONG)),
    ],
    ids=["newlines", "header-then-newlines", "nul-bytes", "a-long-line-after-an-entry"],
)
def test_a_stream_that_is_no_smaps_is_refused_at_its_first_piece(
    first: bytes, then: bytes, where: tuple[int, int, str]
) -> None:
    pulled: list[int] = []
    assert (
        _error(lambda pieces: list(smapsfmt.iter_smaps(pieces)), _pieces(first, then, pulled))
        == where
    )
    assert len(pulled) <= 2


def test_an_endless_line_is_refused_holding_one_read_beyond_the_bound() -> None:
    with open("/dev/zero", "rb") as zero:
        assert _error(lambda f: list(smapsfmt.iter_smaps(f)), zero) == (1, 65537, LONG)
        assert zero.tell() <= _limits.MAX_LINE + (1 << 20)


def test_a_long_line_is_an_error_at_its_line_unless_an_earlier_line_has_one() -> None:
    long_path = ENTRIES[5].replace(b"\n", b"/x" * 40000 + b"\n", 1)  # the header's pathname
    long_value = ENTRIES[5].replace(b"Rss:", b"Rss:" + b" " * 70000, 1)
    line = sum(e.count(b"\n") for e in ENTRIES[:5]) + 1
    broken = ENTRIES[1].replace(b"Size:", b"Size;", 1)
    cases = [
        (b"".join([*ENTRIES[:5], long_path, *ENTRIES[6:10]]), (line, 65537, LONG)),
        (b"".join([*ENTRIES[:5], long_value, *ENTRIES[6:10]]), (line + 4, 65537, LONG)),
        (b"".join([ENTRIES[0], broken, *ENTRIES[2:5], long_path]), (27, 1, "not a smaps line")),
    ]
    for data, (at, column, msg) in cases:
        for parse in (smapsfmt.parse_smaps, _streamed):
            got = _error(parse, data)
            assert got[:2] == (at, column) and got[2].startswith(msg), (parse, got)
        found = [
            (d.line, d.column, d.message) for d in smapsfmt.validate(data) if d.rule == "syntax"
        ]
        assert found[0][:2] == (at, column) and found[0][2].startswith(msg)


def test_a_rollup_with_a_long_line_is_refused_at_that_line() -> None:
    rollup = (VALID / "live/6.18/sleep/smaps_rollup").read_bytes()
    data = rollup.replace(b"Pss:", b"Vendor_" + b"x" * 70000 + b":  0 kB\nPss:", 1)
    assert _error(smapsfmt.parse_rollup, data) == (3, 65537, LONG)
    assert [(d.line, d.column, d.message) for d in smapsfmt.validate(data)] == [(3, 65537, LONG)]
    bad_header = rollup.replace(b"[rollup]", b"[rollux]", 1) + b"x" * 70000
    assert _error(smapsfmt.parse_rollup, bad_header)[:2] == (1, 74)


def test_the_error_of_a_long_line_shows_where_the_bound_is_passed() -> None:
    error = _limits.line_too_long(b"ok\n" + b"y" * 70000, 3, first_line=10, path="f")
    assert (error.line, error.column, error.msg, error.path) == (11, 65537, LONG, "f")
    assert str(error).splitlines()[0] == f"f:11:65537: {LONG}"
    assert _limits.first_long_line(b"a\n" * 100000) is None
    assert _limits.first_long_line(b"a\n" + b"b" * 65536 + b"\n") is None
    assert _limits.first_long_line(b"a\n" + b"b" * 65537) == 2


@pytest.mark.parametrize("data", [b"\n" * 100000, b"garbage\n" * 3, b"Size: 4 kB\n" * 50])
def test_a_text_where_no_line_may_start_an_entry_gets_one_syntax_error(data: bytes) -> None:
    from smapsfmt._validate.validate import validate_report

    report = validate_report(data)
    first = _error(_parser.parse_smaps_by_grammar, data)
    assert [(d.line, d.column, d.rule, d.message) for d in report.diagnostics] == [
        (first[0], first[1], "syntax", first[2])
    ]
    assert report.summary("x").startswith("x: smaps, 0 mappings: 1 error, 0 warnings; profile")


def test_a_valid_entry_longer_than_a_piece_is_not_read_by_the_grammar() -> None:
    fields = b"".join(b"Vendor_%d:  %d kB\n" % (i, i) for i in range(20000))
    data = ENTRIES[0].replace(b"Rss:", fields + b"Rss:", 1) + b"".join(ENTRIES[1:50])
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    before = _parser.GRAMMAR_READ[0]
    assert list(smapsfmt.iter_smaps(pieces)) == list(smapsfmt.parse_smaps(data))
    assert _parser.GRAMMAR_READ[0] == before
