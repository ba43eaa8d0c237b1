"""Kernels after 6.18: the profile that covers them, and a kernel newer than every profile.

Every run is the installed command line on a real capture (tests/fixtures/valid/live/6.18/sleep,
Linux 6.18.44): 6.19 to 7.3 print the layout of 6.18 (kernel/6.6-7.3.profile), so that
capture is what they print too, and a kernel newer than every profile is checked against the
newest profile with a note, never refused.
"""

from __future__ import annotations

import json

import pytest
from support import EXTERNAL, LIVE, profile_vmflags, run_cli

import smapsfmt

SLEEP = LIVE / "6.18" / "sleep"
NEWEST = "Linux 6.6-7.3"
NOTE = (
    "smapsfmt: note: Linux 8.1 is newer than every profile: checked against the newest, "
    f"{NEWEST}\n"
)


def _summary(kind: str, kernel: str) -> str:
    what = "smaps, 37 mappings" if kind == "smaps" else "smaps_rollup"
    return f"{kind}: {what}: 0 errors, 0 warnings; profile {NEWEST} (matched; --kernel {kernel})"


@pytest.mark.parametrize("kernel", ["6.19", "7.0", "7.2.13+deb14-amd64", "7.3", "7.3.4"])
def test_validate_names_the_profile_of_a_kernel_after_6_18(kernel: str) -> None:
    result = run_cli("validate", "--kernel", kernel, "smaps", "smaps_rollup", cwd=SLEEP)
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    assert result.stdout.decode().splitlines() == [
        _summary("smaps", kernel),
        _summary("smaps_rollup", kernel),
        "2 files: 2 valid, 0 invalid, 0 unreadable; 0 errors, 0 warnings",
    ]


def test_validate_checks_a_newer_kernel_against_the_newest_profile_and_says_so() -> None:
    result = run_cli("validate", "--kernel", "8.1", "smaps", "smaps_rollup", cwd=SLEEP)
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    said = "8.1 is newer than every profile: the newest is used"
    assert result.stdout.decode().splitlines() == [
        "smaps: smaps, 37 mappings: 0 errors, 0 warnings; "
        f"profile {NEWEST} (matched; --kernel {said})",
        f"smaps_rollup: smaps_rollup: 0 errors, 0 warnings; profile {NEWEST} (matched; "
        f"--kernel {said})",
        "2 files: 2 valid, 0 invalid, 0 unreadable; 0 errors, 0 warnings",
    ]
    # JSON keeps standard output for the FILEs (the profile in the summary line's words); the
    # note goes to standard error.
    as_json = run_cli("validate", "--kernel", "8.1", "--format", "json", "smaps", cwd=SLEEP)
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, {"files": [{
        "path": "smaps", "status": "valid", "kind": "smaps", "mappings": 37, "errors": 0,
        "warnings": 0, "profile": f"profile {NEWEST} (matched; --kernel {said})",
        "diagnostics": [],
    }]})  # fmt: skip
    assert as_json.stderr.decode() == NOTE


def test_a_newer_kernels_problems_are_still_found() -> None:
    good = (SLEEP / "smaps").read_bytes()
    text = good.replace(b"Rss:                  12 kB", b"Rss:  12 kB", 1)
    result = run_cli("validate", "--kernel", "8.1", "-", stdin=text)
    assert result.returncode == 1
    assert result.stdout.decode().splitlines() == [
        "<stdin>:880:7: layout-field-format: expected value right-aligned in 8 columns after "
        f"'Rss:' (ending at column 24); {NEWEST} prints 'Rss:            %8lu kB\\n'",
        f"<stdin>: smaps, 37 mappings: 1 error, 0 warnings; profile {NEWEST} (matched; "
        "--kernel 8.1 is newer than every profile: the newest is used)",
    ]


