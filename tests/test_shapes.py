"""Entries of many shapes: every way of the fast path (one composed pattern per shape, in C or
by re; the generic pattern for rare shapes) gives what the grammar gives, and the cost of
composing patterns stays bounded by the number of entries, whatever order the shapes come in."""

from __future__ import annotations

import io
import random
import re
from typing import Any

import pytest
from support import VALID

import smapsfmt
from smapsfmt._parse import fast as _fast
from smapsfmt._parse import generic as _generic
from smapsfmt._parse import parser as _parser

SLEEP = (VALID / "live/6.18/sleep/smaps").read_bytes()
ENTRIES = re.split(rb"(?m)^(?=[0-9a-f]{8,16}-)", SLEEP)[1:]
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
        out.append(_variant(ENTRIES[i % len(ENTRIES)], shape, rng))
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
    entry = _variant(rng.choice(ENTRIES), rng.randrange(1024), rng)
    taken = _generic.entry(entry, 0, len(entry), 7)
    assert taken is not None, f"seed {seed}"
    mapping, end, lines, _key = taken
    want = _rows(_parser._grammar_mappings(entry.decode("latin-1"), None, 7))
    assert (_rows([mapping]), end, lines) == (want, len(entry), entry.count(b"\n")), f"seed {seed}"


@pytest.mark.parametrize(
    "entry",
    [
        ENTRIES[0].replace(b"Rss:", b"Pss:", 1),  # a field twice
        ENTRIES[0].replace(b"\n", b"\nName: a\n", 1) + b"Name: b\n",  # two Name lines
        re.sub(rb"Rss: +[0-9]+", b"Rss: " + b"9" * 5000, ENTRIES[0], count=1),
        ENTRIES[0].replace(b" 00000000 ", b" " + b"f" * 4000 + b" ", 1),
    ],
    ids=["field-twice", "two-names", "long-decimal", "long-hex"],
)
def test_the_generic_pattern_leaves_to_the_grammar_what_it_must(entry: bytes) -> None:
    assert entry != ENTRIES[0]
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
    _fast._SHAPES.clear()  # the cache starts empty: every shape is new to it
    before = _fast.COMPOSED[0]
    for _ in range(60):
        start = _fast.COMPOSED[0]
        smapsfmt.parse_smaps(data)
        assert _fast.COMPOSED[0] - start <= 8 + 1200 // 64
    composed = _fast.COMPOSED[0] - before
    assert composed <= len(keys)
    smapsfmt.parse_smaps(data)
    assert _fast.COMPOSED[0] - before == composed


def test_an_entry_of_thousands_of_vendor_fields_is_never_composed() -> None:
    fields = b"".join(b"Vendor_%d:  %d kB\n" % (i, i) for i in range(5000))
    data = ENTRIES[0].replace(b"Rss:", fields + b"Rss:", 1)
    before = _fast.COMPOSED[0]
    got = smapsfmt.parse_smaps(data)
    assert _fast.COMPOSED[0] == before
    assert _rows(got) == _rows(_parser.parse_smaps_by_grammar(data))
    assert len(got[0].unknown_lines) == 5000


def test_validating_entries_of_distinct_shapes_composes_within_the_budget() -> None:
    """The validator parses each entry that is not the profile's exact shape on its own: those
    calls, each on one entry, compose nothing, so that a text whose every entry has a shape of
    its own costs generic entries, not a composition each (about 8 ms)."""
    data = b"".join(
        ENTRIES[0].replace(b"Rss:", b"Vendor_%d:  0 kB\nRss:" % i, 1) for i in range(300)
    )
    _fast._SHAPES.clear()  # every shape is new to the cache
    before = _fast.COMPOSED[0]
    diagnostics = smapsfmt.validate(data)
    assert _fast.COMPOSED[0] - before <= 8 + 300 // 64
    assert sum(d.rule == "unknown-field" for d in diagnostics) == 300
