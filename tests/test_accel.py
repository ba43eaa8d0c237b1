"""The C module (smapsfmt._parse._match) runs the fast path's entry patterns exactly as re runs
them: the same entries, the same models, the same places where it stops; and where it gives up (a
number Python does not convert, a line too deep for it), the Python code decides as before."""

from __future__ import annotations

import importlib.util
import io
import os
import random
import re
import shlex
import shutil
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutate import mutant
from support import INVALID, VALID, corpus, examples, fixture_id, is_rollup
from test_fast import SEEDS, _both

import smapsfmt
from smapsfmt._parse import accel as _accel
from smapsfmt._parse import fast as _fast
from smapsfmt._parse import fast_rollup as _fast_rollup
from smapsfmt._parse import parser as _parser
from smapsfmt._parse.batch import Batch
from smapsfmt._rollup.knowledge import knowledge
from smapsfmt._rollup.sums import Sums
from smapsfmt._rollup.sums import batches as gathered

ANDROID = "external/android-libmeminfo/testdata1/smaps"  # Name: lines in some entries
needs_c = pytest.mark.skipif(not _accel.available(), reason="smapsfmt._parse._match is not built")


def _by_re(data: bytes) -> list[Any] | None:
    """fast_mappings with re alone: every entry matched by re and built in Python."""
    out = []
    line = 1
    for entry in _fast.entries(data):
        if entry is None:
            return None
        m, shape = entry
        try:
            out.append(_fast.mapping_of(m, shape, line))
        except ValueError:
            return None
        line += _fast.lines_in(m, shape)
    return out


def _rows(mappings: list[Any] | None) -> list[tuple[object, ...]] | None:
    if mappings is None:
        return None
    return [
        (m.line, m.start, m.end, m.perms, m.offset, m.major, m.minor, m.inode, m.pathname,
         dict(m.fields), m.unknown_lines, m.vmflags, m.name, m.name_after_fields)
        for m in mappings
    ]  # fmt: skip


@needs_c
def test_the_type_stub_is_installed_and_names_what_the_module_has() -> None:
    import ast

    spec = importlib.util.find_spec("smapsfmt._parse._match")
    assert spec is not None and spec.origin is not None
    stub = Path(spec.origin).with_name("_match.pyi")
    assert stub.is_file(), f"{stub} is not installed next to the C module"
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    module = importlib.import_module("smapsfmt._parse._match")
    public = {name for name in dir(module) if not name.startswith("_")}
    assert set(classes) == public
    for name, node in classes.items():
        stubbed = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
        made = {n for n in vars(getattr(module, name)) if not n.startswith("_")}
        assert stubbed - {"__init__"} == made, name
    # The constructor's parameters are the C module's keywords, in its order.
    init = next(f for f in classes["Program"].body if getattr(f, "name", "") == "__init__")
    assert isinstance(init, ast.FunctionDef)
    params = [arg.arg for arg in init.args.args[1:]]
    values: list[object] = [(), 0, ((0, 0, 0),), None, ("line", "fields"), (), (), 0, 1, 1, 8]
    made = module.Program(**dict(zip(params, values, strict=True)))
    assert isinstance(made, module.Program)  # the stub's parameter names are its keywords


def _same(data: bytes) -> None:
    assert _rows(_fast.fast_mappings(data)) == _rows(_by_re(data))


def test_the_c_module_is_built_where_a_c_compiler_is() -> None:
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) on this machine")
    # Built, whether in use or not (SMAPSFMT_PURE_PYTHON=1 turns it off, not the build).
    built = importlib.util.find_spec("smapsfmt._parse._match") is not None
    assert built, "a C compiler is here, yet smapsfmt._parse._match was not built"
    pure = os.environ.get("SMAPSFMT_PURE_PYTHON", "") not in ("", "0")
    assert _accel.available() is not pure, f"SMAPSFMT_PURE_PYTHON={pure:d} is not obeyed"


@pytest.mark.parametrize("path", corpus(VALID) + corpus(INVALID), ids=fixture_id)
def test_c_equals_re_on_the_corpus(path: Path) -> None:
    _same(path.read_bytes())