def test_rollup_and_check_take_a_kernel_after_6_18_as_validate_does() -> None:
    plain = run_cli("rollup", "smaps", cwd=SLEEP)
    assert plain.returncode == 0, plain.stderr
    for kernel in ("6.19", "7.3"):
        asked = run_cli("rollup", "--kernel", kernel, "smaps", cwd=SLEEP)
        # The same rollup and notes; the profile's note says which kernel was asked for.
        said = plain.stderr.replace(b"(matched)\n", f"(matched; --kernel {kernel})\n".encode())
        assert (asked.returncode, asked.stdout, asked.stderr) == (0, plain.stdout, said)
        proof = run_cli("check", "--kernel", kernel, "smaps", "smaps_rollup", cwd=SLEEP)
        assert (proof.returncode, proof.stderr) == (0, b""), proof.stdout
        assert proof.stdout.decode().splitlines()[-1] == (
            f"smaps_rollup: consistent with smaps (37 mappings, {NEWEST}): 22 of 22 fields proven"
            f"; profile {NEWEST} (matched; --kernel {kernel})"
        )


def test_rollup_and_check_take_a_newer_kernel_as_the_newest_profile_with_a_note() -> None:
    plain = run_cli("rollup", "smaps", cwd=SLEEP)
    newer = run_cli("rollup", "--kernel", "8.1", "smaps", cwd=SLEEP)
    assert (newer.returncode, newer.stdout) == (0, plain.stdout)
    beyond = "(matched; --kernel 8.1 is newer than every profile: the newest is used)\n"
    assert newer.stderr.decode() == NOTE + plain.stderr.decode().replace("(matched)\n", beyond)
    proof = run_cli("check", "--kernel", "8.1", "smaps", "smaps_rollup", cwd=SLEEP)
    assert (proof.returncode, proof.stderr.decode()) == (0, NOTE), proof.stdout
    assert proof.stdout.decode().splitlines()[-1] == (
        f"smaps_rollup: consistent with smaps (37 mappings, {NEWEST}): 22 of 22 fields proven"
        f"; profile {NEWEST} {beyond[:-1]}"
    )


def test_a_kernel_older_than_every_profile_is_still_refused() -> None:
    for command in (("validate",), ("rollup",), ("check", "smaps_rollup")):
        result = run_cli(command[0], "--kernel", "2.4", "smaps", *command[1:], cwd=SLEEP)
        assert (result.returncode, result.stdout) == (2, b"")
        assert result.stderr.decode() == (
            "smapsfmt: error: no profile for Linux 2.4: the profiles cover 2.6.20 to 7.3\n"
        )


def test_gu_is_a_vmflag_from_6_18_37_and_6_19_on() -> None:
    # VM_MAYBE_GUARD, bit 11 (include/linux/mm.h): show_smap_vma_flags prints "gu" from
    # upstream commit 5dba5cc2e0ff (6.19 cycle) and the 6.18.37 stable release on. An anonymous
    # mapping of the capture given guard regions prints it between me (bit 6) and ac (bit 20).
    header = b"7f10b7e8c000-7f10b7e8f000 rw-p 00000000 00:00 0 \n"
    text = (SLEEP / "smaps").read_bytes()
    at = text.index(header)
    flags = text.index(b"VmFlags: rd wr mr mw me ac \n", at)
    guarded = text[:flags] + b"VmFlags: rd wr mr mw me gu ac \n" + text[flags + 28 :]
    assert guarded.count(b" gu ") == 1 and len(guarded) == len(text) + 3
    for kernel in ("7.3", "6.18.37", "8.1"):
        assert smapsfmt.validate(guarded, kernel=kernel, strict=True) == [], kernel
    assert "gu" in profile_vmflags("6.6-7.3")


def test_a_smaps_the_newest_kernel_does_not_print_is_refused_naming_both() -> None:
    android = EXTERNAL / "android-libmeminfo/testdata1/smaps_short"
    result = run_cli("rollup", "--kernel", "8.1", str(android))
    assert (result.returncode, result.stdout) == (1, b"")  # a refusal goes to stderr
    assert result.stderr.decode() == (
        f"{android}:1:1: rollup-kernel-mismatch: the smaps cannot come from kernel 8.1, taken as "
        f"{NEWEST}: it is printed by android-4.9 (a variant of Linux 4.9-4.11) (KernelPageSize "
        "right after Size (4.14+); no THPeligible (before 5.0))\n"
    )
