"""Batches (smapsfmt._parse.batch): the aggregator fed column by column reaches exactly the state
it reaches mapping by mapping, on every smaps capture of the corpus, on a process shaped here with
thousands of mappings, and on real captures edited into the rare cases (the gate VMA, a batch
of one, a [rollup] entry, sums beyond what a rollup can print, vendor fields, Name lines)."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from support import LIVE, VALID, corpus, fixture_id, is_rollup

import smapsfmt
from smapsfmt._model import Mapping
from smapsfmt._parse.batch import Batch, batches_of
from smapsfmt._rollup.aggregate import summarize
from smapsfmt._rollup.check import check
from smapsfmt._rollup.errors import KB_MAX
from smapsfmt._rollup.knowledge import Knowledge, knowledge, knowledge_from
from smapsfmt._rollup.sums import RUN, Sums, batches, read
from smapsfmt._spec.abi import load_abi

SMAPS = [p for p in corpus(VALID) if not is_rollup(p)]
LIVE_SLEEP = LIVE / "6.18/sleep"
PCP1 = VALID / "external/pcp/procpid-5.5.7-root-007/proc/1"
Item = Batch | Mapping


class _Stream:
    """What the parser's stream of mappings offers the aggregator: its entries as Batches and
    Mappings, through ``_batches()``. Iterating it fails: the aggregator must not."""

    def __init__(self, items: Iterable[object]) -> None:
        self.items = list(items)

    def _batches(self) -> Iterator[object]:
        return iter(self.items)

    def __iter__(self) -> Iterator[Mapping]:
        raise AssertionError("a stream with _batches() is read through it")


def by_add(mappings: Iterable[Mapping], know: Knowledge | None = None) -> Sums:
    """Entry by entry: each mapping alone, as a Batch of one."""
    state = Sums(know or knowledge())
    for mapping in mappings:
        (one,) = batches([mapping])
        assert isinstance(one, Batch) and len(one.line) == 1
        state.add(one)
    return state


def by_batches(items: Iterable[Item], know: Knowledge | None = None) -> Sums:
    state = Sums(know or knowledge())
    for item in batches(items):
        assert isinstance(item, Batch)
        state.add(item)
    return state


def snapshot(state: Sums) -> dict[str, object]:
    """Every attribute of the state; dicts as their items, so that their order counts too."""
    out: dict[str, object] = {}
    for part in dataclasses.fields(state):
        value = getattr(state, part.name)
        out[part.name] = list(value.items()) if isinstance(value, dict) else value
    out["header()"] = state.header()
    return out


def piece(batch: Batch, lo: int, hi: int) -> Batch:
    return Batch(
        batch.labels,
        tuple(column[lo:hi] for column in batch.columns),
        batch.line[lo:hi],
        batch.start[lo:hi],
        batch.end[lo:hi],
        batch.major[lo:hi],
        batch.inode[lo:hi],
        batch.pathname[lo:hi],
        batch.vmflags[lo:hi],
        batch.name[lo:hi],
    )


def cut(items: Iterable[Item], size: Callable[[int], int]) -> list[Item]:
    """Each Batch cut into pieces: the i-th piece has size(i) entries (at least 1)."""
    out: list[Item] = []
    for item in items:
        if not isinstance(item, Batch):
            out.append(item)
            continue
        at, i = 0, 0
        while at < len(item.line):
            step = max(1, size(i))
            out.append(piece(item, at, at + step))
            at, i = at + step, i + 1
    return out


def ways(mappings: list[Mapping]) -> dict[str, list[Item]]:
    """The same entries, batched: as batches_of makes them, one entry per batch, and in pieces
    of uneven sizes (so that every running quantity crosses batch boundaries)."""
    batches = list(batches_of(mappings))
    return {
        "batches_of": batches,
        "one by one": cut(batches, lambda i: 1),
        "uneven": cut(batches, lambda i: (7, 1, 300, 2, 33)[i % 5]),
        "halves": cut(batches, lambda i: max(1, len(mappings) // 2)),
    }


def outcome(run: Callable[[], object]) -> object:
    """What a call gives: its result, or its error as type, message, line and rule."""
    try:
        return ("ok", run())
    except ValueError as exc:
        return (
            type(exc).__name__,
            str(exc),
            getattr(exc, "line", None),
            getattr(exc, "rule", None),
        )


def assert_same(
    mappings: list[Mapping], rollup: smapsfmt.Rollup | None = None, know: Knowledge | None = None
) -> Sums:
    """Batched every way, the state and every result of the aggregator are those of add."""
    expected = by_add(mappings, know)
    want = snapshot(expected)
    for how, items in ways(mappings).items():
        assert snapshot(by_batches(items, know)) == want, how
    if know is not None:
        return expected
    batched = _Stream(batches_of(mappings))
    assert results(batched, rollup) == results(mappings, rollup)
    return expected


def results(source: Iterable[Mapping], rollup: smapsfmt.Rollup | None) -> list[object]:
    """What the aggregator's entry points give for ``source``."""
    know = knowledge()
    runs: list[Callable[[], object]] = [
        lambda: snapshot(read(source, know)),
        lambda: smapsfmt.aggregate(source),
        lambda: summarize(source),
        lambda: smapsfmt.aggregate(source, kernel="4.14"),
    ]
    if rollup is not None:
        runs.append(lambda: check(source, rollup))
        runs.append(lambda: smapsfmt.check_rollup(source, rollup))
    return [outcome(run) for run in runs]


