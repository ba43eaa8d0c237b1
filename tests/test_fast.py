"""The fast path is the grammar: on every corpus file and on generated inputs, parse_smaps
and parse_rollup give exactly what the lark grammar alone gives, model or error; and the
streaming parser gives exactly what the whole-text parser gives, however the input is cut.

Entries of many shapes: every way of the fast path (one composed pattern per shape, in C or by
re; the generic pattern for rare shapes) gives what the grammar gives, and the cost of composing
patterns stays bounded by the number of entries, whatever order the shapes come in."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutate import mutant
from support import INVALID, VALID, corpus, examples, fixture_id, is_rollup, streamed, syntax_error

import smapsfmt
from smapsfmt import iter_smaps
from smapsfmt._parse import fast as _fast
from smapsfmt._parse import generic as _generic
from smapsfmt._parse import parser as _parser
from smapsfmt._parse import shapes as _shapes

ALL = corpus(VALID) + corpus(INVALID)


def _outcome(parse, data: bytes):  # type: ignore[no-untyped-def]
    try:
        return ("ok", parse(data, path="p"))
    except smapsfmt.SmapsSyntaxError as exc:
        return ("error", exc.line, exc.column, exc.msg, exc.path)


def _both(data: bytes, rollup: bool) -> None:
    if rollup:
        fast = _outcome(smapsfmt.parse_rollup, data)
        slow = _outcome(_parser.parse_rollup_by_grammar, data)
    else:
        fast = _outcome(smapsfmt.parse_smaps, data)
        slow = _outcome(_parser.parse_smaps_by_grammar, data)
    assert fast == slow


@pytest.mark.parametrize("path", ALL, ids=fixture_id)
def test_fast_path_equals_grammar_on_the_corpus(path: Path) -> None:
    _both(path.read_bytes(), is_rollup(path))


@pytest.mark.parametrize(
    "line",
    [b"VmFlags:              12 kB", b"VmFlags: 12", b"Name:           5 kB", b"Name: 5"],
)
def test_lines_the_grammar_lexes_first_are_never_fields(line: bytes) -> None:
    entry = (VALID / "live/6.18/sleep/smaps").read_bytes().split(b"\n")[:25]
    for where in (2, 10, 24):
        data = b"\n".join([*entry[:where], line, *entry[where:]]) + b"\n"
        _both(data, rollup=False)


def test_the_fast_path_is_taken_on_real_captures() -> None:
    from smapsfmt._parse import fast as _fast

    for path in corpus(VALID):
        assert _fast.fast_mappings(path.read_bytes()) is not None, path


SEEDS = [p for p in corpus(VALID) if p.stat().st_size < 200_000]


@pytest.mark.property
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), salt=st.integers(0, 2**32), rounds=st.integers(1, 3))
def test_fast_path_equals_grammar_on_mutations(seed: Path, salt: int, rounds: int) -> None:
    _both(mutant(seed.read_bytes(), salt, rounds), is_rollup(seed))


def _stream(data: bytes, cuts: list[int]):  # type: ignore[no-untyped-def]
    pieces, last = [], 0
    for cut in sorted(cuts):
        pieces.append(data[last:cut])
        last = cut
    pieces.append(data[last:])
    got = []
    try:
        for mapping in iter_smaps(pieces, path="p"):
            got.append(mapping)
    except smapsfmt.SmapsSyntaxError as exc:
        return ("error", exc.line, exc.column, exc.msg, len(got))
    return ("ok", tuple(got))


@pytest.mark.property
@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from([p for p in SEEDS if not is_rollup(p)]),
    salt=st.integers(0, 2**32),
    broken=st.booleans(),
    cuts=st.lists(st.integers(0, 200_000), max_size=8),
)
def test_streaming_equals_whole_text(seed: Path, salt: int, broken: bool, cuts: list[int]) -> None:
    data = seed.read_bytes()
    if broken:
        data = mutant(data, salt, 1)
    cuts = [c % (len(data) + 1) for c in cuts]
    whole = _outcome(smapsfmt.parse_smaps, data)
    streamed = _stream(data, cuts)
    if whole[0] == "ok":
        assert streamed == ("ok", tuple(whole[1]))
    else:
        assert streamed[:4] == whole[:4]


def test_streaming_from_a_file_object_holds_one_piece() -> None:
    data = (VALID / "live/6.18/many-small/smaps").read_bytes()
    got = list(iter_smaps(io.BytesIO(data)))
    assert got == list(smapsfmt.parse_smaps(data))
    assert got[-1].line == data.count(b"\n") - 25 + 1  # 6.18: a header and 24 lines


def test_a_stream_broken_early_is_not_read_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error among the whole entries of the first piece is raised before the next piece is
    read; a stretch the grammar takes instead of the fast path streams on."""
    good = (VALID / "live/6.18/sleep/smaps").read_bytes()
    read: list[int] = []

    def pieces(first: bytes, more: int) -> Iterator[bytes]:
        yield first
        for i in range(more):
            read.append(i)
            yield good

    broken = good.replace(b"Rss:", b"Rss;", 1)
    with pytest.raises(smapsfmt.SmapsSyntaxError) as caught:
        list(iter_smaps(pieces(broken, 1000)))
    whole = _outcome(smapsfmt.parse_smaps, broken + good * 1000)
    assert ("error", caught.value.line, caught.value.column, caught.value.msg) == whole[:4]
    assert read == []

    fast_prefix, refused = _fast.fast_prefix, []

    def first_refused(*args: Any, **kwargs: Any) -> Any:  # as for input it cannot take
        if not refused:
            refused.append(args[3])
            return [], args[1], args[3]
        return fast_prefix(*args, **kwargs)

    monkeypatch.setattr(_fast, "fast_prefix", first_refused)
    streamed = list(iter_smaps(pieces(good, 3)))
    assert refused == [1]
    assert streamed == list(smapsfmt.parse_smaps(good * 4))


