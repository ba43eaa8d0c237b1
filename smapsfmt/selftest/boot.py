"""``smapsfmt selftest --boot``: the shapes on a kernel image under qemu, checked on the host.

One boot: the guest programs compiled for the architecture (guest.py: ``init.c`` as /init and
the selftest's ``shaper.c`` as /shaper, run with ``--system`` since the guest is thrown away
afterwards), an initramfs holding them, qemu with the serial console captured (qemu.py), the
frames decoded and verified (frames.py), and the capture checked as the selftest checks the
running kernel (check.py: every file validates against the profile of the release the guest
reported, every pair proves, every shape meets its expectations).

The swap shape needs zram, a module in Debian's kernels: given ``modules`` (modules.py: taken
from the kernel's own package), the initramfs holds them and /init loads them before the
shaper runs. Without them, or when one does not load, the swap shape's checks are ``n/a`` and
their reason says why.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import guest, qemu
from .check import Check, check_capture
from .frames import SHAPER_MARK, Capture, FrameError, decode
from .modules import Modules

# A boot that has not powered off after this long is cut: a kernel that hangs is reported.
TIMEOUT_SECONDS = 240.0


@dataclass
class BootResult:
    arch: str
    image: Path
    boot: qemu.Boot
    capture: Capture
    init: dict[str, str]
    checks: list[Check] = field(default_factory=list)
    modules: Modules = field(default_factory=Modules)
    loaded: list[tuple[str, str]] = field(default_factory=list)  # (file, outcome) per module

    @property
    def release(self) -> str:
        return self.capture.kernel.get("release", "")


def run(
    image: Path, arch: str, timeout: float = TIMEOUT_SECONDS, modules: Modules | None = None
) -> BootResult:
    """Boot ``image`` on ``arch`` (with ``modules`` loaded by /init) and check what its guest
    printed."""
    modules = modules or Modules(note="no kernel modules given (the swap shape needs zram)")
    programs = {**guest.programs(arch), **modules.initramfs_files()}
    with tempfile.TemporaryDirectory(prefix="smapsfmt-boot-") as where:
        initrd = Path(where) / "initramfs.cpio"
        initrd.write_bytes(qemu.initramfs(programs))
        booted = qemu.boot(arch, image, initrd, timeout)
    init = qemu.init_lines(booted.output)
    loaded = qemu.module_lines(booted.output)
    checks: list[Check] = []
    capture, garbled = Capture(), False
    # A console without a line of the shaper's (qemu refused the image, the kernel panicked)
    # is not decoded: its last line, which says why, is the check's printed value below.
    if SHAPER_MARK in booted.output:
        try:
            capture = decode(booted.output)
        except FrameError as error:
            garbled = True
            checks.append(Check("-", "shaper", "output", "frames as sent",
                                f"console line {error.line}: {error}", "fail"))  # fmt: skip
    if booted.timed_out:
        checks.append(Check("-", "shaper", "boot", f"power-off within {timeout:g} s",
                            "still running: stopped", "fail"))  # fmt: skip
    if "SHAPER" in init and init["SHAPER"] not in ("0", "1"):
        checks.append(Check("-", "shaper", "exit status", "0 or 1", init["SHAPER"], "fail"))
    if capture.kernel:
        checks += check_capture(capture)
    elif not garbled:
        tail = booted.output[-400:].decode(errors="replace").strip().splitlines()
        checks.append(Check("-", "shaper", "boot", "the shaper's KERNEL record",
                            tail[-1] if tail else "no output", "fail"))  # fmt: skip
    checks = [_why_no_swap(c, modules, loaded) for c in checks]
    return BootResult(arch, image, booted, capture, init, checks, modules, loaded)


def _why_no_swap(check: Check, modules: Modules, loaded: list[tuple[str, str]]) -> Check:
    """A swap check that is n/a, with what the modules tell of why."""
    if check.shape != "swap" or check.verdict != "n/a":
        return check
    failed = [f"{name}: {outcome}" for name, outcome in loaded if outcome not in ("ok", "EEXIST")]
    if failed:
        why = "a module did not load (" + "; ".join(failed) + ")"
    elif modules.note:
        why = modules.note
    else:
        return check
    return replace(check, reason=f"{check.reason}; {why}" if check.reason else why)
