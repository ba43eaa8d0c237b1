"""Debian's kernels under qemu: the guest's initramfs and command lines, the captures the matrix
brought into the corpus, and (marker ``kernels``, run by CI as a step of its own) the matrix
itself: every kernel of smapsfmt/selftest/matrix.py fetched, booted and checked.

The captures under tests/fixtures/valid/qemu come from ``python tools/capture_kernels.py``;
their provenance (package, version, sha256 of package and image, qemu and its command, the
shape) is in its MANIFEST.json. tests/fixtures/kernel-bugs holds captures the validator refuses
because the kernel printed a wrong value.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import FIXTURES, VALID, run_cli

import smapsfmt
from smapsfmt.selftest import qemu
from smapsfmt.selftest.check import summary
from smapsfmt.selftest.matrix import KERNELS, boot_kernel

QEMU = VALID / "qemu"
BUGS = FIXTURES / "kernel-bugs"
MANIFEST = json.loads((QEMU / "MANIFEST.json").read_text())
CASES = MANIFEST["cases"]

# Checks a kernel of the matrix fails because the kernel prints a wrong value: (shape, file,
# field). The i386 kernel prints Pss 0 kB for a private, dirty transparent huge page of 4 MiB
# (6.1.0-57-686: Pss 0, Private_Dirty 4096 kB; tests/fixtures/kernel-bugs/6.1-686/thp), which
# the validator refuses (Pss >= Private_Clean + Private_Dirty). The figures fit a 32-bit
# overflow: 4 MiB shifted left by PSS_SHIFT (12) is 2^34, which is 0 in a 32-bit unsigned long.
KNOWN_BUGS: dict[str, set[tuple[str, str, str]]] = {
    "6.1-686": {("thp", "smaps", "validates")},
}


def _case(path: str) -> dict[str, Any]:
    return next(c for c in CASES if c["path"] == path)


# --- the guest and qemu -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio is not installed (CI installs it)")
def test_the_initramfs_is_a_newc_archive_that_cpio_reads_back(tmp_path: Path) -> None:
    files = {"init": b"\x7fELF first", "shaper": b"second\n" * 1000}
    archive = qemu.initramfs(files)
    assert len(archive) % 512 == 0
    listed = subprocess.run(
        ["cpio", "-t", "-v", "--quiet"], input=archive, capture_output=True, check=True
    )
    lines = listed.stdout.decode().splitlines()
    assert [line.split()[-1] for line in lines] == ["init", "shaper"]
    assert all(line.startswith("-rwxr-xr-x") for line in lines)
    subprocess.run(
        ["cpio", "-i", "--quiet"], input=archive, cwd=tmp_path, check=True, capture_output=True
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_qemu_command_lines() -> None:
    image, initrd = Path("/k/vmlinuz"), Path("/t/initramfs.cpio")
    common = ["-m", "1024", "-smp", "1", "-nographic", "-no-reboot", "-monitor", "none",
              "-nodefaults", "-serial", "stdio", "-kernel", "/k/vmlinuz", "-initrd",
              "/t/initramfs.cpio", "-append"]  # fmt: skip
    assert qemu.command("x86_64", image, initrd) == [
        "qemu-system-x86_64", "-cpu", "max", *common, "console=ttyS0 panic=-1 quiet",
    ]  # fmt: skip
    assert qemu.command("i386", image, initrd)[0] == "qemu-system-i386"
    assert qemu.command("arm64", image, initrd) == [
        "qemu-system-aarch64", "-machine", "virt", "-cpu", "max", *common,
        "console=ttyAMA0 panic=-1 quiet",
    ]  # fmt: skip
    with pytest.raises(qemu.BootError, match="unknown guest architecture 'riscv64'"):
        qemu.command("riscv64", image, initrd)


def test_boot_options_without_boot_and_a_missing_image_are_usage_errors(tmp_path: Path) -> None:
    result = run_cli("selftest", "--arch", "arm64")
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == b"smapsfmt: error: --arch is an option of --boot KERNEL_IMAGE\n"
    missing = tmp_path / "vmlinuz"
    result = run_cli("selftest", "--boot", str(missing), "--format", "json")
    assert result.returncode == 2
    assert result.stderr == f"smapsfmt: error: {missing}: no such kernel image\n".encode()
    assert json.loads(result.stdout)["error"]["kind"] == "usage"
    result = run_cli("selftest", "--boot", str(missing), "--shape", "anon")
    assert result.returncode == 2
    assert result.stderr == (
        b"smapsfmt: error: --boot runs every shape in the guest: it does not take --from, "
        b"--shape or --with-system-settings\n"
    )


# --- the corpus the matrix brought --------------------------------------------------------------


def test_the_manifest_describes_every_capture_byte_for_byte() -> None:
    on_disk = sorted(
        str(p.relative_to(QEMU)) for p in QEMU.rglob("smaps*") if not p.name.endswith(".json")
    )
    assert [c["path"] for c in CASES] == on_disk
    for case in CASES:
        data = (QEMU / case["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (case["bytes"], case["sha256"])
        source = case["source"]
        assert len(source["package_sha256"]) == 64 and len(source["image_sha256"]) == 64
        assert source["command"].startswith("qemu-system-")
        assert source["qemu"].startswith("QEMU emulator version")
    labels = {c["path"].split("/")[0] for c in CASES}
    assert labels == {k.label for k in KERNELS}


def test_every_pair_of_the_matrix_proves_with_its_kernel() -> None:
    pairs = sorted({str(Path(c["path"]).parent) for c in CASES})
    assert len(pairs) >= 7 * 10
    for pair in pairs:
        case = _case(f"{pair}/smaps")
        smaps = smapsfmt.parse_smaps((QEMU / pair / "smaps").read_bytes())
        rollup = smapsfmt.parse_rollup((QEMU / pair / "smaps_rollup").read_bytes())
        assert smapsfmt.check_rollup(smaps, rollup, kernel=case["kernel"]["release"]) == [], pair


@pytest.mark.parametrize(
    ("label", "kernel", "profile"),
    [("6.19-amd64", "6.19", "6.6-7.3"), ("7.x-amd64", "7.3", "6.6-7.3"),
     ("7.x-arm64-16k", "7.3", "6.6-7.3"), ("5.10-amd64", "5.10", "5.9-5.19"),
     ("6.1-686", "6.1", "6.0-6.5")],
)  # fmt: skip
def test_validate_with_the_kernel_of_a_capture_names_its_profile(
    label: str, kernel: str, profile: str
) -> None:
    result = run_cli(
        "validate", "--kernel", kernel, "smaps", "smaps_rollup", cwd=QEMU / label / "anon"
    )
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].endswith(
        f"0 errors, 0 warnings; profile Linux {profile} (matched; --kernel {kernel})"
    )
    assert lines[-1] == "2 files: 2 valid, 0 invalid, 0 unreadable; 0 errors, 0 warnings"


def test_check_and_rollup_tell_a_5_10_pair_from_5_4_by_its_label_padding() -> None:
    # 5.4-5.8 and 5.9-5.19 print the same fields in smaps and smaps_rollup; the label padding
    # ("FilePmdMapped: " against "FilePmdMapped:  ", kernel/5.4-5.8.profile and
    # kernel/5.9-5.19.profile) tells them apart. Debian's 5.10.262 under qemu printed this pair.
    pair = QEMU / "5.10-amd64" / "thp"
    assert b"\nFilePmdMapped:         0 kB\n" in (pair / "smaps_rollup").read_bytes()
    checked = run_cli("check", "smaps", "smaps_rollup", cwd=pair)
    assert (checked.returncode, checked.stderr) == (0, b""), checked.stderr
    assert checked.stdout.decode().splitlines()[-1] == (
        "smaps_rollup: consistent with smaps (13 mappings, Linux 5.9-5.19): 20 of 20 fields "
        "proven; profile Linux 5.9-5.19 (matched)"
    )
    rolled = run_cli("rollup", "smaps", cwd=pair)
    assert rolled.returncode == 0, rolled.stderr
    assert b"smapsfmt: note: profile Linux 5.9-5.19 (matched)\n" in rolled.stderr
    assert b"\nFilePmdMapped:         0 kB\n" in rolled.stdout
    # Asked for 5.4, both sides say that 5.9-5.19 prints them, each by its own lines.
    asked = run_cli("check", "--kernel", "5.4", "smaps", "smaps_rollup", cwd=pair)
    assert asked.returncode == 1, asked.stderr
    lines = asked.stdout.decode().splitlines()
    assert [line for line in lines if not line.startswith(" ")] == [
        "smaps_rollup:1:1: rollup-kernel-mismatch: the smaps cannot come from kernel 5.4: it is "
        "printed by Linux 5.9-5.19 (KernelPageSize right after Size (4.14+); THPeligible (5.0+); "
        "FilePmdMapped (5.4+); no Pss_Dirty (before 6.0))",
        "smaps_rollup:1:1: rollup-kernel-mismatch: the rollup cannot come from kernel 5.4: it is "
        "printed by Linux 5.9-5.19 (Pss_Anon (5.3+); FilePmdMapped (5.4+); no Pss_Dirty (before "
        "6.0))",
        "smaps_rollup: NOT the rollup of smaps (13 mappings, Linux 5.9-5.19): 2 violations; "
        "profile Linux 5.9-5.19 (matched; --kernel 5.4)",
    ]
    refused = run_cli("rollup", "--kernel", "5.4", "smaps", cwd=pair)
    assert (refused.returncode, refused.stdout) == (1, b"")
    assert refused.stderr.decode().startswith(
        "smaps:1:1: rollup-kernel-mismatch: the smaps cannot come from kernel 5.4: it is printed "
        "by Linux 5.9-5.19 ("
    ), refused.stderr


def test_the_first_real_protection_keys_16k_pages_and_32_bit_layouts() -> None:
    keys = (QEMU / "7.x-amd64/pkey/smaps").read_bytes()
    mapping = next(m for m in smapsfmt.parse_smaps(keys) if m.fields.get("ProtectionKey", 0) > 0)
    assert mapping.fields["ProtectionKey"] == int(_case("7.x-amd64/pkey/smaps")["shape"]["pkey"])
    assert "protection-key" in _case("7.x-amd64/pkey/smaps")["tags"]
    sixteen = smapsfmt.parse_smaps((QEMU / "7.x-arm64-16k/anon/smaps").read_bytes())
    assert {m.fields["KernelPageSize"] for m in sixteen} == {16}
    assert _case("7.x-arm64-16k/anon/smaps")["kernel"]["page_size"] == 16384
    # The same headers on a 32-bit and a 64-bit kernel: the stack's address in 8 hex digits, and
    # the name padded to offset 49 instead of 73 (seq_pad in show_map_vma; kernel/6.0-6.5.profile).
    for label, digits, offset in (("6.1-686", 8, 49), ("6.1-amd64", 12, 73)):
        text = (QEMU / label / "file/smaps").read_bytes()
        lines = text.split(b"\n")
        stack = next(line for line in lines if line.endswith(b" [stack]"))
        assert len(stack.split(b"-")[0]) == digits, label
        header = next(line for line in lines if line.endswith(b" /shaper"))
        assert header.index(b"/shaper") == offset, label


def test_the_32_bit_thp_pss_bug_is_caught_by_the_validator() -> None:
    path = BUGS / "6.1-686" / "thp" / "smaps"
    found = smapsfmt.validate(path.read_bytes(), kernel="6.1", kind="smaps")
    assert [(d.rule, d.severity) for d in found] == [("smaps-pss-ge-private", "error")]
    assert "Pss = 0, Private_Clean = 0, Private_Dirty = 4096" in found[0].message


# --- the matrix ---------------------------------------------------------------------------------

_TIMES: list[tuple[str, str, float, dict[str, int]]] = []


class _TimeReport:
    """The time of each kernel's boot, in pytest's closing summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not _TIMES:
            return
        terminalreporter.write_sep("-", "kernel matrix: boot time per kernel")
        for label, release, seconds, counts in _TIMES:
            terminalreporter.write_line(
                f"{label:<14} {release:<24} {seconds:6.1f} s  {counts['pass']} pass, "
                f"{counts['fail']} fail, {counts['n/a']} n/a"
            )
        total = sum(t[2] for t in _TIMES)
        terminalreporter.write_line(f"{'total':<39} {total:6.1f} s")