def test_a_stream_reports_what_the_whole_text_reports_when_the_next_piece_decides() -> None:
    """A field twice in the first piece, a syntax error in a later one: parse_smaps reports the
    syntax error (the models are built after the whole text parses), and so does the stream.
    A header without field lines just before a cut: the error names what follows it."""
    good = (VALID / "live/6.18/sleep/smaps").read_bytes()
    entries = re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", good)[1:]
    twice = entries[0].replace(b"Rss:", b"Pss:", 1)  # Pss twice in the first entry
    broken = entries[3].replace(b"Swap:", b"Swap;", 1)
    cases = [
        [twice + entries[1], entries[2] + broken + b"".join(entries[4:])],
        [entries[0] + entries[1].split(b"\n", 1)[0] + b"\n" + entries[2][:30], entries[2][30:]],
    ]
    for pieces in cases:
        whole = _outcome(smapsfmt.parse_smaps, b"".join(pieces))
        assert whole[0] == "error"
        with pytest.raises(smapsfmt.SmapsSyntaxError) as caught:
            list(iter_smaps(pieces, path="p"))
        error = caught.value
        assert ("error", error.line, error.column, error.msg, error.path) == whole


TEXT_MODE = (
    "iter_smaps reads bytes, but {}: open the file in binary mode "
    "(open(path, 'rb'), or sys.stdin.buffer)"
)


def test_a_file_open_in_text_mode_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "smaps"
    path.write_bytes((VALID / "live/6.18/sleep/smaps").read_bytes())
    for text_file in (path.open(encoding="latin-1"), io.StringIO(path.read_text("latin-1"))):
        with text_file, pytest.raises(TypeError) as caught:
            iter_smaps(text_file)  # type: ignore[arg-type]
        assert str(caught.value) == TEXT_MODE.format("this file is open in text mode")


def test_a_reader_that_returns_text_is_refused_when_it_does() -> None:
    """Any object with a read() that returns str (not an io text file): the first read stops
    the iteration, which never waits for a b"" that cannot come."""

    class Reader:
        def __init__(self, text: str) -> None:
            self.text = text

            self.ended = False

        def read(self, size: int = -1) -> str:
            assert not self.ended, "read again after the end of the file: it would never end"
            piece, self.text = self.text[:size], self.text[size:]
            self.ended = not piece
            return piece

    reader = Reader((VALID / "live/6.18/sleep/smaps").read_text("latin-1"))
    with pytest.raises(TypeError) as caught:
        list(iter_smaps(reader))  # type: ignore[arg-type]
    assert str(caught.value) == TEXT_MODE.format("read() returned str")
    with pytest.raises(TypeError) as caught:
        list(iter_smaps(Reader("")))  # type: ignore[arg-type]
    assert str(caught.value) == TEXT_MODE.format("read() returned str")


# --- the grammar reads only what the fast path does not recognise ------------------------------
# Hostile input costs what its size costs: the fast path takes every entry it recognises and the
# grammar (counted by its read counter) reads only the stretch it does not.

GOOD = (VALID / "live/6.18/many-small/smaps").read_bytes()  # 3161 entries, 2.4 MB
ENTRIES = re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", GOOD)[1:]


def _grammar_read(parse, data: bytes) -> tuple[tuple[int, int, str], int]:  # type: ignore[no-untyped-def]
    before = _parser.GRAMMAR_READ[0]
    got = syntax_error(parse, data)
    return got, _parser.GRAMMAR_READ[0] - before


