"""``smapsfmt selftest --boot``: the shapes on a kernel image under qemu, checked on the host.

One boot: the guest programs compiled for the architecture (guest.py: ``init.c`` as /init and
the selftest's ``shaper.c`` as /shaper, run with ``--system`` since the guest is thrown away
afterwards), an initramfs holding them, qemu with the serial console captured (qemu.py), the
frames decoded and verified (frames.py), and the capture checked as the selftest checks the
running kernel (check.py: every file validates against the profile of the release the guest
reported, every pair proves, every shape meets its expectations).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import guest, qemu
from .check import Check, check_capture
from .frames import Capture, FrameError, decode

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

    @property
    def release(self) -> str:
        return self.capture.kernel.get("release", "")


def run(image: Path, arch: str, timeout: float = TIMEOUT_SECONDS) -> BootResult:
    """Boot ``image`` on ``arch`` and check what its guest printed."""
    programs = guest.programs(arch)
    with tempfile.TemporaryDirectory(prefix="smapsfmt-boot-") as where:
        initrd = Path(where) / "initramfs.cpio"
        initrd.write_bytes(qemu.initramfs(programs))
        booted = qemu.boot(arch, image, initrd, timeout)
    init = qemu.init_lines(booted.output)
    checks: list[Check] = []
    try:
        capture = decode(booted.output)
    except FrameError as error:
        capture = Capture()
        checks.append(Check("-", "shaper", "output", "frames as sent",
                            f"console line {error.line}: {error}", "fail"))  # fmt: skip
    if booted.timed_out:
        checks.append(Check("-", "shaper", "boot", f"power-off within {timeout:g} s",
                            "still running: stopped", "fail"))  # fmt: skip
    if "SHAPER" in init and init["SHAPER"] not in ("0", "1"):
        checks.append(Check("-", "shaper", "exit status", "0 or 1", init["SHAPER"], "fail"))
    if capture.kernel:
        checks += check_capture(capture)
    elif not checks:
        tail = booted.output[-400:].decode(errors="replace").strip().splitlines()
        checks.append(Check("-", "shaper", "boot", "the shaper's KERNEL record",
                            tail[-1] if tail else "no output", "fail"))  # fmt: skip
    return BootResult(arch, image, booted, capture, init, checks)
