"""The kernel profiles: complete, consistent with the ABI document, and exact."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from support import (
    EXTERNAL,
    ROOT,
    VALID,
    corpus,
    fixture_id,
    is_rollup,
    run_cli,
    shaped_process_texts,
)

import smapsfmt
from smapsfmt.spec import (
    Profile,
    ProfileError,
    Version,
    detect,
    header_text,
    load_abi,
    load_profiles,
    parse_profile,
    parse_version,
    render,
)

PROFILES = load_profiles()
MAINLINE = [p for p in PROFILES if p.variant_of is None]


def _next(version: Version) -> Version:
    """The release after ``version`` (2.6.39 -> 3.0, 3.19 -> 4.0, 4.20 -> 5.0, 5.19 -> 6.0)."""
    last = {(2, 6, 39): (3, 0), (3, 19): (4, 0), (4, 20): (5, 0), (5, 19): (6, 0)}
    if version in last:
        return last[version]
    return (*version[:-1], version[-1] + 1)


def test_the_index_lists_every_profile_file() -> None:
    files = sorted(p.name for p in (ROOT / "kernel").glob("*.profile"))
    assert sorted(p.file.removeprefix("kernel/") for p in PROFILES) == files
    assert len(MAINLINE) >= 18


def test_mainline_profiles_cover_2_6_20_to_7_3_without_gaps() -> None:
    assert MAINLINE[0].kernels[0] == (2, 6, 20)
    assert MAINLINE[-1].kernels[1] == (7, 3)
    for before, after in itertools.pairwise(MAINLINE):
        assert after.kernels[0] == _next(before.kernels[1]), (before.name, after.name)
        assert before.name == "-".join(
            dict.fromkeys(".".join(map(str, v)) for v in before.kernels)
        )


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_profile_lines_agree_with_the_abi_document(profile: object) -> None:
    assert isinstance(profile, Profile)
    abi = load_abi()
    low, high = profile.kernels
    for kind, scope in (("smaps", "smaps"), ("rollup", "smaps_rollup")):
        printed = {line.field for line in profile.lines(kind)}
        for line in profile.lines(kind):
            spec = abi.fields[line.field]
            assert scope in spec.scope, (kind, line.field)
            assert line.unit == (" kB" if spec.unit == "kB" else ""), line.format
            if profile.variant_of is None:
                assert parse_version(spec.since) <= low, (line.field, spec.since)
                assert spec.removed is None or high < parse_version(spec.removed)
        if kind == "rollup" and profile.rollup_lines is None:
            assert high < (4, 14)
            continue
        if profile.variant_of is not None:
            continue
        for name, spec in abi.fields.items():
            if scope not in spec.scope or spec.vendor or spec.value != "decimal":
                continue
            removed = parse_version(spec.removed) if spec.removed else (99,)
            if parse_version(spec.since) <= low and high < removed:
                assert name in printed, f"{profile.name} must print {name} in {kind}"
    assert (profile.vmflags_prefix is not None) == (low >= (3, 8))


def test_conditional_lines_and_deviations() -> None:
    abi = load_abi()
    rules = {inv.id for inv in abi.invariants}
    for profile in PROFILES:
        optional = {line.field for line in profile.smaps_lines if line.optional}
        assert optional <= {"ProtectionKey", "Nonlinear", "Name"}, profile.name
        assert set(profile.deviations) <= rules
        assert all(reason for reason in profile.deviations.values())
        if profile.variant_of is not None:
            assert profile.variant_of in {p.name for p in MAINLINE}
        assert all(re.fullmatch(r"[!-~]{2}", flag) for flag in profile.vmflags)
    # The one waived rule: android-libmeminfo's Locked == Pss without 'lo' (docs/rules.md).
    waived = {(p.name, rule) for p in PROFILES for rule in p.deviations}
    assert waived == {("android-4.9", "smaps-locked-lo")}


def test_the_profiles_encode_the_known_format_changes() -> None:
    by_name = {p.name: p for p in PROFILES}
    labels = {p.name: [line.label for line in p.smaps_lines] for p in PROFILES}
    assert labels["2.6.20-2.6.21"][0] == "Size:          "  # 15 characters
    assert labels["2.6.22-2.6.27"][0] == "Size:           "  # 16
    assert "FilePmdMapped: " in labels["5.4-5.8"] and "FilePmdMapped:  " in labels["5.9-5.19"]
    thp = {n: p.line_of[("smaps", "THPeligible")].format for n, p in by_name.items()
           if ("smaps", "THPeligible") in p.line_of}  # fmt: skip
    assert thp["5.0-5.2"] == thp["5.9-5.19"] == "THPeligible:    %d\\n"
    assert thp["5.3"] == thp["5.4-5.8"] == "THPeligible:\\t\\t%d\\n"
    assert thp["6.6-7.3"] == "THPeligible:    %8u\\n"
    # KernelPageSize/MMUPageSize moved right after Size between 4.12 and 4.14.
    assert labels["4.12-4.13"].index("KernelPageSize: ") > 10
    assert labels["4.14-4.18"].index("KernelPageSize: ") == 1
    assert by_name["4.14-4.18"].rollup_end == "includes-gate"
    assert by_name["4.19-4.20"].rollup_end == "excludes-gate"
    assert by_name["android-4.9"].smaps_lines[0].field == "Name"
    ph = by_name["6.6-7.3"].line_of[("smaps", "Private_Hugetlb")]
    assert (ph.label, ph.width) == ("Private_Hugetlb: ", 7)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_line_patterns_take_exactly_what_the_line_renders(profile: object) -> None:
    assert isinstance(profile, Profile)
    for line in profile.smaps_lines + (profile.rollup_lines or ()):
        pattern = re.compile(line.pattern())
        values: list[int | str] = (
            ["[anon:x]", ""] if line.conversion == "s" else [0, 7, 12345678, 123456789, 2**64]
        )
        for value in values:
            assert pattern.fullmatch(line.render(value)), (line.format, value)
        if line.conversion != "s" and line.width > 1:
            rendered = line.render(5)
            assert not pattern.fullmatch(rendered.replace(" 5", "5 ", 1))  # left-aligned
            assert not pattern.fullmatch(line.label + " " * line.width + "5" + line.unit + "\n")


def test_a_malformed_profile_is_refused_with_its_line() -> None:
    text = (ROOT / "kernel/6.6-7.3.profile").read_text(encoding="utf-8")
    with pytest.raises(ProfileError, match=r"kernel/x:\d+: unknown directive 'smap'"):
        parse_profile(text.replace('smaps "Rss:', 'smap "Rss:', 1), "kernel/x")
    with pytest.raises(ProfileError, match=r"kernel/x:\d+: a line format has one conversion"):
        parse_profile(text.replace("%8lu kB", "kB", 1), "kernel/x")
    with pytest.raises(ProfileError, match="the directive 'kernels' is missing"):
        parse_profile(text.replace("kernels 6.6 7.3\n", ""), "kernel/x")


def test_printf_and_header_padding() -> None:
    # The header format's printf: zero padding to the width, no more; a wider value whole.
    profile = {p.name: p for p in PROFILES}["6.6-7.3"]
    assert profile.header == "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "
    unnamed = smapsfmt.Mapping(
        line=1, start=0x400000, end=0x401000, perms="r-xp", offset=0, major=0xFD,
        minor=0x12345, inode=42, pathname=b"", fields={},
    )  # fmt: skip
    assert header_text(unnamed, profile) == "00400000-00401000 r-xp 00000000 fd:12345 42 \n"
    sleep = (ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps").read_bytes()
    first = smapsfmt.parse_smaps(sleep)[0]
    line64 = header_text(first, profile, 64)
    line32 = header_text(first, profile, 32)
    assert line64.index("/usr/bin/sleep") == 73 and line64 == sleep.decode().split("\n")[0] + "\n"
    # A 32-bit kernel pads to column 49; this prefix (53 characters with its blank) is longer,
    # so the name follows one more blank.
    assert line32 == "5566ad6fd000-5566ad6ff000 r--p 00000000 fe:00 260875  /usr/bin/sleep\n"


def test_render_a_whole_file_for_another_kernel() -> None:
    sleep = (ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps").read_bytes()
    smaps = smapsfmt.parse_smaps(sleep)
    older = {p.name: p for p in PROFILES}["5.4-5.8"]
    text = render(smaps, older).decode("latin-1")
    assert "THPeligible:\t\t0\n" in text and "FilePmdMapped:        0 kB\n" in text
    assert render(smaps, {p.name: p for p in PROFILES}["6.6-7.3"]) == sleep


def test_render_keeps_a_missing_final_newline_and_vendor_lines() -> None:
    """A text cut before its final newline renders without one; a field no profile knows (a
    vendor's) is printed as it was read, in its place, by every profile."""
    sleep = (ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps").read_bytes()
    profiles = {p.name: p for p in PROFILES}
    assert render(smapsfmt.parse_smaps(sleep[:-1]), profiles["6.6-7.3"]) == sleep[:-1]
    line = b"Writeback:             8 kB\n"
    locked = b"Locked:                0 kB\n"
    vendor = sleep.replace(locked, locked + line, 1)
    smaps = smapsfmt.parse_smaps(vendor)
    assert smaps.mappings[0].fields["Writeback"] == 8
    assert render(smaps, profiles["6.6-7.3"]) == vendor
    older = render(smaps, profiles["5.4-5.8"])
    assert older.count(line) == 1 and older.index(locked) < older.index(line)


@functools.cache
def _corpus_builder() -> Any:
    """tools/build_conformance_corpus.py, loaded once: it makes the corpus's generated cases."""
    spec = importlib.util.spec_from_file_location(
        "build_conformance_corpus", ROOT / "tools" / "build_conformance_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    return builder


def as_printed_by(profile: object, data: bytes) -> bytes:
    """A real capture's entries as the kernel of ``profile`` prints them, by the function the
    conformance corpus's generated cases are made with: its lines, in its order, values from
    the capture (0 for a field the capture lacks), its VmFlags mnemonics."""
    printed: bytes = _corpus_builder().as_printed_by(profile, smapsfmt.parse_smaps(data))
    return printed


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_profiles_text_is_recognised_as_that_profile(profile: object) -> None:
    assert isinstance(profile, Profile)
    text = as_printed_by(
        profile, (ROOT / "tests/fixtures/valid/live/6.18/sleep/smaps").read_bytes()
    )
    found = detect(text)
    names = {p.name for p in (found.profile, *found.same_text) if p is not None}
    # A variant prints its mainline profile's text when no mapping has an Android name.
    assert profile.name in names or profile.variant_of in names, names
    assert found.how == "matched"
    diagnostics = smapsfmt.validate(text)
    layout = [d for d in diagnostics if d.rule.startswith(("layout", "syntax", "unknown"))]
    assert layout == []


DETECTED = {
    "live/6.18/sleep/smaps": 64,
    "live/6.18/sleep/smaps_rollup": 64,
    "qemu/6.1-686/file/smaps": 32,
    "qemu/6.1-686/file/smaps_rollup": 32,
    "external/android-libmeminfo/testdata1/smaps": 64,
}


@pytest.mark.parametrize(("name", "word_size"), DETECTED.items(), ids=DETECTED.keys())
def test_detect_names_the_profile_validate_names(name: str, word_size: int) -> None:
    """smapsfmt.spec.detect is validate's detection: the same words as its JSON's profile, and
    the word size of the kernel that printed the text (a 32-bit kernel pads names to 49)."""
    import json

    found = detect((VALID / name).read_bytes())
    said = json.loads(run_cli("validate", "--format", "json", str(VALID / name)).stdout)
    assert found.words == said["files"][0]["profile"]
    assert found.word_size == word_size
    assert found.profile is not None and found.words.startswith(
        f"profile {found.profile.describe()} ({found.how})"
    )


# --- the renderer gives back what the kernel printed -------------------------------------------

HAND_EDITED = EXTERNAL / "jc" / "derived-hand-edited"
CAPTURES = [p for p in corpus(VALID) if HAND_EDITED not in p.parents]


@pytest.mark.parametrize("path", CAPTURES, ids=fixture_id)
def test_the_renderer_gives_every_capture_back_byte_for_byte(path: Path) -> None:
    """With the profile validate names for it (and the word size of its addresses)."""
    data = path.read_bytes()
    found = detect(data)
    assert found.profile is not None
    model = smapsfmt.parse_rollup(data) if is_rollup(path) else smapsfmt.parse_smaps(data)
    assert render(model, found.profile, word_size=found.word_size) == data


def test_the_renderer_refuses_what_no_kernel_prints() -> None:
    """A rollup under a profile of kernels before smaps_rollup, a word size of neither 64 nor
    32: ValueError, with the reason."""
    data = (VALID / "live/6.18/sleep/smaps_rollup").read_bytes()
    rollup = smapsfmt.parse_rollup(data)
    older = next(p for p in PROFILES if p.rollup_header is None and not p.variant_of)
    for call in (lambda: render(rollup, older), lambda: header_text(rollup, older)):
        with pytest.raises(ValueError) as caught:
            call()
        assert (
            str(caught.value) == f"Linux {older.name} prints no smaps_rollup: no text of a Rollup"
        )
    printed = detect(data).profile
    assert printed is not None and render(rollup, printed) == data
    with pytest.raises(ValueError, match=r"^word_size is 64 or 32, not 48$"):
        render(rollup, printed, word_size=48)


def test_what_this_kernel_prints_is_its_own_profiles_text_byte_for_byte() -> None:
    """A real process shaped here (mlocked, MADV_FREE'd and shared memory)."""
    smaps, _ = shaped_process_texts()
    found = detect(smaps)
    assert smapsfmt.validate(smaps) == [] and found.profile is not None
    parsed = smapsfmt.parse_smaps(smaps)
    assert render(parsed, found.profile, word_size=found.word_size) == smaps