@pytest.mark.parametrize("parse", [smapsfmt.parse_smaps, streamed], ids=["parse", "stream"])
def test_a_line_of_garbage_after_thousands_of_entries_is_all_the_grammar_reads(parse) -> None:  # type: ignore[no-untyped-def]
    lines = GOOD.count(b"\n")
    got, read = _grammar_read(parse, GOOD + b"garbage\n")
    assert got[:2] == (lines + 1, 1)
    assert got == syntax_error(_parser.parse_smaps_by_grammar, GOOD + b"garbage\n")
    # The last entry is not whole before the grammar sees what follows it: it is read too.
    assert read <= 3 * len(ENTRIES[-1] + b"garbage\n")


@pytest.mark.parametrize("parse", [smapsfmt.parse_smaps, streamed], ids=["parse", "stream"])
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
        assert got == syntax_error(_parser.parse_smaps_by_grammar, data)
        assert read <= 2 * (len(twice) + len(broken))


def test_validate_reports_the_garbage_line_and_the_entries_before_it_are_checked() -> None:
    before = _parser.GRAMMAR_READ[0]
    found = smapsfmt.validate(GOOD + b"garbage\n")
    assert [(d.line, d.column, d.rule) for d in found] == [(GOOD.count(b"\n") + 1, 1, "syntax")]
    assert _parser.GRAMMAR_READ[0] - before <= 6 * len(ENTRIES[-1] + b"garbage\n")


@pytest.mark.parametrize("data", [b"\n" * 100000, b"garbage\n" * 3, b"Size: 4 kB\n" * 50])
def test_a_text_where_no_line_may_start_an_entry_gets_the_grammars_error(data: bytes) -> None:
    _both(data, rollup=False)


def test_a_valid_entry_longer_than_a_piece_is_not_read_by_the_grammar() -> None:
    fields = b"".join(b"Vendor_%d:  %d kB\n" % (i, i) for i in range(20000))
    data = ENTRIES[0].replace(b"Rss:", fields + b"Rss:", 1) + b"".join(ENTRIES[1:50])
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    before = _parser.GRAMMAR_READ[0]
    assert list(smapsfmt.iter_smaps(pieces)) == list(smapsfmt.parse_smaps(data))
    assert _parser.GRAMMAR_READ[0] == before


# --- entries of many shapes: the composed patterns and the generic one ----------------------

SLEEP = (VALID / "live/6.18/sleep/smaps").read_bytes()
SLEEP_ENTRIES = re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", SLEEP)[1:]
OPTIONAL = (
    b"Pss_Dirty", b"KSM", b"LazyFree", b"ShmemPmdMapped", b"FilePmdMapped", b"Shared_Hugetlb",
    b"Private_Hugetlb", b"SwapPss", b"Locked", b"Referenced",
)  # fmt: skip


def _variant(entry: bytes, shape: int, rng: random.Random) -> bytes:
    """``entry`` with the optional fields of ``shape``'s bits left out, and, by ``rng``, a
    vendor field line, a tab before a value, a Name line first or last."""
    lines = entry.rstrip(b"\n").split(b"\n")
    head, body = lines[0], lines[1:]
    body = [x for x in body if x.split(b":")[0] not in _drop(shape)]
    if rng.random() < 0.2:
        body.insert(rng.randrange(1, len(body) - 1), b"Vendor_%d:     %d kB" % (shape % 7, shape))
    if rng.random() < 0.1:
        body[0] = body[0].replace(b": ", b":\t", 1)
    kind = rng.random()
    if kind < 0.1:
        body.insert(0, b"Name:           anon_%d" % shape)
    elif kind < 0.2:
        body.append(b"Name:           anon_%d" % shape)
    return b"\n".join([head, *body]) + b"\n"


def _drop(shape: int) -> set[bytes]:
    return {name for bit, name in enumerate(OPTIONAL) if shape >> bit & 1}


def _many_shapes(seed: int, entries: int, shapes: int) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(entries):
        shape = i % shapes if seed % 2 else rng.randrange(shapes)
        out.append(_variant(SLEEP_ENTRIES[i % len(SLEEP_ENTRIES)], shape, rng))
    return b"".join(out)


def _rows(mappings: Any) -> list[tuple[object, ...]]:
    return [
        (m.line, m.start, m.end, m.perms, m.offset, m.major, m.minor, m.inode, m.pathname,
         dict(m.fields), m.unknown_lines, m.vmflags, m.name, m.name_after_fields)
        for m in mappings
    ]  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shapes", [9, 300, 1024])