_REPORT = _TimeReport()


@pytest.fixture
def time_report(request: pytest.FixtureRequest) -> list[Any]:
    if not request.config.pluginmanager.is_registered(_REPORT):
        request.config.pluginmanager.register(_REPORT)
    return _TIMES


@pytest.mark.kernels
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.label)
def test_the_kernel_boots_and_prints_what_its_shapes_require(
    kernel: Any, time_report: list[Any]
) -> None:
    _fetched, result = boot_kernel(kernel)
    counts = summary(result.checks)
    time_report.append((kernel.label, result.release, result.boot.seconds, counts))
    failed = {(c.shape, c.file, c.field) for c in result.checks if c.verdict == "fail"}
    detail = [f"{c.shape} {c.file} {c.field}: {c.printed}" for c in result.checks
              if c.verdict == "fail"]  # fmt: skip
    assert failed == KNOWN_BUGS.get(kernel.label, set()), detail
    assert counts["pass"] >= 90, counts
    assert not result.boot.timed_out


@pytest.mark.kernels
def test_selftest_boot_from_the_command_line_with_a_debian_package(tmp_path: Path) -> None:
    import jsonschema

    from smapsfmt.selftest import debian

    kernel = next(k for k in KERNELS if k.label == "7.x-amd64")
    name, version = debian.Apt().newest(kernel.pattern, "amd64")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt", "selftest", "--boot", f"debian:{name}", "--format",
         "json", "--save", str(tmp_path), "--label", "k"],
        capture_output=True, cwd=tmp_path, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    document = json.loads(result.stdout)
    schema = json.loads(run_cli("schema", "selftest").stdout)
    jsonschema.validate(document, schema)
    assert document["boot"]["package"] == f"{name}:amd64"
    assert document["boot"]["package_version"] == version
    assert document["kernel"]["release"] == name.removeprefix("linux-binary-unsigned-")
    assert document["summary"]["fail"] == 0 and document["summary"]["pass"] >= 90
    saved = json.loads((tmp_path / "MANIFEST.json").read_text())["cases"]
    assert {c["path"].split("/")[1] for c in saved} == {
        c["shape"] for c in document["checks"] if c["file"] != "shaper"
    } - {"swap"}
    for case in saved:
        data = (tmp_path / case["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == case["sha256"]
        assert case["source"]["package"] == f"{name}:amd64"