def parse(data: bytes) -> list[Mapping]:
    return list(smapsfmt.parse_smaps(data))


# --- the interface the parser fills -------------------------------------------------------------


def test_a_batch_is_filled_positionally_in_this_order() -> None:
    assert Batch._fields == (
        "labels", "columns", "line", "start", "end", "major", "inode", "pathname", "vmflags",
        "name",
    )  # fmt: skip


@pytest.mark.parametrize("path", SMAPS, ids=fixture_id)
def test_batches_of_keeps_every_entry_in_order(path: Path) -> None:
    mappings = parse(path.read_bytes())
    flat: list[tuple[object, ...]] = []
    for item in batches_of(mappings):
        if isinstance(item, Mapping):
            assert item.unknown_lines
            flat.append(entry(item))
            continue
        assert item.line, "an empty batch"
        for i in range(len(item.line)):
            flat.append(
                (
                    item.line[i], item.start[i], item.end[i], item.major[i], item.inode[i],
                    item.pathname[i], item.vmflags[i], item.name[i],
                    dict(zip(item.labels, (column[i] for column in item.columns), strict=True)),
                )
            )  # fmt: skip
    assert flat == [entry(m) for m in mappings]


def entry(m: Mapping) -> tuple[object, ...]:
    return (
        m.line, m.start, m.end, m.major, m.inode, m.pathname, m.vmflags, m.name,
        dict(m.fields),
    )  # fmt: skip


def test_runs_of_one_shape_are_one_batch() -> None:
    mappings = parse((LIVE / "6.18/many-small/smaps").read_bytes())
    batches = list(batches_of(mappings))
    assert [len(b.line) for b in batches if isinstance(b, Batch)] == [3161]
    assert list(batches_of([])) == []


# --- every capture of the corpus ----------------------------------------------------------------


def _rollup_of(path: Path) -> smapsfmt.Rollup:
    """The capture's own smaps_rollup where it has one, else the sleep capture's."""
    own = path.parent / "smaps_rollup"
    return smapsfmt.parse_rollup(
        (own if own.exists() else LIVE_SLEEP / "smaps_rollup").read_bytes()
    )


@pytest.mark.parametrize("path", SMAPS, ids=fixture_id)
def test_every_capture_gives_the_same_state_and_results_batched(path: Path) -> None:
    mappings = parse(path.read_bytes())
    rollup = _rollup_of(path)
    state = assert_same(mappings, rollup)
    assert state.count == len(mappings)
    if (path.parent / "smaps_rollup").exists():
        # a real pair: proven consistent, fed batch by batch
        assert smapsfmt.check_rollup(_Stream(batches_of(mappings)), rollup) == []
        assert smapsfmt.aggregate(_Stream(batches_of(mappings))).rss == rollup.rss


