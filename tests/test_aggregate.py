"""The aggregator: every real smaps/smaps_rollup pair proven consistent with the kernel's
arithmetic, every tampered pair refuted with the field named, and `smapsfmt rollup` equal to
the kernel's smaps_rollup for every field that smaps determines.

Tampered pairs are made here from the real captures: one value of the rollup changed (the text
edited in place, the kernel's layout kept), one mapping removed from the smaps, or the files of
two different kernels paired."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import EXTERNAL, LIVE, ROOT, VALID, fixture_id, run_cli, run_main

import smapsfmt
from smapsfmt import iter_smaps
from smapsfmt.spec import SMAPS_PATH, load_profiles, parse_version


def _pairs() -> list[Path]:
    """Every folder of the corpus that holds a smaps and its smaps_rollup."""
    found = sorted(p.parent for p in VALID.rglob("smaps_rollup") if (p.parent / "smaps").exists())
    if len(found) < 14:  # 4 external pairs and 10 live ones: a shrinking corpus is an error
        raise RuntimeError(f"only {len(found)} smaps/smaps_rollup pairs under {VALID}")
    return found


PAIRS = _pairs()
PCP1 = EXTERNAL / "pcp/procpid-5.5.7-root-007/proc/1"
PROMETHEUS = EXTERNAL / "prometheus-procfs/fixtures/proc/26231"
LIVE_SLEEP = LIVE / "6.18/sleep"


def _ids(pairs: list[Path]) -> list[str]:
    return [fixture_id(p) for p in pairs]


def load(folder: Path) -> tuple[smapsfmt.Smaps, bytes]:
    return smapsfmt.parse_smaps((folder / "smaps").read_bytes()), (
        folder / "smaps_rollup"
    ).read_bytes()


def tamper(rollup_text: bytes, name: str, value: int) -> bytes:
    """The rollup text with ``name``'s value replaced, right-aligned as the kernel does."""
    pattern = re.compile(rb"^(" + name.encode() + rb":\s*?)( *)(\d+)( kB)$", re.MULTILINE)
    match = pattern.search(rollup_text)
    assert match is not None, name
    label, blanks, digits = match.group(1), match.group(2), match.group(3)
    width = len(blanks) + len(digits)
    new = label + str(value).encode().rjust(width) + match.group(4)
    return rollup_text[: match.start()] + new + rollup_text[match.end() :]


def printed(*args: str) -> tuple[int, bytes]:
    """``smapsfmt ARGS`` in this process (python -m smapsfmt's entry point, as a user runs
    it): its exit status and standard output."""
    saved = sys.stdout
    sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        code = run_main(*args)
        sys.stdout.flush()
        text = sys.stdout.buffer.getvalue()  # type: ignore[attr-defined]
    finally:
        sys.stdout = saved
    return code, text


def as_json(*args: str) -> Any:
    """What ``smapsfmt ARGS --format json`` prints, parsed (exit 0 or 1)."""
    code, text = printed(*args, "--format", "json")
    assert code in (0, 1), (args, code, text[-300:])
    return json.loads(text)


def proof(folder: Path, *options: str) -> Any:
    """``smapsfmt check --format json`` of a pair: the verdict and the proof, field by field."""
    return as_json("check", *options, str(folder / "smaps"), str(folder / "smaps_rollup"))


def interval(field: dict[str, Any]) -> smapsfmt.Interval | None:
    """A field's interval in check's proof, as the library's type."""
    bound = field["interval"]
    return None if bound is None else smapsfmt.Interval(bound[0], bound[1], field["why"])


def errors(found: list[smapsfmt.Diagnostic]) -> list[smapsfmt.Diagnostic]:
    """The errors among check_rollup's diagnostics."""
    return [d for d in found if d.severity == "error"]


# --- every real pair is consistent ---------------------------------------------------------------


@pytest.mark.parametrize("folder", PAIRS, ids=_ids(PAIRS))
def test_every_real_pair_is_proven_consistent(folder: Path) -> None:
    smaps, rollup_text = load(folder)
    rollup = smapsfmt.parse_rollup(rollup_text)
    proven = proof(folder)
    assert proven["diagnostics"] == [] and proven["consistent"] is True
    assert smapsfmt.check_rollup(smaps, rollup) == []
    assert [p["name"] for p in proven["fields"]] == list(rollup.fields)
    # Every field is checked, except where the ABI document marks the kernel's rollup value
    # unreliable (4.14-4.18: Swap, Locked).
    unchecked = [p["name"] for p in proven["fields"] if p["verdict"] == "not checked"]
    expected = ["Swap", "Locked"] if folder == PROMETHEUS else []
    assert unchecked == expected
    assert all(p["verdict"] == "holds" for p in proven["fields"] if p["name"] not in unchecked)


def test_the_cli_proves_every_real_pair() -> None:
    for folder in PAIRS:
        result = run_cli("check", str(folder / "smaps"), str(folder / "smaps_rollup"))
        assert result.returncode == 0, (folder, result.stdout, result.stderr)
        last = result.stdout.decode().splitlines()[-1]
        assert f"consistent with {folder / 'smaps'}" in last, last
        assert result.stderr == b""


def test_pss_is_summed_in_fixed_point_not_from_the_printed_values() -> None:
    """The premise, on real captures: the rollup Pss is above the sum of the smaps values
    (which a plain sum would call wrong), and inside the stated interval."""
    above = 0
    for folder in PAIRS:
        smaps, rollup_text = load(folder)
        rollup = smapsfmt.parse_rollup(rollup_text)
        total = sum(m.pss or 0 for m in smaps)
        bound = smapsfmt.aggregate(smaps).intervals["Pss"]
        assert bound.lo == total
        assert rollup.pss in bound
        above += rollup.pss > total  # type: ignore[operator]
    assert above >= 12


# --- tampered pairs are refuted, naming the field ------------------------------------------------


def _exact_fields(folder: Path) -> Iterator[str]:
    for item in proof(folder)["fields"]:
        bound = interval(item)
        if bound is not None and bound.exact and bound.hi is not None:
            yield item["name"]


