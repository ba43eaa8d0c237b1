"""The aggregator's field facts come from the spec files: edit a copy of the ABI document or of
the kernel profiles (SMAPSFMT_SPEC_DIR), and the sums, bounds and dating of smapsfmt.aggregate
and of the rollup and check commands follow. Each interval's ``why`` says how many mappings
can carry a fraction of a kB of a field summed in fixed point (the kernel's value lies up to
one kB per such mapping above the sum). (That mappings read one by one are summed in bounded
Batches of one shape, as the parser's Batches are: test_batch.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from support import LIVE, ROOT, VALID

import smapsfmt
from smapsfmt.spec import SMAPS_PATH

MLOCKED = LIVE / "6.18/mlocked/smaps"
ROLLUP = LIVE / "6.18/sleep/smaps_rollup"
ANDROID = VALID / "external/android-libmeminfo/testdata1/smaps"
SWAP_510 = VALID / "qemu/5.10-amd64/swap"  # a smaps and its smaps_rollup, 5.9-5.19's lines
LOCKED_LO = ":Invariant smaps-locked-lo: Locked == (Pss if 'lo' in VmFlags else 0)"
FIXED = re.compile(r"the kernel sums (\w+) in fixed point")
CARRY = re.compile(r"\((\d+) mappings? can carry a fraction of a kB\)")

# smapsfmt.aggregate in a child that reads the spec files of SMAPSFMT_SPEC_DIR (read once, at
# first use): each interval, or the KernelMismatch.
_AGGREGATE = """
import json, sys
import smapsfmt
path, kernel = sys.argv[1], sys.argv[2] or None
try:
    result = smapsfmt.aggregate(smapsfmt.parse_smaps(open(path, "rb").read()), kernel=kernel)
except smapsfmt.KernelMismatch as exc:
    print(json.dumps({"mismatch": [exc.line, str(exc)]}))
else:
    print(json.dumps({n: [i.lo, i.hi, i.why] for n, i in result.intervals.items()}))
"""


def _spec_copy(tmp: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of the spec files with, in each file named (``*.profile``: every profile that has
    it), its ``old`` text replaced by ``new``."""
    spec = tmp / f"spec{len(list(tmp.glob('spec*')))}"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part, dirs_exist_ok=True)
    for name, (old, new) in edits.items():
        files = sorted((spec / "kernel").glob(name)) if "*" in name else [spec / name]
        edited = [p for p in files if old in p.read_text(encoding="utf-8")]
        assert edited and ("*" in name or edited == files), (name, old)
        for path in edited:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(old, new), encoding="utf-8")
    return spec