@needs_c
def test_the_c_module_takes_every_entry_of_real_captures() -> None:
    for path in corpus(VALID):
        data = path.read_bytes()
        _fast.fast_mappings(data)  # learns the shapes
        pos, line, out, by_re = 0, 1, [], 0
        while pos < len(data):
            shape = next(s for s in _fast.RECENT if s.regex.match(data, pos))
            if shape.program is None:
                assert shape.unknown, path  # only shapes with vendor fields stay with re
                pos = shape.regex.match(data, pos).end()
                by_re += 1
                continue
            start = pos
            pos, line, status = shape.program.run(data, pos, line, out)
            assert status == 0 and pos > start, (path, start)  # takes what re matches
        assert len(out) + by_re == len(smapsfmt.parse_smaps(data)), path
        assert len(out) > by_re, path


@pytest.mark.property
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), salt=st.integers(0, 2**32), rounds=st.integers(1, 3))
def test_c_equals_re_on_mutations(seed: Path, salt: int, rounds: int) -> None:
    _same(mutant(seed.read_bytes(), salt, rounds))


ENTRY = (VALID / "live/6.18/sleep/smaps").read_bytes().split(b"\n")


def _entry(**replace: bytes) -> bytes:
    """The first entry of a real capture, with some lines replaced (by their label)."""
    lines = ENTRY[: ENTRY.index(next(x for x in ENTRY if x.startswith(b"VmFlags"))) + 1]
    out = []
    for line in lines:
        label = line.split(b":")[0].decode() if b":" in line[:20] else "header"
        out.append(replace.get(label, line))
    return b"\n".join(out) + b"\n"


@pytest.mark.parametrize(
    "case",
    [
        {"Rss": b"Rss: " + b"7" * 5000 + b" kB"},  # beyond Python's int digit limit
        {"Rss": b"Rss: " + b"9" * 40 + b" kB"},  # beyond u64: a Python int still
        {"VmFlags": b"VmFlags:" + b" rd" * 5000 + b" "},  # iterated: no recursion per flag
        {"header": ENTRY[0].replace(b" 00000000 ", b" " + b"f" * 4000 + b" ", 1)},
        {"header": ENTRY[0].replace(b" 00000000 ", b" " + b"f" * 30 + b" ", 1)},
    ],
    ids=["5000-digit", "40-digit", "deep-vmflags", "4000-hex-digit", "30-hex-digit"],
)
def test_what_the_c_module_gives_up_the_python_code_decides(case: dict[str, bytes]) -> None:
    data = _entry() + _entry(**case) + _entry()
    _same(data)
    _both(data, rollup=False)  # and the whole parser still equals the grammar


# --- the matcher itself, on patterns of the same kinds as the entry patterns -----------------

PATTERNS = [
    rb"(?:\ [!-~]{2})*(?:\ )?(?:\n|\Z)",
    rb"([0-9]+)(?:\ ([^\n\x00]*))?\n",
    rb"(a|ab)(c|bcd)(d*)",
    rb"(?:ab)*a(b?)",
    rb"([a-c]{2,3})([b-d]+)(?=d|\Z)",
    rb"x([ \t]+)([0-9]+)(?: kB)?(?:\n|\Z)",
    rb"(?:x([0-9]+))?(?:\n|y)",  # an optional part never given back
    rb"(?:\ ([0-9]+))?([a-d ]*)\n",  # what follows may start like it: given back whole
    rb"(?:a(b|bc))?(d?)\n",  # with alternatives inside that both match: backtracking
    rb"(?:a(b*))?(b)",  # its repetition gives back characters: backtracking
    rb"((?:ab)*)(ab)c",  # iterations given back, last first
    rb"((?:x([0-9]))+)(\n)",  # iterations never given back
    rb"((?:a[0-9])*)(a1)?(\n|\Z)",  # given back whole, before the end of the text
    rb"(0[0-9a-d]{3}|[1-9a-d][0-9a-d]{3,7})-",  # the first digit tells the branch
    rb"( {3}[0-9]| {2}[0-9]{2}| [0-9]{3}|[0-9]{4,6}) kB",  # the blanks tell the branch
    rb"([0-9a-d]{2}|[1-9a-d][0-9a-d]{2}):",  # both may match at one place: backtracking
    rb"(?:a|ab)(c?)",  # one branch starts the other
    rb"(?:a(b|cd))?(d?)\n",  # exclusive alternatives inside: never given back
]


