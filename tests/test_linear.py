"""Hostile input costs what its size costs: a line longer than any kernel prints, or text that
does not start as a smaps, is refused at its line without reading (or holding) the rest. (That
the grammar reads only the stretch the fast path does not recognise is in test_fast.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import VALID, run_cli, streamed, syntax_error

import smapsfmt

GOOD = (VALID / "live/6.18/many-small/smaps").read_bytes()  # 3161 entries, 2.4 MB
ENTRIES = re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", GOOD)[1:]
MAX_LINE = 65536  # bytes: the bound on a line, which the message states
LONG = f"line longer than {MAX_LINE} bytes: no kernel prints one"


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
        syntax_error(
            lambda pieces: list(smapsfmt.iter_smaps(pieces)), _pieces(first, then, pulled)
        )
        == where
    )
    assert len(pulled) <= 2


def test_an_endless_line_is_refused_holding_one_read_beyond_the_bound() -> None:
    with open("/dev/zero", "rb") as zero:
        assert syntax_error(lambda f: list(smapsfmt.iter_smaps(f)), zero) == (1, 65537, LONG)
        assert zero.tell() <= MAX_LINE + (1 << 20)


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
        for parse in (smapsfmt.parse_smaps, streamed):
            got = syntax_error(parse, data)
            assert got[:2] == (at, column) and got[2].startswith(msg), (parse, got)
        found = [
            (d.line, d.column, d.message) for d in smapsfmt.validate(data) if d.rule == "syntax"
        ]
        assert found[0][:2] == (at, column) and found[0][2].startswith(msg)


def test_a_rollup_with_a_long_line_is_refused_at_that_line() -> None:
    rollup = (VALID / "live/6.18/sleep/smaps_rollup").read_bytes()
    data = rollup.replace(b"Pss:", b"Vendor_" + b"x" * 70000 + b":  0 kB\nPss:", 1)
    assert syntax_error(smapsfmt.parse_rollup, data) == (3, 65537, LONG)
    assert [(d.line, d.column, d.message) for d in smapsfmt.validate(data)] == [(3, 65537, LONG)]
    bad_header = rollup.replace(b"[rollup]", b"[rollux]", 1) + b"x" * 70000
    assert syntax_error(smapsfmt.parse_rollup, bad_header)[:2] == (1, 74)


def test_the_error_of_a_long_line_shows_where_the_bound_is_passed() -> None:
    """A line of MAX_LINE bytes is held and one of MAX_LINE + 1 refused (a last line without a
    newline counts too), at the line it starts, counted through the pieces of a stream; the
    message names the path."""
    head = ENTRIES[0].split(b"\n", 1)[0]
    at_bound = ENTRIES[0].replace(head, head + b"/" * (MAX_LINE - len(head)), 1)
    assert len(at_bound.split(b"\n", 1)[0]) == MAX_LINE
    many = b"".join(ENTRIES[:9])
    lines = many.count(b"\n")
    assert len(smapsfmt.parse_smaps(many + at_bound)) == 10
    over = many + at_bound.replace(head, head + b"/", 1)
    for text in (over, many + b"y" * (MAX_LINE + 1)):
        with pytest.raises(smapsfmt.SmapsSyntaxError) as caught:
            smapsfmt.parse_smaps(text, path="f")
        error = caught.value
        assert (error.line, error.column, error.msg, error.path) == (lines + 1, 65537, LONG, "f")
        assert str(error).splitlines()[0] == f"f:{lines + 1}:65537: {LONG}"
        pieces = [text[i : i + 4096] for i in range(0, len(text), 4096)]
        assert syntax_error(lambda p: list(smapsfmt.iter_smaps(p)), pieces) == (
            lines + 1,
            65537,
            LONG,
        )
    assert [m.pathname for m in smapsfmt.parse_smaps(many + at_bound)][-1].endswith(b"/" * 100)


@pytest.mark.parametrize("data", [b"\n" * 100000, b"garbage\n" * 3, b"Size: 4 kB\n" * 50])
def test_a_text_where_no_line_may_start_an_entry_gets_one_syntax_error(
    data: bytes, tmp_path: Path
) -> None:
    """validate's one diagnostic is the parser's error (the parser's error is the grammar's:
    test_fast.py), and its summary counts no mapping."""
    first = syntax_error(smapsfmt.parse_smaps, data)
    found = smapsfmt.validate(data)
    assert [(d.line, d.column, d.rule, d.message) for d in found] == [
        (first[0], first[1], "syntax", first[2])
    ]
    path = tmp_path / "x"
    path.write_bytes(data)
    summary = run_cli("validate", str(path)).stdout.decode().splitlines()[-1]
    assert summary.startswith(f"{path}: smaps, 0 mappings: 1 error, 0 warnings; profile")