def test_the_figures_the_aggregator_tests_pin_are_reached_batch_by_batch() -> None:
    """tests/test_aggregate.py pins these for pcp/1 (5.5.7), read mapping by mapping."""
    mappings = parse((PCP1 / "smaps").read_bytes())
    rollup_text = (PCP1 / "smaps_rollup").read_bytes()
    batched = _Stream(batches_of(mappings))
    tampered = re.sub(rb"^Pss:( +)7006 kB$", rb"Pss:\g<1>7018 kB", rollup_text, flags=re.M)
    proof = check(batched, smapsfmt.parse_rollup(tampered), path="ROLLUP")
    found = [d for d in proof.diagnostics if d.severity == "error"]
    assert found[0].render() == (
        "ROLLUP:3:1: rollup-pss-bound: Pss is 7018 kB in the rollup, outside [6998, 7017] kB: "
        "the kernel sums Pss in fixed point (PSS_SHIFT 12) and truncates once, smaps truncates "
        "each of the 233 mappings: from their sum, 6998 kB, to 19 kB more (20 mappings can "
        "carry a fraction of a kB)"
    )
    bounds = {p.name: p.bound for p in check(batched, smapsfmt.parse_rollup(rollup_text)).fields}
    assert (bounds["Pss_Anon"].lo, bounds["Pss_Anon"].hi) == (6056, 6056)  # type: ignore[union-attr]
    assert (bounds["Pss_Shmem"].lo, bounds["Pss_Shmem"].hi) == (0, 0)  # type: ignore[union-attr]
    assert summarize(batched).fields["Rss"].lo == 10540


# --- a live process with thousands of mappings --------------------------------------------------

TARGET = textwrap.dedent(
    """
    import ctypes, mmap, os, signal, sys
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the test
    n, path = int(sys.argv[1]), sys.argv[2]
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.mlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    page = mmap.PAGESIZE
    span = 2 * page
    # n private anonymous regions kept apart by their protections: every second one writable
    # and written (two pages), the others read-only and read (one page)
    base = libc.mmap(None, n * span, 1, 0x22, -1, 0)  # PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS
    for i in range(0, n, 2):
        assert libc.mprotect(base + i * span, span, 3) == 0
        ctypes.memset(base + i * span, 1, span)
    for i in range(1, n, 2):
        ctypes.c_char.from_address(base + i * span).value
    # every 100th writable region locked: Locked, and "lo" in its VmFlags
    for i in range(0, n, 200):
        assert libc.mlock(base + i * span, span) == 0, ctypes.get_errno()
    # shared anonymous memory (shmem: a file on a device with major 0), written
    shared = [mmap.mmap(-1, span) for _ in range(n // 20)]
    for region in shared:
        region.write(b"s" * page)
    # a file mapped privately, read: file pages
    with open(path, "wb") as f:
        f.write(b"f" * 16 * page)
    with open(path, "rb") as f:
        files = [mmap.mmap(f.fileno(), 16 * page, prot=mmap.PROT_READ, flags=mmap.MAP_PRIVATE)
                 for _ in range(8)]
    for region in files:
        region[::page]
    child = os.fork()  # the written pages are now shared with a child: Pss below Rss
    if child == 0:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
        signal.pause()
    print("ready", child, flush=True)
    sys.stdin.read()
    """
)