def test_repetitions_run_by_the_least_backtracking_that_is_exact() -> None:
    def modes(pattern: bytes) -> list[int]:
        nodes = _accel.translate(re.compile(pattern))
        return [n[3] for n in nodes if n[0] == _accel.REP and n[4][0][0] != _accel.SET]

    keep, iterate, general = _accel.KEEP, _accel.ITERATE, _accel.GENERAL
    assert modes(PATTERNS[0]) == [iterate]  # VmFlags: a blank may follow its mnemonics
    assert modes(PATTERNS[1]) == [keep]  # the header's pathname part
    assert modes(PATTERNS[6]) == [keep]
    assert modes(PATTERNS[7]) == [iterate]
    assert modes(PATTERNS[8]) == modes(PATTERNS[9]) == [general]
    assert modes(PATTERNS[10]) == [iterate]
    assert modes(PATTERNS[11]) == [keep]
    assert modes(PATTERNS[17]) == [keep]
    # an optional line whose value is one of exclusive alternatives (validate's exact widths)
    assert modes(rb"(?:a( {2}[0-9]|[0-9]{3,5})\n)?(b?)\n") == [keep]


def test_alternatives_of_which_one_at_most_can_match_leave_no_choice_open() -> None:
    def modes(pattern: bytes) -> list[int]:
        return [n[2] for n in _accel.translate(re.compile(pattern)) if n[0] == _accel.ALT]

    exclusive, general = _accel.EXCLUSIVE, _accel.GENERAL
    assert modes(PATTERNS[13]) == modes(PATTERNS[14]) == [exclusive]
    assert modes(PATTERNS[15]) == modes(PATTERNS[16]) == [general]
    assert modes(PATTERNS[2]) == [general, exclusive]  # a|ab, then c|bcd


def _groups_program(pattern: re.Pattern[bytes]) -> Any:
    recipe = [(_accel.SKIP, 0, 0)] + [(_accel.RAW, 2 + g, 0) for g in range(pattern.groups)]
    slots = ("line", "fields", *(f"g{g}" for g in range(pattern.groups)))
    return _accel.program(pattern, recipe, None, slots, (), (), 1, 3571)


@needs_c
@settings(max_examples=examples(600), deadline=None)
@given(
    which=st.integers(0, len(PATTERNS) - 1),
    text=st.text(alphabet="abcdx 0123\t\n\x00kB!~-:", max_size=24).map(str.encode),
)
def test_the_matcher_matches_as_re_does(which: int, text: bytes) -> None:
    pattern = re.compile(PATTERNS[which])
    program = _groups_program(pattern)
    assert program is not None
    sinks: tuple[list[object] | None, ...] = ([], None, *([] for _ in range(pattern.groups)))
    pos, _line, status = program.run(text, 0, 1, None, sinks, (), 1)
    assert status == 0
    m = pattern.match(text)
    if m is None or m.end() == 0:
        assert pos == 0
        return
    assert pos == m.end()
    assert [sink[0] for sink in sinks[2:]] == list(m.groups())  # type: ignore[index]


@needs_c
def test_backtracking_deeper_than_the_c_module_goes_gives_up() -> None:
    pattern = re.compile(rb"((?:a|ab)*)c")  # alternatives: one level of recursion per "a"
    program = _groups_program(pattern)
    sinks: tuple[list[object] | None, ...] = ([], None, [])
    assert program.run(b"a" * 100 + b"c", 0, 1, None, sinks, (), 1) == (101, 2, 0)
    assert sinks[2] == [b"a" * 100]
    sinks = ([], None, [])
    assert program.run(b"a" * 5000 + b"c", 0, 1, None, sinks, (), 1) == (0, 1, 1)
    assert sinks == ([], None, [])  # nothing is kept of an entry it gives up


def test_patterns_beyond_the_c_module_stay_with_re() -> None:
    for source in (rb"a+?b", rb"(?i)ab", rb"(a)\1", rb"(?<=a)b", rb"(?!a)b"):
        pattern = re.compile(source)
        assert _groups_program(pattern) is None


