"""The ABI document: in the kernel's format, complete, and read exactly as written."""

from __future__ import annotations

import re

import pytest
from support import ROOT

from smapsfmt import Mapping
from smapsfmt.spec import (
    ROLLUP_PATH,
    SMAPS_PATH,
    AbiError,
    KernelRange,
    load_abi,
    parse_version,
)

DOCS = [ROOT / SMAPS_PATH, ROOT / ROLLUP_PATH]
TAG_LINE = re.compile(r"(What|Date|KernelVersion|Contact|Description|Users):(\t+\S.*)?")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_documents_are_in_the_kernel_abi_format(path: object) -> None:
    # Documentation/ABI/README (6.18.2): tags in column 0, TAB-aligned values, continuation
    # lines indented with TABs; entries start with What:.
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    lines = text.split("\n")
    assert lines[0].startswith("What:\t")
    assert text.endswith("\n") and not text.endswith("\n\n")
    for number, line in enumerate(lines, start=1):
        assert line == line.rstrip(), f"{path}:{number}: trailing blanks"
        if not line:
            continue
        if line.startswith("\t"):
            assert not line.lstrip("\t").startswith(" "), f"{path}:{number}: indent with TABs"
            continue
        match = TAG_LINE.fullmatch(line)
        assert match, f"{path}:{number}: neither a tag line nor an indented description line"
        if match.group(2):  # the value starts at column 16 (TAB stops every 8 columns)
            tag_end = len(match.group(1)) + 1
            tabs = len(match.group(2)) - len(match.group(2).lstrip("\t"))
            assert (tag_end // 8 + tabs) * 8 == 16, f"{path}:{number}: value not at column 16"


def test_one_entry_per_file_and_per_field() -> None:
    whats = []
    for path in DOCS:
        whats += re.findall(r"^What:\t+(.*)$", path.read_text(encoding="utf-8"), re.M)
    assert whats.count("/proc/pid/smaps") == 1 and whats.count("/proc/pid/smaps_rollup") == 1
    fields = [w.split(": ", 1)[1] for w in whats if ": " in w]
    assert len(fields) == len(set(fields)) == len(load_abi().fields)


def test_the_model_names_exactly_the_documented_numeric_fields() -> None:
    # smapsfmt/_model.py gives each documented numeric field a typed attribute; vendor fields
    # stay generic (Mapping.fields), as do the non-numeric VmFlags and Name lines.
    abi = load_abi()
    documented = {n for n, spec in abi.fields.items() if spec.numeric and spec.vendor is None}
    # A mapping that prints every documented field (and one no document names), each with a
    # value of its own: its typed attributes give back exactly the documented numeric fields,
    # every other line is an unknown field.
    printed = [*abi.fields, "NotAField"]
    mapping = Mapping(
        line=1, start=0, end=4096, perms="r--p", offset=0, major=0, minor=0, inode=0,
        pathname=b"", fields={name: value for value, name in enumerate(printed)},
    )  # fmt: skip
    typed = set(dir(mapping)) - set(object.__dir__(mapping))
    assert {printed[getattr(mapping, attribute)] for attribute in typed} == documented
    assert len(typed) == len(documented)
    assert set(mapping.unknown_fields) == set(printed) - documented


def test_every_field_that_either_file_prints_is_described() -> None:
    abi = load_abi()
    for name in ("THPeligible", "ProtectionKey", "Nonlinear", "VmFlags", "Name", "Pss_Anon"):
        assert name in abi.fields
    assert abi.fields["Rss"].unit == "kB" and abi.fields["THPeligible"].unit is None
    assert abi.fields["VmFlags"].value == "mnemonics" and abi.fields["Name"].value == "text"
    assert abi.fields["Name"].vendor == "Android"
    assert abi.fields["Nonlinear"].removed == "4.0" and abi.fields["Nonlinear"].since == "3.8"
    assert abi.fields["Pss_Dirty"].since == "6.0" and abi.fields["KSM"].since == "6.6"
    assert abi.fields["Size"].scope == frozenset({"smaps"})
    assert abi.fields["Pss_Anon"].scope == frozenset({"smaps_rollup"})


@pytest.mark.parametrize(
    ("field", "relation"),
    [
        ("Rss", "exact-sum"), ("Anonymous", "exact-sum"), ("FilePmdMapped", "exact-sum"),
        ("Pss", "fixed-point-sum"), ("Pss_Dirty", "fixed-point-sum"),
        ("SwapPss", "fixed-point-sum"), ("Locked", "fixed-point-sum"),
        ("Pss_Anon", "rollup-only"), ("Pss_File", "rollup-only"), ("Pss_Shmem", "rollup-only"),
        ("Size", "not-in-rollup"), ("KernelPageSize", "not-in-rollup"),
        ("MMUPageSize", "not-in-rollup"), ("THPeligible", "not-in-rollup"),
        ("ProtectionKey", "not-in-rollup"), ("VmFlags", "not-in-rollup"),
    ],
)  # fmt: skip
def test_rollup_relations(field: str, relation: str) -> None:
    # KERNEL-FACTS §9: byte counters sum exactly, PSS-like counters in fixed point.
    assert load_abi().fields[field].rollup == relation


def test_rollup_relations_of_the_4_14_era_bugs() -> None:
    locked, swap = load_abi().fields["Locked"], load_abi().fields["Swap"]
    assert locked.rollup_for((4, 14), (4, 20)) == "unreliable"
    assert locked.rollup_for((5, 0), (6, 18)) == "fixed-point-sum"
    assert locked.rollup_for((4, 19), (5, 2)) is None  # changes inside the range
    assert swap.rollup_for((4, 14), (4, 18)) == "unreliable"
    assert swap.rollup_for((4, 19), (4, 20)) == "exact-sum"
    assert load_abi().fields["Rss"].rollup_for((4, 14), (6, 18)) == "exact-sum"


def test_invariants_are_read_with_their_ranges_and_sources() -> None:
    abi = load_abi()
    by_id = {(i.id, next(iter(i.scope))): i for i in abi.invariants}
    split = by_id["smaps-rss-split", "smaps"]
    assert split.expr == "Rss == Shared_Clean + Shared_Dirty + Private_Clean + Private_Dirty"
    assert [str(k) for k in split.kernels] == ["2.6.34+"]
    assert split.applies_to((2, 6, 34), (2, 6, 36)) and not split.applies_to(
        (2, 6, 32), (2, 6, 36)
    )
    assert split.fields == {
        "Rss",
        "Shared_Clean",
        "Shared_Dirty",
        "Private_Clean",
        "Private_Dirty",
    }
    assert "task_mmu.c" in split.source
    assert split.check({"Rss": 8, "Shared_Clean": 4, "Shared_Dirty": 0, "Private_Clean": 4,
                        "Private_Dirty": 0}) is True  # fmt: skip
    assert split.check({"Rss": 8}) is None
    snapshot = by_id["snapshot-inconsistent", "smaps"]
    assert snapshot.severity == "warning" and snapshot.uses_prev
    assert snapshot.check({"start": 0x2000, "end": 0x3000, "prev_start": 0x1000,
                           "prev_end": 0x3000}) is False  # fmt: skip
    locked = by_id["smaps-locked-lo", "smaps"]
    assert locked.check({"Locked": 8, "Pss": 8, "VmFlags": " rd wr lo "}) is True
    assert locked.check({"Locked": 8, "Pss": 8, "VmFlags": " rd wr "}) is False
    assert (
        by_id["rollup-pss-split", "smaps_rollup"].check(
            {"Pss": 10, "Pss_Anon": 3, "Pss_File": 3, "Pss_Shmem": 2}
        )
        is True
    )  # 8 >= 10 - 2
    assert [str(k) for k in by_id["smaps-size", "smaps"].kernels] == ["..2.6.31", "4.12+"]


def test_rule_ids_are_unique_per_file() -> None:
    seen = [(i.id, tuple(i.scope)) for i in load_abi().invariants]
    assert len(seen) == len(set(seen))


def test_kernel_ranges() -> None:
    assert parse_version("6.18.44-fc-v669") == (6, 18, 44)
    assert KernelRange.parse("..4.11").contains((4, 11, 5))
    assert not KernelRange.parse("..4.11").contains((4, 12))
    assert KernelRange.parse("4.14..4.20").covers((4, 14), (4, 20))
    assert not KernelRange.parse("4.19+").covers((4, 14), (4, 20))


def _smaps_text() -> str:
    return (ROOT / SMAPS_PATH).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (":Unit: kB\n", ":Unit: kB\n\t\t:Unit: kB\n", "a second :Unit: line"),
        (":Rollup: exact-sum\n", ":Rollup: summed\n", "unknown rollup relation 'summed'"),
        ("Pss <= Rss\n", "Pss <= Rss.bit_length()\n", "invariant expression"),
        ("Pss <= Rss\n", "__import__('os')\n", "invariant expression"),
        ("Pss <= Rss\n", "Pss <= Rsss\n", "unknown name 'Rsss'"),
        ("KernelVersion:\t2.6.20\n", "", "entry lacks KernelVersion"),
        ("\t\tResident set size", "Resident set size", "expected a tag"),
        ("What:\t\t/proc/pid/smaps\nDate:", "Date:\t\tx\nWhat:\t\t/proc/pid/smaps\nDate:",
         "the file must start with a What: line"),
        ("Date:\t\tOctober 2005\n", "Date:\t\tOctober 2005\nDate:\t\tMay 2006\n",
         "a second Date: tag in one entry"),
        ("What:\t\t/proc/pid/smaps: Size", "What:\t\t/proc/pid/status: Size",
         "What: must name /proc/pid/smaps[_rollup]"),
        ("\t\t:Rollup: not-in-rollup\n\nWhat:\t\t/proc/pid/smaps: KernelPageSize",
         "\t\t:Rollup: not-in-rollup\n\t\t:Source: x\n\nWhat:\t\t/proc/pid/smaps: KernelPageSize",
         ":Source: must follow an :Invariant ID: line"),
        ("\t\t:Source: mm/mmap.c: a VMA is never empty;",
         "\t\t:Source: x\n\t\t:Source: mm/mmap.c: a VMA is never empty;",
         "a second :Source: for invariant smaps-range"),
        ("\t\t:Unit: kB\n", "\t\t:Unit: kB\n\t\t:Colour: red\n", "unknown key :Colour:"),
        ("\t\t:Unit: kB\n", "", "field Size lacks :Unit:"),
        ("\t\t:Unit: kB\n", "\t\t:Unit kB\n", "expected ':Key: value'"),
        ("\t\t:Rollup: not-in-rollup\n\nWhat:\t\t/proc/pid/smaps: KernelPageSize",
         "\n\nWhat:\t\t/proc/pid/smaps: KernelPageSize", "field Size lacks :Rollup:"),
        ("What:\t\t/proc/pid/smaps: MMUPageSize", "What:\t\t/proc/pid/smaps: Size",
         "field 'Size' is described twice"),
        ("\t\t:Scope: smaps\n", "\t\t:Scope: status\n", ":Scope: is smaps and/or smaps_rollup"),
        ("\t\t:Value: decimal\n\t\t:Scope: smaps\n", "\t\t:Value: hex\n\t\t:Scope: smaps\n",
         ":Value: is decimal, mnemonics or text"),
        ("\n\t\t:Severity: warning\n", "\n\t\t:Severity: fatal\n",
         ":Severity: is error or warning"),
        (":Invariant smaps-range:", ":Invariant Smaps_Range:",
         "rule id 'Smaps_Range': lowercase words joined by '-'"),
        (":Invariant smaps-order:", ":Invariant smaps-range:",
         "invariant smaps-range is defined twice"),
        ("\t\t:Source: task_mmu.c: kB values are u64 byte counts shifted\n"
         "\t\t\tright by 10, so at most (2**64 - 1) >> 10\n", "",
         "invariant value-range has no :Source:"),
        (":Kernels: ..2.6.31, 4.12+", ":Kernels: soon", "not a kernel version: 'soon'"),
    ],
)  # fmt: skip
def test_a_malformed_document_is_refused_with_its_line(old: str, new: str, message: str) -> None:
    text = _smaps_text()
    assert old in text
    with pytest.raises(AbiError, match=re.escape(message)) as info:
        load_abi(text_smaps=text.replace(old, new, 1))
    assert re.match(r"Documentation/ABI/testing/procfs-smaps:\d+: ", str(info.value))


