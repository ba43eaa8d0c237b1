"""The aggregator's field facts come from the spec files: edit a copy of the ABI document or of
the kernel profiles, and the sums, bounds and dating follow. (That mappings read one by one are
summed in bounded Batches of one shape, as the parser's Batches are: test_batch.py.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from support import LIVE, VALID

import smapsfmt
from smapsfmt._rollup.bounds import bounds
from smapsfmt._rollup.dating import Dating
from smapsfmt._rollup.knowledge import FlagGate, Knowledge, knowledge, knowledge_from
from smapsfmt._rollup.sums import read
from smapsfmt.spec import load_abi, load_profiles

MLOCKED = LIVE / "6.18/mlocked/smaps"
ANDROID = VALID / "external/android-libmeminfo/testdata1/smaps"
LOCKED_LO = ":Invariant smaps-locked-lo: Locked == (Pss if 'lo' in VmFlags else 0)"


def _edited(old: str, new: str) -> Knowledge:
    """The knowledge of a copy of the ABI document with ``old`` replaced by ``new``."""
    text = load_abi().files["smaps"]
    assert old in text
    return knowledge_from(load_abi(text.replace(old, new)))


def _mappings(path: Path) -> list[smapsfmt.Mapping]:
    return list(smapsfmt.parse_smaps(path.read_bytes()))


def test_the_shipped_facts() -> None:
    know = knowledge()
    assert know.fixed == ("Pss", "Pss_Dirty", "SwapPss", "Locked")
    assert know.gates == {"Locked": FlagGate("lo", "smaps-locked-lo")}
    assert know.caps["Pss"] == ("Rss",)
    assert know.rollup_names == {b"[rollup]"}
    assert know.smaps_only == {"Size"}
    assert know.last_minor == {3: 19, 4: 20, 5: 19}


def test_the_relation_of_an_empty_kernel_range_is_the_newest() -> None:
    know = knowledge()
    empty = Dating((5, 4), (4, 20))
    assert know.relation("Swap", empty) == "exact-sum"
    assert know.relation("Locked", empty) == "fixed-point-sum"
    assert know.relation("Rss", empty) == "exact-sum"


def test_the_mnemonic_that_gates_locked_is_the_documents() -> None:
    mappings = _mappings(MLOCKED)
    shipped = read(mappings, knowledge())
    other = _edited(LOCKED_LO, LOCKED_LO.replace("'lo'", "'ac'"))
    assert other.gates == {"Locked": FlagGate("ac", "smaps-locked-lo")}
    edited = read(mappings, other)
    below = shipped.ungated["Locked"]
    with_lo = sum(1 for m in mappings if "lo" in (m.vmflags or ()) and m.locked and m.rss)
    with_ac = sum(1 for m in mappings if "ac" in (m.vmflags or ()))
    assert shipped.fractions["Locked"] <= with_lo < with_ac
    assert shipped.fractions["Locked"] < edited.fractions["Locked"] <= below
    assert edited.ungated == shipped.ungated
    # without the invariant nothing gates Locked: every mapping below its cap counts
    ungated = read(mappings, _edited(LOCKED_LO, ":Invariant smaps-locked-lo: Locked >= 0"))
    assert ungated.fractions["Locked"] == below and ungated.ungated == {}


def test_a_profile_deviates_from_the_invariant_the_document_names() -> None:
    """android-4.9 counts Locked without VM_LOCKED (its profile's deviation smaps-locked-lo):
    every mapping can carry a fraction. Under another id the deviation names nothing. (Its
    rollup's Locked is unreliable, 4.14-4.20: the same profile, taken as a 5.4 one.)"""
    android = {p.name: p for p in load_profiles()}["android-4.9"]
    assert "smaps-locked-lo" in android.deviations
    as_54 = dataclasses.replace(android, kernels=((5, 4), (5, 4)))
    kernels = Dating((5, 4), (5, 4), (), (as_54,))
    mappings = _mappings(ANDROID)
    state = read(mappings, knowledge())
    deviating = bounds(state, ["Locked"], kernels)["Locked"]
    renamed = _edited(LOCKED_LO, LOCKED_LO.replace("smaps-locked-lo", "smaps-locked-vm"))
    keeping = bounds(read(mappings, renamed), ["Locked"], kernels)["Locked"]
    assert state.fractions.get("Locked", 0) == 0 < state.ungated["Locked"]
    assert keeping.lo == keeping.hi == deviating.lo
    assert deviating.hi is not None and deviating.hi > deviating.lo


def test_the_rollup_entrys_name_is_the_profiles() -> None:
    rollup_text = (LIVE / "6.18/sleep/smaps_rollup").read_bytes()
    renamed_text = rollup_text.replace(b"[rollup]", b"[summary]")
    profiles = [
        dataclasses.replace(p, rollup_header=(p.rollup_header[0], "[summary]"))
        if p.rollup_header
        else p
        for p in load_profiles()
    ]
    know = knowledge_from(load_abi(), profiles)
    assert know.rollup_names == {b"[summary]"}
    for text, shipped, edited in ((rollup_text, 1, None), (renamed_text, None, 1)):
        mappings = _mappings_of(text)
        assert _rollup_entry(mappings, knowledge()) == shipped
        assert _rollup_entry(mappings, know) == edited


def _mappings_of(text: bytes) -> list[smapsfmt.Mapping]:
    """The smaps_rollup's one entry, read as a smaps entry would be (its header and lines)."""
    return list(smapsfmt.parse_smaps(text))


def _rollup_entry(mappings: list[smapsfmt.Mapping], know: Knowledge) -> int | None:
    try:
        state = read(mappings, know)
    except smapsfmt.KernelMismatch as exc:
        assert str(exc).startswith("this is a smaps_rollup, not a smaps")
        return exc.line
    return state.rollup_entry
