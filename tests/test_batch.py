"""The aggregator reaches the same result however the parser hands it the mappings: on every
smaps capture of the corpus, on a process shaped here with thousands of mappings, and on real
captures edited into the rare cases (the gate VMA, batches of one, a [rollup] entry, sums beyond
what a rollup can print, vendor fields, Name lines, entries with and without VmFlags, every way
the ABI document can cap a field summed in fixed point, a profile that deviates from the
invariant that gates Locked).

The aggregator sums Batches: runs of entries of one shape, column by column (each way of giving
it a text, and the path it takes, is in batch_ways.py). Mappings given parsed are gathered into
Batches by the aggregator itself, at most 256 entries of one shape each: that is the reference
here, ``mappings``, the per-mapping path. The stream of smapsfmt.iter_smaps is read through the
parser's own Batches (with the C module, the runs it decides in one scan; the pure-Python parser
gives Mappings, gathered as above), and fed in pieces it is summed in Batches of the pieces'
sizes (with the C module: of one entry to seven, or uneven; the parser is made to learn each
text's shapes first, so that it takes even a piece of one entry in C). Every way must give
exactly what the reference gives:
the rollup the aggregator finds for the text, and those of 4.14 (its range ends with the gate
VMA) and 4.19 (it ends before it), each with every field's value and interval (whose reasons
state each sum, the mappings that can carry a fraction of a kB, the caps and the split of Pss)
or the refusal (KernelMismatch or OutOfRange: type, message, line, rule); and every diagnostic
of check_rollup against the capture's rollup and against a rollup with a line for each of the
text's field labels (which states the sum of each field, those the specification does not name
too). A sum, a bound, the header's range, the dating, a verdict or an error that depended on
where the Batches end would differ there.

On the pure-Python path (SMAPSFMT_PURE_PYTHON=1) the stream hands over Mappings and every way
gathers them alike: the Batches of other sizes are made on the C path (the suite runs on both).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from batch_ways import by_entries, every_way, probe_rollup
from support import LIVE, ROOT, VALID, corpus, fixture_id, is_rollup

import smapsfmt
from smapsfmt.spec import SMAPS_PATH

SEED = 1409
SMAPS = [p for p in corpus(VALID) if not is_rollup(p)]
LIVE_SLEEP = LIVE / "6.18/sleep"
PCP1 = VALID / "external/pcp/procpid-5.5.7-root-007/proc/1"
# 4.14's layout (its range ends with the gate VMA, last here), six entries
ANDROID = VALID / "external/android-libmeminfo/testdata1/smaps_short"
# The largest sum a smaps_rollup prints: its u64 byte counters >> 10 (smapsfmt.aggregate).
KB_MAX = (2**64 - 1) >> 10
CARRY = re.compile(r"\((\d+) mappings? can carry a fraction of a kB\)")
COUNT = re.compile(r"smaps truncates each of the (\d+) mappings?")
SHMEM_HIGH = re.compile(r"on devices with major 0 \(tmpfs, shm\), (\d+) kB")


def assert_same(data: bytes, rollup: smapsfmt.Rollup | None = None, seed: int = SEED) -> list[Any]:
    """Every way gives what the mappings give (module docstring); that result."""
    rollups = [rollup or SLEEP_ROLLUP, probe_rollup(data)]
    found = every_way(data, rollups, seed)
    want = found.pop("mappings")
    for how, got in found.items():
        assert got == want, how
    return want


def stream(data: bytes) -> smapsfmt.AggregatedRollup:
    """The rollup of the text, from the parser's Batches."""
    return smapsfmt.aggregate(smapsfmt.iter_smaps([data]))


def carrying(result: smapsfmt.AggregatedRollup, name: str) -> int:
    """How many mappings can carry a fraction of a kB of ``name``, as its interval says."""
    match = CARRY.search(result.intervals[name].why)
    assert match is not None, result.intervals[name]
    return int(match.group(1))


def header_range(data: bytes, kernel: str | None = None) -> tuple[int, int]:
    result = smapsfmt.aggregate(smapsfmt.iter_smaps([data]), kernel=kernel)
    return result.start, result.end


def parse(data: bytes) -> list[smapsfmt.Mapping]:
    return list(smapsfmt.parse_smaps(data))


def longest_run(mappings: Sequence[smapsfmt.Mapping]) -> int:
    """The most consecutive mappings of one shape (the same field labels in the same order)."""
    return max(
        (len(list(run)) for _, run in groupby(tuple(m.fields) for m in mappings)), default=0
    )