def test_load_abi_is_read_once() -> None:
    assert load_abi() is load_abi()
    copy = load_abi(text_smaps=_smaps_text())
    assert copy is not load_abi() and copy.fields == load_abi().fields


def test_an_invariant_that_would_divide_by_zero_is_not_checked() -> None:
    """KernelPageSize 0 breaks kernel-page-size; smaps-page-aligned, which divides by it, is
    not checked then (it held no meaning), and never raises."""
    invariants = {inv.id: inv for inv in load_abi().invariants}
    aligned = invariants["smaps-page-aligned"]
    page = invariants["kernel-page-size"]
    values = {"start": 0x1000, "end": 0x3000, "KernelPageSize": 0}
    assert aligned.check(values) is True
    assert page.check(values) is False
    assert aligned.check({**values, "KernelPageSize": 4}) is True
    assert aligned.check({**values, "start": 0x1200, "KernelPageSize": 4}) is False
    # The inner divisor is tested first: testing the outer one divides by it (an invariant of
    # an edited copy of the document, as it is translated to run).
    text = _smaps_text()
    assert "Pss <= Rss\n" in text
    copy = load_abi(text_smaps=text.replace("Pss <= Rss\n", "Rss % (Pss // Size) == 0\n", 1))
    (nested,) = (i for i in copy.invariants if i.expr == "Rss % (Pss // Size) == 0")
    assert nested.python == "(Size == 0 or (Pss // Size) == 0 or ((Rss % (Pss // Size)) == 0))"
    assert nested.check({"Rss": 8, "Pss": 4, "Size": 0}) is True
    assert nested.check({"Rss": 8, "Pss": 0, "Size": 4}) is True
    assert nested.check({"Rss": 9, "Pss": 8, "Size": 4}) is False


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("Pss <= (Rss", "not an expression ('(' was never closed)"),
        ("Pss <= ~Rss", "unary operators are 'not' and '-'"),
        ("Pss <= Rss / 2", "arithmetic is + - * % // & |"),
        ("Pss is Rss", "comparisons are == != < <= > >= in, not in"),
        ("Pss <= Rss and Rss in VmFlags", "'in VmFlags' takes a quoted mnemonic: 'lo' in VmFlags"),
        ("Pss <= 1.5", "constants are integers and quoted strings"),
        ("Pss <= True", "constants are integers and quoted strings"),
        ("Pss <= prev.size", "prev has start and end"),
        ("Pss <= Rss.real", "attributes: prev.start, prev.end"),
        ("Pss <= perms[4]", "indexing: perms[0] .. perms[3]"),
        ("Pss <= Rss[0]", "indexing: perms[0] .. perms[3]"),
        ("Pss <= {Rss}", "Set is not allowed"),
    ],
)
def test_an_invariant_outside_the_expression_subset_is_refused_with_its_line(
    expr: str, message: str
) -> None:
    """An edited copy of the document whose invariant is not in the subset the readers take
    (Python's expressions, less calls, floats, attributes other than prev's): the file, the
    invariant's line and what the subset allows."""
    text = _smaps_text()
    line = text[: text.index("Pss <= Rss\n")].count("\n") + 1
    with pytest.raises(AbiError) as info:
        load_abi(text_smaps=text.replace("Pss <= Rss\n", f"{expr}\n", 1))
    assert str(info.value) == f"{SMAPS_PATH}:{line}: invariant expression: {message}"


def test_only_a_vmflags_test_gates_a_field() -> None:
    """``F == (G if 'xx' in VmFlags else 0)`` gates F on the mnemonic (the aggregator counts F
    only on mappings with it); the same form over another test gates nothing."""
    (locked,) = (i for i in load_abi().invariants if i.id == "smaps-locked-lo")
    assert locked.gates == (("Locked", "lo"),)
    text = _smaps_text()
    old = "Locked == (Pss if 'lo' in VmFlags else 0)"
    assert old in text
    copy = load_abi(text_smaps=text.replace(old, "Locked == (Pss if Rss > 0 else 0)", 1))
    (edited,) = (i for i in copy.invariants if i.id == "smaps-locked-lo")
    assert edited.gates == ()
    assert edited.check({"Locked": 4, "Pss": 4, "Rss": 8}) is True
    assert edited.check({"Locked": 4, "Pss": 4, "Rss": 0}) is False