def test_many_shapes_parse_as_the_grammar_does(seed: int, shapes: int) -> None:
    data = _many_shapes(seed, 700, shapes)
    want = _rows(_parser.parse_smaps_by_grammar(data))
    for _ in range(2):  # the second time with the shapes the first one composed
        assert _rows(smapsfmt.parse_smaps(data)) == want, f"seed {seed}"
    streamed = smapsfmt.iter_smaps(io.BytesIO(data))
    assert _rows(streamed) == want, f"seed {seed}"
    totals = smapsfmt.aggregate(smapsfmt.iter_smaps(io.BytesIO(data)))
    assert totals == smapsfmt.aggregate(_parser.parse_smaps_by_grammar(data)), f"seed {seed}"


@pytest.mark.parametrize("seed", range(20))
def test_the_generic_pattern_takes_an_entry_as_the_grammar_does(seed: int) -> None:
    rng = random.Random(seed)
    entry = _variant(rng.choice(SLEEP_ENTRIES), rng.randrange(1024), rng)
    taken = _generic.entry(entry, 0, len(entry), 7)
    assert taken is not None, f"seed {seed}"
    mapping, end, lines, _key = taken
    want = _rows(_parser.grammar_mappings(entry.decode("latin-1"), None, 7))
    assert (_rows([mapping]), end, lines) == (want, len(entry), entry.count(b"\n")), f"seed {seed}"


@pytest.mark.parametrize(
    "entry",
    [
        SLEEP_ENTRIES[0].replace(b"Rss:", b"Pss:", 1),  # a field twice
        SLEEP_ENTRIES[0].replace(b"\n", b"\nName: a\n", 1) + b"Name: b\n",  # two Name lines
        re.sub(rb"Rss: +[0-9]+", b"Rss: " + b"9" * 5000, SLEEP_ENTRIES[0], count=1),
        SLEEP_ENTRIES[0].replace(b" 00000000 ", b" " + b"f" * 4000 + b" ", 1),
    ],
    ids=["field-twice", "two-names", "long-decimal", "long-hex"],
)
def test_the_generic_pattern_leaves_to_the_grammar_what_it_must(entry: bytes) -> None:
    assert entry != SLEEP_ENTRIES[0]
    assert _generic.entry(entry, 0, len(entry), 1) is None


def test_shapes_taking_turns_are_composed_once_each_and_within_the_budget() -> None:
    """300 shapes in turn (more with their vendor, tab and Name variants), 1,200 entries: at
    most 8 compositions plus one per 64 entries in a call, each shape composed at most once
    however many calls; then none at all."""
    data = _many_shapes(1, 1200, 300)
    keys, pos, line = set(), 0, 1
    while pos < len(data):
        taken = _generic.entry(data, pos, len(data), line)
        assert taken is not None
        _mapping, pos, lines, key = taken
        keys.add(key)
        line += lines
    assert len(keys) > 300
    _shapes.SHAPES.clear()  # the cache starts empty: every shape is new to it
    before = _shapes.COMPOSED[0]
    for _ in range(60):
        start = _shapes.COMPOSED[0]
        smapsfmt.parse_smaps(data)
        assert _shapes.COMPOSED[0] - start <= 8 + 1200 // 64
    composed = _shapes.COMPOSED[0] - before
    assert composed <= len(keys)
    smapsfmt.parse_smaps(data)
    assert _shapes.COMPOSED[0] - before == composed


def test_an_entry_of_thousands_of_vendor_fields_is_never_composed() -> None:
    fields = b"".join(b"Vendor_%d:  %d kB\n" % (i, i) for i in range(5000))
    data = SLEEP_ENTRIES[0].replace(b"Rss:", fields + b"Rss:", 1)
    before = _shapes.COMPOSED[0]
    got = smapsfmt.parse_smaps(data)
    assert _shapes.COMPOSED[0] == before
    assert _rows(got) == _rows(_parser.parse_smaps_by_grammar(data))
    assert len(got[0].unknown_lines) == 5000


def test_validating_entries_of_distinct_shapes_composes_within_the_budget() -> None:
    """The validator parses each entry that is not the profile's exact shape on its own: those
    calls, each on one entry, compose nothing, so that a text whose every entry has a shape of
    its own costs generic entries, not a composition each (about 8 ms)."""
    data = b"".join(
        SLEEP_ENTRIES[0].replace(b"Rss:", b"Vendor_%d:  0 kB\nRss:" % i, 1) for i in range(300)
    )
    _shapes.SHAPES.clear()  # every shape is new to the cache
    before = _shapes.COMPOSED[0]
    diagnostics = smapsfmt.validate(data)
    assert _shapes.COMPOSED[0] - before <= 8 + 300 // 64
    assert sum(d.rule == "unknown-field" for d in diagnostics) == 300