# --- the ways ------------------------------------------------------------------------------------


def test_the_pieces_of_a_stream_are_decided_one_by_one() -> None:
    """The stream decides the entries of a piece when the piece arrives, before it reads the
    next (so the parser's Batches end where the pieces end): the k-th piece's mappings come out
    once k pieces are read."""
    data = (LIVE_SLEEP / "smaps").read_bytes()
    sizes = (1, 3, 1, 1, 4, 2, 7)
    pieces = by_entries(data, sizes)
    assert b"".join(pieces) == data
    read = 0

    def feed() -> Any:
        nonlocal read
        for piece in pieces:
            read += 1
            yield piece

    seen = [read for _ in smapsfmt.iter_smaps(feed())]
    decided, at, turn = [], 0, 0
    while at < len(seen):
        size = sizes[turn % len(sizes)]
        decided += [turn + 1] * min(size, len(seen) - at)
        at, turn = at + size, turn + 1
    assert seen == decided


# --- every capture of the corpus ----------------------------------------------------------------


def _rollup_of(path: Path) -> smapsfmt.Rollup:
    """The capture's own smaps_rollup where it has one, else the sleep capture's."""
    own = path.parent / "smaps_rollup"
    return smapsfmt.parse_rollup(
        (own if own.exists() else LIVE_SLEEP / "smaps_rollup").read_bytes()
    )


@pytest.mark.parametrize("path", SMAPS, ids=fixture_id)
def test_every_capture_gives_the_same_results_every_way(path: Path) -> None:
    data = path.read_bytes()
    rollup = _rollup_of(path)
    assert_same(data, rollup)
    mappings = parse(data)
    result = stream(data)
    if mappings:
        assert carrying(result, "Pss") <= len(mappings)
        match = COUNT.search(result.intervals["Pss"].why)
        assert match is not None and int(match.group(1)) == len(mappings)
    if (path.parent / "smaps_rollup").exists():
        # a real pair: proven consistent, fed batch by batch
        assert smapsfmt.check_rollup(smapsfmt.iter_smaps([data]), rollup) == []
        assert result.rss == rollup.rss


def test_the_figures_the_aggregator_tests_pin_are_reached_batch_by_batch() -> None:
    """tests/test_aggregate.py pins these for pcp/1 (5.5.7), read mapping by mapping."""
    data = (PCP1 / "smaps").read_bytes()
    pieces = by_entries(data, (7, 1, 300, 2, 33))
    rollup_text = (PCP1 / "smaps_rollup").read_bytes()
    tampered = re.sub(rb"^Pss:( +)7006 kB$", rb"Pss:\g<1>7018 kB", rollup_text, flags=re.M)
    found = smapsfmt.check_rollup(
        smapsfmt.iter_smaps(pieces), smapsfmt.parse_rollup(tampered), path="ROLLUP"
    )
    errors = [d for d in found if d.severity == "error"]
    assert errors[0].render() == (
        "ROLLUP:3:1: rollup-pss-bound: Pss is 7018 kB in the rollup, outside [6998, 7017] kB: "
        "the kernel sums Pss in fixed point (PSS_SHIFT 12) and truncates once, smaps truncates "
        "each of the 233 mappings: from their sum, 6998 kB, to 19 kB more (20 mappings can "
        "carry a fraction of a kB)"
    )
    # the split of Pss, bounded with the rollup's own Pss (7006 kB): as a check states it
    split = re.sub(rb"^(Pss_Anon: +)6056 kB$", rb"\g<1>6057 kB", rollup_text, flags=re.M)
    split = re.sub(rb"^(Pss_Shmem: +)0 kB$", rb"\g<1>1 kB", split, flags=re.M)
    found = smapsfmt.check_rollup(smapsfmt.iter_smaps(pieces), smapsfmt.parse_rollup(split))
    outside = [d.message.split(":")[0] for d in found if d.line in (4, 6)]
    assert outside == [
        "Pss_Anon is 6057 kB in the rollup, outside 6056 kB",
        "Pss_Shmem is 1 kB in the rollup, outside 0 kB",
    ]
    intervals = smapsfmt.aggregate(smapsfmt.iter_smaps(pieces)).intervals
    assert (intervals["Pss_Anon"].lo, intervals["Pss_Anon"].hi) == (6056, 6056)
    assert (intervals["Pss_Shmem"].lo, intervals["Pss_Shmem"].hi) == (0, 0)
    assert intervals["Rss"].lo == 10540
    assert (
        smapsfmt.check_rollup(smapsfmt.iter_smaps(pieces), smapsfmt.parse_rollup(rollup_text))
        == []
    )


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