@needs_c
def test_a_program_refuses_a_bad_recipe() -> None:
    pattern = re.compile(rb"(a)")
    with pytest.raises(ValueError, match="recipe"):
        _accel.program(pattern, [(_accel.SKIP, 0, 0)], None, ("line", "fields"), (), (), 1, 9)
    with pytest.raises(ValueError, match="out of range"):
        _accel.program(
            pattern, [(_accel.SKIP, 0, 0), (_accel.RAW, 7, 0)], None, ("line", "fields"),
            (), (), 1, 9,
        )  # fmt: skip
    with pytest.raises(ValueError, match="lines"):
        _accel.program(pattern, [(_accel.SKIP, 0, 0), (_accel.RAW, 0, 0)], None,
                       ("line", "fields"), (), (), -1, 9)  # fmt: skip
    with pytest.raises(ValueError, match="alternation's mode"):
        _accel._match.Program(
            ((_accel.ALT, (((_accel.LIT, b"a"),),), 2),), 0, ((_accel.SKIP, 0, 0),), None,
            ("line", "fields"), (), (), 0, 1, 1, 9,
        )  # fmt: skip
    with pytest.raises(ValueError, match="mode"):
        _accel._match.Program(
            ((_accel.REP, 0, -1, 3, ((_accel.LIT, b"a"),)),), 0, ((_accel.SKIP, 0, 0),), None,
            ("line", "fields"), (), (), 0, 1, 1, 9,
        )  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        b"00400000-00401000 r--p 00000000 00:00 0\nRss: 0 kB\nVmFlags:\n",  # empty name, flags
        b"00400000-00401000 r--p 00000000 00:00 0 r--p\nRss: 0 kB\nVmFlags: rd\n",  # perms twice
        b"00400000-00401000 r--p 00000000 00:00 0  rd\nRss: 0 kB\nVmFlags: rd\nName: rd\n",
    ],
    ids=["empty-path-and-flags", "path-like-perms", "path-like-flags"],
)
def test_equal_texts_of_different_parts_convert_apart(data: bytes) -> None:
    _same(data + data)
    mapping = smapsfmt.parse_smaps(data)[0]
    assert isinstance(mapping.pathname, bytes) and isinstance(mapping.perms, str)
    assert isinstance(mapping.vmflags, tuple)


@needs_c
@pytest.mark.parametrize("path", [p for p in corpus(VALID) if is_rollup(p)], ids=fixture_id)
def test_a_rollup_sampled_again_is_parsed_in_c_as_by_the_grammar(path: Path) -> None:
    data = path.read_bytes()
    for _ in range(2):  # the second time, the C program of the first call's shape runs
        _both(data, rollup=True)
        assert _fast_rollup.ROLLUP_PROGRAM and _fast_rollup.ROLLUP_PROGRAM[0] is not None
    tampered = data.replace(b"[rollup]", b"[rollux]")
    _both(tampered, rollup=True)


@needs_c
def test_successive_samples_keep_only_the_fields_printed_alike() -> None:
    """A sampler's reads in a row: the C program starts each from the entry it built last, so
    that a field printed alike keeps its value; every field that changed, changes."""
    seed = 20261205
    rng = random.Random(seed)
    lines = (VALID / "live/6.18/self-python/smaps_rollup").read_bytes().split(b"\n")
    labels = [i for i, line in enumerate(lines) if line.endswith(b" kB")]
    for sample in range(60):
        changed = list(lines)
        for i in rng.sample(labels, rng.randrange(len(labels) + 1)):
            label, _, _ = changed[i].partition(b":")
            value = b"%d" % rng.choice([0, 1, 4, 10, 99, 1000, 123456, 2**40, 2**64 - 1])
            changed[i] = label + b": " + value.rjust(15 - len(label), b" ") + b" kB"
        data = b"\n".join(changed)
        got = smapsfmt.parse_rollup(data)
        want = _parser.parse_rollup_by_grammar(data)
        assert got == want, f"seed {seed}, sample {sample}"
    assert _fast_rollup.ROLLUP_PROGRAM and _fast_rollup.ROLLUP_PROGRAM[0] is not None


# --- columns for the aggregator -----------------------------------------------------------------

SMAPS = [p for p in corpus(VALID) if not is_rollup(p) and p.suffix not in (".json", ".md")]


def _summary(smaps: Any) -> object:
    try:
        return smapsfmt.aggregate(smaps)
    except ValueError as exc:
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("path", SMAPS, ids=fixture_id)
def test_the_aggregator_reads_the_stream_in_columns_as_mapping_by_mapping(path: Path) -> None:
    data = path.read_bytes()
    by_mapping = _summary(list(smapsfmt.iter_smaps(io.BytesIO(data))))
    assert _summary(smapsfmt.iter_smaps(io.BytesIO(data))) == by_mapping
    # cut into small pieces: entries of one run arrive in several calls
    pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    assert _summary(smapsfmt.iter_smaps(pieces)) == by_mapping