@pytest.mark.parametrize("folder", PAIRS, ids=_ids(PAIRS))
def test_each_exact_field_off_by_one_kb_is_refuted(folder: Path) -> None:
    smaps, rollup_text = load(folder)
    fields = list(_exact_fields(folder))
    assert "Rss" in fields and "Private_Dirty" in fields
    original = smapsfmt.parse_rollup(rollup_text)
    for name in fields:
        for delta in (1, -1):
            value = original.fields[name] + delta
            if value < 0:
                continue
            rollup = smapsfmt.parse_rollup(tamper(rollup_text, name, value))
            found = errors(smapsfmt.check_rollup(smaps, rollup, path="R"))
            rules = {(d.rule, d.line) for d in found}
            line = original.line + 1 + list(original.fields).index(name)
            assert ("rollup-sum", line) in rules or ("rollup-pss-bound", line) in rules, (
                name,
                delta,
                found,
            )
            named = [d for d in found if d.line == line]
            assert named[0].message.startswith(f"{name} is {value} kB in the rollup"), named


@pytest.mark.parametrize("folder", PAIRS, ids=_ids(PAIRS))
def test_fixed_point_fields_outside_their_interval_are_refuted(folder: Path) -> None:
    smaps, rollup_text = load(folder)
    tried = 0
    for item in proof(folder)["fields"]:
        bound = interval(item)
        name = item["name"]
        if bound is None or bound.hi is None or bound.exact:
            continue
        tried += 1
        line = item["line"]
        for value in (bound.hi + 1, bound.lo - 1):
            if value < 0:
                continue
            rollup = smapsfmt.parse_rollup(tamper(rollup_text, name, value))
            found = [
                d for d in errors(smapsfmt.check_rollup(smaps, rollup, path="R")) if d.line == line
            ]
            assert found, (name, value)
            assert found[0].rule == "rollup-pss-bound"
            assert found[0].message.startswith(
                f"{name} is {value} kB in the rollup, outside [{bound.lo}, {bound.hi}] kB: "
            )
        # One kB off stays consistent exactly when it stays inside the interval.
        for value in (item["value"] + 1, item["value"] - 1):
            if value < 0:  # a field printed as 0 (Pss_File of a 32-bit guest): no kB below
                continue
            rollup = smapsfmt.parse_rollup(tamper(rollup_text, name, value))
            refuted = any(d.line == line for d in errors(smapsfmt.check_rollup(smaps, rollup)))
            split = name in ("Pss_Anon", "Pss_File", "Pss_Shmem", "Pss")
            if not split:
                assert refuted == (value not in bound), (name, value, bound)
            elif value not in bound:
                assert refuted
    if folder != PROMETHEUS:  # 4.14-era: every Pss there is whole (no shared pages)
        assert tried >= 1


def test_pss_above_the_bound_message_states_the_interval() -> None:
    smaps, rollup_text = load(PCP1)
    rollup = smapsfmt.parse_rollup(tamper(rollup_text, "Pss", 7018))
    found, *others = errors(smapsfmt.check_rollup(smaps, rollup, path="ROLLUP"))
    # the three parts of Pss no longer add up to it either (invariant rollup-pss-split)
    assert [d.message.split(":")[-1] for d in others] == [
        " invariant rollup-pss-split of the ABI document"
    ]
    assert found.render() == (
        "ROLLUP:3:1: rollup-pss-bound: Pss is 7018 kB in the rollup, outside [6998, 7017] kB: "
        "the kernel sums Pss in fixed point (PSS_SHIFT 12) and truncates once, smaps truncates "
        "each of the 233 mappings: from their sum, 6998 kB, to 19 kB more (20 mappings can "
        "carry a fraction of a kB)"
    )


def test_rss_off_by_one_message() -> None:
    smaps, rollup_text = load(PCP1)
    rollup = smapsfmt.parse_rollup(tamper(rollup_text, "Rss", 10544))
    (found,) = errors(smapsfmt.check_rollup(smaps, rollup, path="ROLLUP"))
    assert found.render() == (
        "ROLLUP:2:1: rollup-sum: Rss is 10544 kB in the rollup, the 233 mappings sum to 10540 kB"
    )


def test_rollup_only_fields_beyond_their_bounds_are_refuted() -> None:
    smaps, rollup_text = load(PCP1)
    # pcp/1: Pss_Anon is pinned by the per-mapping split, Pss_Shmem by the absence of any
    # mapping that can map shmem (no file on a device with major 0).
    bounds = {p["name"]: interval(p) for p in proof(PCP1)["fields"]}
    assert (bounds["Pss_Anon"].lo, bounds["Pss_Anon"].hi) == (6056, 6056)  # type: ignore[union-attr]
    assert (bounds["Pss_Shmem"].lo, bounds["Pss_Shmem"].hi) == (0, 0)  # type: ignore[union-attr]
    for name, value in (("Pss_Anon", 6057), ("Pss_Anon", 6055), ("Pss_Shmem", 1)):
        rollup = smapsfmt.parse_rollup(tamper(rollup_text, name, value))
        found = errors(smapsfmt.check_rollup(smaps, rollup))
        assert any(d.message.startswith(f"{name} is {value} kB in the rollup") for d in found)
    # Pss_File one above: the three parts then exceed Pss (invariant rollup-pss-split).
    rollup = smapsfmt.parse_rollup(tamper(rollup_text, "Pss_File", 951))
    found = errors(smapsfmt.check_rollup(smaps, rollup))
    assert [d.rule for d in found] == ["rollup-pss-bound", "rollup-pss-bound"]
    assert "invariant rollup-pss-split" in found[0].message
    assert "Pss_File 951 kB" in found[0].message


@pytest.mark.parametrize("folder", PAIRS, ids=_ids(PAIRS))
def test_a_mapping_removed_is_refuted(folder: Path) -> None:
    smaps, rollup_text = load(folder)
    rollup = smapsfmt.parse_rollup(rollup_text)
    biggest = max(range(len(smaps)), key=lambda i: smaps[i].rss or 0)
    removed = smaps[biggest]
    fewer = [m for i, m in enumerate(smaps) if i != biggest]
    found = errors(smapsfmt.check_rollup(fewer, rollup, path="R"))
    rss = [d for d in found if d.rule == "rollup-sum" and d.message.startswith("Rss is ")]
    assert rss, found
    assert rss[0].message == (
        f"Rss is {rollup.rss} kB in the rollup, the {len(fewer)} mappings sum to "
        f"{rollup.rss - removed.rss} kB"  # type: ignore[operator]
    )