# Fields that other processes change in a stopped target: the Shared_/Private_ split and Pss
# follow each page's mapcount (libc and the interpreter are mapped by every Python process
# that starts or exits), Referenced the kernel's page aging under memory pressure.
MOVED_BY_OTHERS = ("Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced")


def _stopped_pair(pid: int, child: int) -> tuple[bytes, smapsfmt.Rollup]:
    """smaps, then smaps_rollup, of ``pid``, read while it and its child are stopped."""
    for each in (pid, child):
        os.kill(each, signal.SIGSTOP)
    try:
        data = Path(f"/proc/{pid}/smaps").read_bytes()
        return data, smapsfmt.parse_rollup(Path(f"/proc/{pid}/smaps_rollup").read_bytes())
    finally:
        for each in (pid, child):
            os.kill(each, signal.SIGCONT)


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
        for _ in range(20):  # until no page's mapcount or age moved between the two reads
            data, rollup = _stopped_pair(target.pid, child)
            totals = smapsfmt.parse_smaps(data).totals()
            if all(totals.get(name) == rollup.fields.get(name) for name in MOVED_BY_OTHERS):
                break
    finally:
        if child:
            os.kill(child, signal.SIGKILL)
        target.kill()
        target.wait()
    mappings = parse(data)
    assert len(mappings) > n
    assert longest_run(mappings) > n  # one run of one shape: one Batch with the C module
    assert_same(data, rollup)
    # what the shaping guarantees reached the batch arithmetic: shared pages (Pss below Rss),
    # shmem, locked regions with "lo", the gate VMA last
    result = stream(data)
    assert carrying(result, "Pss") >= n // 2
    shmem = SHMEM_HIGH.search(result.intervals["Pss_Shmem"].why)
    assert shmem is not None and int(shmem.group(1)) >= n // 20
    locked = sum("lo" in (m.vmflags or ()) for m in mappings)
    assert locked >= n // 200
    assert carrying(result, "Locked") == locked
    assert mappings[-1].pathname == b"[vsyscall]"
    assert (result.start, result.end) == (mappings[0].start, mappings[-2].end)
    # and the kernel's own rollup of the process agrees, fed batch by batch
    assert smapsfmt.check_rollup(smapsfmt.iter_smaps([data]), rollup) == []
    assert result.rss == rollup.rss


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


def _not_a_gate(text: bytes) -> bytes:
    """``text`` with VM_DONTEXPAND ("de") added to its last entry's VmFlags."""
    entries = _entries(text)
    assert entries[-1][-1].startswith(b"VmFlags:")
    entries[-1][-1] = entries[-1][-1].rstrip() + b" de"
    return _join(entries)


def test_the_gate_vma_last_alone_and_not_a_gate() -> None:
    """The rollup's range ends with the gate VMA ([vsyscall], last) in 4.14-4.18 (the android
    capture's layout), before it from 4.19 on (the sleep capture's 6.18)."""
    sleep, android_text = SLEEP, ANDROID.read_bytes()
    mappings, android = parse(sleep), parse(android_text)
    assert mappings[-1].pathname == android[-1].pathname == b"[vsyscall]"
    for text in (sleep, android_text):
        assert_same(text)
    assert header_range(sleep) == (mappings[0].start, mappings[-2].end)
    assert header_range(android_text, "4.14") == (android[0].start, android[-1].end)
    assert header_range(android_text, "4.19") == (android[0].start, android[-2].end)
    # the gate VMA alone: the address space has no VMA of its own
    alone, android_alone = _join(_entries(sleep)[-1:]), _join(_entries(android_text)[-1:])
    for text in (alone, android_alone):
        assert_same(text)
    assert header_range(alone) == (0, 0)
    assert header_range(android_alone, "4.14") == (0, android[-1].end)
    assert header_range(android_alone, "4.19") == (0, 0)
    # the same entry with VM_DONTEXPAND ("de") is a special mapping, not the gate
    special, android_special = _not_a_gate(sleep), _not_a_gate(android_text)
    for text in (special, android_special):
        assert_same(text)
    assert header_range(special) == (mappings[0].start, mappings[-1].end)
    assert header_range(android_special, "4.14") == (android[0].start, android[-1].end)
    assert header_range(android_special, "4.19") == (android[0].start, android[-1].end)


