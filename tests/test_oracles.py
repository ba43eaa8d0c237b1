"""What other projects' tests assert about the external captures (fixtures/valid/external/
ORACLES.md), asserted here on smapsfmt's parse, each next to its source."""

from __future__ import annotations

import json

import pytest
from support import EXTERNAL

import smapsfmt

PROMETHEUS = EXTERNAL / "prometheus-procfs/fixtures/proc/26231"
LIBMEMINFO = EXTERNAL / "android-libmeminfo/testdata1"
JC = EXTERNAL / "jc/tests/fixtures/linux-proc"
JC_EDITED = EXTERNAL / "jc/derived-hand-edited"
PCP = EXTERNAL / "pcp/procpid-5.5.7-root-007/proc"


def smaps(path):  # type: ignore[no-untyped-def]
    return smapsfmt.parse_smaps(path.read_bytes())


def rollup(path):  # type: ignore[no-untyped-def]
    return smapsfmt.parse_rollup(path.read_bytes())


# prometheus/procfs proc_smaps_test.go TestProcSmapsRollup (commit 3c943fd): the parsed rollup
# and a manual sum over smaps both equal these values.
PROMETHEUS_VALUES = {
    "Rss": 29948, "Pss": 29944, "Shared_Clean": 4, "Shared_Dirty": 0, "Private_Clean": 15548,
    "Private_Dirty": 14396, "Referenced": 24752, "Anonymous": 20756, "Swap": 1940,
    "SwapPss": 1940,
}  # fmt: skip


@pytest.mark.parametrize(("field", "value"), PROMETHEUS_VALUES.items())
def test_prometheus_rollup_and_smaps_sum(field: str, value: int) -> None:
    assert rollup(PROMETHEUS / "smaps_rollup").fields[field] == value
    assert smaps(PROMETHEUS / "smaps").totals()[field] == value


# Android libmeminfo libmeminfo_test.cpp (commit 51fa7f8), testdata1/smaps_short.
def test_libmeminfo_smaps_short_totals() -> None:
    parsed = smaps(LIBMEMINFO / "smaps_short")
    totals = parsed.totals()
    assert len(parsed) == 6
    assert totals["Pss"] == 19119
    assert "Size" not in totals  # not summed by smaps_rollup: the address space's size
    assert sum(m.size or 0 for m in parsed) == 67192
    # libmeminfo leaves [vsyscall] out of vss on x86_64.
    assert sum(m.size or 0 for m in parsed if m.pathname != b"[vsyscall]") == 67188
    assert totals["Rss"] == 32900
    assert totals["Private_Clean"] + totals["Private_Dirty"] == 17192  # uss
    assert totals["Private_Clean"] == 260
    assert totals["Private_Dirty"] == 16932
    assert totals["Shared_Clean"] == 4212
    assert totals["Shared_Dirty"] == 11496
    assert totals["Swap"] == 0
    assert totals["SwapPss"] == 0


LIBMEMINFO_SHORT = [
    (b"[anon:dalvik-zygote-jit-code-cache]", 0x54C00000, 0x56C00000, "r-xp", 0, 0,
     32768, 2048, 113, 0, 0, 0, 0, 2048),
    (b"/system/framework/x86_64/boot-framework.art", 0x701EA000, 0x70CDB000, "rw-p", 0, 3165,
     11204, 11188, 2200, 1660, 0, 1660, 80, 9448),
    (b"[anon:libc_malloc]", 0x70074DD8D000, 0x70074EE0D000, "rw-p", 0, 0,
     16896, 15272, 15272, 15272, 0, 15272, 0, 0),
    (b"/system/priv-app/SettingsProvider/oat/x86_64/SettingsProvider.odex", 0x700755A2D000,
     0x700755A6E000, "r-xp", 0x16000, 1947, 260, 260, 260, 260, 260, 0, 0, 0),
    (b"/system/lib64/libhwui.so", 0x7007F85B0000, 0x7007F8B9B000, "r-xp", 0x1EE000, 1537,
     6060, 4132, 1274, 0, 0, 0, 4132, 0),
    (b"[vsyscall]", 0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "r-xp", 0, 0,
     4, 0, 0, 0, 0, 0, 0, 0),
]  # fmt: skip


@pytest.mark.parametrize("index", range(6))
def test_libmeminfo_smaps_short_per_mapping(index: int) -> None:
    name, start, end, perms, offset, inode, size, rss, pss, uss, pc, pd, sc, sd = LIBMEMINFO_SHORT[
        index
    ]
    m = smaps(LIBMEMINFO / "smaps_short")[index]
    assert (m.pathname, m.start, m.end, m.perms, m.offset, m.inode) == (
        name, start, end, perms, offset, inode,
    )  # fmt: skip
    assert (m.size, m.rss, m.pss) == (size, rss, pss)
    assert (m.private_clean or 0) + (m.private_dirty or 0) == uss
    assert (m.private_clean, m.private_dirty, m.shared_clean, m.shared_dirty) == (pc, pd, sc, sd)


