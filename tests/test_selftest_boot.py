"""``smapsfmt selftest --boot`` on images that are no kernel: what qemu says when it refuses
one, a guest stopped at the timeout, and the timeout's own usage error. Real qemu, real
images (bytes that are not a kernel); Debian's kernels are booted by test_kernels.py."""

from __future__ import annotations

import json
import lzma
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import ROOT, run_cli

from smapsfmt.conformance import load_manifest
from smapsfmt.selftest import corpus, decode, qemu
from smapsfmt.selftest.boot import BootResult
from smapsfmt.selftest.modules import Modules

CAPTURE = ROOT / "tests/selftest/6.18.44-x86_64.shaper.xz"


def _boot_checks(image: Path, *args: str) -> tuple[int, list[dict[str, str]]]:
    result = run_cli("selftest", "--boot", str(image), "--format", "json", *args)
    assert result.stderr == b"", result.stderr.decode()
    return result.returncode, json.loads(result.stdout)["checks"]


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu (CI installs it)")
def test_a_boot_qemu_refuses_shows_what_qemu_said(tmp_path: Path) -> None:
    """An image qemu cannot load: the check says qemu's own last words, as the console has
    them, not only that the shaper's output is missing."""
    image = tmp_path / "vmlinuz"
    image.write_bytes(b"not a kernel\n")
    said = subprocess.run(
        qemu.command("x86_64", image, image), capture_output=True, text=True, check=False
    )
    assert said.returncode != 0
    last = (said.stdout + said.stderr).strip().splitlines()[-1]
    assert _boot_checks(image, "--timeout", "60") == (1, [
        {"shape": "-", "file": "shaper", "field": "boot", "expected": "the shaper's KERNEL record",
         "printed": last, "verdict": "fail", "reason": ""},
    ])  # fmt: skip


@pytest.mark.skipif(
    shutil.which("qemu-system-aarch64") is None or shutil.which("aarch64-linux-gnu-gcc") is None,
    reason="qemu and the arm64 cross compiler (CI installs them)",
)
def test_a_guest_still_running_at_the_timeout_is_stopped_and_reported(tmp_path: Path) -> None:
    """Bytes that are no kernel, run as an arm64 image: the processor runs them and prints
    nothing, until the timeout stops it."""
    image = tmp_path / "Image"
    image.write_bytes(b"\0" * 4096)
    status, checks = _boot_checks(image, "--arch", "arm64", "--timeout", "1")
    assert (status, checks) == (1, [
        {"shape": "-", "file": "shaper", "field": "boot", "expected": "power-off within 1 s",
         "printed": "still running: stopped", "verdict": "fail", "reason": ""},
        {"shape": "-", "file": "shaper", "field": "boot", "expected": "the shaper's KERNEL record",
         "printed": "no output", "verdict": "fail", "reason": ""},
    ])  # fmt: skip


def test_a_timeout_that_is_not_above_zero_is_a_usage_error(tmp_path: Path) -> None:
    image = tmp_path / "vmlinuz"
    image.write_bytes(b"not a kernel\n")
    result = run_cli("selftest", "--boot", str(image), "--timeout", "0")
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == b"smapsfmt: error: --timeout 0: give a number of seconds above 0\n"