@needs_c
def test_a_stream_of_many_mappings_reaches_the_aggregator_in_batches() -> None:
    data = (VALID / "live/6.18/many-small/smaps").read_bytes()
    items = _fast.fast_batches(data)
    assert items is not None
    batches = [item for item in items if isinstance(item, Batch)]
    assert batches and sum(len(b.line) for b in batches) > 0.9 * len(smapsfmt.parse_smaps(data))
    assert all(len(b.line) >= 3 for b in batches)  # short runs come as Mappings
    flat = [m for m in smapsfmt.parse_smaps(data)]
    first = batches[0]
    at = next(i for i, m in enumerate(flat) if m.line == first.line[0])
    for j, label in enumerate(first.labels):
        assert first.columns[j] == [m.fields[label] for m in flat[at : at + len(first.line)]]


@needs_c
@pytest.mark.parametrize("capture", [ANDROID, "live/6.18/many-small/smaps"])
def test_a_program_reads_the_data_up_to_end_as_if_it_were_cut_there(capture: str) -> None:
    data = (VALID / capture).read_bytes()
    _fast.fast_mappings(data)  # learns the shape
    program = _fast.RECENT[0].program
    rng = random.Random(capture)
    headers = [m.start() + 1 for m in re.finditer(rb"\n(?=[0-9a-f]+-)", data)]
    cuts = [0, 1, len(data) - 1, *rng.sample(range(len(data)), 40), *rng.sample(headers, 10)]
    for cut in cuts:
        out: list[Any] = []
        got = program.run(data, 0, 1, out, None, None, -1, cut)
        want_out: list[Any] = []
        assert got == program.run(data[:cut], 0, 1, want_out), cut
        assert _rows(out) == _rows(want_out), cut
    for end in (-1, len(data), len(data) + 5):  # no end, or one past the data: all of it
        assert program.run(data, 0, 1, [], None, None, -1, end) == program.run(data, 0, 1, [])


@needs_c
def test_entries_with_and_without_a_name_line_are_one_run() -> None:
    """Android prints a Name: line for some mappings only: the two kinds take turns, and one
    program takes both, each entry with its own number of lines."""
    data = (VALID / ANDROID).read_bytes()
    mappings = smapsfmt.parse_smaps(data)
    named = sum(m.name is not None for m in mappings)
    assert 0 < named < len(mappings)
    items = _fast.fast_batches(data)
    assert items is not None and [type(item) for item in items] == [Batch]
    (batch,) = items
    assert batch.line == [m.line for m in mappings]
    assert batch.name == [m.name for m in mappings]
    assert batch.start == [m.start for m in mappings]
    for label, column in zip(batch.labels, batch.columns, strict=True):
        assert column == [m.fields[label] for m in mappings]


def test_the_aggregator_refuses_a_batch_that_is_not_one() -> None:
    """A Batch filled wrong (a list of another length, a column missing, a label twice) is
    refused, not summed; an empty one adds nothing. No public call hands the aggregator one:
    only the fast path's columns could (test_batch.py holds every public way to the same
    result)."""
    mappings = smapsfmt.parse_smaps((VALID / "live/6.18/sleep/smaps").read_bytes())
    (batch,) = gathered(mappings[:3])
    assert isinstance(batch, Batch)
    broken = [
        batch._replace(line=batch.line[:2]),
        batch._replace(columns=batch.columns[:-1]),
        batch._replace(vmflags=[*batch.vmflags, None]),
        batch._replace(labels=(*batch.labels[:-1], batch.labels[0])),
    ]
    for bad in broken:
        with pytest.raises(ValueError, match=r"^not a Batch: "):
            Sums(knowledge()).add(bad)
    state = Sums(knowledge())
    state.add(Batch(batch.labels, tuple([] for _ in batch.labels), [], [], [], [], [], [], [], []))
    assert state == Sums(knowledge())


def test_a_stream_partly_iterated_is_aggregated_from_where_it_stands() -> None:
    data = (VALID / "live/6.18/sleep/smaps").read_bytes()
    stream = smapsfmt.iter_smaps(io.BytesIO(data))
    skipped = next(stream)
    rest = smapsfmt.parse_smaps(data)[1:]
    assert skipped == smapsfmt.parse_smaps(data)[0]
    assert _summary(stream) == _summary(list(rest))