def test_a_smaps_and_a_rollup_of_different_kernels_are_reported() -> None:
    smaps_618, rollup_618 = load(LIVE_SLEEP)
    smaps_55, rollup_55 = load(PCP1)
    # 5.5 smaps with a 6.18 rollup: the rollup has Pss_Dirty and KSM.
    proof = smapsfmt.check_rollup(smaps_55, smapsfmt.parse_rollup(rollup_618), path="R")
    rules = [d.rule for d in errors(proof)]
    assert rules[0] == "rollup-kernel-mismatch"
    assert errors(proof)[0].message == (
        "the smaps and the rollup come from different kernels: the smaps is printed by Linux "
        "5.4-5.8 or Linux 5.9-5.19 (KernelPageSize right after Size (4.14+); THPeligible (5.0+); "
        "FilePmdMapped (5.4+); no Pss_Dirty (before 6.0)), the rollup by Linux 6.6-7.3 "
        "(Pss_Anon (5.3+); FilePmdMapped (5.4+); Pss_Dirty (6.0+); KSM (6.6+))"
    )
    extra = {d.message.split(" ", 1)[0] for d in errors(proof) if d.rule == "rollup-fields"}
    assert extra == {"Pss_Dirty", "KSM"}
    # 6.18 smaps with a 5.5 rollup: the rollup lacks Pss_Dirty and KSM.
    proof = smapsfmt.check_rollup(smaps_618, smapsfmt.parse_rollup(rollup_55), path="R")
    missing = [d.message for d in errors(proof) if d.rule == "rollup-fields"]
    assert any("no Pss_Dirty line" in m for m in missing)
    assert any("no KSM line" in m for m in missing)
    assert errors(proof)[0].rule == "rollup-kernel-mismatch"


def test_a_field_the_rollup_never_prints_is_reported() -> None:
    smaps, rollup_text = load(LIVE_SLEEP)
    text = rollup_text.replace(b"Rss:", b"Size:                  8 kB\nRss:", 1)
    found = errors(smapsfmt.check_rollup(smaps, smapsfmt.parse_rollup(text), path="R"))
    assert [d.render() for d in found] == [
        "R:2:1: rollup-fields: Size is in the rollup but cannot be in the rollup of this "
        "smaps: no kernel prints it in smaps_rollup"
    ]


def test_the_header_range_is_checked_with_the_gate_rule() -> None:
    smaps, rollup_text = load(LIVE_SLEEP)
    rollup = smapsfmt.parse_rollup(rollup_text)
    last_real = smaps[-2]
    assert smaps[-1].pathname == b"[vsyscall]" and rollup.end == last_real.end
    gate_end = rollup_text.replace(f"-{rollup.end:x} ".encode(), b"-ffffffffff601000 ", 1)
    found = errors(smapsfmt.check_rollup(smaps, smapsfmt.parse_rollup(gate_end), path="R"))
    assert [d.rule for d in found] == ["rollup-header-range"]
    assert found[0].column == len(f"{rollup.start:x}-") + 1
    assert found[0].message == (
        f"the rollup's range ends at ffffffffff601000; Linux 6.6-7.3 ends it at "
        f"{rollup.end:08x}, the end of the last mapping before the gate VMA (4.19+)"
    )
    # 4.14-4.18 end it at the gate VMA: the prometheus capture does, and is consistent.
    proven = proof(PROMETHEUS)
    assert proven["consistent"] is True and proven["kernels"] == "Linux 4.14-4.18"
    # what dates its rollup so, as check names it for a kernel the pair does not fit
    later = proof(PROMETHEUS, "--kernel", "6.18")["diagnostics"]
    (rollup_dated,) = (d["message"] for d in later if "the rollup cannot come" in d["message"])
    assert rollup_dated.startswith("the rollup cannot come from kernel 6.18: it is printed by "
                                   "Linux 4.14-4.18 (")  # fmt: skip
    assert "the range ends with the gate VMA" in rollup_dated.split(" (", 1)[1].split("; ")[-1]


def test_a_kernel_version_that_cannot_have_printed_the_pair_is_reported() -> None:
    smaps, rollup_text = load(PCP1)
    proof = smapsfmt.check_rollup(
        smaps, smapsfmt.parse_rollup(rollup_text), kernel="6.18", path="R"
    )
    assert [d.rule for d in errors(proof)] == ["rollup-kernel-mismatch"] * 2
    assert smapsfmt.check_rollup(smaps, smapsfmt.parse_rollup(rollup_text), kernel="5.5.7") == []


def _spec_copy(tmp: Path, smaps_document: str) -> dict[str, str]:
    """The environment of a command that reads a copy of the spec files whose procfs-smaps is
    ``smaps_document`` (SMAPSFMT_SPEC_DIR)."""
    spec = tmp / "spec"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part, dirs_exist_ok=True)
    (spec / SMAPS_PATH).write_text(smaps_document, encoding="utf-8")
    return {"SMAPSFMT_SPEC_DIR": str(spec)}


def test_the_field_knowledge_comes_from_the_abi_document(tmp_path: Path) -> None:
    """A copy of the document that calls Pss an exact sum makes a real pair inconsistent."""
    text = (ROOT / SMAPS_PATH).read_text(encoding="utf-8")
    entry = text.index("What:\t\t/proc/pid/smaps: Pss\n")
    at = text.index(":Rollup: fixed-point-sum", entry)
    changed = text[:at] + ":Rollup: exact-sum" + text[at + len(":Rollup: fixed-point-sum") :]
    rollup = PCP1 / "smaps_rollup"
    result = run_cli("check", str(PCP1 / "smaps"), str(rollup),
                     env_extra=_spec_copy(tmp_path / "exact", changed))  # fmt: skip
    assert result.returncode == 1, result.stderr
    found = [line for line in result.stdout.decode().splitlines() if line.startswith(f"{rollup}:")]
    assert found[:-1] == [
        f"{rollup}:3:1: rollup-sum: Pss is 7006 kB in the rollup, the 233 mappings sum to 6998 kB"
    ]
    assert found[-1].startswith(f"{rollup}: NOT the rollup of ") and ": 1 violation" in found[-1]
    # and the caps come from its invariants: without "Pss <= Rss", K is every mapping
    uncapped = text.replace(":Invariant smaps-pss-le-rss: Pss <= Rss", ":Invariant x: Pss >= 0")
    result = run_cli("rollup", "--format", "json", str(PCP1 / "smaps"),
                     env_extra=_spec_copy(tmp_path / "uncapped", uncapped))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intervals"]["Pss"] == [6998, 6998 + 233 - 1]


# --- smapsfmt rollup ---------------------------------------------------------------------------


_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")
_PROFILE = re.compile(r"profile (?:Linux )?(\S+) ")