def test_no_compiler_for_the_guests_architecture_is_named_with_its_packages(
    tmp_path: Path,
) -> None:
    image = tmp_path / "Image"
    image.write_bytes(b"\0" * 4096)
    result = run_cli(
        "selftest", "--boot", str(image), "--arch", "arm64",
        env_extra={"PATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == (
        b"smapsfmt: error: no C compiler for arm64 guests (Debian: apt-get install "
        b"gcc-aarch64-linux-gnu libc6-dev-arm64-cross; or name one in SMAPSFMT_GUEST_CC_ARM64)\n"
    )


def test_a_guest_program_that_does_not_compile_is_reported_with_the_compilers_words(
    tmp_path: Path,
) -> None:
    cc = tmp_path / "cc"
    cc.write_text('#!/bin/sh\necho "cc: fatal error: no room left" >&2\nexit 1\n')
    cc.chmod(0o755)
    image = tmp_path / "vmlinuz"
    image.write_bytes(b"not a kernel\n")
    cache = tmp_path / "cache"
    result = run_cli(
        "selftest", "--boot", str(image), "--format", "json",
        env_extra={"SMAPSFMT_GUEST_CC_X86_64": str(cc), "XDG_CACHE_HOME": str(cache)},
    )  # fmt: skip
    assert result.returncode == 2
    message = json.loads(result.stdout)["error"]["message"]
    source = Path(qemu.__file__).with_name("init.c")
    pattern = (
        re.escape(f"{cc} -static -O2 -o {cache}/smapsfmt/guest/x86_64/")
        + r"tmp\w+/init-[0-9a-f]{16} "
        + re.escape(f"{source} failed: cc: fatal error: no room left")
    )
    assert re.fullmatch(pattern, message), message
    assert result.stderr.decode() == f"smapsfmt: error: {message}\n"
    assert list((cache / "smapsfmt" / "guest" / "x86_64").iterdir()) == []  # nothing left


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu (CI installs it)")
def test_saved_captures_replace_only_their_own_shapes_in_the_manifest(tmp_path: Path) -> None:
    """``--save`` into a corpus that has a manifest: a run of some shapes replaces those shapes'
    cases of its label and keeps the others, with an expected result where one is on disk; the
    provenance names the package, the modules and qemu's command with the machine's paths
    taken out. The capture is a real one (tests/selftest), as a boot's result."""
    capture = decode(lzma.decompress(CAPTURE.read_bytes()))
    image = tmp_path / "unpacked" / "boot" / "vmlinuz-6.18.44"
    boot = qemu.Boot(
        qemu.command("x86_64", image, tmp_path / "initramfs.cpio"), b"", 8.0, False, 0
    )
    swap = Modules(
        files=(("zram", b"\x7fELF"),), package="linux-image-6.18.44:amd64", package_version="1",
        package_sha256="ab" * 32, paths=("/lib/modules/6.18.44/kernel/zram.ko",),
    )  # fmt: skip
    result = BootResult("x86_64", image, boot, capture, {"VERSION": "#1 SMP"}, [], swap,
                        [("module-00-zram.ko", "ok")])  # fmt: skip
    source = corpus.Source("linux-image-6.18.44:amd64", "1", "ab" * 32, "/boot/vmlinuz", "cd" * 32)
    first = corpus.write(result, "k", tmp_path / "c", source)
    assert len(first) == 2 * len(capture.shapes)
    (tmp_path / "c" / "k" / "anon" / "smaps.expected.json").write_text("{}")
    again = corpus.write(result, "k", tmp_path / "c", None, shapes={"anon", "thp"})
    assert [str(p.relative_to(tmp_path / "c")) for p in again] == [
        "k/anon/smaps", "k/anon/smaps_rollup", "k/thp/smaps", "k/thp/smaps_rollup",
    ]  # fmt: skip
    _, cases = load_manifest(tmp_path / "c")
    by_id = {case.id: case for case in cases}
    assert len(by_id) == len(cases) == 2 * len(capture.shapes)
    assert by_id["k/anon/smaps"].expected == "k/anon/smaps.expected.json"
    assert by_id["k/anon/smaps_rollup"].expected == ""
    kept = by_id["k/vmas/smaps"].provenance or {}
    assert kept["package"]["name"] == "linux-image-6.18.44:amd64"  # from the first run
    assert kept["modules"]["loaded"] == ["module-00-zram.ko ok"]
    assert kept["qemu"]["command"].endswith(
        "-kernel IMAGE -initrd INITRAMFS -append 'console=ttyS0 panic=-1 quiet'"
    )
    replaced = by_id["k/anon/smaps"].provenance or {}
    assert "package" not in replaced  # the second run named no package
    assert replaced["kernel"] == {"release": "6.18.44-fc-v1147", "arch": "x86_64",
                                  "page_size": 4096, "version": "#1 SMP"}  # fmt: skip
    assert by_id["k/thp/smaps"].tags[:2] == ("arch:x86_64", "page-size:4096")


def test_a_missing_qemu_is_named_with_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu there
    for arch, package in (("arm64", "qemu-system-arm"), ("i386", "qemu-system-x86")):
        with pytest.raises(qemu.BootError) as raised:
            qemu.boot(arch, tmp_path / "Image", tmp_path / "initramfs.cpio", 1.0)
        assert str(raised.value) == (
            f"{qemu.qemu_binary(arch)} not found (Debian: apt-get install {package})"
        )


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu (CI installs it)")
def test_booting_an_image_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(qemu.BootError) as raised:
        qemu.boot("x86_64", tmp_path / "vmlinuz", tmp_path / "initramfs.cpio", 1.0)
    assert str(raised.value) == f"{tmp_path / 'vmlinuz'}: no such kernel image"
    assert qemu.qemu_version("x86_64").startswith("QEMU emulator version ")
