"""Debian's kernels under qemu: the guest's initramfs and command lines, the captures the matrix
brought into the corpus, and (marker ``kernels``, run by CI as a step of its own) the matrix
itself: every kernel of smapsfmt/selftest/matrix.py fetched, booted and checked.

The captures under tests/fixtures/valid/qemu come from ``python tools/capture_kernels.py``;
their provenance (package, version, sha256 of package and image, the package of the modules
the guest loaded, qemu and its command, the shape) is in its manifest.json, in the corpus
manifest format (read with the one reader, load_manifest). tests/fixtures/kernel-bugs holds
captures the validator refuses because the kernel printed a wrong value.
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
from smapsfmt.conformance import Case, load_manifest
from smapsfmt.selftest import modules, qemu
from smapsfmt.selftest.check import summary
from smapsfmt.selftest.matrix import KERNELS, boot_kernel, by_label

QEMU = VALID / "qemu"
BUGS = FIXTURES / "kernel-bugs"
_, CASES = load_manifest(QEMU)

# Checks a kernel of the matrix fails because the kernel prints a wrong value: (shape, file,
# field). The i386 kernel prints Pss 0 kB for a private, dirty transparent huge page of 4 MiB
# (6.1.0-57-686: Pss 0, Private_Dirty 4096 kB; tests/fixtures/kernel-bugs/6.1-686/thp), which
# the validator refuses (Pss >= Private_Clean + Private_Dirty). The figures fit a 32-bit
# overflow: 4 MiB shifted left by PSS_SHIFT (12) is 2^34, which is 0 in a 32-bit unsigned long.
KNOWN_BUGS: dict[str, set[tuple[str, str, str]]] = {
    "6.1-686": {("thp", "smaps", "validates")},
}


# Kernels of the matrix whose swap shape cannot run: the zram module is not in the archive.
# Debian's 6.19 builds in trixie-backports ship their image (linux-binary-*) but no
# linux-modules-6.19.* package beside it, so the guest has no zram; the checks are n/a.
NO_SWAP = {"6.19-amd64": "the archive holds no linux-modules-"}
SWAP_FIELDS = {("smaps", "Swap"), ("smaps", "SwapPss"), ("smaps_rollup", "Swap"),
               ("smaps_rollup", "SwapPss")}  # fmt: skip


def _case(path: str) -> Case:
    return next(c for c in CASES if c.id == path)


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


@pytest.mark.parametrize("compiler", [["gcc"], ["i686-linux-gnu-gcc"], ["aarch64-linux-gnu-gcc"]])
def test_a_modules_dependencies_come_from_its_modinfo_section(
    tmp_path: Path, compiler: list[str]
) -> None:
    """modules.py reads ``depends=`` from the ELF (64- and 32-bit) as depmod does."""
    if shutil.which(compiler[0]) is None:
        pytest.skip(f"{compiler[0]} is not installed (CI installs it)")
    source = tmp_path / "zram.c"
    source.write_text(
        '__attribute__((section(".modinfo"), used)) static const char info[] =\n'
        '    "license=GPL\\0depends=zsmalloc,lz4_compress\\0name=zram";\n'
    )
    subprocess.run([*compiler, "-c", "-o", str(tmp_path / "zram.ko"), str(source)], check=True)
    elf = (tmp_path / "zram.ko").read_bytes()
    assert modules.modinfo(elf) == {
        "license": ["GPL"],
        "depends": ["zsmalloc,lz4_compress"],
        "name": ["zram"],
    }
    assert modules.module_name("/lib/modules/6.1/kernel/crypto/lzo-rle.ko.xz") == "lzo_rle"
    with pytest.raises(modules.ModuleError, match="not an ELF file"):
        modules.modinfo(b"#!/bin/sh\n")


def test_the_package_of_a_kernels_modules() -> None:
    assert modules.modules_package("linux-image-6.1.0-57-686:i386", "6.1.0-57-686") == (
        "linux-image-6.1.0-57-686:i386"
    )
    assert (
        modules.modules_package(
            "linux-binary-unsigned-7.3.4+deb13-arm64-16k:arm64", "7.3.4+deb13-arm64-16k"
        )
        == "linux-modules-7.3.4+deb13-arm64-16k:arm64"
    )


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
    assert [c.id for c in CASES] == on_disk
    for case in CASES:
        assert (case.cls, case.generated, case.expected) == (
            "valid",
            False,
            f"{case.id}.expected.json",
        )
        assert hashlib.sha256(case.data()).hexdigest() == case.sha256
        provenance = case.provenance or {}
        assert provenance["package"]["name"].startswith(("linux-image-", "linux-binary-"))
        assert provenance["qemu"]["command"].startswith("qemu-system-")
        assert provenance["qemu"]["version"].startswith("QEMU emulator version")
        assert provenance["shape"]["name"] == case.id.split("/")[1]
    labels = {c.id.split("/")[0] for c in CASES}
    assert labels == {k.label for k in KERNELS}


def test_swap_above_zero_from_real_kernels_with_their_modules_provenance() -> None:
    swapped = sorted({c.id.split("/")[0] for c in CASES if "swap" in c.tags})
    assert swapped == sorted(k.label for k in KERNELS if k.label not in NO_SWAP)
    for label in swapped:
        smaps = smapsfmt.parse_smaps(_case(f"{label}/swap/smaps").data())
        rollup = smapsfmt.parse_rollup(_case(f"{label}/swap/smaps_rollup").data())
        assert rollup.fields["Swap"] > 0 and rollup.fields["SwapPss"] > 0, label
        assert sum(m.fields.get("Swap", 0) for m in smaps) == rollup.fields["Swap"], label
        provenance = _case(f"{label}/swap/smaps").provenance or {}
        modules = provenance["modules"]
        assert any(f.endswith(("/zram.ko", "/zram.ko.xz")) for f in modules["files"]), label
        assert all(line.endswith((" ok", " EEXIST")) for line in modules["loaded"]), label
        shape = provenance["shape"]
        assert int(shape["swapped"]) * smaps[0].fields["KernelPageSize"] == rollup.fields["Swap"]


def test_every_pair_of_the_matrix_proves_with_its_kernel() -> None:
    pairs = sorted({str(Path(c.id).parent) for c in CASES})
    assert len(pairs) >= 7 * 10
    for pair in pairs:
        release = (_case(f"{pair}/smaps").provenance or {})["kernel"]["release"]
        smaps = smapsfmt.parse_smaps((QEMU / pair / "smaps").read_bytes())
        rollup = smapsfmt.parse_rollup((QEMU / pair / "smaps_rollup").read_bytes())
        assert smapsfmt.check_rollup(smaps, rollup, kernel=release) == [], pair


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
    pkey = _case("7.x-amd64/pkey/smaps")
    assert mapping.fields["ProtectionKey"] == int((pkey.provenance or {})["shape"]["pkey"])
    assert "protection-key" in pkey.tags
    sixteen = smapsfmt.parse_smaps((QEMU / "7.x-arm64-16k/anon/smaps").read_bytes())
    assert {m.fields["KernelPageSize"] for m in sixteen} == {16}
    assert (_case("7.x-arm64-16k/anon/smaps").provenance or {})["kernel"]["page_size"] == 16384
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
    swap = {(c.file, c.field): c for c in result.checks if c.shape == "swap"}
    # The archive may yet publish the modules a kernel of NO_SWAP lacks: then it must pass too
    if kernel.label in NO_SWAP and swap[("shaper", "status")].verdict == "n/a":
        reason = swap[("shaper", "status")].reason
        assert NO_SWAP[kernel.label] in reason, reason
    else:
        assert {key: swap[key].verdict for key in SWAP_FIELDS} == dict.fromkeys(
            SWAP_FIELDS, "pass"
        )
        assert int(result.capture.shapes["swap"].facts["swapped"]) > 0


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
    _, saved = load_manifest(tmp_path)
    assert {c.id.split("/")[1] for c in saved} == {
        c["shape"] for c in document["checks"] if c["file"] != "shaper"
    }
    assert "swap" in {c.id.split("/")[1] for c in saved if "swap" in c.tags}
    for case in saved:
        assert hashlib.sha256(case.data()).hexdigest() == case.sha256
        assert case.expected == ""
        provenance = case.provenance or {}
        assert provenance["package"]["name"] == f"{name}:amd64"
        assert (
            provenance["modules"]["name"] == f"{name.replace('binary-unsigned', 'modules')}:amd64"
        )


@pytest.mark.kernels
@pytest.mark.parametrize("label", ["7.x-amd64", "6.1-686"])
def test_a_package_unpacked_afresh_gives_the_cached_image_and_modules(
    tmp_path: Path, label: str
) -> None:
    """The image and the swap shape's modules read again from Debian's package, into a cache of
    images of their own (the packages and lists shared, nothing downloaded twice), are what the
    kernel cache holds: the unpacking and the module reading that a warm cache skips."""
    from smapsfmt.selftest import debian

    kernel = next(k for k in KERNELS if k.label == label)
    arch = debian.DEBIAN_ARCH[kernel.arch]
    shared = debian.Apt()
    if not shared.has_lists():
        shared.update()
    name, _version = shared.newest(kernel.pattern, arch)
    cached = debian.fetch(name, arch, shared)
    cached_modules = modules.for_fetched(cached, shared)
    afresh = debian.Apt(tmp_path)
    for part in ("apt", "debs"):
        (tmp_path / part).symlink_to(shared.root / part)
    fetched = debian.fetch(name, arch, afresh)
    assert fetched.image.is_relative_to(tmp_path / "images")
    assert (fetched.image_sha256, fetched.kernel_release, fetched.version) == (
        cached.image_sha256, cached.kernel_release, cached.version,
    )  # fmt: skip
    assert (fetched.deb.name, fetched.deb_sha256) == (cached.deb.name, cached.deb_sha256)
    assert debian.sha256(fetched.image) == cached.image_sha256
    got = modules.for_fetched(fetched, afresh)
    assert got == cached_modules and got.paths == cached_modules.paths
    names = [module for module, _ in got.files]
    assert "zram" in names, got.note
    for position, (module, elf) in enumerate(got.files):
        assert elf.startswith(b"\x7fELF"), module
        for depends in modules.modinfo(elf).get("depends", []):
            for dependency in filter(None, depends.split(",")):
                assert dependency.replace("-", "_") not in names[position:], (module, names)


def test_a_kernel_of_the_matrix_by_its_label() -> None:
    assert by_label("6.1-686").pattern == r"linux-image-6\.1\.0-\d+-686"
    with pytest.raises(KeyError):
        by_label("5.4-amd64")