def test_shapes_that_alternate_make_batches_of_one() -> None:
    """Every second entry without THPeligible, vendor field lines in some (Mappings with lines
    the specification does not name, between the runs), Android Name lines in others, some
    without Size."""
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
    data = _join(entries)
    mappings = parse(data)
    assert sum(bool(m.unknown_lines) for m in mappings) == (len(entries) + 4) // 5
    assert longest_run(mappings) == 1
    assert any(m.name is not None for m in mappings)
    found = assert_same(data, SLEEP_ROLLUP)
    # the vendor field's sum, as check_rollup states it against the rollup with its line
    vendor = [d for d in found[-1][1] if "VendorCount is not in the specification" in d[0]]
    assert len(vendor) == 1
    assert f"sum to {4 * ((len(entries) + 4) // 5)} kB" in vendor[0][0]


def test_a_rollup_entry_among_the_mappings_is_the_same_mismatch_at_the_same_line() -> None:
    rollup_text = (LIVE_SLEEP / "smaps_rollup").read_bytes()
    line = SLEEP.count(b"\n") + 1
    for text, at in (
        (SLEEP + rollup_text, line),
        (SLEEP + rollup_text + rollup_text, line),  # two in one batch: the first one's line
        (SLEEP + rollup_text + SLEEP, line),
        (SLEEP + rollup_text + SLEEP + rollup_text, line),  # in two batches: the first one's
        (rollup_text, 1),
    ):
        found = assert_same(text, SLEEP_ROLLUP)
        assert found[0][2:] == [at, "rollup-kernel-mismatch"], text[-200:]
        with pytest.raises(smapsfmt.KernelMismatch) as info:
            stream(text)
        assert (info.value.line, info.value.rule) == (at, "rollup-kernel-mismatch")
    with pytest.raises(ValueError, match=r"^this is a smaps_rollup, not a smaps"):
        stream(rollup_text)


def test_sums_beyond_what_a_rollup_can_print_are_the_same_refusal_at_the_same_line() -> None:
    def edited(*changes: tuple[int, bytes, int | str]) -> tuple[bytes, list[int]]:
        entries = _entries(SLEEP)
        lines = [_set(entries, index, label, value) for index, label, value in changes]
        return _join(entries), lines

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
    for (data, lines), where, name in cases:
        found = assert_same(data, SLEEP_ROLLUP)
        assert found[0][0] == "OutOfRange" and found[0][2:] == [lines[where], "value-range"]
        with pytest.raises(smapsfmt.OutOfRange) as info:
            stream(data)
        assert (info.value.line, info.value.rule) == (lines[where], "value-range")
        assert str(info.value).startswith(
            f"the {name} values up to this mapping sum to more than {KB_MAX} kB"
        )
    # at the limit: every sum within it, the sum of all values not (the aggregator looks for
    # the first sum beyond it): a rollup
    (data, _) = edited((0, b"Rss", KB_MAX - 1812))
    mappings = parse(data)
    total = sum(m.rss or 0 for m in mappings)
    assert KB_MAX - 1812 < total <= KB_MAX
    assert sum(sum(m.fields.values()) for m in mappings) > KB_MAX
    assert assert_same(data, SLEEP_ROLLUP)[0][0] == "ok"
    assert stream(data).rss == total


def test_what_is_not_mappings_is_refused_in_a_stream_too() -> None:
    mappings = parse(SLEEP)
    for source in (
        [*mappings[:3], SLEEP_ROLLUP, *mappings[3:]],
        (item for items in (smapsfmt.iter_smaps([SLEEP]), [SLEEP_ROLLUP]) for item in items),
    ):
        with pytest.raises(TypeError, match=r"an iterable of Mapping, not an iterable of Rollup$"):
            smapsfmt.aggregate(source)  # type: ignore[arg-type]


def _some_without_vmflags(text: bytes) -> bytes:
    """``text`` with the VmFlags line of every third entry removed: entries with and without
    VmFlags in one run of one shape."""
    entries = _entries(text)
    for lines in entries[::3]:
        lines[:] = [line for line in lines if not line.startswith(b"VmFlags:")]
    return _join(entries)