def _aggregate(path: Path, spec: Path | None = None, kernel: str = "") -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SMAPSFMT_SPEC_DIR")}
    if spec is not None:
        env["SMAPSFMT_SPEC_DIR"] = str(spec)
    result = subprocess.run(
        [sys.executable, "-c", _AGGREGATE, str(path), kernel], capture_output=True, text=True,
        env=env, cwd=tempfile.gettempdir(), timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _carrying(intervals: dict[str, Any], name: str) -> int:
    """How many mappings can carry a fraction of ``name``, as its interval's why says."""
    match = CARRY.search(intervals[name][2])
    assert match is not None, intervals[name]
    return int(match.group(1))


def _mappings(path: Path) -> list[smapsfmt.Mapping]:
    return list(smapsfmt.parse_smaps(path.read_bytes()))


def _rollup_entry(found: dict[str, Any]) -> int | None:
    """The line of the smaps_rollup entry the aggregator refused (None: none found)."""
    mismatch = found.get("mismatch")
    if mismatch and mismatch[1].startswith("this is a smaps_rollup, not a smaps"):
        return int(mismatch[0])
    return None


def test_the_shipped_facts() -> None:
    shipped = _aggregate(MLOCKED)
    # the fields summed in fixed point, in the document's order
    fixed = [m.group(1) for i in shipped.values() if (m := FIXED.match(i[2]))]
    assert fixed == ["Pss", "Pss_Dirty", "SwapPss", "Locked"]
    # Pss is capped by Rss: only a mapping with Pss below its Rss can carry a fraction
    mappings = _mappings(MLOCKED)
    below_rss = sum(1 for m in mappings if m.pss is not None and m.rss and m.pss < m.rss)
    assert _carrying(shipped, "Pss") == below_rss < len(mappings)
    # Locked is gated by 'lo' (test_the_mnemonic_that_gates_locked_is_the_documents)
    with_lo = sum(1 for m in mappings if "lo" in (m.vmflags or ()) and m.locked and m.rss)
    assert 0 < _carrying(shipped, "Locked") <= with_lo
    # the smaps_rollup entry is named [rollup], and has no Size line (which every smaps
    # entry has): with one, it is a smaps entry of that name
    assert _rollup_entry(_aggregate(ROLLUP)) == 1
    with tempfile.TemporaryDirectory() as tmp:
        sized = Path(tmp) / "smaps"
        text = ROLLUP.read_bytes()
        header, rest = text.split(b"\n", 1)
        sized.write_bytes(header + b"\nSize:                  4 kB\n" + rest)
        assert _rollup_entry(_aggregate(sized)) is None


def _without(path: Path, *labels: str) -> bytes:
    """The text of ``path`` without its lines of these fields."""
    names = {label.encode() for label in labels}
    lines = path.read_bytes().splitlines(keepends=True)
    return b"".join(line for line in lines if line.split(b":", 1)[0] not in names)


def _command(spec: Path | None, *args: str) -> tuple[int, Any]:
    """``smapsfmt ARGS --format json`` in a child that reads the spec files of ``spec`` (None:
    those installed): its exit status and its JSON."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SMAPSFMT_SPEC_DIR")}
    if spec is not None:
        env["SMAPSFMT_SPEC_DIR"] = str(spec)
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt", *args, "--format", "json"], capture_output=True,
        text=True, env=env, cwd=tempfile.gettempdir(), timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _dated(tmp: Path, text: bytes, spec: Path | None = None) -> str:
    """The kernels ``smapsfmt rollup`` dates a smaps to by its fields alone (no profile prints
    its lines)."""
    path = tmp / f"smaps{len(list(tmp.glob('smaps*')))}"
    path.write_bytes(text)
    status, found = _command(spec, "rollup", str(path))
    prefix = "no profile (dated by its fields: "
    assert status == 0 and found["profile"].startswith(prefix), found
    dated: str = found["profile"].removeprefix(prefix).removesuffix(")")
    return dated


def test_the_relation_of_an_empty_kernel_range_is_the_newest(tmp_path: Path) -> None:
    """An ABI document in which FilePmdMapped first appeared in 5.20, a release after major 5's
    last minor as the profiles end it (5.19), dates a smaps that has FilePmdMapped and lacks
    Pss_Dirty (6.0+) to no kernel at all: 5.20 to 5.19. (The shipped files never do: fields
    that no kernel prints together are refused, FilePmdMapped without THPeligible; and a
    profile that prints the lines dates them by its own range: here the 5.10 capture without
    its MMUPageSize lines, which no profile prints.) check then takes each field's relation
    of the newest range the document gives it, the one the kernel keeps: Swap (exact-sum
    4.19+, unreliable 4.14..4.18) and Rss (exact-sum on every kernel) are exact sums, Locked
    (fixed-point-sum 5.0+, unreliable 4.14..4.20) a fixed-point one, never the unreliable
    relation of the range nearest below."""
    old = "smaps: FilePmdMapped\nDate:\t\tNovember 2019\nKernelVersion:\t5.4\n"
    later = _spec_copy(tmp_path, {SMAPS_PATH: (old, old.replace("5.4\n", "5.20\n"))})
    smaps = tmp_path / "smaps"
    smaps.write_bytes(_without(SWAP_510 / "smaps", "MMUPageSize"))
    status, proof = _command(later, "check", str(smaps), str(SWAP_510 / "smaps_rollup"))
    assert (status, proof["kernels"]) == (1, "Linux 5.20 to 5.19"), proof
    assert [d["rule"] for d in proof["diagnostics"]] == ["rollup-kernel-mismatch"], proof
    assert "the smaps is printed by Linux 5.20 to 5.19 (" in proof["diagnostics"][0]["message"]
    fields = {f["name"]: f for f in proof["fields"]}
    for name in ("Rss", "Swap"):
        total = fields[name]["sum"]
        assert fields[name]["interval"] == [total, total], fields[name]
        assert fields[name]["why"] == "the sum over the 13 mappings", fields[name]
    assert fields["Swap"]["sum"] > 0 and fields["Swap"]["verdict"] == "holds"
    assert fields["Locked"]["interval"][1] is not None, fields["Locked"]
    assert fields["Locked"]["why"].startswith("the kernel sums Locked in fixed point")
    # the same texts, with the shipped files: the profile of 5.9-5.19 prints the rollup
    status, shipped = _command(None, "check", str(smaps), str(SWAP_510 / "smaps_rollup"))
    assert (status, shipped["kernels"]) == (0, "Linux 5.9-5.19"), shipped


def test_each_majors_last_minor_is_the_profiles(tmp_path: Path) -> None:
    """A smaps without a field is dated to before the field's first version; when that is a
    major's .0, to the major before's last minor as the profiles end it: one profile ends
    with it and the next starts at the next major's .0 (3.19, 4.20, 5.19); every minor (99)
    where they do not. Seen on lines no profile prints (the 5.10 capture without its
    MMUPageSize lines), which only their fields date."""
    capture = SWAP_510 / "smaps"
    no_pss_dirty = _without(capture, "MMUPageSize")  # Pss_Dirty: 6.0
    no_thp = _without(capture, "MMUPageSize", "THPeligible", "FilePmdMapped")  # THPeligible: 5.0
    assert _dated(tmp_path, no_pss_dirty) == "Linux 5.4 to 5.19"
    assert _dated(tmp_path, no_thp) == "Linux 4.14 to 4.20"
    # No field that dates a smaps appeared in 4.0. With one that did (THPeligible, in a copy
    # of the document): a smaps without it, and without the KernelPageSize lines whose place
    # right after Size says 4.14+
    thp = "smaps: THPeligible\nDate:\t\tMarch 2019\nKernelVersion:\t5.0\n"
    in_40 = _spec_copy(tmp_path, {SMAPS_PATH: (thp, thp.replace("5.0\n", "4.0\n"))})
    older = _without(capture, "MMUPageSize", "KernelPageSize", "THPeligible", "FilePmdMapped")
    assert _dated(tmp_path, older) == "Linux 2.6 to 4.20"
    assert _dated(tmp_path, older, in_40) == "Linux 2.6 to 3.19"
    # major 5's last profile ending at 5.18; 6.0's starting at 6.1, so that none ends major 5
    ends = {"kernel/5.9-5.19.profile": ("kernels 5.9 5.19", "kernels 5.9 5.18")}
    starts = {"kernel/6.0-6.5.profile": ("kernels 6.0 6.5", "kernels 6.1 6.5")}
    shorter, later = _spec_copy(tmp_path, ends), _spec_copy(tmp_path, starts)
    assert _dated(tmp_path, no_pss_dirty, shorter) == "Linux 5.4 to 5.18"
    assert _dated(tmp_path, no_pss_dirty, later) == "Linux 5.4 to 5.99"


def test_the_mnemonic_that_gates_locked_is_the_documents(tmp_path: Path) -> None:
    mappings = _mappings(MLOCKED)
    shipped = _aggregate(MLOCKED)
    other = {SMAPS_PATH: (LOCKED_LO, LOCKED_LO.replace("'lo'", "'ac'"))}
    edited = _aggregate(MLOCKED, _spec_copy(tmp_path, other))
    # without the invariant nothing gates Locked: every mapping below its cap counts
    none = {SMAPS_PATH: (LOCKED_LO, ":Invariant smaps-locked-lo: Locked >= 0")}
    ungated = _aggregate(MLOCKED, _spec_copy(tmp_path, none))
    below = _carrying(ungated, "Locked")
    with_lo = sum(1 for m in mappings if "lo" in (m.vmflags or ()) and m.locked and m.rss)
    with_ac = sum(1 for m in mappings if "ac" in (m.vmflags or ()))
    assert _carrying(shipped, "Locked") <= with_lo < with_ac
    assert _carrying(shipped, "Locked") < _carrying(edited, "Locked") <= below
    # the gate changes which mappings count, not the sums
    for name in ("Rss", "Pss", "Locked"):
        assert shipped[name][0] == edited[name][0] == ungated[name][0], name
    assert shipped["Locked"][1] < edited["Locked"][1] <= ungated["Locked"][1]


def test_a_profile_deviates_from_the_invariant_the_document_names(tmp_path: Path) -> None:
    """android-4.9 counts Locked without VM_LOCKED (its profile's deviation smaps-locked-lo):
    every mapping can carry a fraction. Under another id the deviation names nothing. (Its
    rollup's Locked is unreliable, 4.14-4.20: the same profile, taken as a 5.4 one.)"""
    as_54 = ("kernels 4.9 4.9", "kernels 5.4 5.4")
    deviation = "deviation smaps-locked-lo "
    android = (ROOT / "kernel/android-4.9.profile").read_text(encoding="utf-8")
    assert deviation in android
    deviating = _aggregate(
        ANDROID, _spec_copy(tmp_path, {"kernel/android-4.9.profile": as_54}), "android-4.9"
    )["Locked"]
    renamed = LOCKED_LO.replace("smaps-locked-lo", "smaps-locked-vm")
    both = {"kernel/android-4.9.profile": as_54, SMAPS_PATH: (LOCKED_LO, renamed)}
    keeping = _aggregate(ANDROID, _spec_copy(tmp_path, both), "android-4.9")["Locked"]
    mappings = _mappings(ANDROID)
    assert not any("lo" in (m.vmflags or ()) for m in mappings)  # gated: no fraction
    assert _carrying({"Locked": keeping}, "Locked") == 0
    assert _carrying({"Locked": deviating}, "Locked") > 0
    assert keeping[0] == keeping[1] == deviating[0]
    assert deviating[1] is not None and deviating[1] > deviating[0]


def test_the_rollup_entrys_name_is_the_profiles(tmp_path: Path) -> None:
    renamed_text = tmp_path / "renamed"
    renamed_text.write_bytes(ROLLUP.read_bytes().replace(b"[rollup]", b"[summary]"))
    edited = _spec_copy(tmp_path, {"*.profile": ('"[rollup]"', '"[summary]"')})
    for text, shipped, renamed in ((ROLLUP, 1, None), (renamed_text, None, 1)):
        assert _rollup_entry(_aggregate(text)) == shipped
        assert _rollup_entry(_aggregate(text, edited)) == renamed