def _kernel_of(folder: Path) -> str:
    """The kernel both files of a pair fit, as check dates them (the first version of the
    kernels it names); where validate matches the smaps to a later profile of that range (a
    label's width the checker does not weigh: FilePmdMapped's, fixed in 5.9), the first
    version of that profile."""
    named = [parse_version(v) for v in _VERSION.findall(proof(folder)["kernels"])]
    lo, hi = min(named), max(named)
    words = as_json("validate", str(folder / "smaps"))["files"][0]["profile"]
    match = _PROFILE.match(words or "")
    profile = {p.name: p for p in load_profiles()}.get(match.group(1)) if match else None
    if profile is not None and lo < profile.kernels[0] <= hi:
        lo = profile.kernels[0]
    return ".".join(map(str, lo))


_INTERVAL = re.compile(r"^(\S+:) +(\d+)\.\.(\d+) kB$")


@pytest.mark.parametrize("folder", PAIRS, ids=_ids(PAIRS))
def test_rollup_output_is_the_kernels_for_every_determined_field(folder: Path) -> None:
    real = (folder / "smaps_rollup").read_text("latin-1").splitlines()
    kernel = _kernel_of(folder)
    code, text = printed("rollup", "--kernel", kernel, str(folder / "smaps"))
    assert code == 0
    ours = text.decode("latin-1").splitlines()
    # the intervals of the fields the smaps does not determine ([lo, null]: unreliable)
    intervals = as_json("rollup", "--kernel", kernel, str(folder / "smaps"))["intervals"]
    assert len(ours) == len(real)
    assert ours[0] == real[0]  # the header, range and padding
    open_lines = 0
    for mine, theirs in zip(ours[1:], real[1:], strict=True):
        name = theirs.split(":", 1)[0]
        if name not in intervals:  # exact
            assert mine == theirs
            continue
        open_lines += 1
        value = int(theirs.split()[1])
        if intervals[name][1] is None:  # unreliable on this kernel
            assert mine.split()[1] == "?" and mine.index("?") == theirs.index(" kB") - 1
            continue
        match = _INTERVAL.match(mine)
        assert match is not None, mine
        assert int(match.group(2)) <= value <= int(match.group(3))
        # where the kernel right-aligns the value in 8 columns after a 16-character label
        label = theirs[: len(theirs) - len(" kB") - 8]
        assert mine == label + f"{match.group(2)}..{match.group(3)}".rjust(8) + " kB"
    assert open_lines == len(intervals)


def test_rollup_cli_equals_the_kernels_rollup_but_for_the_stated_intervals() -> None:
    result = run_cli("rollup", str(PCP1 / "smaps"))
    assert result.returncode == 0
    real = (PCP1 / "smaps_rollup").read_bytes().splitlines()
    ours = result.stdout.splitlines()
    differ = [(a, b) for a, b in zip(ours, real, strict=True) if a != b]
    assert differ == [
        (b"Pss:            6998..7017 kB", b"Pss:                7006 kB"),
        (b"Pss_File:       942..961 kB", b"Pss_File:            950 kB"),
        (b"SwapPss:        691..749 kB", b"SwapPss:             717 kB"),
    ]
    assert result.stderr.decode() == (
        "smapsfmt: note: Pss, Pss_File, SwapPss: not determined by the smaps; printed as "
        "LO..HI, the interval the kernel's value lies in ('?': a known kernel bug; see "
        "'smapsfmt check')\n"
        "smapsfmt: note: profile Linux 5.4-5.8 (matched)\n"
    )


def test_rollup_header_follows_the_kernel_asked_for() -> None:
    real = (PROMETHEUS / "smaps_rollup").read_bytes().splitlines()
    old = run_cli("rollup", "--kernel", "4.14", str(PROMETHEUS / "smaps"))
    assert old.returncode == 0
    assert old.stdout.splitlines()[0] == real[0]  # ends at ffffffffff601000, the gate VMA
    new = run_cli("rollup", "--kernel", "4.19", str(PROMETHEUS / "smaps"))
    assert new.stdout.splitlines()[0] == (
        b"00400000-7ffc07fa3000 ---p 00000000 00:00 0                              [rollup]"
    )
    # Without --kernel: the profile the detector names first, as validate names it.
    default = run_cli("rollup", str(PROMETHEUS / "smaps"))
    assert default.stdout.splitlines()[0] == real[0]
    assert default.stderr.decode().splitlines()[0] == (
        "smapsfmt: note: the smaps is printed by Linux 4.14-4.18 or Linux 4.19-4.20; this is the "
        "rollup of Linux 4.14-4.18 (Linux 4.19-4.20 ends the range at 7ffc07fa3000): give "
        "--kernel for another"
    )


def test_rollup_json() -> None:
    result = run_cli("rollup", "--format", "json", str(LIVE_SLEEP / "smaps"))
    assert result.returncode == 0
    data = json.loads(result.stdout)
    real = smapsfmt.parse_rollup((LIVE_SLEEP / "smaps_rollup").read_bytes())
    assert list(data) == ["mappings", "start", "end", "fields", "intervals", "profile"]
    assert data["profile"] == "profile Linux 6.6-7.3 (matched)"
    assert data["mappings"] == 37
    assert (data["start"], data["end"]) == (f"{real.start:08x}", f"{real.end:08x}")
    assert list(data["fields"]) == list(real.fields)
    for name, value in data["fields"].items():
        if name in data["intervals"]:
            lo, hi = data["intervals"][name]
            assert value == lo <= real.fields[name] <= hi
        else:
            assert value == real.fields[name], name
    assert set(data["intervals"]) == {"Pss", "Pss_File"}


def test_aggregate_returns_the_rollup_model() -> None:
    smaps, rollup_text = load(LIVE_SLEEP)
    real = smapsfmt.parse_rollup(rollup_text)
    ours = smapsfmt.aggregate(smaps)
    assert isinstance(ours, smapsfmt.Rollup)
    assert (ours.start, ours.end, ours.pathname, ours.perms) == (
        real.start, real.end, b"[rollup]", "---p",
    )  # fmt: skip
    assert list(ours.fields) == list(real.fields)
    assert ours.fields["Rss"] == real.fields["Rss"]
    assert ours.fields["Pss"] == sum(m.pss or 0 for m in smaps) < real.fields["Pss"]
    with pytest.raises(ValueError, match=r"cannot come from kernel 4\.19"):
        smapsfmt.aggregate(smaps, kernel="4.19")


def test_aggregate_streams_one_pass_over_any_iterable() -> None:
    data = (LIVE / "6.18/many-small/smaps").read_bytes()
    whole = smapsfmt.aggregate(smapsfmt.parse_smaps(data))
    pieces = (data[i : i + 4096] for i in range(0, len(data), 4096))
    consumed = 0

    def counted() -> Iterator[smapsfmt.Mapping]:
        nonlocal consumed
        for mapping in iter_smaps(pieces):
            consumed += 1
            yield mapping

    streamed = smapsfmt.aggregate(counted())
    assert consumed == 3161
    assert streamed == whole and streamed.intervals == whole.intervals


