"""This machine's kernel (6.18), captured from processes that shaped their memory
(tools/capture_live.py; fixtures/valid/live/6.18/CAPTURES.md says what each did). Each test
asserts what the shaping guarantees, so a parser that misreads a field fails here."""

from __future__ import annotations

import pytest
from support import LIVE

import smapsfmt

CAPTURES = LIVE / "6.18"


def pair(scenario: str) -> tuple[smapsfmt.Smaps, smapsfmt.Rollup]:
    base = CAPTURES / scenario
    return (
        smapsfmt.parse_smaps((base / "smaps").read_bytes()),
        smapsfmt.parse_rollup((base / "smaps_rollup").read_bytes()),
    )


def test_every_scenario_is_a_frozen_pair() -> None:
    scenarios = sorted(p.name for p in CAPTURES.iterdir() if p.is_dir())
    assert len(scenarios) >= 10
    for scenario in scenarios:
        smaps, rollup = pair(scenario)
        totals = smaps.totals()
        # Byte-accumulated fields are exact sums of a frozen target (KERNEL-FACTS §9.1).
        for key in (
            "Rss",
            "Shared_Clean",
            "Shared_Dirty",
            "Private_Clean",
            "Private_Dirty",
            "Referenced",
            "Anonymous",
            "LazyFree",
            "AnonHugePages",
            "Swap",
        ):
            assert rollup.fields[key] == totals[key], (scenario, key)
        # PSS is summed in fixed point before the shift in the rollup, per mapping in smaps.
        assert totals["Pss"] <= rollup.fields["Pss"] <= totals["Pss"] + len(smaps) - 1


def test_madv_free_shows_lazyfree() -> None:
    smaps, rollup = pair("madv-free")
    assert rollup.lazy_free == 16384  # madvise(MADV_FREE) on 16 MiB
    assert max(m.lazy_free or 0 for m in smaps) == 16384


def test_mlock_shows_locked_and_the_lo_flag() -> None:
    smaps, rollup = pair("mlocked")
    locked = [m for m in smaps if m.locked]
    assert rollup.locked == 12288  # 8 MiB anonymous + 4 MiB file, both mlocked
    assert sorted(m.size or 0 for m in locked) == [4096, 8192]
    assert all("lo" in (m.vmflags or ()) and m.locked == m.pss for m in locked)


def test_thp_shows_anon_huge_pages() -> None:
    smaps, rollup = pair("thp")
    assert rollup.anon_huge_pages == 8192
    huge = [m for m in smaps if m.anon_huge_pages]
    assert len(huge) == 1 and "hg" in (huge[0].vmflags or ())
    assert all(m.thp_eligible in (0, 1) for m in smaps)


def test_hugetlb_is_outside_rss() -> None:
    smaps, rollup = pair("hugetlb")
    assert (rollup.shared_hugetlb, rollup.private_hugetlb) == (4096, 2048)
    for m in smaps:
        if m.shared_hugetlb or m.private_hugetlb:
            assert "ht" in (m.vmflags or ())
            assert (m.rss, m.pss, m.kernel_page_size) == (0, 0, 2048)


def test_shared_fork_splits_pss() -> None:
    smaps, rollup = pair("shared-fork")
    assert rollup.pss_shmem == 8192  # 32 MiB shared by 4 processes
    shared = [m for m in smaps if m.shared and m.size == 32768]
    assert len(shared) == 1
    assert shared[0].pathname == b"/dev/zero (deleted)"
    assert (shared[0].rss, shared[0].shared_dirty, shared[0].pss) == (32768, 32768, 8192)


def test_deleted_file_names_are_bytes() -> None:
    smaps, _ = pair("deleted-file")
    names = {m.pathname.rsplit(b"/", 1)[-1] for m in smaps if m.pathname.startswith(b"/tmp/")}
    assert names == {
        b"file with blanks.bin (deleted)",
        b"name with\\012newline.bin (deleted)",  # the kernel escapes a newline as \012
        b"latin1-\xe9\xff.bin",  # not UTF-8: kept as bytes
        b"trailing  ",  # trailing blanks are part of the name
    }
    assert sum(m.deleted for m in smaps) == 4


def test_many_small_mappings() -> None:
    smaps, _ = pair("many-small")
    assert len(smaps) > 3000
    starts = [m.start for m in smaps]
    assert starts == sorted(starts)
    assert all((m.end - m.start) == (m.size or 0) * 1024 for m in smaps)


@pytest.mark.parametrize("scenario", ["sleep", "self-python"])
def test_plain_processes(scenario: str) -> None:
    smaps, rollup = pair(scenario)
    assert smaps[-1].pathname == b"[vsyscall]"
    assert rollup.pathname == b"[rollup]"
    # 4.19+: the rollup range ends at the highest real mapping, before [vsyscall].
    assert rollup.start == smaps[0].start
    assert rollup.end == smaps[-2].end
    assert list(rollup.fields)[:6] == [
        "Rss",
        "Pss",
        "Pss_Dirty",
        "Pss_Anon",
        "Pss_File",
        "Pss_Shmem",
    ]


def test_capture_provenance_is_recorded() -> None:
    text = (CAPTURES / "CAPTURES.md").read_text(encoding="utf-8")
    for scenario in (p.name for p in CAPTURES.iterdir() if p.is_dir()):
        assert f"`{scenario}`" in text