def test_a_live_process_with_thousands_of_mappings(tmp_path: Path) -> None:
    n = 4000
    target = subprocess.Popen(
        [sys.executable, "-c", TARGET, str(n), str(tmp_path / "file")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    child = 0
    try:
        assert target.stdout is not None
        ready, child_pid = target.stdout.readline().split()
        assert ready == "ready"
        child = int(child_pid)
        for pid in (target.pid, child):
            os.kill(pid, signal.SIGSTOP)
        try:
            data = Path(f"/proc/{target.pid}/smaps").read_bytes()
            rollup = smapsfmt.parse_rollup(Path(f"/proc/{target.pid}/smaps_rollup").read_bytes())
        finally:
            for pid in (target.pid, child):
                os.kill(pid, signal.SIGCONT)
    finally:
        if child:
            os.kill(child, signal.SIGKILL)
        target.kill()
        target.wait()
    mappings = parse(data)
    assert len(mappings) > n
    batches = [b for b in batches_of(mappings) if isinstance(b, Batch)]
    assert max(len(b.line) for b in batches) > n
    state = assert_same(mappings, rollup)
    # what the shaping guarantees reached the batch arithmetic: shared pages (Pss below Rss),
    # shmem, locked regions with "lo", the gate VMA last
    assert state.fractions["Pss"] >= n // 2
    assert state.shmem_high >= n // 20
    locked = sum("lo" in (m.vmflags or ()) for m in mappings)
    assert locked >= n // 200
    assert state.fractions["Locked"] == locked
    assert mappings[-1].pathname == b"[vsyscall]"
    start, ends = state.header()
    assert (start, ends) == (mappings[0].start, {True: mappings[-1].end, False: mappings[-2].end})
    # and the kernel's own rollup of the process agrees, fed batch by batch
    batched = _Stream(batches_of(mappings))
    assert smapsfmt.check_rollup(batched, rollup) == []
    assert smapsfmt.aggregate(batched).rss == rollup.rss


# --- real captures edited into the rare cases ---------------------------------------------------


def _entries(text: bytes) -> list[list[bytes]]:
    """The lines of each entry of a smaps text (ending in a newline)."""
    out: list[list[bytes]] = []
    for line in text.splitlines():
        if re.match(rb"^[0-9a-f]+-[0-9a-f]+ ", line):
            out.append([])
        out[-1].append(line)
    return out


def _join(entries: list[list[bytes]]) -> bytes:
    return b"".join(b"\n".join(lines) + b"\n" for lines in entries)


def _set(entries: list[list[bytes]], index: int, label: bytes, value: int | str) -> int:
    """Give field ``label`` of entry ``index`` the value ``value``; the header's line."""
    lines = entries[index]
    at = next(i for i, line in enumerate(lines) if line.startswith(label + b":"))
    lines[at] = (label + b":").ljust(16) + str(value).encode().rjust(8) + b" kB"
    return sum(len(e) for e in entries[:index]) + 1


SLEEP = (LIVE_SLEEP / "smaps").read_bytes()
SLEEP_ROLLUP = smapsfmt.parse_rollup((LIVE_SLEEP / "smaps_rollup").read_bytes())


def test_the_gate_vma_last_alone_and_not_a_gate() -> None:
    mappings = parse(SLEEP)
    assert mappings[-1].pathname == b"[vsyscall]"
    state = assert_same(mappings, SLEEP_ROLLUP)
    assert state.header() == (
        mappings[0].start,
        {True: mappings[-1].end, False: mappings[-2].end},
    )
    # the gate VMA alone: the address space has no VMA of its own
    gate = _entries(SLEEP)[-1:]
    alone = assert_same(parse(_join(gate)))
    assert alone.header() == (0, {True: mappings[-1].end, False: 0})
    # the same entry with VM_DONTEXPAND ("de") is a special mapping, not the gate
    gate[0][-1] = gate[0][-1].rstrip() + b" de"
    special = assert_same(parse(_join(_entries(SLEEP)[:-1] + gate)))
    assert special.header() == (
        mappings[0].start,
        {True: mappings[-1].end, False: mappings[-1].end},
    )


def test_shapes_that_alternate_make_batches_of_one() -> None:
    """Every second entry without THPeligible, vendor field lines in some (kept as Mappings
    between the Batches), Android Name lines in others, some without Size."""
    entries = _entries(SLEEP)
    for i, lines in enumerate(entries):
        if i % 2:
            lines[:] = [line for line in lines if not line.startswith(b"THPeligible:")]
        if i % 5 == 0:
            lines.insert(-1, b"VendorCount:           4 kB")
        if i % 3 == 0:
            lines.append(b"Name:           [anon:batched]")
        if i % 7 == 3:
            lines[:] = [line for line in lines if not line.startswith(b"Size:")]
    mappings = parse(_join(entries))
    items = list(batches_of(mappings))
    assert sum(isinstance(i, Mapping) for i in items) == (len(entries) + 4) // 5
    assert {len(i.line) for i in items if isinstance(i, Batch)} == {1}
    assert any(name is not None for i in items if isinstance(i, Batch) for name in i.name)
    state = assert_same(mappings, SLEEP_ROLLUP)
    assert state.name_lines and state.sums["VendorCount"] == 4 * ((len(entries) + 4) // 5)


def test_a_rollup_entry_among_the_mappings_is_the_same_mismatch_at_the_same_line() -> None:
    rollup_text = (LIVE_SLEEP / "smaps_rollup").read_bytes()
    line = SLEEP.count(b"\n") + 1
    for text, at in (
        (SLEEP + rollup_text, line),
        (SLEEP + rollup_text + rollup_text, line),  # two in one batch: the first one's line
        (SLEEP + rollup_text + SLEEP, line),
        (rollup_text, 1),
    ):
        mappings = parse(text)
        assert_same(mappings, SLEEP_ROLLUP)
        for source in (_Stream(batches_of(mappings)), mappings):
            with pytest.raises(smapsfmt.KernelMismatch) as info:
                smapsfmt.aggregate(source)
            assert (info.value.line, info.value.rule) == (at, "rollup-kernel-mismatch")
    with pytest.raises(ValueError, match=r"^this is a smaps_rollup, not a smaps"):
        smapsfmt.aggregate(_Stream(batches_of(parse(rollup_text))))


def test_sums_beyond_what_a_rollup_can_print_are_the_same_refusal_at_the_same_line() -> None:
    def edited(*changes: tuple[int, bytes, int | str]) -> tuple[list[Mapping], list[int]]:
        entries = _entries(SLEEP)
        lines = [_set(entries, index, label, value) for index, label, value in changes]
        return parse(_join(entries)), lines

    original = parse(SLEEP)

    def fill(index: int, label: str) -> int:
        """The value that brings the sum of ``label`` to KB_MAX at entry ``index``."""
        return KB_MAX - sum(m.fields[label] for m in original[:index])

    cases = [
        # values of 4300 digits: beyond at the first
        (edited(*[(i, b"Rss", "9" * 4300) for i in range(6)]), 0, "Rss"),
        # each within the range, their sum not: where it crosses
        (edited((0, b"Rss", KB_MAX), (1, b"Rss", 0), (2, b"Rss", KB_MAX)), 2, "Rss"),
        # a field printed later crossing first: the first crossing wins
        (edited((3, b"Pss", fill(3, "Pss")), (4, b"Pss", 1), (9, b"Rss", KB_MAX)), 1, "Pss"),
        # two crossing in one entry: the field printed first
        (
            edited(
                (3, b"Pss", fill(3, "Pss")),
                (3, b"Rss", fill(3, "Rss")),
                (4, b"Pss", 9),
                (4, b"Rss", 9),
            ),
            2,
            "Rss",
        ),
        # in the last entry, the gate VMA's
        (edited((0, b"Swap", KB_MAX), (36, b"Swap", 1)), 1, "Swap"),
    ]
    for (mappings, lines), where, name in cases:
        assert_same(mappings, SLEEP_ROLLUP)
        for source in (_Stream(batches_of(mappings)), mappings):
            with pytest.raises(smapsfmt.OutOfRange) as info:
                smapsfmt.aggregate(source)
            assert (info.value.line, info.value.rule) == (lines[where], "value-range")
            assert str(info.value).startswith(f"the {name} values up to this mapping sum to")
    # at the limit: every sum within it (the sum of all values is not): a rollup
    (mappings, _) = edited((0, b"Rss", KB_MAX - 1812))
    total = sum(m.rss or 0 for m in mappings)
    assert KB_MAX - 1812 < total <= KB_MAX
    state = assert_same(mappings, SLEEP_ROLLUP)
    assert state.grand > KB_MAX and state.beyond is None
    assert smapsfmt.aggregate(_Stream(batches_of(mappings))).rss == total


def test_what_is_not_mappings_is_refused_in_a_stream_of_batches_too() -> None:
    mappings = parse(SLEEP)
    items: list[object] = [*batches_of(mappings[:3]), SLEEP_ROLLUP]
    with pytest.raises(TypeError, match=r"an iterable of Mapping, not an iterable of Rollup$"):
        smapsfmt.aggregate(_Stream(items))
    (batch,) = batches_of(mappings[:3])
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
    empty = piece(batch, 0, 0)
    state = Sums(knowledge())
    state.add(empty)
    assert snapshot(state) == snapshot(Sums(knowledge()))


def _capped(replacement: str) -> Knowledge:
    """The field knowledge of a copy of the ABI document whose invariant that caps Pss says
    ``replacement`` instead."""
    text = load_abi().files["smaps"]
    old = ":Invariant smaps-pss-le-rss: Pss <= Rss"
    assert old in text
    return knowledge_from(
        load_abi(text.replace(old, f":Invariant smaps-pss-le-rss: {replacement}"))
    )


def _some_without_vmflags(path: Path) -> list[Mapping]:
    """A capture with the VmFlags line of every third entry removed: one batch, entries with
    and without VmFlags."""
    entries = _entries(path.read_bytes())
    for lines in entries[::3]:
        lines[:] = [line for line in lines if not line.startswith(b"VmFlags:")]
    return parse(_join(entries))


def test_the_same_state_whatever_caps_the_abi_document_gives() -> None:
    """Locked capped too (by one field, by two), Pss uncapped: every way of counting fractions."""
    knows = [
        _capped("Pss <= Rss and Locked <= Rss"),
        _capped("Pss <= Rss and Locked <= Shared_Clean + Private_Dirty"),
        _capped("Pss >= 0"),
    ]
    assert knows[0].caps["Locked"] == ("Rss",) and "Pss" not in knows[2].caps
    captures = [LIVE / "6.18" / name / "smaps" for name in ("mlocked", "shared-fork", "sleep")]
    for mappings in [parse(p.read_bytes()) for p in captures] + [
        _some_without_vmflags(LIVE / "6.18/mlocked/smaps")
    ]:
        for know in knows:
            assert_same(mappings, know=know)


def test_entries_with_and_without_vmflags_in_one_batch() -> None:
    mappings = _some_without_vmflags(LIVE / "6.18/mlocked/smaps")
    (batch,) = batches_of(mappings)
    assert isinstance(batch, Batch)
    assert 0 < batch.vmflags.count(None) < len(batch.line)
    assert any("lo" in (f or ()) for f in batch.vmflags)
    rollup = smapsfmt.parse_rollup((LIVE / "6.18/mlocked/smaps_rollup").read_bytes())
    state = assert_same(mappings, rollup)
    assert state.vmflags and state.fractions["Locked"] > 0


def test_mappings_one_by_one_are_gathered_into_bounded_batches_in_order() -> None:
    mappings = list(smapsfmt.parse_smaps((LIVE / "6.18/many-small/smaps").read_bytes()))
    assert len(mappings) > 2 * RUN
    items = list(batches(mappings))
    assert all(isinstance(b, Batch) for b in items)
    sizes = [len(b.line) for b in items if isinstance(b, Batch)]
    assert max(sizes) == RUN and sum(sizes) == len(mappings)
    flat = [
        (b.line[i], b.start[i], b.end[i], b.pathname[i], b.vmflags[i], b.name[i],
         dict(zip(b.labels, (c[i] for c in b.columns), strict=True)))
        for b in items if isinstance(b, Batch) for i in range(len(b.line))
    ]  # fmt: skip
    assert flat == [
        (m.line, m.start, m.end, m.pathname, m.vmflags, m.name, dict(m.fields)) for m in mappings
    ]
    # what is not a mapping passes through, between the runs around it
    rollup = smapsfmt.parse_rollup((LIVE / "6.18/sleep/smaps_rollup").read_bytes())
    mixed = list(batches([*mappings[:3], rollup, *mappings[3:5]]))
    assert [type(i).__name__ for i in mixed] == ["Batch", "Rollup", "Batch"]
    with pytest.raises(TypeError, match=r"not an iterable of Rollup$"):
        read([*mappings[:3], rollup], knowledge())