def test_a_vendor_backport_gets_the_rollup_of_its_implementation() -> None:
    """Android 4.9 kernels print a smaps_rollup backported from 4.14 (kernel/android-4.9.profile):
    the range ends at the gate VMA, and the 4.14 bugs make Swap and Locked unreliable (the ABI
    document's ranges start at 4.14: the nearest one applies)."""
    path = EXTERNAL / "android-libmeminfo/testdata1/smaps_short"
    smaps = smapsfmt.parse_smaps(path.read_bytes())
    summary = smapsfmt.aggregate(smaps)
    assert as_json("rollup", str(path))["profile"].startswith("profile android-4.9 ")
    assert summary.end == 0xFFFFFFFFFF601000 == smaps[-1].end
    assert summary.intervals["Swap"].hi is None and summary.intervals["Locked"].hi is None
    pss = summary.intervals["Pss"]
    assert (pss.lo, pss.hi) == (19119, 19121)  # libmeminfo's total Pss (ORACLES.md), + K - 1


def test_an_empty_smaps_has_the_empty_rollup() -> None:
    """No mapping: the header 00000000-00000000 and every field 0 (task_mmu.c 6.1+, KERNEL-FACTS
    section 8), in the lines of the newest kernel, or of the kernel asked for. A kernel thread's
    smaps is empty too, but it has no smaps_rollup at all (ESRCH)."""
    summary = as_json("rollup", "/dev/null")
    assert (summary["mappings"], summary["start"], summary["end"]) == (0, "00000000", "00000000")
    newest = {p.name: p for p in load_profiles()}["6.6-7.3"]
    assert summary["profile"].startswith("profile Linux 6.6-7.3 ")
    assert list(summary["fields"]) == [line.field for line in newest.rollup_lines or ()]
    assert summary["fields"] == dict.fromkeys(summary["fields"], 0)
    assert len(summary["fields"]) == 22 and summary["intervals"] == {}
    assert smapsfmt.aggregate(smapsfmt.parse_smaps(b"")).fields == summary["fields"]
    older = as_json("rollup", "--kernel", "5.4", "/dev/null")
    assert older["profile"].startswith("profile Linux 5.4-5.8 ")
    assert "KSM" not in older["fields"] and "FilePmdMapped" in older["fields"]
    assert list(smapsfmt.aggregate([], kernel="5.4").fields) == list(older["fields"])
    android = as_json("rollup", "--kernel", "android-4.9", "/dev/null")["profile"]
    assert android.startswith("profile android-4.9 ")


def test_rollup_cli_of_an_empty_smaps_is_a_valid_smaps_rollup(tmp_path: Path) -> None:
    result = run_cli("rollup", "/dev/null")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "00000000-00000000 ---p 00000000 00:00 0" + " " * 34 + "[rollup]"
    assert lines[1:4] == ["Rss:                   0 kB", "Pss:                   0 kB",
                          "Pss_Dirty:             0 kB"]  # fmt: skip
    assert len(lines) == 23 and all(line.endswith(" 0 kB") for line in lines[1:])
    assert result.stderr.decode() == (
        "smapsfmt: note: the smaps has no mapping: this is the smaps_rollup of an address space "
        "without VMAs, as Linux 6.1 and later print it (a kernel thread's smaps is empty too, "
        "but it has no smaps_rollup)\n"
        "smapsfmt: note: profile Linux 6.6-7.3 (an empty smaps, which every kernel prints alike: "
        "the newest is used)\n"
    )
    rollup = tmp_path / "smaps_rollup"
    rollup.write_bytes(result.stdout)
    validated = run_cli("validate", str(rollup))
    assert validated.returncode == 0, validated.stdout
    assert b"0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)" in validated.stdout
    checked = run_cli("check", "/dev/null", str(rollup))
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.decode().splitlines()[-1] == (
        f"{rollup}: consistent with /dev/null (0 mappings, Linux 6.6-7.3): 22 of 22 fields proven"
        "; profile Linux 6.6-7.3 (an empty smaps, which every kernel prints alike: the newest is "
        "used)"
    )


# --- the command line --------------------------------------------------------------------------


def test_check_cli_refutes_with_exit_1_and_located_diagnostics(tmp_path: Path) -> None:
    rollup = tmp_path / "smaps_rollup"
    rollup.write_bytes(tamper((PCP1 / "smaps_rollup").read_bytes(), "Rss", 10541))
    result = run_cli("check", str(PCP1 / "smaps"), str(rollup))
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0] == (
        f"{rollup}:2:1: rollup-sum: Rss is 10541 kB in the rollup, the 233 mappings sum to "
        "10540 kB"
    )
    assert "  Rss:" in lines[1] and lines[1].endswith("VIOLATED")
    assert lines[-1].startswith(f"{rollup}: NOT the rollup of {PCP1 / 'smaps'}")
    as_json = run_cli("check", "--format", "json", str(PCP1 / "smaps"), str(rollup))
    assert as_json.returncode == 1
    proof = json.loads(as_json.stdout)
    assert proof["consistent"] is False
    assert [f for f in proof["fields"] if f["name"] == "Rss"] == [
        {
            "name": "Rss",
            "line": 2,
            "value": 10541,
            "sum": 10540,
            "interval": [10540, 10540],
            "verdict": "violated",
            "why": "the sum over the 233 mappings",
        }
    ]
    assert proof["diagnostics"] == [
        {
            "path": str(rollup),
            "line": 2,
            "column": 1,
            "rule": "rollup-sum",
            "severity": "error",
            "message": "Rss is 10541 kB in the rollup, the 233 mappings sum to 10540 kB",
        }
    ]


def test_check_cli_json_when_consistent_has_no_diagnostics() -> None:
    result = run_cli("check", "--format", "json", str(PCP1 / "smaps"), str(PCP1 / "smaps_rollup"))
    assert result.returncode == 0
    proof = json.loads(result.stdout)
    assert (proof["consistent"], proof["diagnostics"], proof["mappings"]) == (True, [], 233)
    assert {f["verdict"] for f in proof["fields"]} == {"holds"}