# libmeminfo_benchmark.cpp (total Pss 108384) and column totals several parsers agree on.
def test_libmeminfo_large_capture_totals() -> None:
    parsed = smaps(LIBMEMINFO / "smaps")
    assert len(parsed) == 2760
    expected = {
        "Rss": 250332, "Pss": 108384, "Shared_Clean": 129552,
        "Shared_Dirty": 30260, "Private_Clean": 32664, "Private_Dirty": 57856,
        "Referenced": 230492, "Anonymous": 85800, "AnonHugePages": 16384, "Swap": 0,
        "SwapPss": 0, "Locked": 108384,
    }  # fmt: skip
    totals = parsed.totals()
    assert {k: totals[k] for k in expected} == expected
    assert sum(m.size or 0 for m in parsed) == 4218176
    # This kernel prints an Android Name: line after the header of 1097 named mappings,
    # carrying the same name as the header.
    named = [m for m in parsed if m.name is not None]
    assert len(named) == 1097
    assert all(m.name == m.pathname for m in named)
    assert not any(m.name_after_fields for m in named)


# jc tests/test_proc_pid_smaps.py (commit ac8120e): the capture parses to jc's pid_smaps.json
# field by field (jc's schema: perms as words, device parts as hex strings).
def test_jc_field_by_field() -> None:
    jc = json.loads((JC / "pid_smaps.jc-expected.json").read_text())
    parsed = smaps(JC / "pid_smaps")
    assert len(parsed) == len(jc) == 214
    for ours, theirs in zip(parsed, jc, strict=True):
        assert f"{ours.start:08x}" == theirs["start"]
        assert f"{ours.end:08x}" == theirs["end"]
        assert f"{ours.offset:08x}" == theirs["offset"]
        assert (f"{ours.major:02x}", f"{ours.minor:02x}") == (theirs["maj"], theirs["min"])
        assert ours.inode == theirs["inode"]
        assert ours.pathname.decode() == theirs.get("pathname", "")
        assert list(ours.vmflags or ()) == theirs["VmFlags"]
        words = {"r": "read", "w": "write", "x": "execute", "s": "shared", "p": "private"}
        assert [words[c] for c in ours.perms if c != "-"] == theirs["perms"]
        for key, value in ours.fields.items():
            assert theirs[key] == value, key


def test_jc_totals_and_first_entry() -> None:
    parsed = smaps(JC / "pid_smaps")
    totals = parsed.totals()
    assert (sum(m.size or 0 for m in parsed), totals["Rss"], totals["Pss"]) == (
        169988,
        13252,
        5594,
    )
    assert totals["Private_Clean"] + totals["Private_Dirty"] == 3612  # uss
    assert (totals["Swap"], totals["SwapPss"]) == (0, 0)
    first = parsed[0]
    assert (first.start, first.end, first.perms) == (0x55A9E753C000, 0x55A9E7570000, "r--p")
    assert (first.offset, first.dev, first.inode) == (0, "fd:00", 798126)
    assert first.pathname == b"/usr/lib/systemd/systemd"
    assert (first.size, first.rss, first.pss, first.shared_clean) == (208, 208, 104, 208)
    # THPeligible is printed with two TABs on this kernel.
    assert b"THPeligible:\t\t0\n" in (JC / "pid_smaps").read_bytes()
    assert first.thp_eligible == 0
    assert first.vmflags == ("rd", "mr", "mw", "me", "dw", "sd")


def test_jc_empty_input_is_no_mappings() -> None:
    assert len(smapsfmt.parse_smaps(b"")) == 0


def test_jc_new_and_unknown_vmflags_are_kept() -> None:
    assert smaps(JC_EDITED / "pid_smaps_wf_flag")[0].vmflags == (
        "rd", "wr", "mr", "mw", "me", "nr", "wf", "dd", "sd",
    )  # fmt: skip
    unknown = smaps(JC_EDITED / "pid_smaps_unknown_flag")
    assert (unknown[0].vmflags or ())[-1] == "zz"
    assert (unknown[1].vmflags or ())[-1] == "yy"


# Performance Co-Pilot pairs from kernel 5.5.7 (ORACLES.md): column sums over smaps against
# smaps_rollup taken seconds later.
PCP_PAIRS = {
    1: (233, 10540, 6998, 7006, 691, 717, 2000),
    1309: (222, 5024, 1952, 1958, 1168, 1168, 1168),
    291591: (45, 4640, 2497, 2500, 2132, 2132, 2132),
}


@pytest.mark.parametrize("pid", PCP_PAIRS)
def test_pcp_pairs(pid: int) -> None:
    count, rss, pss_sum, pss_rollup, swappss_sum, swappss_rollup, swap = PCP_PAIRS[pid]
    parsed = smaps(PCP / str(pid) / "smaps")
    summed = parsed.totals()
    roll = rollup(PCP / str(pid) / "smaps_rollup")
    assert len(parsed) == count
    assert summed["Rss"] == roll.rss == rss
    assert (summed["Pss"], roll.pss) == (pss_sum, pss_rollup)
    assert (summed["SwapPss"], roll.swap_pss) == (swappss_sum, swappss_rollup)
    assert summed["Swap"] == roll.swap == swap
    # Every other field of the rollup equals the column sum exactly.
    pss_family = {"Pss", "SwapPss", "Pss_Anon", "Pss_File", "Pss_Shmem"}
    for key, value in roll.fields.items():
        if key not in pss_family:
            assert summed[key] == value, key
    assert (roll.pss_anon or 0) + (roll.pss_file or 0) + (roll.pss_shmem or 0) == roll.pss