def test_entries_with_and_without_vmflags_in_one_batch() -> None:
    data = _some_without_vmflags((LIVE / "6.18/mlocked/smaps").read_bytes())
    mappings = parse(data)
    assert longest_run(mappings) == len(mappings)
    assert 0 < sum(m.vmflags is None for m in mappings) < len(mappings)
    assert any("lo" in (m.vmflags or ()) for m in mappings)
    rollup = smapsfmt.parse_rollup((LIVE / "6.18/mlocked/smaps_rollup").read_bytes())
    assert_same(data, rollup)
    assert carrying(stream(data), "Locked") > 0
    # VmFlags in the first entries only (the last ones, with the C module, a Batch of their
    # own): the text has VmFlags lines, as 6.6-7.3 prints them (without any, no profile fits)
    entries = _entries(SLEEP)
    for lines in entries[-8:]:
        lines[:] = [line for line in lines if not line.startswith(b"VmFlags:")]
    found = assert_same(_join(entries))
    assert found[1][1].startswith(
        "the smaps cannot come from kernel 4.14: it is printed by Linux 6.6-7.3 ("
    )


# --- the same, whatever the spec files say ------------------------------------------------------

# In a child that reads the spec files of SMAPSFMT_SPEC_DIR (read once, at first use), on the
# path SMAPSFMT_PURE_PYTHON chooses: every way's results for each text (sys.argv[2:]).
_EVERY_WAY = """
import json, sys
sys.path.insert(0, sys.argv[1])
import smapsfmt
from batch_ways import every_way, probe_rollup
kernel = [None, "android-4.9"]
found = {}
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    found[path] = every_way(data, [probe_rollup(data)], 1409, kernel)
print(json.dumps(found))
"""

PSS_CAP = ":Invariant smaps-pss-le-rss: Pss <= Rss"
# The ABI document's caps of a field summed in fixed point, every way: Locked capped too (by
# one field, by two), Pss uncapped; and the android-4.9 profile, which counts Locked without
# VM_LOCKED (its deviation from smaps-locked-lo), taken as a 5.4 one (on 4.9 its rollup's
# Locked is unreliable, and the count is not read).
SPECS: dict[str, dict[str, tuple[str, str]]] = {
    "shipped": {},
    "Locked capped by Rss": {SMAPS_PATH: (PSS_CAP, PSS_CAP + " and Locked <= Rss")},
    "Locked capped by two": {
        SMAPS_PATH: (PSS_CAP, PSS_CAP + " and Locked <= Shared_Clean + Private_Dirty")
    },
    "Pss uncapped": {SMAPS_PATH: (PSS_CAP, ":Invariant smaps-pss-le-rss: Pss >= 0")},
    "android-4.9 as 5.4": {"kernel/android-4.9.profile": ("kernels 4.9 4.9", "kernels 5.4 5.4")},
}


def _spec_copy(directory: Path, edits: dict[str, tuple[str, str]]) -> Path:
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, directory / part, dirs_exist_ok=True)
    for name, (old, new) in edits.items():
        text = (directory / name).read_text(encoding="utf-8")
        assert old in text, (name, old)
        (directory / name).write_text(text.replace(old, new), encoding="utf-8")
    return directory


def _every_way_in_a_child(spec: Path, paths: Sequence[Path]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SMAPSFMT_SPEC_DIR"] = str(spec)
    result = subprocess.run(
        [sys.executable, "-c", _EVERY_WAY, str(ROOT / "tests"), *map(str, paths)],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_the_same_results_whatever_the_spec_files_say(tmp_path: Path) -> None:
    """For each copy of the spec files in SPECS: every way gives what the mappings give (and
    the edits change what they give: each copy is read)."""
    texts = {
        name: (LIVE / "6.18" / name / "smaps").read_bytes()
        for name in ("mlocked", "shared-fork", "sleep")
    }
    texts["mlocked, some without VmFlags"] = _some_without_vmflags(texts["mlocked"])
    texts["android"] = ANDROID.read_bytes()
    texts["android, some without VmFlags"] = _some_without_vmflags(texts["android"])
    paths = []
    for number, text in enumerate(texts.values()):
        paths.append(tmp_path / f"text-{number}")
        paths[-1].write_bytes(text)
    reference: dict[str, list[Any]] = {}
    for number, (spec_name, edits) in enumerate(SPECS.items()):
        found = _every_way_in_a_child(_spec_copy(tmp_path / f"spec-{number}", edits), paths)
        reference[spec_name] = []
        for name, path in zip(texts, paths, strict=True):
            want = found[str(path)].pop("mappings")
            for how, got in found[str(path)].items():
                assert got == want, (spec_name, name, how)
            reference[spec_name].append(want)
    shipped = reference.pop("shipped")
    for spec_name, got in reference.items():
        assert got != shipped, f"{spec_name}: the edited spec files were not read"