def test_check_cli_reads_the_smaps_from_stdin() -> None:
    result = run_cli(
        "check", "-", str(LIVE_SLEEP / "smaps_rollup"), stdin=(LIVE_SLEEP / "smaps").read_bytes()
    )
    assert result.returncode == 0, result.stdout
    assert "consistent with <stdin> (37 mappings" in result.stdout.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rollup", "/nonexistent"], "cannot read /nonexistent: No such file or directory"),
        (["check", str(PCP1 / "smaps"), "/nonexistent"], "cannot read /nonexistent"),
        (["check", "/nonexistent", str(PCP1 / "smaps_rollup")], "cannot read /nonexistent"),
        (["rollup", "--kernel", "latest", str(PCP1 / "smaps")], "unknown kernel 'latest'"),
        (["check", "-", "-"], "only one of SMAPS_FILE and ROLLUP_FILE can be standard input"),
        (["check", str(PCP1 / "smaps")], "SMAPS_FILE and ROLLUP_FILE, or --pid PID, are required"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.startswith("smapsfmt: error: ") and message in err and "Traceback" not in err


def test_syntax_errors_are_located_and_exit_1(tmp_path: Path) -> None:
    broken = tmp_path / "smaps"
    text = (LIVE_SLEEP / "smaps").read_bytes().replace(b"Rss:", b"Rss;", 1)
    broken.write_bytes(text)
    result = run_cli("rollup", str(broken))
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode().startswith(f"{broken}:5:1: syntax: ")
    # as parse prints it: the location and message, then the line and a caret under the column
    parsed = run_cli("parse", str(broken))
    assert parsed.returncode == 1
    assert result.stderr == parsed.stderr
    assert result.stderr.decode().splitlines()[1:] == ["    Rss;                   8 kB", "    ^"]
    bad_rollup = tmp_path / "smaps_rollup"
    bad_rollup.write_bytes((LIVE_SLEEP / "smaps_rollup").read_bytes().replace(b"Pss:", b"Pss;"))
    result = run_cli("check", str(LIVE_SLEEP / "smaps"), str(bad_rollup))
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"{bad_rollup}:3:1: syntax: ")
    assert result.stderr == run_cli("parse", str(bad_rollup)).stderr
    assert result.stderr.decode().splitlines()[-1] == "    ^"
    result = run_cli("check", str(broken), str(LIVE_SLEEP / "smaps_rollup"))
    assert result.returncode == 1
    assert result.stderr == parsed.stderr


def test_rollup_cli_kernel_mismatch_exits_1() -> None:
    result = run_cli("rollup", "--kernel", "4.19", str(LIVE_SLEEP / "smaps"))
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == (
        f"{LIVE_SLEEP / 'smaps'}:1:1: rollup-kernel-mismatch: the smaps cannot come from "
        "kernel 4.19: it is printed by Linux 6.6-7.3 (KernelPageSize right after Size (4.14+); "
        "THPeligible (5.0+); FilePmdMapped (5.4+); Pss_Dirty (6.0+); KSM (6.6+))\n"
    )


# --- --kernel: one reading for every command -----------------------------------------------------

ANDROID_SHORT = EXTERNAL / "android-libmeminfo/testdata1/smaps_short"


@pytest.mark.parametrize(
    "text",
    ["v6.1", "6.1 junk", "6.1junk", "6", "android-4.9", "1" * 5000 + ".1", "99999.0"],
    ids=["v-prefix", "blank-junk", "junk", "one-number", "a-name", "5000-digits", "5-digits"],
)
def test_parse_version_takes_a_whole_version_only(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a kernel version: '") as info:
        parse_version(text)
    assert len(str(info.value)) < 120


def test_parse_version_takes_what_uname_prints() -> None:
    assert parse_version("6.18.44-fc-v669") == (6, 18, 44)
    assert parse_version("5.15.0-91-generic") == (5, 15, 0)
    assert parse_version("4.9.159-perf+") == (4, 9, 159)
    assert parse_version("2.6.32.71") == (2, 6, 32)
    assert parse_version(" 6.1-rc1\n") == (6, 1)


# What every command says a kernel is, in its usage errors.
KERNELS = (
    "a version such as 5.4, a release as uname -r prints it (6.18.44-fc-v669) or a profile name ("
)
KERNEL_TYPE = (
    "kernel is a string: a version such as 5.4, a release as uname -r prints it "
    "(6.18.44-fc-v669) or a profile name (android-4.9); not {}"
)
NUMBER = ": quote the version (as a number, 5.10 is 5.1)"


def _kernel_runs(kernel: str) -> dict[str, subprocess.CompletedProcess[bytes]]:
    smaps, rollup = str(LIVE_SLEEP / "smaps"), str(LIVE_SLEEP / "smaps_rollup")
    return {
        "validate": run_cli("validate", "--kernel", kernel, smaps),
        "rollup": run_cli("rollup", "--kernel", kernel, smaps),
        "check": run_cli("check", "--kernel", kernel, smaps, rollup),
    }


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        ("v6.1", f"unknown kernel 'v6.1': give {KERNELS}"),
        ("6.1 junk", f"unknown kernel '6.1 junk': give {KERNELS}"),
        ("latest", f"unknown kernel 'latest': give {KERNELS}"),
        ("2.4", "no profile for Linux 2.4: the profiles cover 2.6.20 to 7.3"),
        ("1" * 5000 + ".1", "unknown kernel '1111"),
    ],
    ids=["v-prefix", "trailing-junk", "a-word", "too-old", "5000-digits"],
)
def test_an_unknown_kernel_is_the_same_usage_error_in_every_command(
    kernel: str, message: str
) -> None:
    runs = _kernel_runs(kernel)
    for command, result in runs.items():
        err = result.stderr.decode()
        assert (result.returncode, result.stdout) == (2, b""), (command, err)
        assert err.startswith("smapsfmt: error: " + message), (command, err)
        assert err.count("\n") == 1 and "Exceeds the limit" not in err, command
    assert len({r.stderr for r in runs.values()}) == 1


def test_a_profile_name_and_a_uname_release_are_kernels_for_every_command() -> None:
    for kernel in ("6.6-7.3", "6.18.44-fc-v669"):
        runs = _kernel_runs(kernel)
        assert [r.returncode for r in runs.values()] == [0, 0, 0], kernel
    # Android's backport of smaps_rollup to 4.9: its profile, by name or by version.
    by_name = run_cli("rollup", "--kernel", "android-4.9", str(ANDROID_SHORT))
    by_version = run_cli("rollup", "--kernel", "4.9", str(ANDROID_SHORT))
    unasked = run_cli("rollup", str(ANDROID_SHORT))
    assert by_name.returncode == by_version.returncode == 0, by_name.stderr
    assert by_name.stdout == by_version.stdout == unasked.stdout
    assert by_name.stdout.startswith(b"54c00000-ffffffffff601000 ---p ")
    validate = run_cli("validate", "--kernel", "android-4.9", str(ANDROID_SHORT))
    assert validate.returncode == 0, validate.stdout
    # A profile the smaps is not printed by: the mismatch, named by the profile.
    other = run_cli("rollup", "--kernel", "android-4.9", str(LIVE_SLEEP / "smaps"))
    assert other.returncode == 1
    assert other.stderr.decode().startswith(
        f"{LIVE_SLEEP / 'smaps'}:1:1: rollup-kernel-mismatch: the smaps cannot come from "
        "android-4.9 (a variant of Linux 4.9-4.11): it is printed by Linux 6.6-7.3 ("
    )
    asked = as_json("rollup", "--kernel", "android-4.9", str(ANDROID_SHORT))["profile"]
    assert asked.startswith("profile android-4.9 ")


# --- texts no kernel prints: a located refusal, never a crash ------------------------------------


def test_a_smaps_rollup_given_as_the_smaps_is_named_so(tmp_path: Path) -> None:
    rollup = LIVE_SLEEP / "smaps_rollup"
    expected = (
        f"{rollup}:1:1: rollup-kernel-mismatch: this is a smaps_rollup, not a smaps: its one "
        "entry is the [rollup] entry, which no kernel prints in smaps\n"
    )
    for args in (["rollup", str(rollup)], ["check", str(rollup), str(rollup)]):
        result = run_cli(*args)
        assert (result.returncode, result.stdout, result.stderr.decode()) == (1, b"", expected)
    as_smaps = smapsfmt.parse_smaps(rollup.read_bytes())
    with pytest.raises(smapsfmt.KernelMismatch, match=r"^this is a smaps_rollup, not a smaps"):
        smapsfmt.aggregate(as_smaps)
    with pytest.raises(ValueError, match=r"^this is a smaps_rollup, not a smaps"):
        smapsfmt.check_rollup(as_smaps, smapsfmt.parse_rollup(rollup.read_bytes()))
    # A smaps_rollup entry after real mappings (two files joined): located at its header.
    joined = tmp_path / "joined"
    joined.write_bytes((LIVE_SLEEP / "smaps").read_bytes() + rollup.read_bytes())
    result = run_cli("rollup", str(joined))
    line = (LIVE_SLEEP / "smaps").read_bytes().count(b"\n") + 1
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"{joined}:{line}:1: rollup-kernel-mismatch: the entry at line {line} is the [rollup] "
        "entry of a smaps_rollup, which no kernel prints in smaps\n"
    )


def _without(text: bytes, label: bytes) -> bytes:
    return b"".join(line for line in text.splitlines(True) if not line.startswith(label))


def test_field_lines_no_kernel_prints_together_are_refused_not_a_crash(tmp_path: Path) -> None:
    """THPeligible (5.0+) removed from a 6.18 smaps: FilePmdMapped (5.4+) without it is no
    kernel's smaps. That range, 5.4 to 4.20, used to crash the aggregator."""
    smaps = tmp_path / "smaps"
    smaps.write_bytes(_without((LIVE_SLEEP / "smaps").read_bytes(), b"THPeligible:"))
    expected = (
        f"{smaps}:1:1: rollup-kernel-mismatch: no kernel prints FilePmdMapped without "
        "THPeligible in smaps: FilePmdMapped appeared in 5.4; THPeligible is printed from 5.0 on\n"
    )
    for args in (["rollup", str(smaps)], ["check", str(smaps), str(LIVE_SLEEP / "smaps_rollup")]):
        result = run_cli(*args)
        assert (result.returncode, result.stdout, result.stderr.decode()) == (1, b"", expected)
    model = smapsfmt.parse_smaps(smaps.read_bytes())
    with pytest.raises(smapsfmt.KernelMismatch) as info:
        smapsfmt.aggregate(model)
    assert (info.value.line, info.value.rule) == (1, "rollup-kernel-mismatch")


def test_kernel_page_size_after_the_counters_with_a_newer_field_is_refused() -> None:
    """KernelPageSize after the counters dates a smaps before 4.14; THPeligible (5.0+) then
    cannot be in it."""
    first = (LIVE_SLEEP / "smaps").read_bytes().split(b"\n")
    header, size, kps, mmu, *rest = first[:24]
    moved = b"\n".join([header, size, *rest[:-1], kps, mmu, rest[-1]]) + b"\n"
    assert b"THPeligible" in moved and moved.index(b"KernelPageSize") > moved.index(b"Locked")
    with pytest.raises(ValueError) as info:
        smapsfmt.aggregate(smapsfmt.parse_smaps(moved))
    assert str(info.value) == (
        "no kernel prints THPeligible with KernelPageSize after the counters in smaps: "
        "THPeligible appeared in 5.0; KernelPageSize is right after Size from 4.14 on"
    )


def test_a_rollup_no_kernel_prints_is_a_diagnostic_of_check() -> None:
    text = _without((LIVE_SLEEP / "smaps_rollup").read_bytes(), b"Pss_Anon:")
    smaps = smapsfmt.parse_smaps((LIVE_SLEEP / "smaps").read_bytes())
    found = errors(smapsfmt.check_rollup(smaps, smapsfmt.parse_rollup(text), path="R"))
    assert [d.render() for d in found] == [
        "R:1:1: rollup-kernel-mismatch: no kernel prints FilePmdMapped without Pss_Anon in "
        "smaps_rollup: FilePmdMapped appeared in 5.4; Pss_Anon is printed from 5.3 on",
        "R:1:1: rollup-fields: the rollup has no Pss_Anon line, which Linux 6.6-7.3 prints in "
        "the rollup of this smaps",
    ]
    asked = errors(
        smapsfmt.check_rollup(smaps, smapsfmt.parse_rollup(text), kernel="6.18", path="R")
    )
    assert [d.rule for d in asked] == ["rollup-kernel-mismatch", "rollup-fields"]


def test_text_instead_of_a_model_is_a_type_error() -> None:
    smaps_bytes = (LIVE_SLEEP / "smaps").read_bytes()
    rollup_bytes = (LIVE_SLEEP / "smaps_rollup").read_bytes()
    smaps, rollup = smapsfmt.parse_smaps(smaps_bytes), smapsfmt.parse_rollup(rollup_bytes)
    expected = "expected a Smaps or an iterable of Mapping, not bytes: parse the text first "
    with pytest.raises(TypeError, match=re.escape(expected + "(smapsfmt.parse_smaps, or")):
        smapsfmt.aggregate(smaps_bytes)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape(expected)):
        smapsfmt.check_rollup(smaps_bytes, rollup)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^expected a Smaps or an iterable of Mapping, not str"):
        smapsfmt.aggregate(smaps_bytes.decode())  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"^expected a Smaps or an iterable of Mapping, not Rollup"
    ):
        smapsfmt.aggregate(rollup)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"an iterable of Mapping, not an iterable of Rollup$"):
        smapsfmt.aggregate([rollup])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"^expected a Smaps or an iterable of Mapping, not int$"):
        smapsfmt.aggregate(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape(
        "expected a Rollup for rollup, not bytes: parse the text first (smapsfmt.parse_rollup)"
    )):  # fmt: skip
        smapsfmt.check_rollup(smaps, rollup_bytes)  # type: ignore[arg-type]
    with pytest.raises(TypeError) as caught:
        smapsfmt.aggregate(smaps, kernel=6.1)  # type: ignore[arg-type]
    assert str(caught.value) == KERNEL_TYPE.format("float") + NUMBER


def _with_rss(values: list[str]) -> tuple[bytes, list[int]]:
    """The sleep capture with the Rss of its first mappings replaced by ``values``, and the
    header lines of those mappings."""
    lines = (LIVE_SLEEP / "smaps").read_bytes().split(b"\n")
    headers: list[int] = []
    header = 0
    for number, line in enumerate(lines, start=1):
        if b" " in line and not line.endswith(b" kB") and b":" not in line.split(b" ")[0]:
            header = number
        if line.startswith(b"Rss:") and len(headers) < len(values):
            lines[number - 1] = b"Rss:            " + values[len(headers)].encode() + b" kB"
            headers.append(header)
    return b"\n".join(lines), headers


def test_sums_beyond_what_a_rollup_can_print_are_refused_at_the_mapping(tmp_path: Path) -> None:
    """Six Rss values of 4300 digits: their sum has 4301, more than Python converts to text.
    The rollup's counters are u64 bytes (value-range): refused where the sum goes beyond."""
    kb_max = (2**64 - 1) >> 10
    smaps = tmp_path / "smaps"
    text, headers = _with_rss(["9" * 4300] * 6)
    smaps.write_bytes(text)
    expected = (
        f"{smaps}:{headers[0]}:1: value-range: the Rss values up to this mapping sum to more "
        f"than {kb_max} kB, beyond what a smaps_rollup can print (u64 byte counters >> 10): no "
        "kernel prints a rollup of this smaps\n"
    )
    for args in (
        ["rollup", str(smaps)],
        ["rollup", "--format", "json", str(smaps)],
        ["check", str(smaps), str(LIVE_SLEEP / "smaps_rollup")],
    ):
        result = run_cli(*args)
        assert (result.returncode, result.stderr.decode()) == (1, expected)
        if "json" in args:  # the same, as the error object on stdout
            assert json.loads(result.stdout)["error"] == {
                "kind": "invalid", "rule": "value-range", "path": str(smaps),
                "line": headers[0], "column": 1, "message": expected.split(": ", 2)[2][:-1],
                "exit": 1,
            }  # fmt: skip
        else:
            assert result.stdout == b""
    # Each value within the range, their sum not: located at the mapping that crosses it.
    text, headers = _with_rss([str(kb_max), "0", str(kb_max)])
    with pytest.raises(ValueError, match=r"^the Rss values up to this mapping") as info:
        smapsfmt.aggregate(smapsfmt.parse_smaps(text))
    assert (info.value.line, info.value.rule) == (headers[2], "value-range")  # type: ignore[attr-defined]
    # At the limit: a rollup, printed in full.
    text, _ = _with_rss([str(kb_max - 1812), "0"])
    parsed = smapsfmt.parse_smaps(text)
    total = sum(m.rss or 0 for m in parsed)
    assert kb_max - 1812 < total <= kb_max
    assert smapsfmt.aggregate(parsed).rss == total


def _printed_by(name: str) -> bytes:
    """A real capture as the kernel of profile ``name`` prints it: the conformance corpus's
    case generated for that profile."""
    from smapsfmt.conformance import cases

    (case,) = cases(kind="smaps", tags=[f"profile:{name}"])
    return case.data()


def test_a_kernel_before_4_14_has_no_rollup_and_gets_the_sum_in_the_oldest_layout(
    tmp_path: Path,
) -> None:
    """Linux 3.0 prints no smaps_rollup: `rollup` says so, and prints the sum of the smaps in
    the layout of 4.14, the first smaps_rollup (its range ends with the gate VMA)."""
    smaps = tmp_path / "smaps"
    smaps.write_bytes(_printed_by("3.0-3.7"))
    validated = run_cli("validate", str(smaps))
    assert b"0 errors, 0 warnings; profile Linux 3.0-3.7 (matched)" in validated.stdout
    result = run_cli("rollup", str(smaps))
    assert result.returncode == 0
    assert result.stderr.decode().splitlines()[0] == (
        "smapsfmt: note: Linux 3.0-3.7 has no smaps_rollup (it appeared in Linux 4.14): this is "
        "the sum of the smaps laid out as the oldest smaps_rollup, Linux 4.14-4.18's"
    )
    model = smapsfmt.parse_smaps(smaps.read_bytes())
    lines = result.stdout.decode().splitlines()
    header = f"{model[0].start:08x}-ffffffffff601000 ---p 00000000 00:00 0 "
    assert lines[0] == header.ljust(73) + "[rollup]"
    labels = [line.split(":")[0] for line in lines[1:]]
    assert labels == [n for n in model[0].fields if n not in ("Size", "KernelPageSize",
                                                               "MMUPageSize")]  # fmt: skip
    # Fields summed in bytes are the plain sums; no 4.14 bug applies to a kernel without one.
    for name in ("Rss", "Shared_Clean", "Private_Dirty", "Swap"):
        total = sum(m.fields[name] for m in model)
        assert f"{name + ':':<16}{total:>8} kB" in lines, name
    summary = as_json("rollup", str(smaps))
    assert summary["profile"] == "profile Linux 3.0-3.7 (matched)"  # dated 3.0-3.7, no profile
    assert all(hi is not None for _, hi in summary["intervals"].values())
    assert smapsfmt.aggregate(model).fields["Rss"] == sum(m.fields["Rss"] for m in model)
    # The pair check still refuses it with a real rollup: no kernel prints both.
    checked = run_cli("check", str(smaps), str(LIVE_SLEEP / "smaps_rollup"))
    assert checked.returncode == 1
    assert "rollup-kernel-mismatch" in checked.stdout.decode().splitlines()[0]
